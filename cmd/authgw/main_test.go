package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
)

// fixedNow is the clock of every test here, unless a case moves it.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const (
	policiesDir    = "../../testdata/policies"
	badPoliciesDir = "../../testdata/policies-bad"
	memberPolicy   = policiesDir + "/member.json"
	testServerID   = "test-server"
	testUser       = "u1"
	testSession    = "s1"
	testClient     = "c1"
	// memberExpires is fixedNow plus member.json's expires (900 s).
	memberExpires = "2026-11-22T12:15:00Z"
)

// result is what one run of the command line produced.
type result struct {
	code           int
	stdout, stderr string
}

// invocation is one command line with its environment.
type invocation struct {
	args  []string
	stdin string
	vars  map[string]string
	now   time.Time
}

// runCLITimeout bounds an invocation of runCLI: a serve given a bad
// setting must exit at once with a usage error; had it accepted the
// setting, it would serve until stopped, and the test would hang until
// go test's own timeout. runCLI stops it after this long instead.
const runCLITimeout = 20 * time.Second

// runCLI runs an invocation in-process. Unless the invocation sets it,
// AUTHGW_DATA_DIR points at an empty temporary directory, so that no
// ./authgw-data of the developer's is ever read. A long-running command
// (serve) is stopped after runCLITimeout, and the test fails saying so.
func runCLI(t *testing.T, inv invocation) result {
	t.Helper()
	vars := map[string]string{envDataDir: t.TempDir()}
	for k, v := range inv.vars {
		vars[k] = v
	}
	now := inv.now
	if now.IsZero() {
		now = fixedNow
	}
	stop, cancel := context.WithTimeout(context.Background(), runCLITimeout)
	defer cancel()
	env := environment{
		lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		now:       func() time.Time { return now },
		stop:      stop,
	}
	var stdout, stderr strings.Builder
	code := run(inv.args, strings.NewReader(inv.stdin), &stdout, &stderr, env)
	if stop.Err() != nil {
		t.Errorf("authgw %s was still running after %v and was stopped: it should have exited by itself (a setting accepted that should not be?)",
			strings.Join(inv.args, " "), runCLITimeout)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// args is a shorthand for an invocation with arguments only.
func args(a ...string) invocation { return invocation{args: a} }

// mustRun runs an invocation that must exit 0 and returns its stdout.
func mustRun(t *testing.T, inv invocation) string {
	t.Helper()
	r := runCLI(t, inv)
	if r.code != exitOK {
		t.Fatalf("authgw %s: exit %d, stderr %q, stdout %q", strings.Join(inv.args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// expectResult checks the exit status and that stdout and stderr contain
// the given substrings; an error line must be one line starting "authgw: ".
func expectResult(t *testing.T, r result, code int, stdoutHas, stderrHas []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status = %d, want %d (stdout %q, stderr %q)", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdoutHas {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if code != exitOK && r.stderr != "" {
		if !strings.HasPrefix(r.stderr, "authgw: ") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("stderr is not one line starting \"authgw: \": %q", r.stderr)
		}
	}
}

// writeRing runs keygen (with --add when from is not "") and writes the
// ring to a new file in dir, returning its path.
func writeRing(t *testing.T, dir, id, from string) string {
	t.Helper()
	a := []string{"keygen", "--id", id}
	if from != "" {
		a = append(a, "--add", from)
	}
	path := filepath.Join(dir, id+".json")
	if err := os.WriteFile(path, []byte(mustRun(t, args(a...))), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fixture is a key ring and the member tokens minted with it at fixedNow.
type fixture struct {
	dir    string
	keys   string            // key-ring file, key k1
	tokens map[string]string // by method
}

// newFixture writes a key ring k1 and mints member.json with it.
func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir, keys: writeRing(t, dir, "k1", "")}
	f.tokens = mintMember(t, f.keys)
	return f
}

// mintMember mints member.json for testUser with the ring in keys.
func mintMember(t *testing.T, keys string, extra ...string) map[string]string {
	t.Helper()
	a := append([]string{"mint", "--policy", memberPolicy, "--user", testUser, "--session", testSession,
		"--client", testClient, "--keys", keys, "--server-id", testServerID, "--org", "org-a:read"}, extra...)
	out := mustRun(t, args(a...))
	var toks map[string]string
	if err := json.Unmarshal([]byte(out), &toks); err != nil {
		t.Fatalf("mint output is not a JSON object: %v\n%s", err, out)
	}
	return toks
}

// checkArgs builds a check command line against the fixture's ring.
func (f fixture) checkArgs(token, method, path string, extra ...string) []string {
	return append([]string{"check", token, "--method", method, "--path", path,
		"--keys", f.keys, "--server-id", testServerID, "--client", testClient}, extra...)
}

// TestKeygen checks that keygen prints parseable rings and refuses bad input.
func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	old := writeRing(t, dir, "k1", "")
	tests := []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectIDs    []string // of the ring printed on stdout
		expectStderr string
	}{
		{name: "new ring", whenArgs: []string{"keygen", "--id", "k9"}, expectCode: 0, expectIDs: []string{"k9"}},
		{name: "single-dash flag", whenArgs: []string{"keygen", "-id", "k9"}, expectCode: 0, expectIDs: []string{"k9"}},
		{name: "add keeps the old key second", whenArgs: []string{"keygen", "--id", "k2", "--add", old}, expectCode: 0, expectIDs: []string{"k2", "k1"}},
		{name: "missing id", whenArgs: []string{"keygen"}, expectCode: 2, expectStderr: "--id is required"},
		{name: "invalid id", whenArgs: []string{"keygen", "--id", "a b"}, expectCode: 1, expectStderr: "--id"},
		{name: "id already in the ring", whenArgs: []string{"keygen", "--id", "k1", "--add", old}, expectCode: 1, expectStderr: "already in the ring"},
		{name: "add a missing file", whenArgs: []string{"keygen", "--id", "k2", "--add", filepath.Join(dir, "none.json")}, expectCode: 1, expectStderr: "--add"},
		{name: "stray argument", whenArgs: []string{"keygen", "--id", "k2", "extra"}, expectCode: 2, expectStderr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(tt.whenArgs...))
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if tt.expectIDs == nil {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				return
			}
			ring, err := mint.ParseKeyRing([]byte(r.stdout))
			if err != nil {
				t.Fatalf("keygen output does not parse: %v", err)
			}
			if !slices.Equal(ring.IDs(), tt.expectIDs) {
				t.Errorf("ring IDs = %v, want %v", ring.IDs(), tt.expectIDs)
			}
		})
	}
}

