package gateway_test

import (
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// proxyRequest builds the request a proxy sends to the forward-auth
// endpoints at base for the client's original request (method, the
// origin-form uri, on https://app.example.com, from 203.0.113.7) with
// the client's own headers clientHeader, as that proxy's documentation
// says it does. No Traefik or Envoy binary is available here, so these
// are the exact requests, written from the documentation, for the
// shipped configurations (the address path of testdata/traefik/dynamic.yml,
// the path_prefix and allowed_headers of testdata/envoy/envoy.yaml, read
// from the files):
//
//   - Traefik forwardAuth: a GET to its address (here
//     /forward-auth/traefik) with the client's headers, and
//     X-Forwarded-Method, X-Forwarded-Proto, X-Forwarded-Host,
//     X-Forwarded-Uri and X-Forwarded-For set by Traefik, replacing the
//     client's (trustForwardHeader false). Its entry point also adds
//     X-Forwarded-Port, X-Forwarded-Server and X-Real-Ip, which authgw
//     does not read.
//   - Envoy ext_authz over HTTP: the original method, path_prefix
//     (/forward-auth/envoy) followed by the original path and query, the
//     original authority as Host, Content-Length 0, Authorization, and
//     the headers of authorization_request.allowed_headers (the shipped
//     testdata/envoy/envoy.yaml lists Cookie, Accept, Origin, Referer,
//     Sec-Fetch-*, the override headers (gateway.OverrideHeaders, so
//     that authgw refuses them rather than Envoy passing them to the
//     upstream unseen), X-Forwarded-Proto and X-Forwarded-For, which Envoy's
//     connection manager set: use_remote_address appends the peer to
//     X-Forwarded-For, and X-Forwarded-Proto is the downstream
//     connection's). Envoy also adds x-envoy-expected-rq-timeout-ms.
//   - Caddy forward_auth (tested with the real Caddy in caddy_test.go):
//     as Traefik, its GET to the configured uri.
func proxyRequest(t *testing.T, d gateway.ForwardAuthDialect, base, method, uri string, clientHeader http.Header) *http.Request {
	t.Helper()
	h := clientHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	var req *http.Request
	var err error
	switch d {
	case gateway.DialectEnvoy:
		prefix, _ := envoyConfig(t)
		req, err = http.NewRequest(method, base+prefix+uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, matchers := envoyConfig(t)
		allowed := http.Header{}
		for name, vs := range h {
			if name = strings.ToLower(name); name == "authorization" || slices.ContainsFunc(matchers, func(m string) bool {
				p, isPrefix := strings.CutSuffix(m, "*")
				return name == m || isPrefix && strings.HasPrefix(name, p)
			}) {
				allowed[http.CanonicalHeaderKey(name)] = vs
			}
		}
		h = allowed
		// Envoy's connection manager appended the peer to the client's
		// X-Forwarded-For, and set X-Forwarded-Proto.
		xff := "203.0.113.7"
		if prior := clientHeader.Values("X-Forwarded-For"); len(prior) > 0 {
			xff = strings.Join(prior, ", ") + ", " + xff
		}
		h.Set("X-Forwarded-For", xff)
		h.Set("X-Forwarded-Proto", "https")
		h.Set("X-Envoy-Expected-Rq-Timeout-Ms", "250")
		req.Host = "app.example.com"
		req.ContentLength = 0
	default:
		path := gateway.ForwardAuthPath + "/" + string(d)
		if d == gateway.DialectTraefik {
			path, _ = traefikConfig(t)
		}
		req, err = http.NewRequest("GET", base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Set("X-Forwarded-Method", method)
		h.Set("X-Forwarded-Proto", "https")
		h.Set("X-Forwarded-Host", "app.example.com")
		h.Set("X-Forwarded-Uri", uri)
		h.Set("X-Forwarded-For", "203.0.113.7")
		if d == gateway.DialectTraefik {
			h.Set("X-Forwarded-Port", "443")
			h.Set("X-Forwarded-Server", "traefik-1")
			h.Set("X-Real-Ip", "203.0.113.7")
		}
	}
	req.Header = h
	return req
}

// noRedirect is a client that returns redirects rather than following
// them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// envoyConfig reads testdata/envoy/envoy.yaml: its ext_authz
// path_prefix, and the header names of authorization_request's
// allowed_headers (lower case; a prefix pattern ends in "*"). A line
// scan: the file's layout is part of what it tests.
func envoyConfig(t *testing.T) (prefix string, allowed []string) {
	t.Helper()
	b, err := os.ReadFile("../testdata/envoy/envoy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "path_prefix:"):
			prefix = strings.TrimSpace(strings.TrimPrefix(line, "path_prefix:"))
		case line == "allowed_headers:":
			in = true
		case in && strings.HasPrefix(line, "- exact:"):
			allowed = append(allowed, strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "- exact:"))))
		case in && strings.HasPrefix(line, "- prefix:"):
			allowed = append(allowed, strings.ToLower(strings.TrimSpace(strings.TrimPrefix(line, "- prefix:")))+"*")
		case in && line != "patterns:" && !strings.HasPrefix(line, "#"):
			in = false
		}
	}
	if prefix != gateway.ForwardAuthEnvoyPrefix || len(allowed) == 0 {
		t.Fatalf("envoy.yaml: path_prefix %q (want %s), allowed_headers %q", prefix, gateway.ForwardAuthEnvoyPrefix, allowed)
	}
	return prefix, allowed
}

