package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// migratedDSN returns a new SQLite database, migrated up.
func migratedDSN(t *testing.T) string {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	mustRun(t, args("migrate", "up", "--database", dsn))
	return dsn
}

// TestAPIs adds, lists and removes APIs on one database, in order.
func TestAPIs(t *testing.T) {
	dsn := migratedDSN(t)
	steps := []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectStdout []string
		expectStderr string
	}{
		{name: "empty list", whenArgs: []string{"apis", "list"}, expectStdout: []string{"NAME  VERSION  URL  UNIDENTIFIED  ACTIVE  LOGIN-REDIRECT  HOSTS\n"}},
		{name: "empty JSON list", whenArgs: []string{"apis", "list", "--json"}, expectStdout: []string{"[]\n"}},
		{name: "add", whenArgs: []string{"apis", "add", "--name", "echo", "--version", "1", "--url", "HTTP://127.0.0.1:9000/base/"}, expectStdout: []string{"added echo v1 -> http://127.0.0.1:9000/base/\n"}},
		{name: "add another version, flags first", whenArgs: []string{"apis", "--inactive", "--allow-unidentified", "--login-redirect", "add", "--url", "https://v2.example", "--name", "echo", "--version", "2"}, expectStdout: []string{"added echo v2"}},
		{name: "add a duplicate", whenArgs: []string{"apis", "add", "--name", "echo", "--version", "1", "--url", "http://other.example"}, expectCode: exitFailure, expectStderr: "authgw: apis: echo v1 is registered already"},
		{name: "list as a table", whenArgs: []string{"apis", "list"}, expectStdout: []string{
			"echo  1        http://127.0.0.1:9000/base/  no            yes     no              -\n",
			"echo  2        https://v2.example           yes           no      yes             -\n",
		}},
		{name: "remove", whenArgs: []string{"apis", "remove", "--name", "echo", "--version", "1"}, expectStdout: []string{"removed echo v1\n"}},
		{name: "remove again", whenArgs: []string{"apis", "remove", "--name", "echo", "--version", "1"}, expectCode: exitFailure, expectStderr: "authgw: apis: echo v1 is not registered"},
	}
	for _, st := range steps {
		r := runCLI(t, args(append(st.whenArgs, "--database", dsn)...))
		var stderr []string
		if st.expectStderr != "" {
			stderr = []string{st.expectStderr}
		}
		expectResult(t, r, st.expectCode, st.expectStdout, stderr)
		if t.Failed() {
			t.Fatalf("step %q failed", st.name)
		}
	}
	var listed []map[string]any
	out := mustRun(t, args("apis", "list", "--json", "--database", dsn))
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("list --json is not JSON: %v: %s", err, out)
	}
	if len(listed) != 1 || listed[0]["name"] != "echo" || listed[0]["version"] != 2.0 || listed[0]["url"] != "https://v2.example" ||
		listed[0]["allowUnidentified"] != true || listed[0]["active"] != false || listed[0]["loginRedirect"] != true ||
		listed[0]["createdMs"] != float64(fixedNow.UnixMilli()) {
		t.Errorf("list --json = %s", out)
	}
}

