package gateway_test

import (
	"bufio"
	"crypto/ecdsa"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// wikiPolicy grants GET (only) on the wiki API, wherever it is served.
const wikiPolicy = `{
  "name": "wiki",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [{"name": "wiki", "routes": ["/wiki/v1/**", "/wiki/v1"], "methods": ["GET"]}]
}`

// hostsEnv is a gateway with the wiki API (a real backend) bound to
// wiki.example.com, the demo API routed by path, a client and wiki
// tokens; mod configures the gateway.
func hostsEnv(t *testing.T, mod func(*gateway.Config)) (e *env, clientID string, wikiTok map[string]string, demoTok map[string]string) {
	t.Helper()
	return hostsEnvAt(t, mod, echoBackend(t, "wiki").URL)
}

// hostsEnvAt is hostsEnv with the wiki backend at wikiURL.
func hostsEnvAt(t *testing.T, mod func(*gateway.Config), wikiURL string) (e *env, clientID string, wikiTok map[string]string, demoTok map[string]string) {
	t.Helper()
	e = newEnv(t, mod)
	e.api("demo", 1, echoBackend(t, "demo").URL, false, true)
	if err := e.d.CreateAPI(e.ctx, db.API{Name: "wiki", Version: 1, URL: wikiURL, Active: true,
		CreatedMs: fixedNow.UnixMilli(), Hosts: []string{"wiki.example.com", "docs.example.com"}}); err != nil {
		t.Fatal(err)
	}
	clientID = e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	m, err := mint.New(mint.Config{Keys: e.ring, ServerID: serverID, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("wiki.json", []byte(wikiPolicy))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "user-1", SessionID: "session-1", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	return e, clientID, toks.ByMethod, e.tokens("session-1", fixedNow).ByMethod
}

// TestHosts_proxy: a request to a host bound to the wiki API is
// authorized as /wiki/v1/<path> (the wiki policy grants it, the demo
// policy does not; POST is not granted) and reaches the wiki backend with
// its path as sent and X-Auth-Info for the wiki. Host matching ignores
// case, a trailing dot and the port; an unbound host keeps path routing;
// a bound host reaches only its API.
func TestHosts_proxy(t *testing.T) {
	e, id, wiki, demo := hostsEnv(t, nil)
	for _, tt := range []struct {
		name         string
		givenMethod  string // default GET
		givenHost    string
		givenPath    string
		givenToken   func(method string) string
		expectStatus int
		expectURI    string // what the backend saw
		expectAud    string
	}{
		{name: "bound host, wiki token", givenHost: "wiki.example.com", givenPath: "/pages/Home?rev=2",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/pages/Home?rev=2", expectAud: "wiki"},
		{name: "second bound host", givenHost: "docs.example.com", givenPath: "/",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/", expectAud: "wiki"},
		{name: "root with a query", givenHost: "wiki.example.com", givenPath: "/?q=x",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/?q=x", expectAud: "wiki"},
		{name: "case, trailing dot and port ignored", givenHost: "WIKI.Example.COM.:8443", givenPath: "/pages/Home",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/pages/Home", expectAud: "wiki"},
		{name: "bound host without a token", givenHost: "wiki.example.com", givenPath: "/pages/Home", expectStatus: 401},
		{name: "bound host, a token of another API", givenHost: "wiki.example.com", givenPath: "/pages/Home",
			givenToken: func(m string) string { return demo[m] }, expectStatus: 403},
		{name: "bound host, a method the policy does not grant", givenMethod: "POST", givenHost: "wiki.example.com", givenPath: "/pages/Home",
			givenToken: func(m string) string { return wiki["GET"] }, expectStatus: 403},
		{name: "bound host, an API path goes to the bound API as a path", givenHost: "wiki.example.com", givenPath: "/demo/v1/items",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/demo/v1/items", expectAud: "wiki"},
		{name: "bound host, a demo token on a demo-looking path", givenHost: "wiki.example.com", givenPath: "/demo/v1/items",
			givenToken: func(m string) string { return demo[m] }, expectStatus: 403},
		{name: "bound host, traversal", givenHost: "wiki.example.com", givenPath: "/pages/../admin",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 400},
		{name: "bound host, encoded traversal", givenHost: "wiki.example.com", givenPath: "/pages/%2e%2e/admin",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 400},
		{name: "bound host, double slash", givenHost: "wiki.example.com", givenPath: "//evil.example/x",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 400},
		{name: "unbound host: path routing to the wiki", givenHost: "gw.example.com", givenPath: "/wiki/v1/pages/Home",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 200, expectURI: "/pages/Home", expectAud: "wiki"},
		{name: "unbound host: a wiki path without the prefix", givenHost: "gw.example.com", givenPath: "/pages/Home",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 400},
		{name: "unbound sub-domain of a bound host", givenHost: "x.wiki.example.com", givenPath: "/pages/Home",
			givenToken: func(m string) string { return wiki[m] }, expectStatus: 400},
		{name: "unbound host: demo by path", givenHost: "gw.example.com", givenPath: "/demo/v1/items",
			givenToken: func(m string) string { return demo[m] }, expectStatus: 200, expectURI: "/items", expectAud: "demo"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.givenMethod
			if method == "" {
				method = "GET"
			}
			h := header("Host", tt.givenHost)
			if tt.givenToken != nil {
				h.Set("Authorization", authz(id, "s3cret", tt.givenToken(method)))
			} else {
				h.Set("Authorization", authz(id, "s3cret", ""))
			}
			res, body := e.send(method, tt.givenPath, h, nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			if tt.expectStatus != 200 {
				decodeError(t, body)
				return
			}
			got := decodeEcho(t, body)
			if got.RequestURI != tt.expectURI {
				t.Errorf("backend saw %q, want %q", got.RequestURI, tt.expectURI)
			}
			if got.Claims == nil || got.Claims.Audience != tt.expectAud || got.Claims.User == nil {
				t.Errorf("X-Auth-Info claims %+v (%s), want audience %s with the user", got.Claims, got.InfoError, tt.expectAud)
			}
			if xfh := http.Header(got.Header).Get("X-Forwarded-Host"); xfh != tt.givenHost {
				t.Errorf("X-Forwarded-Host %q, want %q", xfh, tt.givenHost)
			}
		})
	}
}

// TestHosts_headerTricks: the host a request is bound by is its Host
// header, or a trusted proxy's X-Forwarded-Host (sent once; the first of a
// chain); from an untrusted peer X-Forwarded-Host neither binds nor
// unbinds; an absolute-form target is refused whatever its
// authority, also on a bound host; two Host headers are refused.
func TestHosts_headerTricks(t *testing.T) {
	eachPeer(t, func(t *testing.T, trusted bool) {
		e, id, wiki, _ := hostsEnv(t, func(c *gateway.Config) {
			if trusted {
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
			}
		})
		addr := strings.TrimPrefix(e.srv.URL, "http://")
		ifTrusted := func(yes, no int) int { return pick(trusted, yes, no) }
		codeIfTrusted := func(yes, no string) string { return pick(trusted, yes, no) }
		auth := "Authorization: " + authz(id, "s3cret", wiki["GET"]) + "\r\n"
		for _, tt := range []struct {
			name         string
			givenRequest string
			expectStatus int
			expectCode   string
		}{
			{"X-Forwarded-Host binds from a trusted proxy only", "GET /pages/Home HTTP/1.1\r\nHost: " + addr + "\r\nX-Forwarded-Host: wiki.example.com\r\n" + auth,
				ifTrusted(200, 400), codeIfTrusted("", gateway.CodeBadPath)},
			{"a chain: the first host", "GET /pages/Home HTTP/1.1\r\nHost: " + addr + "\r\nX-Forwarded-Host: WIKI.example.com:443, " + addr + "\r\n" + auth,
				ifTrusted(200, 400), codeIfTrusted("", gateway.CodeBadPath)},
			{"X-Forwarded-Host unbinds from a trusted proxy only", "GET /pages/Home HTTP/1.1\r\nHost: wiki.example.com\r\nX-Forwarded-Host: " + addr + "\r\n" + auth,
				ifTrusted(400, 200), codeIfTrusted(gateway.CodeBadPath, "")},
			{"two X-Forwarded-Host are ignored", "GET /pages/Home HTTP/1.1\r\nHost: " + addr + "\r\nX-Forwarded-Host: wiki.example.com\r\nX-Forwarded-Host: wiki.example.com\r\n" + auth,
				400, gateway.CodeBadPath},
			{"absolute form naming the bound host", "GET http://wiki.example.com/pages/Home HTTP/1.1\r\nHost: " + addr + "\r\n" + auth,
				400, gateway.CodeNotOriginForm},
			{"absolute form on the bound host naming another", "GET http://evil.example/wiki/v1/x HTTP/1.1\r\nHost: wiki.example.com\r\n" + auth,
				400, gateway.CodeNotOriginForm},
			{"absolute form agreeing with Host", "GET http://wiki.example.com/pages/Home HTTP/1.1\r\nHost: wiki.example.com\r\n" + auth,
				400, gateway.CodeNotOriginForm},
			{"two Host headers", "GET /pages/Home HTTP/1.1\r\nHost: wiki.example.com\r\nHost: " + addr + "\r\n" + auth, 400, ""},
			{"control: Host alone", "GET /pages/Home HTTP/1.1\r\nHost: wiki.example.com\r\n" + auth, 200, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				status, body := rawHostRequest(t, addr, tt.givenRequest+"Connection: close\r\n\r\n")
				if status != tt.expectStatus {
					t.Fatalf("status %d, want %d: %s", status, tt.expectStatus, body)
				}
				if tt.expectCode != "" {
					if got := decodeError(t, []byte(body)).Error.Code; got != tt.expectCode {
						t.Errorf("code %s, want %s", got, tt.expectCode)
					}
				}
				if status == 200 {
					if got := decodeEcho(t, []byte(body)); got.RequestURI != "/pages/Home" || got.Claims == nil || got.Claims.Audience != "wiki" {
						t.Errorf("backend saw %q with claims %+v", got.RequestURI, got.Claims)
					}
				}
			})
		}
	})
}

// eachPeer runs fn as a subtest twice: the requests from an untrusted
// peer, then from a trusted proxy.
func eachPeer(t *testing.T, fn func(t *testing.T, trusted bool)) {
	for _, trusted := range []bool{false, true} {
		t.Run(pick(trusted, "trusted proxy", "untrusted peer"), func(t *testing.T) { fn(t, trusted) })
	}
}

// pick is yes for a trusted proxy, else no.
func pick[T any](trusted bool, yes, no T) T {
	if trusted {
		return yes
	}
	return no
}

// rawHostRequest writes req on a new connection to addr and returns the
// response's status and body.
func rawHostRequest(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(res.Body).WriteTo(&b)
	return res.StatusCode, b.String()
}

// TestHosts_forwardAuthWithCaddy: a real Caddy (Debian's caddy) with the
// shipped testdata/caddy/Caddyfile.tmpl serves the wiki at its host
// name, asking /forward-auth/caddy, which sees the host in Caddy's
// X-Forwarded-Host: the wiki's paths are authorized as /wiki/v1/<path>
// and reach the backend as sent. A client's own X-Forwarded-Host does
// not bind (Caddy sets it from Host); traversal is refused; a host that
// is neither bound nor an own name is refused 403 UNKNOWN-HOST.
func TestHosts_forwardAuthWithCaddy(t *testing.T) {
	wikiURL := echoBackend(t, "wiki").URL
	e, id, wiki, demo := hostsEnvAt(t, func(c *gateway.Config) {
		c.ForwardAuthCallers = loopbackCallers
		c.Hosts = []string{"127.0.0.1"} // Caddy's address: its own name here
	}, wikiURL)
	fa := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(fa.Close)
	listen := gatewaytest.StartCaddy(t, gatewaytest.Caddy("..", hostPort(t, wikiURL), hostPort(t, fa.URL)))
	client := &http.Client{Timeout: 20 * time.Second}
	for _, tt := range []struct {
		name         string
		givenHost    string
		givenPath    string
		givenHeader  http.Header
		expectStatus int
		expectURI    string
	}{
		{"bound host, wiki token", "wiki.example.com", "/pages/Home?rev=2", header("Authorization", authz(id, "s3cret", wiki["GET"])), 200, "/pages/Home?rev=2"},
		{"bound host, the root", "wiki.example.com", "/", header("Authorization", authz(id, "s3cret", wiki["GET"])), 200, "/"},
		{"bound host, case and port", "Wiki.Example.com:" + portOf(t, listen), "/pages/Home", header("Authorization", authz(id, "s3cret", wiki["GET"])), 200, "/pages/Home"},
		{"bound host, no token", "wiki.example.com", "/pages/Home", header("Authorization", authz(id, "s3cret", "")), 401, ""},
		{"bound host, a token of another API", "wiki.example.com", "/pages/Home", header("Authorization", authz(id, "s3cret", demo["GET"])), 403, ""},
		{"bound host, traversal", "wiki.example.com", "/pages/%2e%2e/admin", header("Authorization", authz(id, "s3cret", wiki["GET"])), 400, ""},
		{"client's X-Forwarded-Host does not bind", listen, "/pages/Home",
			header("Authorization", authz(id, "s3cret", wiki["GET"]), "X-Forwarded-Host", "wiki.example.com"), 400, ""},
		{"own name: path routing", listen, "/wiki/v1/pages/Home", header("Authorization", authz(id, "s3cret", wiki["GET"])), 200, "/wiki/v1/pages/Home"},
		{"unknown host", "evil.example", "/wiki/v1/pages/Home", header("Authorization", authz(id, "s3cret", wiki["GET"])), 403, ""},
		{"unknown host, a bound host's name in X-Forwarded-Host", "evil.example", "/pages/Home",
			header("Authorization", authz(id, "s3cret", wiki["GET"]), "X-Forwarded-Host", "wiki.example.com"), 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", "http://"+listen+tt.givenPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.givenHeader
			req.Host = tt.givenHost
			_, body := sendExpect(t, client, req, tt.expectStatus)
			if tt.expectStatus != 200 {
				return
			}
			got := decodeEcho(t, body)
			if got.RequestURI != tt.expectURI || got.Claims == nil || got.Claims.Audience != "wiki" || got.Claims.User == nil {
				t.Errorf("backend saw %q with claims %+v (%s), want %q for the wiki's user", got.RequestURI, got.Claims, got.InfoError, tt.expectURI)
			}
		})
	}
}

// portOf is the port of a host:port.
func portOf(t *testing.T, hostport string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHosts_forwardAuthDialects: the host that binds is each dialect's
// original host (X-Forwarded-Host for Caddy and Traefik, Envoy's Host),
// matched without case, trailing dot or port; the X-Auth-Info answered is
// the wiki's; a second X-Forwarded-Host (the client's) is refused.
func TestHosts_forwardAuthDialects(t *testing.T) {
	e, id, wiki, demo := hostsEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	fa := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(fa.Close)
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: "wiki", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectCaddy, gateway.DialectTraefik, gateway.DialectEnvoy} {
		for _, tt := range []struct {
			name         string
			givenHost    string
			givenURI     string
			givenToken   string
			twoHosts     bool
			expectStatus int
		}{
			{"wiki token", "wiki.example.com", "/pages/Home", wiki["GET"], false, 200},
			{"the root", "wiki.example.com", "/", wiki["GET"], false, 200},
			{"case, trailing dot, port", "WIKI.example.com.:443", "/pages/Home?x=1", wiki["GET"], false, 200},
			{"no token", "wiki.example.com", "/pages/Home", "", false, 401},
			{"a token of another API", "wiki.example.com", "/pages/Home", demo["GET"], false, 403},
			{"traversal", "wiki.example.com", "/pages/%2E%2E/admin", wiki["GET"], false, 400},
			{"unbound host: path routing", "app.example.com", "/pages/Home", wiki["GET"], false, 400},
			{"two X-Forwarded-Host", "wiki.example.com", "/pages/Home", wiki["GET"], true, 400},
		} {
			if tt.twoHosts && d == gateway.DialectEnvoy {
				continue
			}
			t.Run(string(d)+"/"+tt.name, func(t *testing.T) {
				req := proxyRequest(t, d, fa.URL, "GET", tt.givenURI, header("Authorization", authz(id, "s3cret", tt.givenToken)))
				if d == gateway.DialectEnvoy {
					req.Host = tt.givenHost
				} else {
					req.Header.Set("X-Forwarded-Host", tt.givenHost)
					if tt.twoHosts {
						req.Header.Add("X-Forwarded-Host", "app.example.com")
					}
				}
				res, _ := sendExpect(t, noRedirect, req, tt.expectStatus)
				if tt.expectStatus != 200 {
					return
				}
				back := httptest.NewRequest("GET", "/pages/Home", nil)
				back.Header.Set("X-Auth-Info", res.Header.Get("X-Auth-Info"))
				if c, err := requestinfo.FromRequest(back, v); err != nil || c.Audience != "wiki" || c.User == nil {
					t.Errorf("X-Auth-Info %+v (%v), want the wiki's user", c, err)
				}
			})
		}
	}
}

// TestHosts_signIn: on a bound host, /accounts/v1 stays the accounts
// service's (here a handler answering 418) (so a browser signs in, and gets its cookies, on that host),
// and a browser without a token is sent there (303, return_to the path it
// asked for) when the API asks for that; /accounts/v1x is the wiki's.
func TestHosts_signIn(t *testing.T) {
	e, id, wiki, _ := hostsEnv(t, func(c *gateway.Config) {
		c.Public = map[string][]string{"GET": {"/accounts/v1/ui/login"}}
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	a, err := e.d.GetAPI(e.ctx, "wiki", 1)
	if err != nil {
		t.Fatal(err)
	}
	a.LoginRedirect, a.UpdatedMs = true, fixedNow.UnixMilli()
	if err := e.d.UpdateAPI(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	for _, tt := range []struct {
		name           string
		givenPath      string
		givenHeader    http.Header
		expectStatus   int
		expectLocation string
	}{
		{"accounts stays accounts", "/accounts/v1/ui/login", header("Host", "wiki.example.com"), http.StatusTeapot, ""},
		{"a browser without a token", "/pages/Home?rev=2", header("Host", "wiki.example.com", "Accept", "text/html"), 303,
			"/accounts/v1/ui/login?return_to=%2Fpages%2FHome%3Frev%3D2"},
		{"a longer first segment is the wiki's", "/accounts/v1x", header("Host", "wiki.example.com", "Authorization", authz(id, "s3cret", wiki["GET"])), 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.srv.URL+tt.givenPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header, req.Host = tt.givenHeader, tt.givenHeader.Get("Host")
			res, body := sendExpect(t, noRedirect, req, tt.expectStatus)
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			if res.StatusCode == 200 {
				if got := decodeEcho(t, body); got.RequestURI != "/accounts/v1x" || got.Claims == nil || got.Claims.Audience != "wiki" {
					t.Errorf("backend saw %q, claims %+v", got.RequestURI, got.Claims)
				}
			}
		})
	}
}

// TestHosts_inactive: a host bound to an API switched off is refused 404,
// not routed by path.
func TestHosts_inactive(t *testing.T) {
	e, id, wiki, _ := hostsEnv(t, nil)
	a, err := e.d.GetAPI(e.ctx, "wiki", 1)
	if err != nil {
		t.Fatal(err)
	}
	a.Active, a.UpdatedMs = false, fixedNow.UnixMilli()
	if err := e.d.UpdateAPI(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	e.refresh()
	res, body := e.send("GET", "/wiki/v1/pages/Home", header("Host", "wiki.example.com", "Authorization", authz(id, "s3cret", wiki["GET"])), nil)
	if res.StatusCode != 404 || decodeError(t, body).Error.Code != gateway.CodeAPINotFound {
		t.Fatalf("status %d: %s, want 404 %s", res.StatusCode, body, gateway.CodeAPINotFound)
	}
}