// TestKeygen_out checks that --out rotates a ring file in place, privately.
func TestKeygen_out(t *testing.T) {
	dir := t.TempDir()
	old := writeRing(t, dir, "k1", "")
	oldRing, err := mint.LoadKeyRing(old)
	if err != nil {
		t.Fatal(err)
	}
	// --out onto the --add file itself rotates in place.
	r := runCLI(t, args("keygen", "--id", "k2", "--add", old, "--out", old))
	expectResult(t, r, 0, []string{"wrote key ring " + old}, nil)
	if strings.Contains(r.stdout, `"secret"`) {
		t.Errorf("stdout shows a secret: %q", r.stdout)
	}
	info, err := os.Stat(old)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", info.Mode().Perm())
	}
	newRing, err := mint.LoadKeyRing(old)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(newRing.IDs(), []string{"k2", "k1"}) {
		t.Errorf("IDs = %v, want [k2 k1]", newRing.IDs())
	}
	// The old key is carried over unchanged: its root keys are the same.
	id := []byte("some identifier")
	a, _ := oldRing.RootKey("k1", id)
	b, _ := newRing.RootKey("k1", id)
	if string(a) != string(b) {
		t.Error("keygen --add changed the old key")
	}
}

// A token minted before a rotation still checks after it, and tokens
// minted after it use the new key, which the old ring does not know.
func TestKeygen_rotationKeepsOldTokens(t *testing.T) {
	f := newFixture(t)
	rotated := writeRing(t, f.dir, "k2", f.keys)
	path := "/accounts/v1/users/" + testUser

	r := runCLI(t, args(f.checkArgs(f.tokens["GET"], "GET", path, "--keys", rotated)...))
	expectResult(t, r, 0, []string{"allowed: user u1"}, nil)

	newTokens := mintMember(t, rotated)
	out := mustRun(t, args("inspect", newTokens["GET"]))
	if !strings.Contains(out, "key:       k2\n") {
		t.Errorf("a token minted after rotation should name key k2:\n%s", out)
	}
	r = runCLI(t, args(f.checkArgs(newTokens["GET"], "GET", path)...)) // old ring
	expectResult(t, r, 1, []string{"denied: unauthorized: unknown key"}, nil)
}