// TestAPIs_usage checks that bad names, versions, URLs and flags are
// usage errors (exit 2) found before the database is touched.
func TestAPIs_usage(t *testing.T) {
	add := func(name, version, url string) []string {
		return []string{"apis", "add", "--name", name, "--version", version, "--url", url}
	}
	tests := []struct {
		name         string
		whenArgs     []string
		expectStderr string
	}{
		{name: "no action", whenArgs: []string{"apis"}, expectStderr: "authgw: apis: missing action: add, list or remove"},
		{name: "unknown action", whenArgs: []string{"apis", "update"}, expectStderr: `unknown action "update"`},
		{name: "two actions", whenArgs: []string{"apis", "list", "remove"}, expectStderr: `unexpected argument "remove"`},
		{name: "flag of another action", whenArgs: []string{"apis", "list", "--name", "echo"}, expectStderr: "--name: not a flag of apis list"},
		{name: "--login-redirect on list", whenArgs: []string{"apis", "list", "--login-redirect"}, expectStderr: "--login-redirect: not a flag of apis list"},
		{name: "--url on remove", whenArgs: []string{"apis", "remove", "--name", "echo", "--version", "1", "--url", "http://x"}, expectStderr: "--url: not a flag of apis remove"},
		{name: "missing name", whenArgs: []string{"apis", "add", "--version", "1", "--url", "http://x"}, expectStderr: "--name: missing"},
		{name: "upper-case name", whenArgs: add("Echo", "1", "http://x"), expectStderr: `--name: "Echo" is not 1 to 64 of a-z, 0-9 and -`},
		{name: "name with a slash", whenArgs: add("a/b", "1", "http://x"), expectStderr: "--name:"},
		{name: "name of 65 characters", whenArgs: add(strings.Repeat("a", 65), "1", "http://x"), expectStderr: "--name:"},
		{name: "reserved name", whenArgs: add("accounts", "1", "http://x"), expectStderr: `--name: "accounts" is reserved`},
		{name: "missing version", whenArgs: []string{"apis", "add", "--name", "echo", "--url", "http://x"}, expectStderr: "--version: missing"},
		{name: "version 0", whenArgs: add("echo", "0", "http://x"), expectStderr: `--version: want a positive integer up to 999999999 such as 1 (for /NAME/v1), got "0"`},
		{name: "version v1", whenArgs: add("echo", "v1", "http://x"), expectStderr: `got "v1"`},
		{name: "version the gateway cannot route", whenArgs: add("echo", "1000000000", "http://x"), expectStderr: `got "1000000000"`},
		{name: "negative version", whenArgs: add("echo", "-1", "http://x"), expectStderr: `got "-1"`},
		{name: "version too large", whenArgs: add("echo", "2147483648", "http://x"), expectStderr: `got "2147483648"`},
		{name: "version with a leading zero", whenArgs: add("echo", "01", "http://x"), expectStderr: `got "01"`},
		{name: "missing URL", whenArgs: []string{"apis", "add", "--name", "echo", "--version", "1"}, expectStderr: "--url: missing"},
		{name: "relative URL", whenArgs: add("echo", "1", "/backend"), expectStderr: "--url: want an absolute http:// or https:// URL"},
		{name: "host without scheme", whenArgs: add("echo", "1", "127.0.0.1:9000"), expectStderr: "--url:"},
		{name: "ftp URL", whenArgs: add("echo", "1", "ftp://files.example"), expectStderr: "--url: want an absolute http:// or https:// URL"},
		{name: "no host", whenArgs: add("echo", "1", "http:///path"), expectStderr: "--url: no host"},
		{name: "opaque", whenArgs: add("echo", "1", "http:backend"), expectStderr: "--url: no host"},
		{name: "user info", whenArgs: add("echo", "1", "http://u:hunter2@backend.example"), expectStderr: "--url: user info"},
		{name: "query", whenArgs: add("echo", "1", "http://backend.example/?a=1"), expectStderr: "--url: a query"},
		{name: "empty query", whenArgs: add("echo", "1", "http://backend.example/?"), expectStderr: "--url: a query"},
		{name: "fragment", whenArgs: add("echo", "1", "http://backend.example/#top"), expectStderr: "--url: a fragment"},
		{name: "empty fragment", whenArgs: add("echo", "1", "http://backend.example/#"), expectStderr: "--url: a fragment"},
		{name: "bad port", whenArgs: add("echo", "1", "http://backend.example:99999/"), expectStderr: "--url:"},
		{name: "space", whenArgs: add("echo", "1", "http://backend.example/a b"), expectStderr: "--url: contains white space"},
		{name: "too long", whenArgs: add("echo", "1", "http://backend.example/"+strings.Repeat("a", 2048)), expectStderr: "--url: longer than 2048 bytes"},
		{name: "too long once percent-encoded", whenArgs: add("echo", "1", "http://backend.example/"+strings.Repeat("é", 900)), expectStderr: "--url: longer than 2048 bytes once percent-encoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A DSN that cannot open proves nothing reached the database.
			r := runCLI(t, args(append(tt.whenArgs, "--database", "mysql:root:x@tcp(127.0.0.1:1)/authgw")...))
			expectResult(t, r, exitUsage, nil, []string{tt.expectStderr})
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr repeats the password: %q", r.stderr)
			}
		})
	}
}

// TestAPIs_unmigrated checks that apis does not migrate on its own.
func TestAPIs_unmigrated(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	r := runCLI(t, args("apis", "list", "--database", dsn))
	expectResult(t, r, exitFailure, nil, []string{"authgw: apis: the database schema is not up to date: run authgw migrate up first"})
}

// TestHelp_newCommands checks that --help works on the new commands.
func TestHelp_newCommands(t *testing.T) {
	for _, a := range [][]string{{"bootstrap", "--help"}, {"apis", "--help"}, {"apis", "add", "--help"}, {"help", "apis"}, {"help", "bootstrap"}} {
		out := mustRun(t, args(a...))
		if !strings.HasPrefix(out, "Usage:") {
			t.Errorf("authgw %s: stdout %q is not the usage", strings.Join(a, " "), out)
		}
	}
}