// traefikConfig reads testdata/traefik/dynamic.yml: the path of the
// forwardAuth address, and its authResponseHeaders.
func traefikConfig(t *testing.T) (path string, copied []string) {
	t.Helper()
	b, err := os.ReadFile("../testdata/traefik/dynamic.yml")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "address:"):
			u, err := url.Parse(strings.Trim(strings.TrimSpace(strings.TrimPrefix(line, "address:")), `"`))
			if err != nil {
				t.Fatal(err)
			}
			path = u.Path
		case line == "authResponseHeaders:":
			in = true
		case in && strings.HasPrefix(line, "- "):
			copied = append(copied, strings.TrimPrefix(line, "- "))
		default:
			in = false
		}
	}
	if path != gateway.ForwardAuthPath+"/traefik" || len(copied) == 0 {
		t.Fatalf("dynamic.yml: address path %q, authResponseHeaders %q", path, copied)
	}
	return path, copied
}

// TestForwardAuthDialects: the Traefik, Envoy, Caddy and HAProxy
// endpoints, served side by side on one admin handler, each given the
// request its proxy sends: 200 with verifiable request info for the
// client IP the proxy saw, 401/403/429 as the gateway's, a browser's GET
// redirected (303) to the sign-in page with the original URL, the other
// dialects' headers (which the client may send through) deciding
// nothing, and 400 FORWARD-AUTH-BAD-REQUEST naming what is missing.
func TestForwardAuthDialects(t *testing.T) {
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectTraefik, gateway.DialectEnvoy, gateway.DialectCaddy, gateway.DialectHAProxy} {
		t.Run(string(d), func(t *testing.T) { testForwardAuthDialect(t, d) })
	}
}