// TestPolicyCheck checks the verdicts on the example and broken policies.
func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "member-copy.json")
	data, err := os.ReadFile(memberPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dup, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := func(file, rest string) string { return filepath.Join(badPoliciesDir, file) + ": " + rest }
	tests := []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectLines  []string // each must be a whole line of stdout
		expectStderr string
	}{
		{
			name:       "good directory",
			whenArgs:   []string{"policy", "check", policiesDir},
			expectCode: 0,
			expectLines: []string{
				"ok " + filepath.Join(policiesDir, "admin.json"),
				"ok " + filepath.Join(policiesDir, "member.json"),
				"ok " + filepath.Join(policiesDir, "staff.json"),
			},
		},
		{
			name:        "good file",
			whenArgs:    []string{"policy", "check", memberPolicy},
			expectCode:  0,
			expectLines: []string{"ok " + memberPolicy},
		},
		{
			name:       "bad directory: every file's problem with file and path",
			whenArgs:   []string{"policy", "check", badPoliciesDir},
			expectCode: 1,
			expectLines: []string{
				bad("bad-method.json", `/scopes/0/methods/1: bad method "GETT": want one of GET, POST, PUT, PATCH, DELETE`),
				bad("double-star-not-last.json", "/scopes/0/routes/1: ** is allowed only as the last segment"),
				bad("empty-scopes.json", "/scopes: must not be empty"),
				bad("membership-without-org.json", "/scopes/0/membership: membership applies only to :orgId routes, and no route of this scope has :orgId"),
				bad("not-json.json", `invalid JSON at 4:3: invalid character '"' after object key:value pair`),
				bad("unknown-field.json", `/scopes/0/method: unknown field "method" (known fields: name, routes, methods, membership, stepUp)`),
				bad("unknown-param.json", "/scopes/0/routes/0: unknown parameter :id (known: :userId, :sessionId, :clientId, :orgId)"),
			},
			expectStderr: "authgw: policy check: 7 problems in 7 files",
		},
		{
			name:         "good and bad files",
			whenArgs:     []string{"policy", "check", memberPolicy, filepath.Join(badPoliciesDir, "empty-scopes.json")},
			expectCode:   1,
			expectLines:  []string{"ok " + memberPolicy, bad("empty-scopes.json", "/scopes: must not be empty")},
			expectStderr: "1 problem in 1 file",
		},
		{
			name:         "two files with one name",
			whenArgs:     []string{"policy", "check", memberPolicy, dup},
			expectCode:   1,
			expectLines:  []string{"ok " + memberPolicy, dup + `: /name: policy name "member" is also used by ` + memberPolicy},
			expectStderr: "1 problem in 1 file",
		},
		{
			name:         "missing file",
			whenArgs:     []string{"policy", "check", filepath.Join(dir, "none.json")},
			expectCode:   1,
			expectLines:  []string{filepath.Join(dir, "none.json") + ": open " + filepath.Join(dir, "none.json") + ": no such file or directory"},
			expectStderr: "1 problem in 1 file",
		},
		{
			name:         "empty directory",
			whenArgs:     []string{"policy", "check", t.TempDir()},
			expectCode:   1,
			expectLines:  nil,
			expectStderr: "1 problem",
		},
		{name: "no argument", whenArgs: []string{"policy", "check"}, expectCode: 2, expectStderr: "missing FILE"},
		{name: "policy without subcommand", whenArgs: []string{"policy"}, expectCode: 2, expectStderr: "missing subcommand"},
		{name: "unknown policy subcommand", whenArgs: []string{"policy", "lint", policiesDir}, expectCode: 2, expectStderr: `unknown command "policy lint"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(tt.whenArgs...))
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			for _, want := range tt.expectLines {
				if !slices.Contains(lines, want) {
					t.Errorf("stdout lacks the line %q:\n%s", want, r.stdout)
				}
			}
			if tt.expectCode == 0 && len(lines) != len(tt.expectLines) {
				t.Errorf("stdout has %d lines, want %d:\n%s", len(lines), len(tt.expectLines), r.stdout)
			}
		})
	}
}

// TestMint checks mint's output and its failures.
func TestMint(t *testing.T) {
	dir := t.TempDir()
	keys := writeRing(t, dir, "k1", "")
	base := []string{"mint", "--policy", memberPolicy, "--user", testUser, "--client", testClient, "--keys", keys, "--server-id", testServerID}
	big := filepath.Join(dir, "big.json")
	var routes []string
	for i := range 200 {
		routes = append(routes, `"/big/v1/a-fairly-long-route-name-to-fill-the-token/`+strings.Repeat("x", 10)+string(rune('a'+i%26))+strings.Repeat("y", i)+`"`)
	}
	src := `{"name":"big","appliesTo":{"userRoles":["user"]},"expires":60,"scopes":[{"name":"all","routes":[` + strings.Join(routes, ",") + `],"methods":["GET"]}]}`
	if err := os.WriteFile(big, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other-server.json")
	if err := os.WriteFile(other, []byte(`{"name":"o","serverId":"elsewhere","appliesTo":{"userRoles":["user"]},"expires":60,"scopes":[{"name":"s","routes":["/o/v1/**"],"methods":["GET"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		whenArgs      []string
		expectCode    int
		expectMethods []string
		expectStderr  string
	}{
		{name: "every method the policy grants, in method order", whenArgs: base, expectCode: 0, expectMethods: mint.Methods()},
		{name: "flags after a policy flag repeated", whenArgs: append(slices.Clone(base), "--org", "org-a:read,edit", "--org", "org-b", "--ttl", "5m"), expectCode: 0, expectMethods: mint.Methods()},
		{name: "missing policy", whenArgs: []string{"mint", "--user", testUser, "--keys", keys, "--server-id", testServerID}, expectCode: 2, expectStderr: "--policy is required"},
		{name: "missing user", whenArgs: []string{"mint", "--policy", memberPolicy, "--keys", keys, "--server-id", testServerID}, expectCode: 2, expectStderr: "--user is required"},
		{name: "missing client for a bound policy", whenArgs: []string{"mint", "--policy", memberPolicy, "--user", testUser, "--keys", keys, "--server-id", testServerID}, expectCode: 1, expectStderr: "binds the client"},
		{name: "bad membership flag", whenArgs: append(slices.Clone(base), "--org", "org-a:admin"), expectCode: 2, expectStderr: `unknown membership flag "admin"`},
		{name: "bad ttl", whenArgs: append(slices.Clone(base), "--ttl", "soon"), expectCode: 2, expectStderr: `invalid value "soon" for flag --ttl: want a duration`},
		{name: "zero ttl", whenArgs: append(slices.Clone(base), "--ttl", "0s"), expectCode: 2, expectStderr: "--ttl must be positive"},
		{name: "invalid policy", whenArgs: append(slices.Clone(base), "--policy", filepath.Join(badPoliciesDir, "bad-method.json")), expectCode: 1, expectStderr: "/scopes/0/methods/1"},
		{name: "policy for another server", whenArgs: append(slices.Clone(base), "--policy", other), expectCode: 1, expectStderr: `serverId "elsewhere"`},
		{name: "token too large", whenArgs: []string{"mint", "--policy", big, "--user", testUser, "--keys", keys, "--server-id", testServerID}, expectCode: 1, expectStderr: `over the 3800-byte limit: policy "big"`},
		{name: "no key ring anywhere", whenArgs: []string{"mint", "--policy", memberPolicy, "--user", testUser, "--server-id", testServerID}, expectCode: 2, expectStderr: "--keys: no key ring (set --keys, AUTHGW_KEYS"},
		{name: "positional argument", whenArgs: append(slices.Clone(base), "extra"), expectCode: 2, expectStderr: "unexpected argument"},
		{name: "roles", whenArgs: append(slices.Clone(base), "--roles", "user, employee"), expectCode: 0, expectMethods: mint.Methods()},
		{name: "bad role", whenArgs: append(slices.Clone(base), "--roles", "user,sys admin"), expectCode: 1, expectStderr: `role "sys admin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(tt.whenArgs...))
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if tt.expectMethods == nil {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				return
			}
			var toks map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &toks); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			var order []string
			for _, m := range mint.Methods() {
				if i := strings.Index(r.stdout, `"`+m+`":`); i >= 0 {
					order = append(order, m)
				}
				if toks[m] == "" {
					t.Errorf("no %s token", m)
				}
			}
			if len(toks) != len(tt.expectMethods) || !slices.Equal(order, tt.expectMethods) {
				t.Errorf("methods %v, want %v", order, tt.expectMethods)
			}
			if !strings.HasPrefix(r.stdout, `{"GET":"`) {
				t.Errorf("output does not start with the GET token: %.20q", r.stdout)
			}
		})
	}
}

// TestMint_roles checks that --roles reaches every token's user-roles
// caveat, as inspect shows it.
func TestMint_roles(t *testing.T) {
	dir := t.TempDir()
	keys := writeRing(t, dir, "k1", "")
	r := runCLI(t, args("mint", "--policy", memberPolicy, "--user", testUser, "--client", testClient, "--roles", "user, employee",
		"--keys", keys, "--server-id", testServerID))
	expectResult(t, r, 0, nil, nil)
	var toks map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &toks); err != nil {
		t.Fatal(err)
	}
	for method, tok := range toks {
		r := runCLI(t, args("inspect", tok, "--keys", keys))
		expectResult(t, r, 0, []string{"  user-roles user employee\n", "signature: valid"}, nil)
		if strings.Count(r.stdout, "user-roles") != 1 {
			t.Errorf("%s token: %d user-roles caveats\n%s", method, strings.Count(r.stdout, "user-roles"), r.stdout)
		}
	}
}

// TestMint_defaultSessionIsUUIDv7 checks the session ID made when none is given.
func TestMint_defaultSessionIsUUIDv7(t *testing.T) {
	dir := t.TempDir()
	keys := writeRing(t, dir, "k1", "")
	out := mustRun(t, args("mint", "--policy", memberPolicy, "--user", testUser, "--client", testClient, "--keys", keys, "--server-id", testServerID))
	var toks map[string]string
	if err := json.Unmarshal([]byte(out), &toks); err != nil {
		t.Fatal(err)
	}
	var in inspection
	if err := json.Unmarshal([]byte(mustRun(t, args("inspect", "--json", toks["GET"]))), &in); err != nil {
		t.Fatal(err)
	}
	// 0x01a20320a200 is fixedNow in Unix milliseconds.
	uuidv7 := regexp.MustCompile(`^01a20320-a200-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if in.Identifier == nil || !uuidv7.MatchString(in.Identifier.Session) {
		t.Errorf("session = %+v, want a UUIDv7 of fixedNow", in.Identifier)
	}
}

// TestMintThenCheck checks minted tokens against requests, and where
// check finds its settings.
func TestMintThenCheck(t *testing.T) {
	f := newFixture(t)
	userPath := "/accounts/v1/users/" + testUser
	allowed := "allowed: user u1 session s1 method GET expires " + memberExpires + "\n"
	inline, err := os.ReadFile(f.keys)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, keysFile), inline, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, serverIDFile), []byte(testServerID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get := f.tokens["GET"]
	tests := []struct {
		name         string
		when         invocation
		expectCode   int
		expectStdout string
		expectStderr string
	}{
		{name: "granted route", when: args(f.checkArgs(get, "GET", userPath+"/emails")...), expectCode: 0, expectStdout: allowed},
		{name: "HEAD counts as GET", when: args(f.checkArgs(get, "HEAD", userPath)...), expectCode: 0, expectStdout: allowed},
		{name: "lower-case method", when: args(f.checkArgs(get, "get", userPath)...), expectCode: 0, expectStdout: allowed},
		{name: "query ignored", when: args(f.checkArgs(get, "GET", userPath+"?x=1")...), expectCode: 0, expectStdout: allowed},
		{name: "org route of an --org organization", when: args(f.checkArgs(get, "GET", "/accounts/v1/organizations/org-a/clients")...), expectCode: 0, expectStdout: allowed},
		{name: "another user's route", when: args(f.checkArgs(get, "GET", "/accounts/v1/users/u2")...), expectCode: 1, expectStdout: "denied: forbidden: route not granted\n"},
		{name: "another org", when: args(f.checkArgs(get, "GET", "/accounts/v1/organizations/org-b/clients")...), expectCode: 1, expectStdout: "denied: forbidden: route not granted\n"},
		{name: "wrong method", when: args(f.checkArgs(get, "POST", "/accounts/v1/organizations")...), expectCode: 1, expectStdout: "denied: forbidden: method not granted\n"},
		{name: "POST token on its route", when: args(f.checkArgs(f.tokens["POST"], "POST", "/accounts/v1/organizations")...), expectCode: 0, expectStdout: "allowed: user u1 session s1 method POST expires " + memberExpires + "\n"},
		{name: "wrong server ID", when: args(f.checkArgs(get, "GET", userPath, "--server-id", "other-server")...), expectCode: 1, expectStdout: "denied: unauthorized: server-id mismatch\n"},
		{name: "wrong client", when: args(f.checkArgs(get, "GET", userPath, "--client", "c2")...), expectCode: 1, expectStdout: "denied: unauthorized: bound to another client\n"},
		{name: "non-canonical path", when: args(f.checkArgs(get, "GET", userPath+"/../u2")...), expectCode: 1, expectStdout: "denied: bad request: non-canonical path: . or .. segment\n"},
		{name: "another key ring", when: args(f.checkArgs(get, "GET", userPath, "--keys", writeRing(t, t.TempDir(), "k1", ""))...), expectCode: 1, expectStdout: "denied: unauthorized: bad signature\n"},
		{name: "malformed token", when: args(f.checkArgs("not-a-token", "GET", userPath)...), expectCode: 1, expectStdout: "denied: unauthorized: malformed token\n"},
		{
			name:         "within the clock skew after expiry",
			when:         invocation{args: f.checkArgs(get, "GET", userPath), now: fixedNow.Add(15*time.Minute + 20*time.Second)},
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "expired: clock past the ttl",
			when:         invocation{args: f.checkArgs(get, "GET", userPath), now: fixedNow.Add(15*time.Minute + 31*time.Second)},
			expectCode:   1,
			expectStdout: "denied: unauthorized: expired\n",
		},
		{
			name:         "token on standard input, flags first",
			when:         invocation{args: []string{"check", "--method", "GET", "--path", userPath, "--keys", f.keys, "--server-id", testServerID, "--client", testClient, "-"}, stdin: get + "\n"},
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "keys inline and server ID from the environment",
			when:         invocation{args: []string{"check", get, "--method", "GET", "--path", userPath, "--client", testClient}, vars: map[string]string{envKeys: string(inline), envServerID: testServerID}},
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "keys file from the environment",
			when:         invocation{args: []string{"check", get, "--method", "GET", "--path", userPath, "--client", testClient, "--server-id", testServerID}, vars: map[string]string{envKeys: f.keys}},
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "keys and server ID from the data directory",
			when:         invocation{args: []string{"check", get, "--method", "GET", "--path", userPath, "--client", testClient}, vars: map[string]string{envDataDir: dataDir}},
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "--data-dir flag",
			when:         args("check", get, "--method", "GET", "--path", userPath, "--client", testClient, "--data-dir", dataDir),
			expectCode:   0,
			expectStdout: allowed,
		},
		{
			name:         "the flag wins over the environment",
			when:         invocation{args: []string{"check", get, "--method", "GET", "--path", userPath, "--client", testClient, "--data-dir", dataDir}, vars: map[string]string{envServerID: "other-server"}},
			expectCode:   1,
			expectStdout: "denied: unauthorized: server-id mismatch\n",
		},
		{name: "no key ring", when: args("check", get, "--method", "GET", "--path", userPath, "--server-id", testServerID), expectCode: 2, expectStderr: "authgw: check: --keys: no key ring (set --keys, AUTHGW_KEYS, or run authgw serve once to create "},
		{name: "no server ID", when: args("check", get, "--method", "GET", "--path", userPath, "--keys", f.keys), expectCode: 2, expectStderr: "authgw: check: --server-id: no server ID"},
		{name: "unreadable key ring", when: args(f.checkArgs(get, "GET", userPath, "--keys", filepath.Join(f.dir, "none.json"))...), expectCode: 1, expectStderr: "--keys: key ring: open"},
		{name: "bad inline key ring", when: invocation{args: []string{"check", get, "--method", "GET", "--path", userPath, "--server-id", testServerID}, vars: map[string]string{envKeys: `{"keys":[]}`}}, expectCode: 1, expectStderr: "AUTHGW_KEYS: bad key ring"},
		{name: "missing method", when: args("check", get, "--path", userPath, "--keys", f.keys, "--server-id", testServerID), expectCode: 2, expectStderr: "--method is required"},
		{name: "missing path", when: args("check", get, "--method", "GET", "--keys", f.keys, "--server-id", testServerID), expectCode: 2, expectStderr: "--path is required"},
		{name: "missing token", when: args("check", "--method", "GET", "--path", userPath), expectCode: 2, expectStderr: "missing TOKEN"},
		{name: "two tokens", when: args(f.checkArgs(get, "GET", userPath, get)...), expectCode: 2, expectStderr: "want one TOKEN"},
		{name: "bad IP", when: args(f.checkArgs(get, "GET", userPath, "--ip", "10.0.0.300")...), expectCode: 2, expectStderr: `--ip "10.0.0.300"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.when)
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if r.stdout != tt.expectStdout {
				t.Errorf("stdout = %q, want %q", r.stdout, tt.expectStdout)
			}
		})
	}
}

