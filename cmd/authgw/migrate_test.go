package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/db/dbtest"
)

// TestMigrate runs up, status and down against a SQLite file in the data
// directory, in order, checking what each prints.
func TestMigrate(t *testing.T) {
	dataDir := t.TempDir()
	vars := map[string]string{envDataDir: dataDir}
	// Versions after 0001 come and go with the schema: the steps name
	// 0001 and the database's state, and down runs until nothing is left.
	steps := []struct {
		name         string
		whenArgs     []string
		expectStdout []string
	}{
		{name: "status of a new database", whenArgs: []string{"migrate", "status"}, expectStdout: []string{"0001 init", "pending", "schema at version 0"}},
		{name: "up applies version 1 and later", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"applied 0001 init\n", "schema at version "}},
		{name: "up again does nothing", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"nothing to apply: schema at version "}},
		{name: "status lists version 1 applied", whenArgs: []string{"migrate", "status"}, expectStdout: []string{"0001 init", "applied 20", "schema at version "}},
		{name: "down reverts every version, 0001 last", whenArgs: nil, expectStdout: []string{"reverted 0001 init\n", "schema at version 0\n"}},
		{name: "down again has nothing to revert", whenArgs: []string{"migrate", "down"}, expectStdout: []string{"nothing to revert"}},
		{name: "up after down", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"applied 0001 init\n"}},
	}
	for _, st := range steps {
		// The steps share one database: no t.Run, so that a failure
		// stops the sequence where it went wrong.
		var r result
		if st.whenArgs == nil {
			r = migrateAllDown(t, invocation{args: []string{"migrate", "down"}, vars: vars})
		} else {
			r = runCLI(t, invocation{args: st.whenArgs, vars: vars})
		}
		if r.code != exitOK {
			t.Fatalf("%s: exit %d, stderr %q", st.name, r.code, r.stderr)
		}
		for _, want := range st.expectStdout {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", st.name, want, r.stdout)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "authgw.db")); err != nil {
		t.Errorf("the default database is not in the data directory: %v", err)
	}
}

// TestMigrate_databaseSetting checks where the database comes from:
// --database, then AUTHGW_DATABASE, then the --data-dir or
// AUTHGW_DATA_DIR default.
func TestMigrate_databaseSetting(t *testing.T) {
	tests := []struct {
		name       string
		whenFlags  func(dir string) []string
		whenVars   func(dir string) map[string]string
		expectFile string // relative to the test's directory
	}{
		{
			name:      "--database wins over the environment",
			whenFlags: func(dir string) []string { return []string{"--database", "sqlite:" + filepath.Join(dir, "flag.db")} },
			whenVars: func(dir string) map[string]string {
				return map[string]string{envDatabase: "sqlite:" + filepath.Join(dir, "env.db")}
			},
			expectFile: "flag.db",
		},
		{
			name:      "AUTHGW_DATABASE wins over the data directory",
			whenFlags: func(dir string) []string { return []string{"--data-dir", filepath.Join(dir, "data")} },
			whenVars: func(dir string) map[string]string {
				return map[string]string{envDatabase: "sqlite:" + filepath.Join(dir, "env.db")}
			},
			expectFile: "env.db",
		},
		{
			name:      "--data-dir default, parent directories created",
			whenFlags: func(dir string) []string { return []string{"--data-dir", filepath.Join(dir, "a", "b")} },
			whenVars: func(dir string) map[string]string {
				return map[string]string{envDataDir: filepath.Join(dir, "env-data")}
			},
			expectFile: "a/b/authgw.db",
		},
		{
			name:      "AUTHGW_DATA_DIR default",
			whenFlags: func(string) []string { return nil },
			whenVars: func(dir string) map[string]string {
				return map[string]string{envDataDir: filepath.Join(dir, "env-data")}
			},
			expectFile: "env-data/authgw.db",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLI(t, invocation{args: append([]string{"migrate", "up"}, tt.whenFlags(dir)...), vars: tt.whenVars(dir)})
			expectResult(t, r, exitOK, []string{"applied 0001 init"}, nil)
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(tt.expectFile))); err != nil {
				t.Errorf("database not at %s: %v", tt.expectFile, err)
			}
		})
	}
}

// TestMigrate_errors checks the usage errors (exit 2) and failures
// (exit 1), and that no password from a DSN is ever printed.
func TestMigrate_errors(t *testing.T) {
	tests := []struct {
		name         string
		whenArgs     []string
		whenVars     map[string]string
		expectCode   int
		expectStderr string
	}{
		{name: "no action", whenArgs: []string{"migrate"}, expectCode: exitUsage, expectStderr: "authgw: migrate: missing action: up, down or status"},
		{name: "unknown action", whenArgs: []string{"migrate", "sideways"}, expectCode: exitUsage, expectStderr: `unknown action "sideways"`},
		{name: "two actions", whenArgs: []string{"migrate", "up", "down"}, expectCode: exitUsage, expectStderr: `unexpected argument "down"`},
		{name: "unknown flag", whenArgs: []string{"migrate", "up", "--bogus"}, expectCode: exitUsage, expectStderr: "flag provided but not defined: --bogus"},
		{name: "unknown scheme", whenArgs: []string{"migrate", "up", "--database", "postgres://u:hunter2@h/db"}, expectCode: exitUsage, expectStderr: `--database: db: bad database DSN: unknown scheme "postgres"`},
		{name: "bad DSN from the environment", whenArgs: []string{"migrate", "status"}, whenVars: map[string]string{envDatabase: "mysql:root:hunter2@tcp(127.0.0.1:3306)/"}, expectCode: exitUsage, expectStderr: "AUTHGW_DATABASE: db: bad database DSN: mysql: the DSN names no database"},
		{name: "unreachable server", whenArgs: []string{"migrate", "up", "--database", "mysql:root:hunter2@tcp(127.0.0.1:1)/authgw"}, expectCode: exitFailure, expectStderr: "authgw: migrate: --database: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, invocation{args: tt.whenArgs, vars: tt.whenVars})
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Errorf("output repeats the password: %q", r.stderr)
			}
		})
	}
}

// TestMigrate_mariaDB runs up, status and down against a fresh MariaDB
// database given by --database.
func TestMigrate_mariaDB(t *testing.T) {
	dsn := dbtest.MariaDBDSN(t)
	for _, step := range []struct {
		action       string
		expectStdout string
	}{
		{"up", "applied 0001 init\n"},
		{"status", "applied 20"},
	} {
		r := runCLI(t, args("migrate", step.action, "--database", dsn))
		expectResult(t, r, exitOK, []string{step.expectStdout}, nil)
	}
	r := migrateAllDown(t, args("migrate", "down", "--database", dsn))
	expectResult(t, r, exitOK, []string{"reverted 0001 init\nschema at version 0\n"}, nil)
}

// migrateAllDown runs the down invocation until version 0001 is reverted
// (one version per run) and returns that last run.
func migrateAllDown(t *testing.T, inv invocation) result {
	t.Helper()
	for range 100 {
		r := runCLI(t, inv)
		if r.code != exitOK || strings.Contains(r.stdout, "reverted 0001 ") || strings.Contains(r.stdout, "nothing to revert") {
			return r
		}
	}
	t.Fatal("migrate down did not reach version 0 in 100 runs")
	return result{}
}