func testForwardAuthDialect(t *testing.T, d gateway.ForwardAuthDialect) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	good := e.client(sha256Hex("s3cret"), -1)
	limited := e.client(sha256Hex("x"), 1)
	portal := e.client(sha256Hex("unused"), -1)
	apiOnlyOther := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "other"})
	e.refresh()
	srv := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	riv, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: "demo", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.tokens("session-1", fixedNow).ByMethod
	notes, err := mint.AttenuateText(tok["GET"], "routes /demo/v1/notes/**")
	if err != nil {
		t.Fatal(err)
	}
	cookie := "authgw-get=" + bound(t, tok["GET"], portal)
	// spoof names a granted note in every other header a proxy might
	// read; it is the client's, passed on by the proxy.
	spoof := func(kv ...string) http.Header {
		h := header(kv...)
		h.Set("X-Original-URI", "/demo/v1/notes/x")
		h.Set("X-Original-Method", "GET")
		if d == gateway.DialectEnvoy {
			h.Set("X-Forwarded-Uri", "/demo/v1/notes/x")
			h.Set("X-Forwarded-Method", "GET")
			h.Set("X-Forwarded-Host", "evil.example")
		}
		return h
	}
	signIn := "https://app.example.com/accounts/v1/ui/login?return_to=" + url.QueryEscape("https://app.example.com/demo/v1/items?x=1")

	tests := []struct {
		name           string
		givenMethod    string
		givenURI       string
		givenHeader    http.Header
		expectStatus   int
		expectCode     string
		expectLocation string
	}{
		{name: "allowed", givenMethod: "GET", givenURI: "/demo/v1/items?x=1", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 200},
		{name: "allowed POST", givenMethod: "POST", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", tok["POST"])), expectStatus: 200},
		{name: "allowed, the client's X-Auth-Info ignored", givenMethod: "GET", givenURI: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "X-Auth-Info", "forged"), expectStatus: 200},
		{name: "no token", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", "")), expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "wrong method", givenMethod: "DELETE", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "api restriction", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(apiOnlyOther, "", tok["GET"])), expectStatus: 403, expectCode: "ACCESS-RESTRICTION-API"},
		{name: "rate limit, first", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(limited, "", tok["GET"])), expectStatus: 200},
		{name: "rate limit, second", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Authorization", authz(limited, "", tok["GET"])), expectStatus: 429, expectCode: "RATE-LIMITED"},
		{name: "attenuated token, other dialects' headers naming a granted note", givenMethod: "GET", givenURI: "/demo/v1/secret",
			givenHeader: spoof("Authorization", authz(good, "s3cret", notes)), expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "control: attenuated token, a granted note", givenMethod: "GET", givenURI: "/demo/v1/notes/x",
			givenHeader: spoof("Authorization", authz(good, "s3cret", notes)), expectStatus: 200},
		{name: "traversal", givenMethod: "GET", givenURI: "/demo/v1/../x", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 400, expectCode: "NON-CANONICAL-PATH"},
		{name: "double slash", givenMethod: "GET", givenURI: "/demo/v1//items", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 400, expectCode: "NON-CANONICAL-PATH"},
		{name: "a method override", givenMethod: "POST", givenURI: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["POST"]), "X-HTTP-Method-Override", "DELETE"), expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "browser without a session", givenMethod: "GET", givenURI: "/demo/v1/items?x=1", givenHeader: header("Accept", browserAccept),
			expectStatus: 303, expectLocation: signIn},
		{name: "browser with its session cookie", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Accept", browserAccept, "Cookie", cookie), expectStatus: 200},
		{name: "browser POST", givenMethod: "POST", givenURI: "/demo/v1/items", givenHeader: header("Accept", browserAccept), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "API client without a token", givenMethod: "GET", givenURI: "/demo/v1/items", givenHeader: header("Accept", "application/json"), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := sendExpect(t, noRedirect, proxyRequest(t, d, srv.URL, tt.givenMethod, tt.givenURI, tt.givenHeader), tt.expectStatus)
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			switch tt.expectStatus {
			case 200:
				c, err := requestinfo.FromRequest(&http.Request{Header: res.Header}, riv)
				if err != nil {
					t.Fatalf("X-Auth-Info: %v", err)
				}
				if c.Audience != "demo" || c.User == nil || c.User.ID != "user-1" || c.IP != "203.0.113.7" {
					t.Errorf("claims %+v, want user-1 on demo from 203.0.113.7", c)
				}
				// What the shipped configuration copies is there.
				copied := []string{"X-Auth-Info", "X-Auth-Info-Signed", "X-Auth-Info-Algorithm"}
				if d == gateway.DialectTraefik {
					_, copied = traefikConfig(t)
				}
				for _, name := range copied {
					if res.Header.Get(name) == "" {
						t.Errorf("no %s in the answer, which the proxy copies", name)
					}
				}
			case 303:
				if res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
				}
			default:
				if got := decodeError(t, body).Error.Code; got != tt.expectCode {
					t.Errorf("code %s, want %s", got, tt.expectCode)
				}
				if got := res.Header.Get("Retry-After"); (got != "") != (tt.expectStatus == 429) {
					t.Errorf("Retry-After %q on a %d", got, tt.expectStatus)
				}
			}
		})
	}
}