// TestAttenuate checks that attenuated tokens allow less, never more.
func TestAttenuate(t *testing.T) {
	f := newFixture(t)
	get := f.tokens["GET"]
	userPath := "/accounts/v1/users/" + testUser
	attenuate := func(t *testing.T, a ...string) string {
		t.Helper()
		return strings.TrimSpace(mustRun(t, args(append([]string{"attenuate", get}, a...)...)))
	}
	narrowed := attenuate(t, "--routes", userPath)
	twoRoutes := attenuate(t, "--routes", userPath+" /demo/v1/x", "--routes", "/accounts/v1/users/u1/emails/*")
	shortLived := attenuate(t, "--ttl", "5m")
	ipBound := attenuate(t, "--ip", "10.0.0.0/8", "--ip", "192.0.2.7 2001:db8::/32")
	methodPinned := attenuate(t, "--method", "get")
	orgPath := "/accounts/v1/organizations/org-a/clients"
	orgKept := attenuate(t, "--orgs", "org-a:r")
	orgOther := attenuate(t, "--orgs", "org-b:r")
	orgNoFlag := attenuate(t, "--orgs", "org-a")
	orgRoute := attenuate(t, "--routes", "/accounts/v1/organizations/:orgIdRead/clients")
	flagsFirst := strings.TrimSpace(mustRun(t, args("attenuate", "--routes", userPath, "--", get)))

	tests := []struct {
		name       string
		givenToken string
		whenPath   string
		whenExtra  []string
		whenNow    time.Time
		expectOut  string // stdout prefix
	}{
		{name: "original allows the emails route", givenToken: get, whenPath: userPath + "/emails", expectOut: "allowed: "},
		{name: "narrowed denies the emails route", givenToken: narrowed, whenPath: userPath + "/emails", expectOut: "denied: forbidden: route not granted"},
		{name: "narrowed still allows its route", givenToken: narrowed, whenPath: userPath, expectOut: "allowed: "},
		{name: "flags before the token", givenToken: flagsFirst, whenPath: userPath + "/emails", expectOut: "denied: forbidden: route not granted"},
		{name: "routes from two flags: first", givenToken: twoRoutes, whenPath: userPath, expectOut: "allowed: "},
		{name: "routes from two flags: last", givenToken: twoRoutes, whenPath: userPath + "/emails/e1", expectOut: "allowed: "},
		{name: "routes cannot widen", givenToken: twoRoutes, whenPath: "/demo/v1/x", expectOut: "allowed: "},
		{name: "routes cannot widen beyond the original", givenToken: twoRoutes, whenPath: userPath + "/sessions", expectOut: "denied: forbidden: route not granted"},
		{name: "ttl: before", givenToken: shortLived, whenPath: userPath, whenNow: fixedNow.Add(4 * time.Minute), expectOut: "allowed: user u1 session s1 method GET expires 2026-11-22T12:05:00Z"},
		{name: "ttl: after", givenToken: shortLived, whenPath: userPath, whenNow: fixedNow.Add(6 * time.Minute), expectOut: "denied: unauthorized: expired"},
		{name: "ttl: the original still lives", givenToken: get, whenPath: userPath, whenNow: fixedNow.Add(6 * time.Minute), expectOut: "allowed: "},
		{name: "ip inside a CIDR", givenToken: ipBound, whenPath: userPath, whenExtra: []string{"--ip", "10.1.2.3"}, expectOut: "allowed: "},
		{name: "ip equal to an address", givenToken: ipBound, whenPath: userPath, whenExtra: []string{"--ip", "192.0.2.7"}, expectOut: "allowed: "},
		{name: "ip in an IPv6 CIDR", givenToken: ipBound, whenPath: userPath, whenExtra: []string{"--ip", "2001:db8::1"}, expectOut: "allowed: "},
		{name: "ip outside", givenToken: ipBound, whenPath: userPath, whenExtra: []string{"--ip", "192.0.2.8"}, expectOut: "denied: unauthorized: client IP not allowed"},
		{name: "ip unknown", givenToken: ipBound, whenPath: userPath, expectOut: "denied: unauthorized: client IP not allowed"},
		{name: "method pinned to its own", givenToken: methodPinned, whenPath: userPath, expectOut: "allowed: "},
		{name: "orgs: the organization kept", givenToken: orgKept, whenPath: orgPath, expectOut: "allowed: "},
		{name: "orgs: another organization only", givenToken: orgOther, whenPath: orgPath, expectOut: "denied: forbidden: route not granted"},
		{name: "orgs: another organization cannot be added", givenToken: orgOther, whenPath: "/accounts/v1/organizations/org-b/clients", expectOut: "denied: forbidden: route not granted"},
		{name: "orgs: the flag dropped", givenToken: orgNoFlag, whenPath: orgPath, expectOut: "denied: forbidden: route not granted"},
		{name: "orgs: other routes untouched", givenToken: orgOther, whenPath: userPath, expectOut: "allowed: "},
		{name: "routes with an organization parameter", givenToken: orgRoute, whenPath: orgPath, expectOut: "allowed: "},
		{name: "routes with an organization parameter: other paths", givenToken: orgRoute, whenPath: "/accounts/v1/organizations/org-a/memberships", expectOut: "denied: forbidden: route not granted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, invocation{args: f.checkArgs(tt.givenToken, "GET", tt.whenPath, tt.whenExtra...), now: tt.whenNow})
			if !strings.HasPrefix(r.stdout, tt.expectOut) {
				t.Errorf("stdout = %q, want it to start with %q", r.stdout, tt.expectOut)
			}
			wantCode := exitOK
			if strings.HasPrefix(tt.expectOut, "denied") {
				wantCode = exitFailure
			}
			if r.code != wantCode {
				t.Errorf("exit status = %d, want %d", r.code, wantCode)
			}
		})
	}
}

