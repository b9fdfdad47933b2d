package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/gateway/demo"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// demoLine is serve's start-up line about the demo backend.
var demoLine = regexp.MustCompile(`demo backend on (http://\S+) \(a demo, not for production; --demo-listen off turns it off\), (.*)`)

// listAPIs runs authgw apis list --json on the data directory dir.
func listAPIs(t *testing.T, dir string) []apiJSON {
	t.Helper()
	out := mustRun(t, invocation{args: []string{"apis", "list", "--json"}, vars: map[string]string{envDataDir: dir}})
	var apis []apiJSON
	if err := json.Unmarshal([]byte(out), &apis); err != nil {
		t.Fatalf("apis list --json = %q: %v", out, err)
	}
	return apis
}

// stopServe stops a serve started by startServe and waits for it to exit.
func stopServe(t *testing.T, stop func(), exited <-chan int) {
	t.Helper()
	stop()
	select {
	case code := <-exited:
		if code != exitOK {
			t.Fatalf("serve exit status = %d, want 0", code)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServe_demo runs serve on the embedded defaults: it starts the demo
// backend and registers it as demo v1, reachable through the gateway with
// a login's tokens and refusing requests that bypass the gateway; a
// restart registers nothing more. Only the addresses differ from the
// defaults: the demo's default, 127.0.0.1:6548, may be held by another
// serve on this machine (TestResolveDemoListen checks the default).
func TestServe_demo(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	demoAddr := freeAddr(t)
	extra := []string{"--demo-listen", demoAddr}

	gatewayURL, _, stop, exited, stdout := startServe(t, dir, extra...)
	m := demoLine.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("serve's start-up lines do not name the demo backend:\n%s", stdout.String())
	}
	demoURL := m[1]
	if want := "through the gateway: " + gatewayURL + "/demo/v1/"; m[2] != want {
		t.Errorf("demo line ends %q, want %q", m[2], want)
	}
	if demoURL != "http://"+demoAddr {
		t.Errorf("demo backend on %s, want http://%s", demoURL, demoAddr)
	}
	if strings.Contains(stdout.String(), "authgw bootstrap") {
		t.Errorf("bootstrapped already, yet the start-up lines say to bootstrap:\n%s", stdout.String())
	}
	apis := listAPIs(t, dir)
	if len(apis) != 1 || apis[0].Name != demo.APIName || apis[0].Version != 1 || apis[0].URL != demoURL || !apis[0].Active {
		t.Fatalf("registry after the first start = %+v, want demo v1 at %s, active", apis, demoURL)
	}
	first := apis[0]

	// Through the gateway, with the tokens of a login.
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)
	s := a.LoginWithPassword()
	r := a.Do("GET", "/demo/v1/hello", s.Macaroons["GET"], nil)
	var hello demo.Hello
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &hello) != nil {
		t.Fatalf("GET /demo/v1/hello = %d %s, want 200 JSON", r.Status, r.Body)
	}
	if want := (demo.Hello{Hello: "from the demo backend", Path: "/hello", Method: "GET", Client: creds.ClientID,
		User: creds.UserID, Session: s.SessionID}); hello != want {
		t.Errorf("GET /demo/v1/hello = %+v, want %+v", hello, want)
	}
	note := "/demo/v1/notes/" + creds.UserID + "_first"
	if r := a.Do("POST", note, s.Macaroons["POST"], map[string]string{"text": "hello"}); r.Status != http.StatusCreated {
		t.Errorf("POST %s = %d %s, want 201", note, r.Status, r.Body)
	}
	if r := a.Do("GET", "/demo/v1/notes", s.Macaroons["GET"], nil); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), `"text":"hello"`) {
		t.Errorf("GET /demo/v1/notes = %d %s, want 200 with the note", r.Status, r.Body)
	}
	if r := a.Do("GET", "/demo/v1/hello", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("GET /demo/v1/hello without a token = %d %s, want 401 from the gateway", r.Status, r.Body)
	}

	// Around the gateway: no request info, or request info not signed
	// with serve's key.
	id, err := os.ReadFile(filepath.Join(dir, serverIDFile))
	if err != nil {
		t.Fatal(err)
	}
	forged := forgeRequestInfo(t, "authgw:"+strings.TrimSpace(string(id)), requestinfo.Claims{Client: creds.ClientID, Audience: demo.APIName,
		User: &requestinfo.UserClaims{ID: creds.UserID, SessionID: s.SessionID}})
	for name, info := range map[string]string{"no request info": "", "forged request info": forged} {
		req, _ := http.NewRequest("GET", demoURL+"/hello", nil)
		if info != "" {
			infosign.SetHeaders(req.Header, info)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"t":"error"`) {
			t.Errorf("%s, straight to the demo: %d %s, want 401 JSON", name, resp.StatusCode, b)
		}
	}

	// A restart finds demo v1 and registers nothing.
	stopServe(t, stop, exited)
	gatewayURL, _, stop, exited, stdout = startServe(t, dir, extra...)
	if m := demoLine.FindStringSubmatch(stdout.String()); m == nil || !strings.HasPrefix(m[2], "through the gateway") {
		t.Errorf("after a restart, serve's demo line = %q, want the demo routed", m)
	}
	if apis := listAPIs(t, dir); len(apis) != 1 || !reflect.DeepEqual(apis[0], first) {
		t.Errorf("registry after a restart = %+v, want only %+v", apis, first)
	}
	a = clitest.NewAccountsCaller(t, gatewayURL, creds)
	s = a.LoginWithPassword()
	if r := a.Do("GET", "/demo/v1/hello", s.Macaroons["GET"], nil); r.Status != http.StatusOK {
		t.Errorf("after a restart, GET /demo/v1/hello = %d %s, want 200", r.Status, r.Body)
	}
	stopServe(t, stop, exited)
}

// TestServe_demoOff checks the ways to turn the demo off: serve then
// registers nothing and says how to add a backend.
func TestServe_demoOff(t *testing.T) {
	tests := []struct {
		name      string
		givenFile string // config file content, when not empty
		whenExtra []string
	}{
		{name: "flag", whenExtra: []string{"--demo-listen", "off"}},
		{name: "flag, upper case", whenExtra: []string{"--demo-listen", "OFF"}},
		{name: "empty flag", whenExtra: []string{"--demo-listen="}},
		{name: "config file", givenFile: `{"demo-listen": "off"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			extra := tt.whenExtra
			if tt.givenFile != "" {
				path := filepath.Join(t.TempDir(), "config.json")
				if err := os.WriteFile(path, []byte(tt.givenFile), 0o600); err != nil {
					t.Fatal(err)
				}
				extra = append(extra, "--config", path)
			}
			_, _, stop, exited, stdout := startServe(t, dir, extra...)
			out := stdout.String()
			stopServe(t, stop, exited)
			if strings.Contains(out, "demo backend") || !strings.Contains(out, "authgw apis add --name NAME") {
				t.Errorf("start-up lines with the demo off:\n%s", out)
			}
			if !strings.Contains(out, "authgw bootstrap --org") {
				t.Errorf("start-up lines on an empty database do not say to bootstrap:\n%s", out)
			}
			if apis := listAPIs(t, dir); len(apis) != 0 {
				t.Errorf("registry = %+v, want it empty", apis)
			}
		})
	}
}

