package main

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// demoIssuer is the issuer the demo handler of these tests expects.
const demoIssuer = "authgw:test-server"

// demoInfo returns an X-Auth-Info token signed by key for the claims.
func demoInfo(t *testing.T, key *ecdsa.PrivateKey, c requestinfo.Claims) string {
	t.Helper()
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: demoIssuer})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newTestKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := infosign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// demoAnswer is one answer of the demo handler.
type demoAnswer struct {
	status int
	body   string
}

// TestDemoBackend checks the demo backend's handler: it refuses requests
// without valid request info, says who is calling, and keeps each user's
// notes.
func TestDemoBackend(t *testing.T) {
	key, other := newTestKey(t), newTestKey(t)
	h, err := newDemoHandler(&key.PublicKey, demoIssuer)
	if err != nil {
		t.Fatal(err)
	}
	claims := func(user string) requestinfo.Claims {
		c := requestinfo.Claims{Client: "client-1", SecretVerified: true, ClientRoles: []string{"system"}, IP: "127.0.0.1", Audience: demoAPIName}
		if user != "" {
			c.User = &requestinfo.UserClaims{ID: user, SessionID: "session-of-" + user, Roles: []string{"user"}}
		}
		return c
	}
	valid := func(user string) string { return demoInfo(t, key, claims(user)) }
	call := func(method, path, info, body string) demoAnswer {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, r)
		if info != "" {
			infosign.SetHeaders(req.Header, info)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return demoAnswer{rec.Code, rec.Body.String()}
	}

	t.Run("request info", func(t *testing.T) {
		wrongAudience := claims("u1")
		wrongAudience.Audience = "reports"
		otherIssuer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw:elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		fromElsewhere, err := otherIssuer.Sign(claims("u1"))
		if err != nil {
			t.Fatal(err)
		}
		good := valid("u1")
		tampered := good[:len(good)-4] + "AAAA"
		tests := []struct {
			name         string
			whenInfo     string
			expectStatus int
			expectBody   string
		}{
			{"missing", "", 401, `"code":"AUTH-INFO-MISSING"`},
			{"not a JWS", "a.b.c", 401, `"code":"AUTH-INFO-INVALID"`},
			{"signed by another key", demoInfo(t, other, claims("u1")), 401, `"code":"AUTH-INFO-INVALID"`},
			{"signature tampered with", tampered, 401, `"code":"AUTH-INFO-INVALID"`},
			{"for another API", demoInfo(t, key, wrongAudience), 401, `"code":"AUTH-INFO-INVALID"`},
			{"from another server", fromElsewhere, 401, `"code":"AUTH-INFO-INVALID"`},
			{"valid", good, 200, `{"hello":"from the demo backend","path":"/hello","method":"GET","client":"client-1","user":"u1","session":"session-of-u1"}`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := call("GET", "/hello", tt.whenInfo, "")
				if got.status != tt.expectStatus || !strings.Contains(got.body, tt.expectBody) {
					t.Errorf("GET /hello = %d %s, want %d containing %s", got.status, got.body, tt.expectStatus, tt.expectBody)
				}
			})
		}
	})

	t.Run("notes", func(t *testing.T) {
		u1, u2, anonymous := valid("u1"), valid("u2"), valid("")
		steps := []struct {
			name         string
			whenMethod   string
			whenPath     string
			whenInfo     string
			whenBody     string
			expectStatus int
			expectBody   string
		}{
			{"none yet", "GET", "/notes", u1, "", 200, `{"notes":[]}`},
			{"create", "POST", "/notes/u1_shopping", u1, `{"text":"milk"}`, 201, `{"id":"u1_shopping","user":"u1","text":"milk"}`},
			{"create again", "POST", "/notes/u1_shopping", u1, `{"text":"eggs"}`, 409, `"code":"NOTE-EXISTS"`},
			{"replace", "PUT", "/notes/u1_shopping", u1, `{"text":"eggs"}`, 200, `"text":"eggs"`},
			{"create by PUT", "PUT", "/notes/u1_todo", u1, `{"text":"call Bob"}`, 201, `"id":"u1_todo"`},
			{"read", "GET", "/notes/u1_shopping", u1, "", 200, `{"id":"u1_shopping","user":"u1","text":"eggs"}`},
			{"list", "GET", "/notes", u1, "", 200, `{"notes":[{"id":"u1_shopping","user":"u1","text":"eggs"},{"id":"u1_todo","user":"u1","text":"call Bob"}]}`},
			{"another user's list", "GET", "/notes", u2, "", 200, `{"notes":[]}`},
			{"another user reads", "GET", "/notes/u1_shopping", u2, "", 403, `"code":"NOT-YOUR-NOTE"`},
			{"another user writes", "PUT", "/notes/u1_shopping", u2, `{"text":"x"}`, 403, `"code":"NOT-YOUR-NOTE"`},
			{"another user deletes", "DELETE", "/notes/u1_shopping", u2, "", 403, `"code":"NOT-YOUR-NOTE"`},
			{"a user ID that only starts like the caller's", "PUT", "/notes/u12_x", u1, `{"text":"x"}`, 403, `"code":"NOT-YOUR-NOTE"`},
			{"no user", "GET", "/notes", anonymous, "", 403, `"code":"NO-USER"`},
			{"bad name", "PUT", "/notes/u1_a%20b", u1, `{"text":"x"}`, 400, `"code":"BAD-NOTE-NAME"`},
			{"nested name", "PUT", "/notes/u1_a/b", u1, `{"text":"x"}`, 400, `"code":"BAD-NOTE-NAME"`},
			{"no body", "PUT", "/notes/u1_x", u1, "", 400, `"code":"BAD-BODY"`},
			{"no text", "PUT", "/notes/u1_x", u1, `{}`, 400, `"code":"BAD-BODY"`},
			{"unknown field", "PUT", "/notes/u1_x", u1, `{"text":"x","color":"red"}`, 400, `"code":"BAD-BODY"`},
			{"too large", "PUT", "/notes/u1_x", u1, `{"text":"` + strings.Repeat("x", maxDemoNoteBody) + `"}`, 400, `"code":"BAD-BODY"`},
			{"list takes only GET", "POST", "/notes", u1, `{"text":"x"}`, 405, `"code":"METHOD-NOT-ALLOWED"`},
			{"hello takes only GET", "POST", "/hello", u1, `{"text":"x"}`, 405, `"code":"METHOD-NOT-ALLOWED"`},
			{"delete", "DELETE", "/notes/u1_shopping", u1, "", 200, `{"deleted":"u1_shopping"}`},
			{"delete again", "DELETE", "/notes/u1_shopping", u1, "", 404, `"code":"NOT-FOUND"`},
			{"read deleted", "GET", "/notes/u1_shopping", u1, "", 404, `"code":"NOT-FOUND"`},
			{"without request info", "GET", "/notes", "", "", 401, `"code":"AUTH-INFO-MISSING"`},
		}
		for _, s := range steps {
			got := call(s.whenMethod, s.whenPath, s.whenInfo, s.whenBody)
			if got.status != s.expectStatus || !strings.Contains(got.body, s.expectBody) {
				t.Errorf("%s: %s %s = %d %s, want %d containing %s", s.name, s.whenMethod, s.whenPath, got.status, got.body,
					s.expectStatus, s.expectBody)
			}
		}
	})

	t.Run("full", func(t *testing.T) {
		h, err := newDemoHandler(&key.PublicKey, demoIssuer)
		if err != nil {
			t.Fatal(err)
		}
		info := valid("u1")
		put := func(name string) int {
			req := httptest.NewRequest("PUT", "/notes/u1_"+name, strings.NewReader(`{"text":"x"}`))
			infosign.SetHeaders(req.Header, info)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		for i := range maxDemoNotes {
			if code := put(fmt.Sprintf("n%04d", i)); code != http.StatusCreated {
				t.Fatalf("note %d: %d", i, code)
			}
		}
		if code := put("one-more"); code != http.StatusConflict {
			t.Errorf("note %d: %d, want 409", maxDemoNotes+1, code)
		}
		if code := put("n0000"); code != http.StatusOK {
			t.Errorf("replacing a note when full: %d, want 200", code)
		}
	})
}

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
	if len(apis) != 1 || apis[0].Name != demoAPIName || apis[0].Version != 1 || apis[0].URL != demoURL || !apis[0].Active {
		t.Fatalf("registry after the first start = %+v, want demo v1 at %s, active", apis, demoURL)
	}
	first := apis[0]

	// Through the gateway, with the tokens of a login.
	a := newAccountsCaller(t, gatewayURL, creds)
	s := a.loginWithPassword()
	r := a.do("GET", "/demo/v1/hello", s.Macaroons["GET"], nil)
	var hello demoHello
	if r.status != http.StatusOK || json.Unmarshal(r.body, &hello) != nil {
		t.Fatalf("GET /demo/v1/hello = %d %s, want 200 JSON", r.status, r.body)
	}
	if want := (demoHello{Hello: "from the demo backend", Path: "/hello", Method: "GET", Client: creds.ClientID,
		User: creds.UserID, Session: s.SessionID}); hello != want {
		t.Errorf("GET /demo/v1/hello = %+v, want %+v", hello, want)
	}
	note := "/demo/v1/notes/" + creds.UserID + "_first"
	if r := a.do("POST", note, s.Macaroons["POST"], map[string]string{"text": "hello"}); r.status != http.StatusCreated {
		t.Errorf("POST %s = %d %s, want 201", note, r.status, r.body)
	}
	if r := a.do("GET", "/demo/v1/notes", s.Macaroons["GET"], nil); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `"text":"hello"`) {
		t.Errorf("GET /demo/v1/notes = %d %s, want 200 with the note", r.status, r.body)
	}
	if r := a.do("GET", "/demo/v1/hello", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("GET /demo/v1/hello without a token = %d %s, want 401 from the gateway", r.status, r.body)
	}

	// Around the gateway: no request info, or request info not signed
	// with serve's key.
	forged := demoInfo(t, newTestKey(t), requestinfo.Claims{Client: creds.ClientID, Audience: demoAPIName,
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
	if apis := listAPIs(t, dir); len(apis) != 1 || apis[0] != first {
		t.Errorf("registry after a restart = %+v, want only %+v", apis, first)
	}
	a = newAccountsCaller(t, gatewayURL, creds)
	s = a.loginWithPassword()
	if r := a.do("GET", "/demo/v1/hello", s.Macaroons["GET"], nil); r.status != http.StatusOK {
		t.Errorf("after a restart, GET /demo/v1/hello = %d %s, want 200", r.status, r.body)
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
			if after := listAPIs(t, dir); len(after) != 1 || after[0] != before[0] {
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
