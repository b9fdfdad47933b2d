package gateway_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/mint"
)

// TestForwardAuthWithCaddy: a real Caddy (Debian's caddy) asks
// /forward-auth/caddy about every request with forward_auth, loading
// testdata/caddy/Caddyfile.tmpl, in front of a backend that verifies
// X-Auth-Info. Caddy passes every non-2xx answer to the client as it is:
// authgw's status, JSON envelope, Retry-After, and a browser's 303 to
// the sign-in page.
func TestForwardAuthWithCaddy(t *testing.T) {
	testForwardAuthBehind(t, func(backend, authgw string) string {
		return gatewaytest.StartCaddy(t, gatewaytest.Caddy("..", backend, authgw))
	})
}

// TestForwardAuthWithHAProxy: a real HAProxy (Debian's haproxy 2.6,
// built with Lua) asks /forward-auth/haproxy about every request with
// the Lua action testdata/haproxy/authgw.lua, loaded by
// testdata/haproxy/haproxy.cfg.tmpl, which answers the refusals with
// authgw's status, envelope, challenge and Retry-After, and a browser's
// 303 to the sign-in page.
func TestForwardAuthWithHAProxy(t *testing.T) {
	testForwardAuthBehind(t, func(backend, authgw string) string {
		return gatewaytest.StartHAProxy(t, gatewaytest.HAProxy("..", backend, authgw))
	})
}