// TestForwardAuthDialects_badRequest: each dialect refuses a request its
// proxy would never send with 400 FORWARD-AUTH-BAD-REQUEST naming what
// is missing or malformed.
func TestForwardAuthDialects_badRequest(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	e.refresh()
	srv := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	del := func(name string) func(*http.Request) { return func(r *http.Request) { r.Header.Del(name) } }
	add := func(name, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Add(name, v) } }
	tests := []struct {
		name         string
		givenDialect gateway.ForwardAuthDialect
		givenURI     string
		givenChange  func(*http.Request)
		expectNamed  string
	}{
		{"traefik: no X-Forwarded-Uri", gateway.DialectTraefik, "/demo/v1/items", del("X-Forwarded-Uri"), "X-Forwarded-Uri"},
		{"traefik: no X-Forwarded-Method", gateway.DialectTraefik, "/demo/v1/items", del("X-Forwarded-Method"), "X-Forwarded-Method"},
		{"traefik: no X-Forwarded-Host", gateway.DialectTraefik, "/demo/v1/items", del("X-Forwarded-Host"), "X-Forwarded-Host"},
		{"traefik: X-Forwarded-Proto twice", gateway.DialectTraefik, "/demo/v1/items", add("X-Forwarded-Proto", "http"), "X-Forwarded-Proto"},
		{"traefik: X-Forwarded-For with a port", gateway.DialectTraefik, "/demo/v1/items",
			func(r *http.Request) { r.Header.Set("X-Forwarded-For", "203.0.113.7:5000") }, "X-Forwarded-For"},
		{"caddy: an absolute URI", gateway.DialectCaddy, "http://evil.example/demo/v1/items", nil, "X-Forwarded-Uri"},
		{"haproxy: X-Forwarded-Uri twice", gateway.DialectHAProxy, "/demo/v1/items", add("X-Forwarded-Uri", "/demo/v1/other"), "X-Forwarded-Uri"},
		{"envoy: no X-Forwarded-For", gateway.DialectEnvoy, "/demo/v1/items", del("X-Forwarded-For"), "X-Forwarded-For"},
		{"envoy: no X-Forwarded-Proto", gateway.DialectEnvoy, "/demo/v1/items", del("X-Forwarded-Proto"), "X-Forwarded-Proto"},
		{"envoy: an X-Forwarded-For hop not an address", gateway.DialectEnvoy, "/demo/v1/items",
			func(r *http.Request) { r.Header.Set("X-Forwarded-For", "unknown, 203.0.113.7") }, "X-Forwarded-For"},
		{"envoy: a path starting //", gateway.DialectEnvoy, "//evil.example/demo/v1/items", nil, "the path after /forward-auth/envoy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := proxyRequest(t, tt.givenDialect, srv.URL, "GET", tt.givenURI, header("Accept", "application/json"))
			if tt.givenChange != nil {
				tt.givenChange(req)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			eb := decodeError(t, body)
			if res.StatusCode != 400 || eb.Error.Code != "FORWARD-AUTH-BAD-REQUEST" || !strings.Contains(eb.Error.Detail, " "+tt.expectNamed+" is missing") {
				t.Errorf("%d %+v, want 400 FORWARD-AUTH-BAD-REQUEST naming %s", res.StatusCode, eb.Error, tt.expectNamed)
			}
		})
	}
}

