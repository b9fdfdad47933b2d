package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/mint"
)

// TestForwardAuthWithNginx: a real nginx asks ForwardAuth about every
// request with auth_request (testdata/nginx/forward-auth.conf.tmpl) and
// passes the allowed ones to a backend with the signed request info.
//
// nginx's auth_request passes 401 and 403 on with their status (but its
// own HTML body: the envelope and the RateLimit headers of the decision
// are lost); any other status of the decision becomes a 500. The
// template maps the decision's 429 back to a 429 with Retry-After (and
// 400 and 503 likewise) through error_page and $upstream_status.
//
// The template sets every header either dialect reads, so the table runs
// with authgw in each. Client-supplied X-Forwarded-* and X-Original-*
// headers decide nothing: a token attenuated to /demo/v1/notes/** is
// refused /secret/v1/report whatever the client claims the request was,
// and the client IP in the request info is the one nginx saw.
func TestForwardAuthWithNginx(t *testing.T) {
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectNginx, gateway.DialectForwarded} {
		t.Run(string(d), func(t *testing.T) { testForwardAuthWithNginx(t, d) })
	}
}

func testForwardAuthWithNginx(t *testing.T, d gateway.ForwardAuthDialect) {
	f := newForwardAuthFixture(t, d)
	fa, good, apiOnlyOther, limited, tok := f.fa, f.good, f.apiOnlyOther, f.limited, f.tok
	backend := echoBackend(t, "demo")
	base := "http://" + gatewaytest.StartNginx(t, gatewaytest.ForwardAuth("..", hostPort(t, backend.URL), hostPort(t, fa.URL)))
	notes, err := mint.AttenuateText(tok["GET"], "routes /demo/v1/notes/**")
	if err != nil {
		t.Fatal(err)
	}
	notesPOST, err := mint.AttenuateText(tok["POST"], "routes /demo/v1/notes/**")
	if err != nil {
		t.Fatal(err)
	}
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
		name             string
		givenMethod      string
		givenPath        string
		givenHeader      http.Header
		expectStatus     int
		expectRetryAfter bool
	}{
		{"allowed", "GET", "/demo/v1/items?x=1", header("Authorization", authz(good, "s3cret", tok["GET"])), 200, false},
		{"allowed, the client's own X-Auth-Info replaced", "GET", "/demo/v1/items",
			header("Authorization", authz(good, "s3cret", tok["GET"]), "X-Auth-Info", "forged", "X-Auth-Info-Signed", "0"), 200, false},
		{"allowed POST", "POST", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["POST"])), 200, false},
		{"no token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", "")), 401, false},
		{"no credentials at all", "GET", "/demo/v1/items", nil, 401, false},
		{"wrong secret", "GET", "/demo/v1/items", header("Authorization", authz(good, "wrong", tok["GET"])), 401, false},
		{"unknown client", "GET", "/demo/v1/items", header("Authorization", authz("nobody", "", tok["GET"])), 401, false},
		{"route not granted", "GET", "/secret/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 403, false},
		{"method not granted", "DELETE", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 403, false},
		{"token of another method", "POST", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 403, false},
		{"api restriction", "GET", "/demo/v1/items", header("Authorization", authz(apiOnlyOther, "", tok["GET"])), 403, false},
		{"non-canonical path", "GET", "/demo/v1//items", header("Authorization", authz(good, "s3cret", tok["GET"])), 400, false},
		{"attenuated token, spoofed headers naming a granted note", "GET", "/secret/v1/report", spoof(authz(good, "s3cret", notes)), 403, false},
		{"attenuated token, spoofed headers, other API's path", "GET", "/demo/v1/secret-report", spoof(authz(good, "s3cret", notes)), 403, false},
		{"GET token for a DELETE, spoofed headers saying GET", "DELETE", "/demo/v1/notes/x", spoof(authz(good, "s3cret", notes)), 403, false},
		{"POST token for a PUT, spoofed headers saying POST", "PUT", "/demo/v1/notes/x",
			func() http.Header {
				h := spoof(authz(good, "s3cret", notesPOST))
				h.Set("X-Forwarded-Method", "POST")
				h.Set("X-Original-Method", "POST")
				return h
			}(), 403, false},
		{"control: attenuated token, a granted note, spoofed headers ignored", "GET", "/demo/v1/notes/x", spoof(authz(good, "s3cret", notes)), 200, false},
		{"a method override", "POST", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["POST"]), "X-HTTP-Method-Override", "DELETE"), 400, false},
		{"rate limit, first request", "GET", "/demo/v1/items", header("Authorization", authz(limited, "", tok["GET"])), 200, false},
		{"rate limit, second request", "GET", "/demo/v1/items", header("Authorization", authz(limited, "", tok["GET"])), 429, true},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.givenMethod, base+tt.givenPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.givenHeader {
				req.Header[k] = vs
			}
			res, body := sendExpect(t, client, req, tt.expectStatus)
			if got := res.Header.Get("Retry-After"); (got != "") != tt.expectRetryAfter {
				t.Errorf("Retry-After %q, want one: %v", got, tt.expectRetryAfter)
			}
			if tt.expectStatus != 200 {
				if bytes.Contains(body, []byte(`"claims"`)) {
					t.Errorf("a refused request reached the backend: %s", body)
				}
				return
			}
			got := decodeEcho(t, body)
			if got.Claims == nil {
				t.Fatalf("the backend could not verify X-Auth-Info: %s (header %q)", got.InfoError, got.Header["X-Auth-Info"])
			}
			if got.Claims.Audience != "demo" || got.Claims.User == nil || got.Claims.User.ID != "user-1" {
				t.Errorf("claims %+v", *got.Claims)
			}
			if got.Claims.Client == "" || got.Claims.IP != "127.0.0.1" {
				t.Errorf("client %q, ip %q in the claims, want a client from 127.0.0.1", got.Claims.Client, got.Claims.IP)
			}
			if got.RequestURI != tt.givenPath {
				t.Errorf("backend got %q, want %q", got.RequestURI, tt.givenPath)
			}
			for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": strings.TrimPrefix(base, "http://")} {
				if v := got.Header[name]; len(v) != 1 || v[0] != want {
					t.Errorf("the backend's %s = %q, want [%s] from nginx", name, v, want)
				}
			}
			if a := got.Header["Authorization"]; len(a) != 0 {
				t.Errorf("the backend got the client's Authorization %q", a)
			}
		})
	}
}