// testForwardAuthBehind runs the end-to-end table through the proxy
// start starts (it returns the proxy's host:port) in front of an echoing
// backend and authgw's forward-auth endpoints.
func testForwardAuthBehind(t *testing.T, start func(backend, authgw string) string) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	good := e.client(sha256Hex("s3cret"), -1)
	limited := e.client(sha256Hex("x"), 1)
	portal := e.client(sha256Hex("unused"), -1)
	e.refresh()
	fa := httptest.NewServer(e.gw.ForwardAuthEndpoints(http.NotFoundHandler()))
	t.Cleanup(fa.Close)
	listen := start(hostPort(t, echoBackend(t, "demo").URL), hostPort(t, fa.URL))
	origin := "http://" + listen
	tok := e.tokens("session-1", fixedNow).ByMethod
	notes, err := mint.AttenuateText(tok["GET"], "routes /demo/v1/notes/**")
	if err != nil {
		t.Fatal(err)
	}
	session := "authgw-get=" + bound(t, tok["GET"], portal)
	// spoof is every header a client could use to describe another
	// request than the one it sends: a granted note, by GET, from
	// 10.9.9.9 over https to app.example.com.
	spoof := func(auth string) http.Header {
		return header("Authorization", auth,
			"X-Forwarded-Uri", "/demo/v1/notes/x", "X-Original-URI", "/demo/v1/notes/x",
			"X-Forwarded-Method", "GET", "X-Original-Method", "GET",
			"X-Forwarded-Host", "app.example.com", "X-Forwarded-Proto", "https", "X-Forwarded-For", "10.9.9.9")
	}
	tests := []struct {
		name           string
		givenMethod    string
		givenPath      string
		givenHeader    http.Header
		expectStatus   int
		expectCode     string // authgw's envelope, passed on
		expectLocation string
		expectCookie   string // the backend's cookie pairs, sorted out of separators
	}{
		{name: "allowed", givenMethod: "GET", givenPath: "/demo/v1/items?x=1", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 200},
		{name: "allowed, the client's own X-Auth-Info replaced", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "X-Auth-Info", "forged", "X-Auth-Info-Signed", "0", "X-Auth-Info-Extra", "1"), expectStatus: 200},
		{name: "allowed POST", givenMethod: "POST", givenPath: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", tok["POST"])), expectStatus: 200},
		{name: "no token", givenMethod: "GET", givenPath: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", "")), expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "no credentials at all", givenMethod: "GET", givenPath: "/demo/v1/items", expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "wrong method", givenMethod: "DELETE", givenPath: "/demo/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "route not granted", givenMethod: "GET", givenPath: "/secret/v1/items", givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"])), expectStatus: 403},
		{name: "attenuated token, spoofed headers naming a granted note", givenMethod: "GET", givenPath: "/demo/v1/secret-report", givenHeader: spoof(authz(good, "s3cret", notes)), expectStatus: 403},
		{name: "GET token for a DELETE, spoofed headers saying GET", givenMethod: "DELETE", givenPath: "/demo/v1/notes/x", givenHeader: spoof(authz(good, "s3cret", notes)), expectStatus: 403},
		{name: "control: attenuated token, a granted note, spoofed headers ignored", givenMethod: "GET", givenPath: "/demo/v1/notes/x", givenHeader: spoof(authz(good, "s3cret", notes)), expectStatus: 200},
		{name: "a method override", givenMethod: "POST", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["POST"]), "X-HTTP-Method-Override", "DELETE"), expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "rate limit, first request", givenMethod: "GET", givenPath: "/demo/v1/items", givenHeader: header("Authorization", authz(limited, "", tok["GET"])), expectStatus: 200},
		{name: "rate limit, second request", givenMethod: "GET", givenPath: "/demo/v1/items", givenHeader: header("Authorization", authz(limited, "", tok["GET"])), expectStatus: 429, expectCode: "RATE-LIMITED"},
		{name: "browser without a session", givenMethod: "GET", givenPath: "/demo/v1/items?x=1", givenHeader: header("Accept", browserAccept), expectStatus: 303,
			expectLocation: origin + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(origin+"/demo/v1/items?x=1")},
		{name: "browser HEAD", givenMethod: "HEAD", givenPath: "/demo/v1/items", givenHeader: header("Accept", browserAccept), expectStatus: 303,
			expectLocation: origin + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(origin+"/demo/v1/items")},
		{name: "browser POST", givenMethod: "POST", givenPath: "/demo/v1/items", givenHeader: header("Accept", browserAccept), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "browser with its session cookie: the token cookie is not passed on", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Accept", browserAccept, "Cookie", "theme=dark; "+session+"; lang=en"), expectStatus: 200, expectCookie: "lang=en theme=dark"},
		{name: "token cookies of every method and spelling are not passed on", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]),
				"Cookie", "__Host-authgw-get=a; x=1; __Host-authgw-post=b; authgw-put=c; AUTHGW-PATCH=d; ..Host-authgw-delete=e; authgw-get[x]=f; \xa0authgw-get=g; theme=dark"),
			expectStatus: 200, expectCookie: "theme=dark x=1"},
		{name: "step-up and discharge cookies are not passed on", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]),
				"Cookie", "__Host-authgw-delete-stepup=a; theme=dark; __Host-authgw-delete-discharge=b; authgw-get-stepup=c; authgw-post-discharge =d"),
			expectStatus: 200, expectCookie: "theme=dark"},
		{name: "a percent-escaped name: no cookie passes", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "Cookie", "%61uthgw-get=1; theme=dark"), expectStatus: 200, expectCookie: ""},
		{name: "other case, PHP spellings, comma-separated", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader:  header("Authorization", authz(good, "s3cret", tok["GET"]), "Cookie", "AUTHGW-GET=a, theme=dark; ..Host-authgw-post=b; authgw-get[x]=c; authgw-delete =d"),
			expectStatus: 200, expectCookie: "theme=dark"},
		{name: "next line before the name (Python str.strip)", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "Cookie", "theme=dark;\x85authgw-post=x"), expectStatus: 200, expectCookie: "theme=dark"},
		{name: "a token cookie's name without a value: no cookie passes", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "Cookie", "authgw-get; theme=dark"), expectStatus: 200, expectCookie: ""},
		{name: "headers the gateway owns, sent by the client, do not reach the backend", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: owned(header("Authorization", authz(good, "s3cret", tok["GET"]))), expectStatus: 200},
		{name: "control: the backend's own cookies", givenMethod: "GET", givenPath: "/demo/v1/items",
			givenHeader: header("Authorization", authz(good, "s3cret", tok["GET"]), "Cookie", "theme=dark; authgw-getter=x"), expectStatus: 200, expectCookie: "authgw-getter=x theme=dark"},
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.givenMethod, origin+tt.givenPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.givenHeader {
				req.Header[k] = vs
			}
			res, body := sendExpect(t, client, req, tt.expectStatus)
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			if got := res.Header.Get("Retry-After"); (got != "") != (tt.expectStatus == 429) {
				t.Errorf("Retry-After %q on a %d", got, tt.expectStatus)
			}
			if tt.expectStatus != 200 {
				if bytes.Contains(body, []byte(`"claims"`)) {
					t.Errorf("a refused request reached the backend: %s", body)
				}
				if tt.expectCode != "" {
					if got := decodeError(t, body).Error.Code; got != tt.expectCode {
						t.Errorf("code %q, want authgw's %s: %s", got, tt.expectCode, body)
					}
				}
				if tt.expectStatus == 303 && res.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", res.Header.Get("Cache-Control"))
				}
				return
			}
			got := decodeEcho(t, body)
			if got.Claims == nil {
				t.Fatalf("the backend could not verify X-Auth-Info: %s (header %q)", got.InfoError, got.Header["X-Auth-Info"])
			}
			if got.Claims.Audience != "demo" || got.Claims.IP != "127.0.0.1" {
				t.Errorf("claims %+v, want demo from 127.0.0.1", *got.Claims)
			}
			if got.RequestURI != tt.givenPath {
				t.Errorf("backend got %q, want %q", got.RequestURI, tt.givenPath)
			}
			h := http.Header(got.Header)
			for _, name := range []string{"X-Auth-Info", "X-Auth-Info-Signed", "X-Auth-Info-Algorithm", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if len(h.Values(name)) != 1 {
					t.Errorf("the backend's %s %q, want one, the proxy's", name, h.Values(name))
				}
			}
			if v := h.Get("X-Forwarded-For"); v != "127.0.0.1" {
				t.Errorf("the backend's X-Forwarded-For %q, want the proxy's peer", v)
			}
			if v := h.Get("X-Forwarded-Host"); v != listen {
				t.Errorf("the backend's X-Forwarded-Host %q, want %q", v, listen)
			}
			for _, name := range []string{"Authorization", "X-Auth-Info-Extra", "X-Original-Uri", "X-Forwarded-Uri", "X-Forwarded-Method"} {
				if v := h.Values(name); len(v) != 0 {
					t.Errorf("the backend got the client's %s %q", name, v)
				}
			}
			for name, vs := range h {
				for _, v := range vs {
					if strings.Contains(v, "10.6.6.6") {
						t.Errorf("the backend got the client's %s: %q", name, v)
					}
				}
			}
			if id := h.Get("X-Request-Id"); len(id) < 16 {
				t.Errorf("X-Request-Id %q, want the proxy's", id)
			}
			if got := cookiePairs(h.Values("Cookie")); got != tt.expectCookie {
				t.Errorf("the backend's cookies %q, want %q (header %q)", got, tt.expectCookie, h.Values("Cookie"))
			}
		})
	}
}