// TestAttenuate_rejects checks that bad caveat values produce no token.
func TestAttenuate_rejects(t *testing.T) {
	f := newFixture(t)
	get := f.tokens["GET"]
	tests := []struct {
		name         string
		when         invocation
		expectCode   int
		expectStderr string
	}{
		{name: "** not last", when: args("attenuate", get, "--routes", "/a/**/b"), expectCode: 2, expectStderr: `--routes: route pattern "/a/**/b": ** is allowed only as the last segment`},
		{name: "one bad pattern among good ones", when: args("attenuate", get, "--routes", "/a/b /c//d"), expectCode: 2, expectStderr: "empty segment"},
		{name: "parameter", when: args("attenuate", get, "--routes", "/users/:userId"), expectCode: 2, expectStderr: "of the :parameters only the organization ones"},
		{name: "org parameter run on", when: args("attenuate", get, "--routes", "/orgs/:orgIdRead-x"), expectCode: 2, expectStderr: "of the :parameters only the organization ones"},
		{name: "orgs with a bad flag", when: args("attenuate", get, "--orgs", "org-a:x"), expectCode: 2, expectStderr: `--orgs "org-a:x"`},
		{name: "orgs with flags out of order", when: args("attenuate", get, "--orgs", "org-a:rd org-b:dr"), expectCode: 2, expectStderr: "--orgs"},
		{name: "orgs twice", when: args("attenuate", get, "--orgs", "org-a", "--orgs", "org-a:r"), expectCode: 2, expectStderr: "each organization once"},
		{name: "orgs with a bad ID", when: args("attenuate", get, "--orgs", "org_a"), expectCode: 2, expectStderr: "--orgs"},
		{name: "relative route", when: args("attenuate", get, "--routes", "users"), expectCode: 2, expectStderr: "must start with /"},
		{name: "empty routes", when: args("attenuate", get, "--routes", " "), expectCode: 2, expectStderr: "--routes: no pattern given"},
		{name: "no narrowing flag", when: args("attenuate", get), expectCode: 2, expectStderr: "nothing to add"},
		{name: "negative ttl", when: args("attenuate", get, "--ttl", "-5m"), expectCode: 2, expectStderr: "--ttl must be positive"},
		{name: "zero ttl", when: args("attenuate", get, "--ttl", "0"), expectCode: 2, expectStderr: "--ttl must be positive"},
		{name: "CIDR with host bits", when: args("attenuate", get, "--ip", "10.0.0.1/8"), expectCode: 2, expectStderr: "did you mean 10.0.0.0/8?"},
		{name: "not an address", when: args("attenuate", get, "--ip", "example.com"), expectCode: 2, expectStderr: "not an IP address or CIDR"},
		{name: "unknown method", when: args("attenuate", get, "--method", "HEAD"), expectCode: 2, expectStderr: `--method "HEAD"`},
		{name: "another method than the token's", when: args("attenuate", get, "--method", "POST"), expectCode: 1, expectStderr: "this is a GET token"},
		{name: "malformed token", when: args("attenuate", "not-a-token", "--ttl", "5m"), expectCode: 1, expectStderr: "malformed token encoding"},
		{name: "missing token", when: args("attenuate", "--ttl", "5m"), expectCode: 2, expectStderr: "missing TOKEN"},
		{name: "empty standard input", when: invocation{args: []string{"attenuate", "-", "--ttl", "5m"}, stdin: "\n"}, expectCode: 1, expectStderr: "no token on standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.when)
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if r.stdout != "" {
				t.Errorf("stdout = %q, want no token", r.stdout)
			}
		})
	}
}