// TestServe_demoKeepsAnExistingDemo checks that serve never changes an
// API named demo that is registered already.
func TestServe_demoKeepsAnExistingDemo(t *testing.T) {
	tests := []struct {
		name      string
		givenArgs []string
	}{
		{"demo v1 elsewhere", []string{"--version", "1", "--url", "http://127.0.0.1:9/mine"}},
		{"demo v2", []string{"--version", "2", "--url", "http://127.0.0.1:9"}},
		{"demo v1 inactive", []string{"--version", "1", "--url", "http://127.0.0.1:9", "--inactive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			vars := map[string]string{envDataDir: dir}
			mustRun(t, invocation{args: []string{"migrate", "up"}, vars: vars})
			mustRun(t, invocation{args: append([]string{"apis", "add", "--name", "demo"}, tt.givenArgs...), vars: vars})
			before := listAPIs(t, dir)
			_, _, stop, exited, stdout := startServe(t, dir, "--demo-listen", "127.0.0.1:0")
			out := stdout.String()
			stopServe(t, stop, exited)
			if m := demoLine.FindStringSubmatch(out); m == nil || !strings.Contains(m[2], "not routed") {
				t.Errorf("start-up lines do not say the demo is not routed:\n%s", out)
			}
			if after := listAPIs(t, dir); len(after) != 1 || !reflect.DeepEqual(after[0], before[0]) {
				t.Errorf("registry = %+v, want it unchanged: %+v", after, before)
			}
		})
	}
}