// TestForwardAuthWithNginx_cookies: behind the shipped template the
// backend never gets a token cookie, nor a cookie some server would read
// as one, and keeps its own cookies.
func TestForwardAuthWithNginx_cookies(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	good := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	base := "http://" + gatewaytest.StartNginx(t, gatewaytest.ForwardAuth("..", hostPort(t, echoBackend(t, "demo").URL), hostPort(t, fa.URL)))
	get := e.tokens("session-1", fixedNow).ByMethod["GET"]
	tests := []struct {
		name         string
		givenCookie  string
		givenBasic   bool // the token comes from the cookie
		expectCookie string
	}{
		{"the token cookie", "authgw-get=" + get + "; theme=dark", true, "theme=dark"},
		{"the token cookie with a space before =", "theme=dark; authgw-get =" + get, true, "theme=dark"},
		{"every method's, secure names", "__Host-authgw-get=a; x=1; __Host-authgw-post=b; authgw-put=c; authgw-patch=d; authgw-delete=e", false, "x=1"},
		{"other case, PHP spellings, comma-separated", "AUTHGW-GET=a, theme=dark; ..Host-authgw-post=b; authgw-get[x]=c", false, "theme=dark"},
		{"more than five: nothing passes", "authgw-get=1; authgw-get=2; authgw-get=3; authgw-get=4; authgw-get=5; authgw-get=6; theme=dark", false, ""},
		{"a percent-escaped name: nothing passes", "%61uthgw-get=1; theme=dark", false, ""},
		{"no-break space before the name (Django, Starlette, jshttp/cookie trim it)", "\xa0__Host-authgw-get=x; theme=dark", false, "theme=dark"},
		{"no-break space after the name", "theme=dark; authgw-get\xa0=x", false, "theme=dark"},
		{"next line before the name (Python str.strip)", "theme=dark;\x85authgw-post=x", false, "theme=dark"},
		{"step-up and discharge cookies", "__Host-authgw-delete-stepup=a; theme=dark; __Host-authgw-delete-discharge=b", false, "theme=dark"},
		{"control: the backend's own cookies", "theme=dark; authgw-getter=x", false, "theme=dark; authgw-getter=x"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", base+"/demo/v1/items", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.givenBasic {
				req.Header.Set("Authorization", authz(good, "s3cret", ""))
			} else {
				req.Header.Set("Authorization", authz(good, "s3cret", get))
			}
			req.Header.Set("Cookie", tt.givenCookie)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			got := http.Header(decodeEcho(t, body).Header).Values("Cookie")
			if want := []string{tt.expectCookie}; tt.expectCookie == "" && len(got) != 0 || tt.expectCookie != "" && (len(got) != 1 || got[0] != want[0]) {
				t.Errorf("the backend's Cookie %q, want %q", got, tt.expectCookie)
			}
		})
	}
}