// TestInspect checks inspect's text output and its signature verdicts.
func TestInspect(t *testing.T) {
	f := newFixture(t)
	get := f.tokens["GET"]
	sameIDOtherSecret := writeRing(t, t.TempDir(), "k1", "")
	otherID := writeRing(t, t.TempDir(), "k7", "")
	caveatLines := []string{
		"caveats:\n",
		"  server-id " + testServerID + "\n",
		"  method GET\n",
		"  routes /accounts/v1/users/u1/** /accounts/v1/users/current/** /accounts/v1/ui/** /accounts/v1/organizations /accounts/v1/organizations/:orgIdRead/** /demo/v1/**\n",
		"  orgs org-a:r\n",
		"  time-before " + memberExpires + "\n",
		"  user u1\n",
		"  session s1\n",
		"  client c1\n",
	}
	identifier := []string{"version:   1\n", "key:       k1\n", "session:   s1\n", "issued at: 2026-11-22T12:00:00.000Z\n", "nonce:     "}
	tests := []struct {
		name         string
		when         invocation
		expectCode   int
		expectStdout []string
		expectStderr string
	}{
		{
			name:         "right ring",
			when:         args("inspect", get, "--keys", f.keys),
			expectCode:   0,
			expectStdout: append(append(slices.Clone(identifier), caveatLines...), "signature: valid", "expires:   "+memberExpires+" (in 15m0s)\n"),
		},
		{
			name:         "same key ID, other secret",
			when:         args("inspect", get, "--keys", sameIDOtherSecret),
			expectCode:   1,
			expectStdout: append(slices.Clone(caveatLines), `signature: INVALID (does not verify with key "k1")`),
		},
		{
			name:         "ring without the key",
			when:         args("inspect", "--keys", otherID, get),
			expectCode:   1,
			expectStdout: []string{`signature: INVALID (key "k1" is not in the key ring (k7))`},
		},
		{
			name:         "no ring: decoded, not checked",
			when:         args("inspect", get),
			expectCode:   0,
			expectStdout: append(slices.Clone(caveatLines), "signature: not checked"),
		},
		{
			name:         "server ID matches",
			when:         args("inspect", get, "--server-id", testServerID),
			expectCode:   0,
			expectStdout: []string{"server-id: matches " + testServerID + "\n"},
		},
		{
			name:         "server ID differs",
			when:         args("inspect", get, "--server-id", "other-server"),
			expectCode:   1,
			expectStdout: []string{"server-id: MISMATCH (configured other-server)\n"},
		},
		{
			name:         "expired",
			when:         invocation{args: []string{"inspect", get}, now: fixedNow.Add(20 * time.Minute)},
			expectCode:   0,
			expectStdout: []string{"(expired 5m0s ago)"},
		},
		{
			name:         "standard input",
			when:         invocation{args: []string{"inspect", "-", "--keys", f.keys}, stdin: get},
			expectCode:   0,
			expectStdout: []string{"signature: valid"},
		},
		{
			name:         "malformed token",
			when:         args("inspect", "AAAA"),
			expectCode:   1,
			expectStderr: "malformed token encoding",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.when)
			expectResult(t, r, tt.expectCode, tt.expectStdout, []string{tt.expectStderr})
		})
	}
}

