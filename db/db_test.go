package db_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestOpen_badDSN checks that malformed DSNs are refused with ErrBadDSN,
// before any connection, and without repeating a password.
func TestOpen_badDSN(t *testing.T) {
	tests := []struct {
		name      string
		givenDSN  string
		expectHas string
	}{
		{name: "no scheme", givenDSN: "authgw.db", expectHas: "want sqlite:PATH or mysql:DSN"},
		{name: "unknown scheme", givenDSN: "postgres://u:hunter2@h/db", expectHas: `unknown scheme "postgres"`},
		{name: "empty SQLite path", givenDSN: "sqlite:", expectHas: "empty path"},
		{name: "SQLite path with a query", givenDSN: "sqlite:/tmp/x.db?mode=ro", expectHas: "contains ? or #"},
		{name: "SQLite URI", givenDSN: "sqlite:file:x.db", expectHas: "not a file: URI"},
		{name: "MySQL DSN without a slash", givenDSN: "mysql:root:hunter2@tcp(127.0.0.1:3306)", expectHas: "mysql: invalid DSN"},
		{name: "MySQL DSN without a database", givenDSN: "mysql:root:hunter2@tcp(127.0.0.1:3306)/", expectHas: "names no database"},
		{name: "MySQL DSN with a bad parameter", givenDSN: "mysql:root:hunter2@tcp(127.0.0.1:3306)/x?parseTime=maybe", expectHas: "mysql:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := db.Open(t.Context(), tt.givenDSN)
			if err == nil {
				_ = d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, db.ErrBadDSN) || !strings.Contains(err.Error(), tt.expectHas) {
				t.Errorf("error = %v, want ErrBadDSN containing %q", err, tt.expectHas)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error repeats the password: %v", err)
			}
		})
	}
}

// TestOpen_sqliteSettings checks the connection settings Open applies to
// SQLite, and that it creates the file's directories.
func TestOpen_sqliteSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "authgw.db")
	d, err := db.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not created: %v", err)
	}
	if d.Dialect() != db.DialectSQLite {
		t.Errorf("Dialect = %q", d.Dialect())
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "5000",
		"synchronous":  "1", // NORMAL
	} {
		if got := queryStrings(t, d, "PRAGMA "+pragma); len(got) != 1 || got[0] != want {
			t.Errorf("PRAGMA %s = %v, want %s", pragma, got, want)
		}
	}
	if n := d.SQL().Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
}

// TestOpen_mysqlForcedSettings checks that Open overrides DSN parameters
// that would change how authgw's SQL behaves.
func TestOpen_mysqlForcedSettings(t *testing.T) {
	dsn := dbtest.MariaDBDSN(t)
	sep := "?"
	if strings.Contains(dsn[strings.LastIndexByte(dsn, '/'):], "?") {
		sep = "&"
	}
	dsn += sep + "multiStatements=true&parseTime=true&clientFoundRows=false&collation=utf8mb4_general_ci&sql_mode=%27ANSI_QUOTES%27&time_zone=%27%2B02:00%27"
	d, err := db.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Dialect() != db.DialectMySQL {
		t.Errorf("Dialect = %q", d.Dialect())
	}
	got := queryStrings(t, d, "SELECT @@SESSION.sql_mode, @@SESSION.collation_connection, @@SESSION.character_set_connection, @@SESSION.time_zone")
	if len(got) != 1 {
		t.Fatalf("got %v", got)
	}
	f := strings.Split(got[0], " | ")
	if !strings.Contains(f[0], "STRICT_ALL_TABLES") || strings.Contains(f[0], "ANSI_QUOTES") {
		t.Errorf("sql_mode = %s, want strict without ANSI_QUOTES", f[0])
	}
	if f[1] != "utf8mb4_bin" || f[2] != "utf8mb4" || f[3] != "+00:00" {
		t.Errorf("collation %s, charset %s, time zone %s; want utf8mb4_bin, utf8mb4, +00:00", f[1], f[2], f[3])
	}
	if _, err := d.SQL().ExecContext(t.Context(), "SELECT 1; SELECT 2"); err == nil {
		t.Error("two statements in one call ran: multiStatements was not forced off")
	}
}

// TestOpen_rowsAffectedCountsMatchedRows checks that an UPDATE that
// changes nothing still counts the row it matched, in both dialects, so
// store code can tell "not found" from "unchanged".
func TestOpen_rowsAffectedCountsMatchedRows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		if _, err := d.SQL().ExecContext(ctx, "INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1)"); err != nil {
			t.Fatal(err)
		}
		res, err := d.SQL().ExecContext(ctx, "UPDATE users SET name = 'Ann' WHERE id = 'user-1'")
		if err != nil {
			t.Fatal(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			t.Errorf("RowsAffected = %d, %v; want 1", n, err)
		}
	})
}
