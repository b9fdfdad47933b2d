package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// stepUpPolicy grants the demo API's items ordinarily and its admin
// routes only with a step-up of 300 s.
const stepUpPolicy = `{
  "name": "demo-step-up",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "items", "routes": ["/demo/v1/items/**"], "methods": ["GET", "POST"]},
    {"name": "admin", "routes": ["/demo/v1/admin/**"], "methods": ["GET", "POST"], "stepUp": 300}
  ]
}`

// stepUpTokens mints stepUpPolicy for session-1, each token bound to
// clientID as a browser's are, and returns the minter.
func stepUpTokens(t *testing.T, e *env, clientID string) (*mint.Minter, mint.Tokens) {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: e.ring, ServerID: serverID, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("step-up.json", []byte(stepUpPolicy))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "user-1", SessionID: "session-1", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []map[string]string{toks.ByMethod, toks.StepUp} {
		for method, tok := range set {
			set[method] = bound(t, tok, clientID)
		}
	}
	return m, toks
}

// boundDischarge discharges the step-up token's caveat as the accounts
// service would, and binds it to the token.
func boundDischarge(t *testing.T, e *env, m *mint.Minter, token string) string {
	t.Helper()
	cid, ok := mint.StepUpCaveatID(token)
	if !ok {
		t.Fatal("no step-up caveat")
	}
	claim, err := mint.OpenStepUp(e.ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := m.Discharge(cid, claim)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mint.BindDischarge(token, d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStepUp_gateway: a step-up route without a discharge is 401
// STEP-UP-REQUIRED naming the caveat and the discharge endpoint on the
// public URL; a browser's GET goes to the re-authentication page
// instead (not to sign in); with the bound discharge the request passes,
// and the backend sees none of the token cookies.
func TestStepUp_gateway(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.PublicURL = "https://auth.example.com/"; c.Hosts = []string{"127.0.0.1"} })
	backend := echoBackend(t, "demo")
	app := e.client(sha256Hex("unused"), -1)
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, LoginRedirect: true})
	e.refresh()
	m, toks := stepUpTokens(t, e, app)
	get, up := toks.ByMethod["GET"], toks.StepUp["GET"]
	if get == "" || up == "" {
		t.Fatalf("tokens %v, step-up %v", toks.ByMethod, toks.StepUp)
	}
	discharge := boundDischarge(t, e, m, up)
	browser := func(cookies string) http.Header { return header("Accept", browserAccept, "Cookie", cookies) }
	cookies := "authgw-get=" + get + "; authgw-get-stepup=" + up
	stepUpPage := "/accounts/v1/ui/step-up?return_to=" + url.QueryEscape("/demo/v1/admin/users?page=2")

	// An API client: the JSON answer names the caveat and where to
	// discharge it, on the public URL.
	res, body := e.send("GET", "/demo/v1/admin/users", header("Authorization", authz(app, "unused", up)), nil)
	var env struct {
		Error struct {
			Code         string `json:"code"`
			Obstructions []struct {
				Params map[string]string `json:"params"`
			} `json:"obstructions"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || res.StatusCode != 401 || env.Error.Code != "STEP-UP-REQUIRED" || len(env.Error.Obstructions) != 1 {
		t.Fatalf("answer %d %s", res.StatusCode, body)
	}
	if p := env.Error.Obstructions[0].Params; p["discharge"] != "https://auth.example.com/accounts/v1/discharge" || p["caveatId"] == "" {
		t.Fatalf("params = %v", p)
	}

	tests := []struct {
		name           string
		method, path   string
		header         http.Header
		expectStatus   int
		expectLocation string
	}{
		{"browser without a discharge: the re-authentication page", "GET", "/demo/v1/admin/users?page=2", browser(cookies), 303, stepUpPage},
		{"browser HEAD", "HEAD", "/demo/v1/admin/users?page=2", browser(cookies), 303, stepUpPage},
		{"browser POST: the JSON 401", "POST", "/demo/v1/admin/users", header("Accept", browserAccept, "Cookie", "authgw-post-stepup="+toks.StepUp["POST"], "Origin", e.srv.URL), 401, ""},
		{"browser without any token: sign in", "GET", "/demo/v1/admin/users", header("Accept", browserAccept), 303,
			"/accounts/v1/ui/login?return_to=" + url.QueryEscape("/demo/v1/admin/users")},
		{"browser with an unbound discharge", "GET", "/demo/v1/admin/users?page=2", browser(cookies + "; authgw-get-discharge=" + boundDischarge(t, e, m, toks.StepUp["POST"])), 303, stepUpPage},
		{"browser with the discharge", "GET", "/demo/v1/admin/users", browser(cookies + "; authgw-get-discharge=" + discharge + "; theme=dark"), 200, ""},
		{"header with the discharge", "GET", "/demo/v1/admin/users", header("Authorization", authz(app, "unused", up+" "+discharge)), 200, ""},
		{"ordinary route, ordinary cookie", "GET", "/demo/v1/items/1", browser(cookies), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.sendNoFollow(tt.method, tt.path, tt.header)
			if res.StatusCode != tt.expectStatus || res.Header.Get("Location") != tt.expectLocation {
				t.Fatalf("answer %d, Location %q, want %d %q: %s", res.StatusCode, res.Header.Get("Location"), tt.expectStatus, tt.expectLocation, body)
			}
			if res.StatusCode != 200 {
				return
			}
			got := decodeEcho(t, body)
			seen := strings.Join(http.Header(got.Header).Values("Cookie"), ";")
			if strings.Contains(seen, "authgw-") || strings.Contains(seen, up) {
				t.Fatalf("the backend saw a token cookie: %q", seen)
			}
			if tt.header.Get("Cookie") != "" && !strings.Contains(seen, "theme=dark") && strings.Contains(tt.header.Get("Cookie"), "theme") {
				t.Fatalf("the backend lost its own cookie: %q", seen)
			}
		})
	}
}

// TestStepUp_forwardAuth: forward-auth answers a browser's GET refused
// for want of a discharge 401 with the re-authentication page on the
// original origin as Location (a 303 in the dialects whose proxies pass
// a redirect on).
func TestStepUp_forwardAuth(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.ForwardAuthCallers, c.ForwardAuthDialect = loopbackCallers, gateway.DialectNginx
	})
	app := e.client(sha256Hex("unused"), -1)
	e.refresh()
	_, toks := stepUpTokens(t, e, app)
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	send := func(h http.Header) *http.Response {
		req, err := http.NewRequest("GET", fa.URL+"/forward-auth", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		res, err := fa.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := send(described(gateway.DialectNginx, "GET", "/demo/v1/admin/x", "Accept", browserAccept, "Cookie", "authgw-get-stepup="+toks.StepUp["GET"]))
	want := "https://app.example.com/accounts/v1/ui/step-up?return_to=" + url.QueryEscape("https://app.example.com/demo/v1/admin/x")
	if res.StatusCode != 401 || res.Header.Get("Location") != want {
		t.Fatalf("answer %d, Location %q, want 401 %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	res = send(described(gateway.DialectNginx, "GET", "/demo/v1/admin/x", "Authorization", authz(app, "unused", toks.StepUp["GET"])))
	if res.StatusCode != 401 || res.Header.Get("Location") != "" {
		t.Fatalf("API client: answer %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	// The dialects whose proxies pass a redirect on get it as a 303.
	caddy := httptest.NewServer(e.gw.ForwardAuthFor(gateway.DialectCaddy))
	t.Cleanup(caddy.Close)
	req, err := http.NewRequest("GET", caddy.URL+"/forward-auth/caddy", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = described(gateway.DialectForwarded, "GET", "/demo/v1/admin/x", "Accept", browserAccept, "Cookie", "authgw-get-stepup="+toks.StepUp["GET"])
	res, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 303 || res.Header.Get("Location") != want {
		t.Fatalf("caddy: answer %d, Location %q, want 303 %q", res.StatusCode, res.Header.Get("Location"), want)
	}
}
