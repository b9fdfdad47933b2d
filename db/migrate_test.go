package db_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// fixedNow is the migration clock of these tests.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// appTables are the tables 0001_init creates.
var appTables = []string{
	"apis", "client_access_restrictions", "client_roles", "clients", "emails",
	"org_memberships", "organizations", "regulation_bans", "regulation_failures",
	"revocations", "session_tokens", "sessions", "totp_secrets", "user_roles",
	"users", "verification_codes",
}

// TestMigrateUp_idempotent checks that up applies version 1 once, and
// that the status says so.
func TestMigrateUp_idempotent(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetClock(d, func() time.Time { return fixedNow })
		db.SetMigrations(d, withExtra(t, d.Dialect(), nil))

		expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init"}})
		applied, err := d.MigrateUp(ctx)
		if err != nil || !slices.Equal(applied, []int{1}) {
			t.Fatalf("first MigrateUp = %v, %v; want [1], nil", applied, err)
		}
		applied, err = d.MigrateUp(ctx)
		if err != nil || len(applied) != 0 {
			t.Fatalf("second MigrateUp = %v, %v; want nothing applied", applied, err)
		}
		expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init", Applied: true, AppliedAt: fixedNow}})
		want := append(slices.Clone(appTables), "schema_migrations")
		slices.Sort(want)
		if got := tables(t, d); !slices.Equal(got, want) {
			t.Errorf("tables after up = %v", got)
		}
	})
}

// TestMigrateDown_thenUpGivesTheSameSchema checks that down removes every
// table of version 1 and that up rebuilds exactly the same schema.
func TestMigrateDown_thenUpGivesTheSameSchema(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, withExtra(t, d.Dialect(), nil))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		before := schemaDump(t, d)
		for _, want := range []string{"emails_email_uq", "emails_user_fk", "user_roles_role_ck", "revocations_created_idx"} {
			if !strings.Contains(before, want) {
				t.Fatalf("schema dump lacks %s:\n%s", want, before)
			}
		}

		reverted, err := d.MigrateDown(ctx)
		if err != nil || reverted != 1 {
			t.Fatalf("MigrateDown = %d, %v; want 1, nil", reverted, err)
		}
		if got := tables(t, d); !slices.Equal(got, []string{"schema_migrations"}) {
			t.Errorf("tables after down = %v, want only schema_migrations", got)
		}
		expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init"}})
		reverted, err = d.MigrateDown(ctx)
		if err != nil || reverted != 0 {
			t.Fatalf("MigrateDown with nothing applied = %d, %v; want 0, nil", reverted, err)
		}

		applied, err := d.MigrateUp(ctx)
		if err != nil || !slices.Equal(applied, []int{1}) {
			t.Fatalf("MigrateUp = %v, %v; want [1], nil", applied, err)
		}
		if after := schemaDump(t, d); after != before {
			t.Errorf("schema after down and up differs:\n%s", lineDiff(before, after))
		}
	})
}

