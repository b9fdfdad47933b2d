package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/verifier/requestinfo"
)

// lockedBuffer is a strings.Builder safe to read while serve writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingLine = regexp.MustCompile(`serving on http://(\S+) \(admin http://(\S+)\)`)

// startServe runs authgw serve in-process on free ports with the data
// directory dir and returns its two base URLs, a stop function, and the
// channel its exit status arrives on.
func startServe(t *testing.T, dir string, extra ...string) (gatewayURL, adminURL string, stop func(), exited <-chan int, stdout *lockedBuffer) {
	t.Helper()
	gatewayURL, adminURL, stop, exited, stdout, _ = startServeLogged(t, dir, extra...)
	return
}

// startServeLogged is startServe that also returns serve's log (stderr).
func startServeLogged(t *testing.T, dir string, extra ...string) (gatewayURL, adminURL string, stop func(), exited <-chan int, stdout, stderr *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	env := environment{
		lookupEnv: func(k string) (string, bool) {
			v, ok := map[string]string{envDataDir: dir}[k]
			return v, ok
		},
		now:    time.Now,
		random: rand.Reader,
		stop:   ctx,
	}
	done := make(chan int, 1)
	go func() {
		args := append([]string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--cookie-secure", "false"}, extra...)
		done <- run(args, strings.NewReader(""), stdout, stderr, env)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := servingLine.FindStringSubmatch(stdout.String()); m != nil {
			t.Cleanup(func() {
				cancel()
				if t.Failed() {
					t.Logf("serve's log:\n%s", stderr.String())
				}
			})
			return "http://" + m[1], "http://" + m[2], cancel, done, stdout, stderr
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before serving: stdout %q stderr %q", code, stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("serve did not start: stdout %q stderr %q", stdout.String(), stderr.String())
	return
}

// TestServe runs the real command end to end on the embedded defaults:
// first start creates the data directory's files, a registered backend
// is reached through the gateway with a bootstrapped client and a token
// minted from the example policies, and stopping drains a request in
// flight.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}

	slow := make(chan struct{})
	var gotInfo string
	var infoMu sync.Mutex
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoMu.Lock()
		gotInfo = r.Header.Get(requestinfo.HeaderInfo)
		infoMu.Unlock()
		if r.URL.Path == "/slow" {
			close(slow)
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, "backend "+r.URL.Path)
	}))
	defer backend.Close()

	// Set-up from the command line alone, before the first start.
	boot := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", "admin@example.com", "--name", "Ada",
		"--password-stdin"}, stdin: "correct horse battery staple\n", vars: vars})
	var creds struct{ UserID, ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(boot), &creds); err != nil {
		t.Fatalf("bootstrap output %q: %v", boot, err)
	}
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backend.URL}, vars: vars})

	gatewayURL, adminURL, stop, exited, stdout := startServe(t, dir)

	for _, f := range []string{keysFile, serverIDFile, infoKeyFile, databaseFile, "policies/member.json"} {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("first start did not create %s: %v", f, err)
			continue
		}
		if f == keysFile && info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, info.Mode().Perm())
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(adminURL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("admin %s = %d, want 200", path, resp.StatusCode)
		}
	}

	// serve made keys.json and server-id: mint reads the same data directory.
	var tokens map[string]string
	out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(dir, "policies", "member.json"),
		"--user", creds.UserID, "--client", creds.ClientID}, vars: vars, now: time.Now()})
	if err := json.Unmarshal([]byte(out), &tokens); err != nil {
		t.Fatal(err)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(creds.ClientID + ":" + creds.ClientSecret))
	get := func(path, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", gatewayURL+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name         string
		whenPath     string
		whenAuth     string
		expectStatus int
		expectBody   string
	}{
		{"granted route", "/demo/v1/notes", "Basic " + basic + ", Macaroon " + tokens["GET"], 200, "backend /notes"},
		{"no token", "/demo/v1/notes", "Basic " + basic, 401, "TOKEN-MISSING"},
		{"no client", "/demo/v1/notes", "Macaroon " + tokens["GET"], 401, "MISSING-BASIC-AUTH"},
		{"route not granted", "/accounts/v1/users/someone-else", "Basic " + basic + ", Macaroon " + tokens["GET"], 403, "TOKEN-NOT-GRANTED"},
		// The token is checked (step 7) before the route (step 8).
		{"unregistered api, not granted either", "/nope/v1/x", "Basic " + basic + ", Macaroon " + tokens["GET"], 403, "TOKEN-NOT-GRANTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(tt.whenPath, tt.whenAuth)
			if status != tt.expectStatus || !strings.Contains(body, tt.expectBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tt.whenPath, status, body, tt.expectStatus, tt.expectBody)
			}
		})
	}
	infoMu.Lock()
	if gotInfo == "" {
		t.Error("the backend received no X-Auth-Info")
	}
	infoMu.Unlock()

	// Graceful shutdown: a request in flight when the stop comes completes.
	type reply struct {
		status int
		body   string
	}
	inFlight := make(chan reply, 1)
	go func() {
		s, b := get("/demo/v1/slow", "Basic "+basic+", Macaroon "+tokens["GET"])
		inFlight <- reply{s, b}
	}()
	<-slow
	stop()
	r := <-inFlight
	if r.status != 200 || r.body != "backend /slow" {
		t.Errorf("request in flight at shutdown = %d %q, want 200 from the backend", r.status, r.body)
	}
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("serve exit status = %d, want 0", code)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stdout.String(), "authgw stopped") {
		t.Errorf("stdout lacks the stop line: %q", stdout.String())
	}
}