// TestServe_demoListenBad checks that a malformed --demo-listen stops
// start-up with one line naming it.
func TestServe_demoListenBad(t *testing.T) {
	for _, v := range []string{"nonsense", "127.0.0.1", "on"} {
		r := runCLI(t, invocation{args: []string{"serve", "--demo-listen", v}})
		expectResult(t, r, exitUsage, nil, []string{"authgw: serve: --demo-listen: "})
	}
	r := runCLI(t, invocation{args: []string{"serve"}, vars: map[string]string{"AUTHGW_DEMO_LISTEN": "nonsense"}})
	expectResult(t, r, exitUsage, nil, []string{"authgw: serve: AUTHGW_DEMO_LISTEN: "})
}

// TestResolveDemoListen checks where --demo-listen comes from: the flag,
// AUTHGW_DEMO_LISTEN, the config file, else 127.0.0.1:6548; "off" at any
// level, or an empty flag, turns the demo off.
func TestResolveDemoListen(t *testing.T) {
	tests := []struct {
		name       string
		givenArgs  []string
		givenVars  map[string]string
		givenFile  string
		expectAddr string
	}{
		{name: "default", expectAddr: "127.0.0.1:6548"},
		{name: "flag", givenArgs: []string{"--demo-listen", "127.0.0.1:7000"}, expectAddr: "127.0.0.1:7000"},
		{name: "flag off", givenArgs: []string{"--demo-listen", "off"}, expectAddr: ""},
		{name: "empty flag", givenArgs: []string{"--demo-listen="}, expectAddr: ""},
		{name: "environment off", givenVars: map[string]string{"AUTHGW_DEMO_LISTEN": "off"}, expectAddr: ""},
		{name: "empty environment is unset", givenVars: map[string]string{"AUTHGW_DEMO_LISTEN": ""}, expectAddr: "127.0.0.1:6548"},
		{name: "config file", givenFile: `{"demo-listen": "[::1]:7001"}`, expectAddr: "[::1]:7001"},
		{name: "config file off", givenFile: `{"demo-listen": "off"}`, expectAddr: ""},
		{name: "flag before environment", givenArgs: []string{"--demo-listen", "127.0.0.1:7000"},
			givenVars: map[string]string{"AUTHGW_DEMO_LISTEN": "off"}, expectAddr: "127.0.0.1:7000"},
		{name: "environment before config file", givenVars: map[string]string{"AUTHGW_DEMO_LISTEN": "127.0.0.1:7002"},
			givenFile: `{"demo-listen": "off"}`, expectAddr: "127.0.0.1:7002"},
		{name: "off by default with a configured database", givenArgs: []string{"--database", "mysql:u@tcp(db:3306)/authgw"}, expectAddr: ""},
		{name: "off by default with a database from the environment", givenVars: map[string]string{"AUTHGW_DATABASE": "sqlite:/var/lib/authgw/a.db"}, expectAddr: ""},
		{name: "asked for with a configured database", givenArgs: []string{"--database", "sqlite:x.db", "--demo-listen", "127.0.0.1:7003"}, expectAddr: "127.0.0.1:7003"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range tt.givenVars {
				vars[k] = v
			}
			if tt.givenFile != "" {
				path := filepath.Join(t.TempDir(), "config.json")
				if err := os.WriteFile(path, []byte(tt.givenFile), 0o600); err != nil {
					t.Fatal(err)
				}
				vars[envConfig] = path
			}
			c := &cli{environment: environment{lookupEnv: func(k string) (string, bool) {
				v, ok := vars[k]
				return v, ok
			}}.withDefaults()}
			var s serveCommand
			if err := s.flagSet().Parse(tt.givenArgs); err != nil {
				t.Fatal(err)
			}
			got, err := resolveDemoListen(c, &s.settings)
			if err != nil || got != tt.expectAddr {
				t.Errorf("resolveDemoListen = %q, %v; want %q", got, err, tt.expectAddr)
			}
		})
	}
}

// forgeRequestInfo returns request info for the claims from issuer,
// signed with a key of its own: not serve's.
func forgeRequestInfo(t *testing.T, issuer string, c requestinfo.Claims) string {
	t.Helper()
	var info string
	key, err := infosign.GenerateKey()
	if err == nil {
		var s *infosign.Signer
		if s, err = infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: issuer}); err == nil {
			info, err = s.Sign(c)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return info
}