// TestMigrateUp_failedMigration checks that a failing statement is
// reported with its file, number and line, and what it leaves: nothing on
// SQLite; on MySQL the statements before it and a dirty version that
// MigrateDown reverts.
func TestMigrateUp_failedMigration(t *testing.T) {
	tests := []struct {
		name            string
		givenUp         string
		expectStatement int
		expectLine      int
		expectDirtyOn   string // the dialect that leaves version 2 dirty, if any
	}{
		{
			name:            "second statement fails",
			givenUp:         "-- one good statement, then a bad one\nCREATE TABLE broken_a (id INTEGER NOT NULL PRIMARY KEY);\n\nINSERT INTO broken_missing (id)\n  VALUES (1);\n",
			expectStatement: 2,
			expectLine:      4,
			expectDirtyOn:   db.DialectMySQL,
		},
		{
			name:            "first statement fails",
			givenUp:         "INSERT INTO broken_missing (id) VALUES (1);\nCREATE TABLE broken_a (id INTEGER NOT NULL PRIMARY KEY);\n",
			expectStatement: 1,
			expectLine:      1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
				ctx := t.Context()
				db.SetMigrations(d, withExtra(t, d.Dialect(), map[string]string{
					"0002_broken.up.sql":   tt.givenUp,
					"0002_broken.down.sql": "DROP TABLE IF EXISTS broken_a;\n",
				}))
				dirty := tt.expectDirtyOn == d.Dialect()

				applied, err := d.MigrateUp(ctx)
				if !slices.Equal(applied, []int{1}) {
					t.Errorf("applied = %v, want [1] (the good migration before the broken one)", applied)
				}
				merr, ok := errors.AsType[*db.MigrationError](err)
				if !ok {
					t.Fatalf("MigrateUp error = %v, want a *db.MigrationError", err)
				}
				if merr.File != "0002_broken.up.sql" || merr.Version != 2 || merr.Statement != tt.expectStatement ||
					merr.Line != tt.expectLine || merr.Dirty != dirty {
					t.Errorf("error = %+v; want file 0002_broken.up.sql, version 2, statement %d, line %d, dirty %v",
						merr, tt.expectStatement, tt.expectLine, dirty)
				}
				for _, want := range []string{"0002_broken.up.sql", fmt.Sprintf("statement %d", tt.expectStatement)} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				expectTable(t, d, "broken_a", dirty)

				if !dirty {
					expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init", Applied: true, AppliedAt: statusTime(t, d, 1)}, {Version: 2, Name: "broken"}})
					return
				}
				expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init", Applied: true, AppliedAt: statusTime(t, d, 1)}, {Version: 2, Name: "broken", Dirty: true}})
				if _, err := d.MigrateUp(ctx); !errors.Is(err, db.ErrDirtyMigration) {
					t.Errorf("MigrateUp over a dirty version = %v, want ErrDirtyMigration", err)
				}
				if reverted, err := d.MigrateDown(ctx); err != nil || reverted != 2 {
					t.Fatalf("MigrateDown = %d, %v; want 2, nil", reverted, err)
				}
				expectTable(t, d, "broken_a", false)
				expectStatus(t, d, []db.MigrationState{{Version: 1, Name: "init", Applied: true, AppliedAt: statusTime(t, d, 1)}, {Version: 2, Name: "broken"}})
			})
		})
	}
}

// TestMigrateDown_failedMigration checks that a failing down statement
// is reported and leaves the version applied (SQLite) or dirty (MySQL).
func TestMigrateDown_failedMigration(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, withExtra(t, d.Dialect(), map[string]string{
			"0002_extra.up.sql":   "CREATE TABLE extra_a (id INTEGER NOT NULL PRIMARY KEY);\n",
			"0002_extra.down.sql": "DROP TABLE extra_a;\nDROP TABLE extra_missing;\n",
		}))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		_, err := d.MigrateDown(ctx)
		merr, ok := errors.AsType[*db.MigrationError](err)
		if !ok || merr.File != "0002_extra.down.sql" || merr.Statement != 2 {
			t.Fatalf("MigrateDown error = %v, want statement 2 of 0002_extra.down.sql", err)
		}
		status, err := d.MigrationStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := status[1]
		if d.Dialect() == db.DialectSQLite {
			if !got.Applied || got.Dirty || merr.Dirty {
				t.Errorf("SQLite: version 2 = %+v, error dirty %v; want still applied, not dirty", got, merr.Dirty)
			}
			expectTable(t, d, "extra_a", true)
			return
		}
		if got.Applied || !got.Dirty || !merr.Dirty {
			t.Errorf("MySQL: version 2 = %+v, error dirty %v; want dirty", got, merr.Dirty)
		}
		expectTable(t, d, "extra_a", false)
	})
}