// TestForwardAuthEndpoints: which path answers in which dialect. The
// configured default keeps answering at /forward-auth as before (a
// browser's 401 with a Location for nginx); each dialect has its path
// whatever the default; anything else goes to the next handler, and a
// caller not in ForwardAuthCallers is refused on every endpoint.
func TestForwardAuthEndpoints(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	e.refresh()
	srv := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	})))
	t.Cleanup(srv.Close)
	browser := func(method, path string, kv ...string) *http.Request {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header(append([]string{"Accept", browserAccept, "X-Forwarded-Host", "app.example.com", "X-Forwarded-Proto", "https",
			"X-Forwarded-For", "203.0.113.7"}, kv...)...)
		return req
	}
	nginx := []string{"X-Original-Method", "GET", "X-Original-URI", "/demo/v1/items"}
	forwarded := []string{"X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/demo/v1/items"}
	tests := []struct {
		name         string
		givenRequest *http.Request
		expectStatus int
	}{
		{"/forward-auth, the configured nginx", browser("GET", "/forward-auth", nginx...), 401},
		{"/forward-auth ignores the forwarded headers", browser("GET", "/forward-auth", forwarded...), 400},
		{"/forward-auth/nginx", browser("GET", "/forward-auth/nginx", nginx...), 401},
		{"/forward-auth/caddy", browser("GET", "/forward-auth/caddy", forwarded...), 303},
		{"/forward-auth/traefik", browser("GET", "/forward-auth/traefik", forwarded...), 303},
		{"/forward-auth/haproxy", browser("GET", "/forward-auth/haproxy", forwarded...), 303},
		{"/forward-auth/caddy ignores nginx's headers", browser("GET", "/forward-auth/caddy", nginx...), 400},
		{"/forward-auth/envoy/ and the original path", browser("GET", "/forward-auth/envoy/demo/v1/items"), 303},
		{"/forward-auth/envoy/ with a non-canonical path: no redirect, a refusal", browser("GET", "/forward-auth/envoy/demo/v1/../items"), 400},
		{"/forward-auth/envoy alone", browser("GET", "/forward-auth/envoy"), 418},
		{"/forward-auth/forwarded is no endpoint", browser("GET", "/forward-auth/forwarded", forwarded...), 418},
		{"/forward-auth/unknown", browser("GET", "/forward-auth/unknown", forwarded...), 418},
		{"/forward-auth/ with a trailing slash", browser("GET", "/forward-auth/", nginx...), 418},
		{"/healthz", browser("GET", "/healthz"), 418},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := noRedirect.Do(tt.givenRequest)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.expectStatus {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
		})
	}

	other := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} })
	other.refresh()
	untrusted := httptest.NewServer(other.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(untrusted.Close)
	for _, path := range []string{"/forward-auth", "/forward-auth/nginx", "/forward-auth/caddy", "/forward-auth/traefik", "/forward-auth/haproxy", "/forward-auth/envoy/demo/v1/items"} {
		res, err := http.Get(untrusted.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 403 || decodeError(t, body).Error.Code != "FORWARD-AUTH-UNTRUSTED-PEER" {
			t.Errorf("%s from an untrusted peer: %d %s", path, res.StatusCode, body)
		}
	}
}

// TestForwardAuthConfigs_headerLists: the Traefik and Envoy
// configurations, which no test here can run, remove for the backend
// every header of the gateway's own lists (ClientIPHeaders,
// ForwardedHeaders, OverrideHeaders) and Authorization, but those the
// proxy sets itself; this keeps the lists and the files in step.
func TestForwardAuthConfigs_headerLists(t *testing.T) {
	all := append(append(append([]string{"authorization"}, gateway.ClientIPHeaders...), gateway.ForwardedHeaders...), gateway.OverrideHeaders...)
	for _, tt := range []struct {
		givenFile   string
		givenBlock  string                      // the line opening the list
		givenItem   func(string) (string, bool) // a list line's header name
		expectOwned []string                    // set by the proxy itself
	}{
		{"../testdata/traefik/dynamic.yml", "customRequestHeaders:", func(l string) (string, bool) {
			name, ok := strings.CutSuffix(l, `: ""`)
			return name, ok
		}, []string{"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-server", "x-real-ip"}},
		{"../testdata/envoy/envoy.yaml", "request_headers_to_remove:", func(l string) (string, bool) {
			return strings.CutPrefix(l, "- ")
		}, []string{"x-forwarded-for", "x-forwarded-proto"}},
	} {
		t.Run(tt.givenFile, func(t *testing.T) {
			b, err := os.ReadFile(tt.givenFile)
			if err != nil {
				t.Fatal(err)
			}
			removed := map[string]bool{}
			in := false
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimSpace(line)
				if line == tt.givenBlock {
					in = true
					continue
				}
				if name, ok := tt.givenItem(line); in && ok {
					removed[strings.ToLower(name)] = true
				} else if in && !strings.HasPrefix(line, "#") {
					in = false
				}
			}
			for _, name := range all {
				if slices.Contains(tt.expectOwned, name) {
					if removed[name] {
						t.Errorf("%s removes %s, which the proxy sets for the backend", tt.givenFile, name)
					}
				} else if !removed[name] {
					t.Errorf("%s does not remove %s for the backend", tt.givenFile, name)
				}
			}
		})
	}
}