// owned adds to h every header the gateway listener strips or replaces,
// with the value 10.6.6.6: the client-address headers, the X-Forwarded-*
// names, X-Request-Id (the override headers are refused with 400).
func owned(h http.Header) http.Header {
	for _, n := range append(append([]string{"X-Request-Id", "X-Real-IP"}, gateway.ClientIPHeaders...), gateway.ForwardedHeaders...) {
		h.Set(n, "10.6.6.6")
	}
	return h
}

// cookiePairs is the name=value pairs of the Cookie lines, sorted and
// joined by spaces, without the empty pairs a removal leaves.
func cookiePairs(lines []string) string {
	var pairs []string
	for _, l := range lines {
		for _, p := range strings.FieldsFunc(l, func(r rune) bool { return r == ';' || r == ',' }) {
			if p = strings.TrimSpace(p); p != "" {
				pairs = append(pairs, p)
			}
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, " ")
}

// TestForwardAuthBehind_authgwDown: when authgw does not answer, Caddy
// and HAProxy with the shipped configurations fail closed: the request
// is refused (5xx) and never reaches the backend.
func TestForwardAuthBehind_authgwDown(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(t *testing.T, backend, authgw string) string
	}{
		{"caddy", func(t *testing.T, backend, authgw string) string {
			return gatewaytest.StartCaddy(t, gatewaytest.Caddy("..", backend, authgw))
		}},
		{"haproxy", func(t *testing.T, backend, authgw string) string {
			return gatewaytest.StartHAProxy(t, gatewaytest.HAProxy("..", backend, authgw))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var reached atomic.Bool
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached.Store(true) }))
			t.Cleanup(backend.Close)
			listen := tt.start(t, hostPort(t, backend.URL), gatewaytest.FreeAddr(t))
			res, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + listen + "/demo/v1/items")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode < 500 || reached.Load() {
				t.Errorf("status %d, backend reached %v; want a 5xx and no request to the backend", res.StatusCode, reached.Load())
			}
		})
	}
}