// TestMigrations_malformedFiles checks that bad migration files are
// refused, naming the file, before anything runs.
func TestMigrations_malformedFiles(t *testing.T) {
	tests := []struct {
		name        string
		givenFiles  map[string]string
		expectError string
	}{
		{name: "up without down", givenFiles: map[string]string{"0002_x.up.sql": "SELECT 1;\n"}, expectError: "0002_x.up.sql has no 0002_x.down.sql"},
		{name: "down without up", givenFiles: map[string]string{"0002_x.down.sql": "SELECT 1;\n"}, expectError: "0002_x.down.sql has no 0002_x.up.sql"},
		{name: "bad file name", givenFiles: map[string]string{"2_x.up.sql": "SELECT 1;\n"}, expectError: "2_x.up.sql: want a name like"},
		{name: "version zero", givenFiles: map[string]string{"0000_x.up.sql": "SELECT 1;\n", "0000_x.down.sql": "SELECT 1;\n"}, expectError: "0000_x.down.sql: versions start at 1"},
		{name: "two names for a version", givenFiles: map[string]string{"0002_x.up.sql": "SELECT 1;\n", "0002_y.down.sql": "SELECT 1;\n"}, expectError: "version 2 is also named"},
		{name: "statement without its semicolon", givenFiles: map[string]string{"0002_x.up.sql": "SELECT 1;\nSELECT\n  2\n", "0002_x.down.sql": "SELECT 1;\n"}, expectError: "0002_x.up.sql: line 2: statement does not end"},
		{name: "empty file", givenFiles: map[string]string{"0002_x.up.sql": "-- nothing\n", "0002_x.down.sql": "SELECT 1;\n"}, expectError: "0002_x.up.sql: no statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dbtest.SQLite(t)
			db.SetMigrations(d, withExtra(t, d.Dialect(), tt.givenFiles))
			applied, err := d.MigrateUp(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.expectError) {
				t.Errorf("MigrateUp error = %v, want one containing %q", err, tt.expectError)
			}
			if len(applied) != 0 {
				t.Errorf("applied = %v, want nothing", applied)
			}
			if _, err := d.MigrationStatus(t.Context()); err == nil {
				t.Error("MigrationStatus succeeded over malformed files")
			}
			if _, err := d.MigrateDown(t.Context()); err == nil {
				t.Error("MigrateDown succeeded over malformed files")
			}
		})
	}
}

// TestMigrations_versionsUnknownToThisBinary checks a database migrated
// by a newer binary: status lists the extra version, up has nothing to
// do, and down refuses to revert what it has no file for.
func TestMigrations_versionsUnknownToThisBinary(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetClock(d, func() time.Time { return fixedNow })
		db.SetMigrations(d, withExtra(t, d.Dialect(), map[string]string{
			"0002_newer.up.sql":   "CREATE TABLE newer_a (id INTEGER NOT NULL PRIMARY KEY);\n",
			"0002_newer.down.sql": "DROP TABLE newer_a;\n",
		}))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		db.SetMigrations(d, withExtra(t, d.Dialect(), nil))

		expectStatus(t, d, []db.MigrationState{
			{Version: 1, Name: "init", Applied: true, AppliedAt: fixedNow},
			{Version: 2, Name: "newer", Applied: true, AppliedAt: fixedNow, Missing: true},
		})
		if applied, err := d.MigrateUp(ctx); err != nil || len(applied) != 0 {
			t.Errorf("MigrateUp = %v, %v; want nothing to do", applied, err)
		}
		if _, err := d.MigrateDown(ctx); err == nil || !strings.Contains(err.Error(), "no migration file") {
			t.Errorf("MigrateDown error = %v, want a refusal for version 2", err)
		}
		expectTable(t, d, "newer_a", true)
	})
}

// TestMigrateUp_outOfOrder checks that a pending version older than an
// applied one is refused. The versions are far above the embedded ones:
// dbtest.SQLite is migrated to the newest embedded version.
func TestMigrateUp_outOfOrder(t *testing.T) {
	d := dbtest.SQLite(t)
	ctx := t.Context()
	db.SetMigrations(d, withExtra(t, d.Dialect(), map[string]string{
		"0903_c.up.sql": "CREATE TABLE c_a (id INTEGER NOT NULL PRIMARY KEY);\n", "0903_c.down.sql": "DROP TABLE c_a;\n",
	}))
	if _, err := d.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	db.SetMigrations(d, withExtra(t, d.Dialect(), map[string]string{
		"0902_b.up.sql": "CREATE TABLE b_a (id INTEGER NOT NULL PRIMARY KEY);\n", "0902_b.down.sql": "DROP TABLE b_a;\n",
		"0903_c.up.sql": "CREATE TABLE c_a (id INTEGER NOT NULL PRIMARY KEY);\n", "0903_c.down.sql": "DROP TABLE c_a;\n",
	}))
	applied, err := d.MigrateUp(ctx)
	if err == nil || !strings.Contains(err.Error(), "0902_b.up.sql is not applied but version 903 is") || len(applied) != 0 {
		t.Errorf("MigrateUp = %v, %v; want an out-of-order refusal", applied, err)
	}
	expectTable(t, d, "b_a", false)
}

