package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authgw/authgw/db/dbtest"
)

// migrationLabels returns "NNNN name" of every migration the binary
// embeds, oldest first, read from the source tree.
func migrationLabels(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "db", "migrations", "sqlite", "*.up.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations: %v", err)
	}
	var out []string
	for _, f := range files {
		num, name, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".up.sql"), "_")
		out = append(out, num+" "+name)
	}
	slices.Sort(out)
	return out
}

// versionOf returns the version number of a "NNNN name" label.
func versionOf(t *testing.T, label string) int {
	t.Helper()
	v, err := strconv.Atoi(strings.TrimLeft(label[:4], "0"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMigrate runs up, status and down against a SQLite file in the data
// directory, in order, checking what each prints.
func TestMigrate(t *testing.T) {
	dataDir := t.TempDir()
	vars := map[string]string{envDataDir: dataDir}
	labels := migrationLabels(t)
	top := fmt.Sprintf("schema at version %d", versionOf(t, labels[len(labels)-1]))
	steps := []struct {
		name         string
		whenArgs     []string
		expectStdout []string
	}{
		{name: "status of a new database", whenArgs: []string{"migrate", "status"}, expectStdout: []string{"0001 init", "pending", "schema at version 0"}},
		{name: "up applies every version", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"applied 0001 init\n", top + "\n"}},
		{name: "up again does nothing", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"nothing to apply: " + top + "\n"}},
		{name: "status lists version 1 applied", whenArgs: []string{"migrate", "status"}, expectStdout: []string{"0001 init", "applied 20", top}},
	}
	// Down reverts one version at a time, the newest first.
	for i := len(labels) - 1; i >= 0; i-- {
		prev := 0
		if i > 0 {
			prev = versionOf(t, labels[i-1])
		}
		steps = append(steps, struct {
			name         string
			whenArgs     []string
			expectStdout []string
		}{name: "down reverts " + labels[i], whenArgs: []string{"migrate", "down"},
			expectStdout: []string{"reverted " + labels[i] + "\n", fmt.Sprintf("schema at version %d\n", prev)}})
	}
	steps = append(steps, []struct {
		name         string
		whenArgs     []string
		expectStdout []string
	}{
		{name: "down again has nothing to revert", whenArgs: []string{"migrate", "down"}, expectStdout: []string{"nothing to revert"}},
		{name: "up after down", whenArgs: []string{"migrate", "up"}, expectStdout: []string{"applied 0001 init\n"}},
	}...)
	for _, st := range steps {
		// The steps share one database: no t.Run, so that a failure
		// stops the sequence where it went wrong.
		r := runCLI(t, invocation{args: st.whenArgs, vars: vars})
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
	labels := migrationLabels(t)
	last := labels[len(labels)-1]
	prev := 0
	if len(labels) > 1 {
		prev = versionOf(t, labels[len(labels)-2])
	}
	for _, step := range []struct {
		action       string
		expectStdout string
	}{
		{"up", "applied 0001 init\n"},
		{"status", "applied 20"},
		{"down", fmt.Sprintf("reverted %s\nschema at version %d\n", last, prev)},
	} {
		r := runCLI(t, args("migrate", step.action, "--database", dsn))
		expectResult(t, r, exitOK, []string{step.expectStdout}, nil)
	}
}