// TestForwardAuthWithNginx_backendHeaders: behind the shipped template,
// no header the gateway owns reaches the backend as the client sent it:
// every client-IP header, known X-Forwarded-* name and override header
// of the gateway's own lists (gateway.ClientIPHeaders, ForwardedHeaders,
// OverrideHeaders: one source for both), the request info and
// X-Request-Id. Stock nginx cannot drop headers by prefix, so the
// template names each one; this test keeps the lists and the template
// together. It runs behind authgw (override headers left out: authgw
// refuses those with 400) and behind a decision endpoint that allows
// everything, so that the template's own second guard against the
// override headers is checked too.
func TestForwardAuthWithNginx_backendHeaders(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	good := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	allowAll := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(allowAll.Close)
	backend := hostPort(t, echoBackend(t, "demo").URL)
	owned := []string{"X-Request-Id", "X-Auth-Info", "X-Auth-Info-Signed", "X-Auth-Info-Algorithm", "Authorization"}
	owned = append(owned, gateway.ClientIPHeaders...)
	owned = append(owned, gateway.ForwardedHeaders...)
	for _, tt := range []struct {
		name      string
		givenAuth string // host:port of the decision endpoint
		overrides bool   // also send the override headers
	}{
		{"behind authgw", hostPort(t, fa.URL), false},
		{"whatever the decision", hostPort(t, allowAll.URL), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := "http://" + gatewaytest.StartNginx(t, gatewaytest.ForwardAuth("..", backend, tt.givenAuth))
			names := owned
			if tt.overrides {
				names = append(slices.Clone(owned), gateway.OverrideHeaders...)
			}
			req, err := http.NewRequest("GET", base+"/demo/v1/items", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if !gateway.GatewayOwned(n) && !slices.Contains(gateway.OverrideHeaders, n) {
					t.Errorf("%s is in a list but the gateway listener does not strip it", n)
				}
				req.Header.Set(n, "10.6.6.6")
			}
			req.Header.Set("Authorization", authz(good, "s3cret", e.tokens("session-1", fixedNow).ByMethod["GET"]))
			res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			got := http.Header(decodeEcho(t, body).Header)
			for name, vs := range got {
				for _, v := range vs {
					if strings.Contains(v, "10.6.6.6") {
						t.Errorf("the backend got the client's %s: %q", name, v)
					}
				}
			}
			if id := got.Get("X-Request-Id"); len(id) != 32 {
				t.Errorf("X-Request-Id %q, want nginx's $request_id", id)
			}
		})
	}
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestForwardAuthWithNginx_browser: behind the shipped template, a
// browser without a session is redirected (303) to the sign-in page on
// nginx's origin with return_to the original URL; a browser with its
// session cookie and no Basic header gets through as the cookie's
// client; an API client still gets a 401 in JSON with the challenge.
func TestForwardAuthWithNginx_browser(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers = loopbackCallers })
	portal := e.client(sha256Hex("unused"), -1)
	e.refresh()
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	origin := "http://" + gatewaytest.StartNginx(t, gatewaytest.ForwardAuth("..", hostPort(t, echoBackend(t, "demo").URL), hostPort(t, fa.URL)))
	cookie := "authgw-get=" + bound(t, e.tokens("session-1", fixedNow).ByMethod["GET"], portal)
	tests := []struct {
		name           string
		givenMethod    string
		givenHeader    http.Header
		expectStatus   int
		expectLocation string
		expectJSON     bool
		expectBasic    bool
	}{
		{name: "browser without a session", givenMethod: "GET", givenHeader: header("Accept", browserAccept), expectStatus: 303,
			expectLocation: origin + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(origin+"/demo/v1/items?x=1")},
		{name: "browser HEAD", givenMethod: "HEAD", givenHeader: header("Accept", browserAccept), expectStatus: 303,
			expectLocation: origin + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(origin+"/demo/v1/items?x=1")},
		{name: "browser with its session cookie", givenMethod: "GET", givenHeader: header("Accept", browserAccept, "Cookie", cookie), expectStatus: 200},
		{name: "browser POST", givenMethod: "POST", givenHeader: header("Accept", browserAccept), expectStatus: 401, expectJSON: true},
		{name: "API client without a token", givenMethod: "GET", givenHeader: header("Accept", "application/json"), expectStatus: 401, expectJSON: true, expectBasic: true},
		{name: "curl", givenMethod: "GET", givenHeader: header("Accept", "*/*", "Authorization", authz(portal, "", "")), expectStatus: 401, expectJSON: true},
	}
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.givenMethod, origin+"/demo/v1/items?x=1", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.givenHeader
			res, body := sendExpect(t, client, req, tt.expectStatus)
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic"); got != tt.expectBasic || len(res.Header.Values("WWW-Authenticate")) > 1 {
				t.Errorf("WWW-Authenticate %q, one Basic wanted: %v", res.Header.Values("WWW-Authenticate"), tt.expectBasic)
			}
			if tt.expectStatus == 303 && res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", res.Header.Get("Cache-Control"))
			}
			if tt.expectJSON {
				if eb := decodeError(t, body); eb.Error.Status != 401 {
					t.Errorf("envelope %+v", eb)
				}
			}
			if tt.expectStatus == 200 {
				got := decodeEcho(t, body)
				if got.Claims == nil || got.Claims.Client != portal || got.Claims.SecretVerified {
					t.Errorf("claims %+v (%s), want the cookie's client", got.Claims, got.InfoError)
				}
			}
		})
	}
}