// TestMigrateUp_concurrent checks that two migrators racing on one
// database apply version 1 exactly once between them.
func TestMigrateUp_concurrent(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		db.SetMigrations(d, withExtra(t, d.Dialect(), nil))
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			applied []int
			errs    []error
		)
		for range 4 {
			wg.Go(func() {
				got, err := d.MigrateUp(t.Context())
				mu.Lock()
				defer mu.Unlock()
				applied = append(applied, got...)
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 || !slices.Equal(applied, []int{1}) {
			t.Errorf("applied %v with errors %v; want [1] once, no error", applied, errs)
		}
	})
}

// TestSplitStatements checks how migration files are cut into statements.
func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name         string
		givenText    string
		expectTexts  []string
		expectLines  []int
		expectErrHas string
	}{
		{name: "one statement", givenText: "SELECT 1;", expectTexts: []string{"SELECT 1"}, expectLines: []int{1}},
		{name: "statements over lines", givenText: "CREATE TABLE a (\n  x INT\n);\n\nSELECT 2;\n", expectTexts: []string{"CREATE TABLE a (\n  x INT\n)", "SELECT 2"}, expectLines: []int{1, 5}},
		{name: "comments and blank lines dropped", givenText: "-- header;\n\nSELECT\n  -- inside;\n  1;\n", expectTexts: []string{"SELECT\n  1"}, expectLines: []int{3}},
		{name: "trailing white space after the semicolon", givenText: "SELECT 1;  \t\r\nSELECT 2;\r\n", expectTexts: []string{"SELECT 1", "SELECT 2"}, expectLines: []int{1, 2}},
		{name: "semicolon inside a line does not split", givenText: "SELECT ';' AS x;\n", expectTexts: []string{"SELECT ';' AS x"}, expectLines: []int{1}},
		{name: "lone semicolons are skipped", givenText: ";\nSELECT 1;\n;\n", expectTexts: []string{"SELECT 1"}, expectLines: []int{2}},
		{name: "unterminated statement", givenText: "SELECT 1;\nSELECT 2\n-- end\n", expectErrHas: "line 2: statement does not end"},
		{name: "only comments", givenText: "-- a\n-- b;\n", expectErrHas: "no statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			texts, lines, err := db.SplitStatements(tt.givenText)
			if tt.expectErrHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErrHas) {
					t.Errorf("error = %v, want one containing %q", err, tt.expectErrHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(texts, tt.expectTexts) || !slices.Equal(lines, tt.expectLines) {
				t.Errorf("got %q at lines %v, want %q at %v", texts, lines, tt.expectTexts, tt.expectLines)
			}
		})
	}
}

// TestEmbeddedMigrations_samePairs checks that both dialects ship the
// same migration files.
func TestEmbeddedMigrations_samePairs(t *testing.T) {
	names := func(dialect string) []string {
		entries, err := fs.ReadDir(db.EmbeddedMigrations(dialect), ".")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	sqlite, mysql := names(db.DialectSQLite), names(db.DialectMySQL)
	if !slices.Equal(sqlite, mysql) || len(sqlite) == 0 {
		t.Errorf("sqlite migrations %v, mysql migrations %v; want the same, non-empty", sqlite, mysql)
	}
}

// withExtra returns the embedded 0001_init of the dialect plus extra
// files (which may replace it). Later embedded versions are left out, so
// these tests of the migrator keep their version numbers as the schema
// grows.
func withExtra(t *testing.T, dialect string, extra map[string]string) fs.FS {
	t.Helper()
	fsys := fstest.MapFS{}
	embedded := db.EmbeddedMigrations(dialect)
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "0001_") {
			continue
		}
		b, err := fs.ReadFile(embedded, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: b}
	}
	for name, text := range extra {
		fsys[name] = &fstest.MapFile{Data: []byte(text)}
	}
	return fsys
}

// embeddedUpTo returns the embedded migrations of the dialect up to and
// including version max ("0003"), for tests that upgrade a database
// filled at an older version.
func embeddedUpTo(t *testing.T, dialect, max string) fs.FS {
	t.Helper()
	all := db.EmbeddedMigrations(dialect)
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(all, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		if en.Name()[:4] <= max && strings.HasSuffix(en.Name(), ".sql") {
			b, err := fs.ReadFile(all, en.Name())
			if err != nil {
				t.Fatal(err)
			}
			out[en.Name()] = &fstest.MapFile{Data: b}
		}
	}
	return out
}