// TestInspect_attenuatedAndForeignCaveats checks that added caveats are
// shown, and unknown ones flagged.
func TestInspect_attenuatedAndForeignCaveats(t *testing.T) {
	f := newFixture(t)
	narrowed := strings.TrimSpace(mustRun(t, args("attenuate", f.tokens["GET"], "--routes", "/demo/v1/x")))
	// A holder may add any caveat with another implementation; the
	// verifier refuses unknown ones, and inspect says so.
	foreign, err := mint.AttenuateText(narrowed, "colour blue")
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, args("inspect", foreign, "--keys", f.keys))
	expectResult(t, r, 0, []string{
		"  routes /demo/v1/x\n  colour blue\n",
		`problem:   caveat 11: unknown caveat "colour"`,
		"signature: valid",
	}, nil)
}

// TestInspect_json checks inspect --json.
func TestInspect_json(t *testing.T) {
	f := newFixture(t)
	r := runCLI(t, args("inspect", "--json", f.tokens["DELETE"], "--keys", f.keys, "--server-id", testServerID))
	expectResult(t, r, 0, nil, nil)
	var in inspection
	if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	if in.Identifier == nil || in.Identifier.KeyID != "k1" || in.Identifier.Session != testSession || !in.Identifier.IssuedAt.Equal(fixedNow) || len(in.Identifier.Nonce) != 2*mint.NonceSize {
		t.Errorf("identifier = %+v", in.Identifier)
	}
	if in.Signature != verdictValid || in.ServerID != verdictMatch {
		t.Errorf("signature %q server-id %q, want valid and match", in.Signature, in.ServerID)
	}
	// The member policy keeps closing the account and removing an address
	// under a step-up: the DELETE token carries an except-routes caveat.
	if len(in.Caveats) != 9 || in.Caveats[1] != "method DELETE" || !strings.HasPrefix(in.Caveats[3], "except-routes ") || in.Caveats[6] != "user-roles -" ||
		in.Expires == nil || in.Expires.Format(mint.TimeFormat) != memberExpires {
		t.Errorf("caveats %q expires %v", in.Caveats, in.Expires)
	}
}