// TestServe_badSettings checks that a bad setting stops start-up with
// one line naming it, and shows no secret. In whenArgs and givenVars,
// DIR is the data directory, where givenFiles are written first.
func TestServe_badSettings(t *testing.T) {
	tests := []struct {
		name          string
		givenFiles    map[string]string
		givenVars     map[string]string
		whenArgs      []string
		expectLine    string
		expectNotShow string
	}{
		{name: "listen", whenArgs: []string{"serve", "--listen", "nonsense"}, expectLine: "authgw: serve: --listen:"},
		{name: "cookie-secure", whenArgs: []string{"serve", "--cookie-secure", "maybe"}, expectLine: "authgw: serve: --cookie-secure:"},
		{name: "trusted proxies", whenArgs: []string{"serve", "--trusted-proxies", "10.0.0.0/99"}, expectLine: "authgw: serve: --trusted-proxies:"},
		{name: "server id", whenArgs: []string{"serve", "--server-id", "has space"}, expectLine: "authgw: serve: --server-id:"},
		{name: "keys", whenArgs: []string{"serve", "--keys", "/nonexistent/keys.json"}, expectLine: "authgw: serve: --keys:"},
		{name: "info key named but missing", whenArgs: []string{"serve", "--info-key", "/nonexistent/info-key.pem"}, expectLine: "authgw: serve: --info-key:"},
		{name: "argument", whenArgs: []string{"serve", "extra"}, expectLine: "authgw: "},
		{name: "smtp port, password hidden", whenArgs: []string{"serve", "--smtp", "smtp://ops:hunter2@mail.example:99999?from=a@example.com"},
			expectLine: "authgw: serve: --smtp: ", expectNotShow: "hunter2"},
		{name: "smtp scheme", whenArgs: []string{"serve", "--smtp", "http://ops:hunter2@mail.example"},
			expectLine: "authgw: serve: --smtp: ", expectNotShow: "hunter2"},
		{name: "smtp from the environment, no sender", givenVars: map[string]string{"AUTHGW_SMTP": "smtp://mail.example"},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: AUTHGW_SMTP: "},
		{name: "totp key missing", whenArgs: []string{"serve", "--totp-key", "DIR/nonexistent"}, expectLine: "authgw: serve: --totp-key: "},
		{name: "totp key not hex", givenFiles: map[string]string{"k": "not-hex-but-secret\n"}, whenArgs: []string{"serve", "--totp-key", "DIR/k"},
			expectLine: "authgw: serve: --totp-key: ", expectNotShow: "not-hex-but-secret"},
		{name: "totp key short", givenFiles: map[string]string{"k": "abcd\n"}, whenArgs: []string{"serve", "--totp-key", "DIR/k"},
			expectLine: "authgw: serve: --totp-key: "},
		{name: "totp key of the data directory", givenFiles: map[string]string{totpKeyFile: strings.Repeat("zz", 32)},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: --totp-key (from the data directory): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.givenFiles {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			vars := map[string]string{envDataDir: dir}
			for k, v := range tt.givenVars {
				vars[k] = strings.ReplaceAll(v, "DIR", dir)
			}
			args := make([]string, len(tt.whenArgs))
			for i, a := range tt.whenArgs {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			r := runCLI(t, invocation{args: args, vars: vars})
			expectResult(t, r, exitUsage, nil, []string{tt.expectLine})
			if tt.expectNotShow != "" && strings.Contains(r.stderr+r.stdout, tt.expectNotShow) {
				t.Errorf("the output shows %q: %q", tt.expectNotShow, r.stderr)
			}
		})
	}
}