// expectStatus checks MigrationStatus against want.
func expectStatus(t *testing.T, d *db.DB, want []db.MigrationState) {
	t.Helper()
	got, err := d.MigrationStatus(t.Context())
	if err != nil {
		t.Fatalf("MigrationStatus: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("MigrationStatus = %+v\nwant %+v", got, want)
	}
}

// statusTime returns when a version was applied, per MigrationStatus.
func statusTime(t *testing.T, d *db.DB, version int) time.Time {
	t.Helper()
	status, err := d.MigrationStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if s.Version == version {
			return s.AppliedAt
		}
	}
	t.Fatalf("version %d not in the status", version)
	return time.Time{}
}

// tables returns the names of the database's tables, sorted, leaving out
// SQLite's own.
func tables(t *testing.T, d *db.DB) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
	if d.Dialect() == db.DialectMySQL {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name"
	}
	names := queryStrings(t, d, q)
	slices.Sort(names)
	return names
}

// expectTable checks whether a table exists.
func expectTable(t *testing.T, d *db.DB, name string, exists bool) {
	t.Helper()
	if got := slices.Contains(tables(t, d), name); got != exists {
		t.Errorf("table %s exists = %v, want %v", name, got, exists)
	}
}

// queryStrings runs q and returns each row's columns joined by " | ",
// NULL written as <null>.
func queryStrings(t *testing.T, d *db.DB, q string, args ...any) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rows, err := d.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				parts[i] = "<null>"
			case []byte:
				parts[i] = string(v)
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// schemaDump describes the whole schema as text: sqlite_master for
// SQLite; tables, columns, indexes and constraints from
// information_schema for MySQL.
func schemaDump(t *testing.T, d *db.DB) string {
	t.Helper()
	if d.Dialect() == db.DialectSQLite {
		return strings.Join(queryStrings(t, d, "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"), "\n")
	}
	queries := []string{
		"SELECT table_name, engine, table_collation FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
		"SELECT table_name, column_name, ordinal_position, column_type, is_nullable, column_default, collation_name, extra FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position",
		"SELECT table_name, index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index",
		"SELECT table_name, constraint_name, constraint_type FROM information_schema.table_constraints WHERE constraint_schema = DATABASE() ORDER BY table_name, constraint_name",
		"SELECT table_name, constraint_name, referenced_table_name, delete_rule, update_rule FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() ORDER BY table_name, constraint_name",
		"SELECT table_name, constraint_name, column_name, ordinal_position, referenced_table_name, referenced_column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() ORDER BY table_name, constraint_name, ordinal_position",
		"SELECT constraint_name, check_clause FROM information_schema.check_constraints WHERE constraint_schema = DATABASE() ORDER BY constraint_name",
	}
	var b strings.Builder
	for _, q := range queries {
		for _, row := range queryStrings(t, d, q) {
			b.WriteString(row)
			b.WriteByte('\n')
		}
		b.WriteString("--\n")
	}
	return b.String()
}

// lineDiff lists the lines only in a and only in b.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	if len(out) == 0 {
		return "(same lines, different order)"
	}
	return strings.Join(out, "\n")
}

// TestMigrateUp_withoutDDLRights: a MySQL user that may only read and
// write rows can start against an up-to-date schema: MigrateUp finds
// nothing to do without trying any DDL (MySQL refuses even CREATE TABLE
// IF NOT EXISTS without the CREATE grant).
func TestMigrateUp_withoutDDLRights(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.MariaDBDSN(t)
	admin, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := admin.SQL().QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	var random [4]byte
	_, _ = rand.Read(random[:])
	user := "authgw_rw_" + hex.EncodeToString(random[:])
	for _, q := range []string{
		"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'pw'",
		"GRANT SELECT, INSERT, UPDATE, DELETE ON " + name + ".* TO '" + user + "'@'%'",
	} {
		if _, err := admin.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { _, _ = admin.SQL().ExecContext(context.Background(), "DROP USER '"+user+"'@'%'") })
	cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql:"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.User, cfg.Passwd = user, "pw"
	rw, err := db.Open(ctx, "mysql:"+cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	applied, err := rw.MigrateUp(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("MigrateUp as a read-write user: applied %v, %v", applied, err)
	}
}
