package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// Environment variables the helpers read.
const (
	// EnvMySQLDSN is the MariaDB/MySQL server DSN, without a database.
	EnvMySQLDSN = "AUTHGW_TEST_MYSQL_DSN"
	// DefaultMySQLDSN is used when EnvMySQLDSN is unset.
	DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/"
)

// setupTimeout bounds creating, migrating and dropping one database.
const setupTimeout = 2 * time.Minute

// SQLite returns a migrated SQLite database in a new file under
// t.TempDir(), closed when the test ends. It fails the test when the
// file cannot be created or migrated.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	return open(t, db.DialectSQLite, true)
}

// MariaDB returns a migrated, freshly created MariaDB/MySQL database,
// dropped when the test ends. It skips the test when the server cannot
// be reached (fails it when CI is set), and fails it when the database
// cannot be created or migrated.
func MariaDB(t testing.TB) *db.DB {
	t.Helper()
	return open(t, db.DialectMySQL, true)
}

// MariaDBDSN creates an empty MariaDB/MySQL database, dropped when the
// test ends, and returns its "mysql:..." DSN for db.Open or the
// --database flag. It skips or fails as MariaDB does.
func MariaDBDSN(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	server := os.Getenv(EnvMySQLDSN)
	if server == "" {
		server = DefaultMySQLDSN
	}
	// information_schema exists on every server: connect there to create
	// the test's own database.
	admin, err := db.Open(ctx, "mysql:"+withDatabase(server, "information_schema"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("dbtest: MariaDB at %s=%q is required under CI: %v", EnvMySQLDSN, redact(server), err)
		}
		t.Skipf("dbtest: no MariaDB (set %s; default %s): %v", EnvMySQLDSN, DefaultMySQLDSN, err)
	}
	var random [8]byte
	_, _ = rand.Read(random[:])
	name := "authgw_test_" + hex.EncodeToString(random[:])
	if _, err := admin.SQL().ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		_ = admin.Close()
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := admin.SQL().ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	return "mysql:" + withDatabase(server, name)
}

// Each runs fn as the subtests "sqlite" and "mariadb", each with its own
// migrated database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	each(t, true, fn)
}

// EachEmpty is Each with databases that no migration has touched, for
// tests of the migrations themselves.
func EachEmpty(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	each(t, false, fn)
}

// each runs fn once per dialect.
func each(t *testing.T, migrate bool, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, c := range []struct{ name, dialect string }{
		{"sqlite", db.DialectSQLite},
		{"mariadb", db.DialectMySQL},
	} {
		t.Run(c.name, func(t *testing.T) {
			fn(t, open(t, c.dialect, migrate))
		})
	}
}

// open creates a database of the dialect, migrated up when migrate is
// true, and registers its removal.
func open(t testing.TB, dialect string, migrate bool) *db.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	if dialect == db.DialectMySQL {
		dsn = MariaDBDSN(t)
	}
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("dbtest: open %s database: %v", dialect, err)
	}
	// Registered after MariaDBDSN's cleanup, so it runs before the drop.
	t.Cleanup(func() { _ = d.Close() })
	if migrate {
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("dbtest: migrate %s up: %v", dialect, err)
		}
	}
	return d
}

// withDatabase replaces the database name of a go-sql-driver DSN,
// [user[:password]@][net[(addr)]]/dbname[?params]. Like the driver, it
// takes the last "/" as the one before the name.
func withDatabase(dsn, name string) string {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return dsn + "/" + name
	}
	rest := dsn[slash+1:]
	params := ""
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		params = rest[q:]
	}
	return dsn[:slash+1] + name + params
}

// redact hides the password of a DSN for messages.
func redact(dsn string) string {
	at := strings.LastIndexByte(dsn, '@')
	if at < 0 {
		return dsn
	}
	if colon := strings.IndexByte(dsn[:at], ':'); colon >= 0 {
		return dsn[:colon+1] + "***" + dsn[at:]
	}
	return dsn
}