// TestHelp checks every command's --help and the command list.
func TestHelp(t *testing.T) {
	for _, spec := range commands {
		name := strings.Fields(spec.name)
		for _, flagName := range []string{"--help", "-h", "-help"} {
			t.Run(spec.name+" "+flagName, func(t *testing.T) {
				r := runCLI(t, args(append(slices.Clone(name), flagName)...))
				expectResult(t, r, 0, nil, nil)
				if r.stdout != spec.usage || r.stderr != "" {
					t.Errorf("stdout = %q, stderr = %q; want the usage text only", r.stdout, r.stderr)
				}
			})
		}
		t.Run("help "+spec.name, func(t *testing.T) {
			r := runCLI(t, args(append([]string{"help"}, name...)...))
			if r.code != 0 || r.stdout != spec.usage {
				t.Errorf("exit %d, stdout %q", r.code, r.stdout)
			}
		})
		t.Run(spec.name+" usage names every flag", func(t *testing.T) {
			if !strings.HasPrefix(spec.usage, "Usage: authgw "+spec.name+" ") {
				t.Errorf("usage does not start with the command line: %.40q", spec.usage)
			}
			spec.new().flagSet().VisitAll(func(fl *flag.Flag) {
				if !strings.Contains(spec.usage, "--"+fl.Name+" ") {
					t.Errorf("usage of %s does not mention --%s", spec.name, fl.Name)
				}
			})
		})
	}
	for _, a := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		t.Run(strings.Join(a, " "), func(t *testing.T) {
			r := runCLI(t, args(a...))
			expectResult(t, r, 0, []string{"Commands:", "  policy check ", "  attenuate "}, nil)
		})
	}
	for _, a := range [][]string{{"policy", "--help"}, {"help", "policy"}} {
		t.Run(strings.Join(a, " "), func(t *testing.T) {
			r := runCLI(t, args(a...))
			if r.code != 0 || r.stdout != policyCheckUsage {
				t.Errorf("exit %d, stdout %q", r.code, r.stdout)
			}
		})
	}
}

// TestUsageErrors checks that command-line mistakes exit 2 with one line.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name         string
		whenArgs     []string
		expectStderr string
	}{
		{name: "no command", whenArgs: nil, expectStderr: "Commands:"},
		{name: "unknown command", whenArgs: []string{"frobnicate"}, expectStderr: `authgw: unknown command "frobnicate"`},
		{name: "help for an unknown command", whenArgs: []string{"help", "frob"}, expectStderr: `authgw: help: unknown command "frob"`},
		{name: "keygen unknown flag", whenArgs: []string{"keygen", "--bogus"}, expectStderr: "authgw: keygen: flag provided but not defined: --bogus (see authgw keygen --help)"},
		{name: "policy check unknown flag", whenArgs: []string{"policy", "check", "--bogus", policiesDir}, expectStderr: "authgw: policy check: flag provided but not defined"},
		{name: "mint unknown flag", whenArgs: []string{"mint", "--bogus"}, expectStderr: "authgw: mint: flag provided but not defined"},
		{name: "inspect unknown flag", whenArgs: []string{"inspect", "x", "--bogus"}, expectStderr: "authgw: inspect: flag provided but not defined"},
		{name: "attenuate unknown flag", whenArgs: []string{"attenuate", "x", "--bogus"}, expectStderr: "authgw: attenuate: flag provided but not defined"},
		{name: "check unknown flag", whenArgs: []string{"check", "x", "--bogus"}, expectStderr: "authgw: check: flag provided but not defined"},
		{name: "flag without its value", whenArgs: []string{"check", "x", "--method"}, expectStderr: "flag needs an argument: --method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(tt.whenArgs...))
			if r.code != exitUsage {
				t.Errorf("exit status = %d, want 2 (stderr %q)", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.expectStderr) {
				t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.expectStderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

// TestParseInterspersed checks flags before, between and after arguments.
func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name             string
		whenArgs         []string
		expectPositional []string
		expectX          string
	}{
		{name: "flags first", whenArgs: []string{"--x", "1", "a", "b"}, expectPositional: []string{"a", "b"}, expectX: "1"},
		{name: "flags last", whenArgs: []string{"a", "b", "-x=1"}, expectPositional: []string{"a", "b"}, expectX: "1"},
		{name: "flags between", whenArgs: []string{"a", "-x", "1", "b"}, expectPositional: []string{"a", "b"}, expectX: "1"},
		{name: "dash is positional", whenArgs: []string{"-", "--x", "1"}, expectPositional: []string{"-"}, expectX: "1"},
		{name: "double dash ends flags", whenArgs: []string{"a", "--", "--x", "b"}, expectPositional: []string{"a", "--x", "b"}, expectX: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("t")
			x := fs.String("x", "", "")
			got, err := parseInterspersed(fs, tt.whenArgs)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.expectPositional) || *x != tt.expectX {
				t.Errorf("positional %q x %q, want %q %q", got, *x, tt.expectPositional, tt.expectX)
			}
		})
	}
}
