package gateway_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/verifier"
)

// reviewBrowserClient is the sign-in pages' client as serve makes it: a
// well-known ID, no secret, no rate limit.
const reviewBrowserClient = "00000000-0000-7000-8000-000000000002"

// TestReview_browserClientIsNoFreeBudget: the sign-in pages' client is
// unlimited because every signed-in browser shares it, and its ID is
// public. A stranger must not turn that into an unlimited budget of their
// own: naming it in a Basic header (no browser does), or in a cookie on a
// route whose token is never checked (a forged cookie is enough there),
// spends the per-IP budget. A signed-in browser on a route that checks
// its token keeps the client's budget.
func TestReview_browserClientIsNoFreeBudget(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.UnidentifiedPerSecond = 2
		c.BrowserClient = reviewBrowserClient
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.Public = map[string][]string{"POST": {"/accounts/v1/sessions/login/password"}, "GET": {"/open/v1/health"}}
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	if _, err := e.d.CreateClient(e.ctx, db.Client{ID: reviewBrowserClient, OrganizationID: e.orgID, Name: "portal",
		SecretHash: "!no-secret", ReqsPerSec: db.UnlimitedReqsPerSec, CreatedMs: fixedNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	backend := echoBackend(t, "demo")
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true})
	e.api("open", 1, backend.URL, true, true)
	e.refresh()
	cookies := verifier.CookieConfig{Insecure: true}
	forgedPost := cookies.Name("POST") + "=" + forged(t, "session-x", reviewBrowserClient)["POST"]
	forgedGet := cookies.Name("GET") + "=" + forged(t, "session-x", reviewBrowserClient)["GET"]
	genuine := cookies.Name("GET") + "=" + bound(t, e.tokens("session-1", fixedNow).ByMethod["GET"], reviewBrowserClient)
	from := func(ip string, kv ...string) http.Header {
		return header(append([]string{"X-Forwarded-For", ip, "Accept", "application/json"}, kv...)...)
	}
	tests := []struct {
		name         string
		givenMethod  string
		givenPath    string
		givenHeader  func() http.Header
		expectStatus []int
	}{
		{"Basic with the pages' client at the login step", "POST", "/accounts/v1/sessions/login/password",
			func() http.Header { return from("192.0.2.1", "Authorization", authz(reviewBrowserClient, "", "")) }, []int{418, 418, 429}},
		{"Basic with the pages' client at an unidentified API", "GET", "/open/v1/health",
			func() http.Header { return from("192.0.2.2", "Authorization", authz(reviewBrowserClient, "", "")) }, []int{200, 200, 429}},
		{"a forged cookie naming the pages' client at the login step", "POST", "/accounts/v1/sessions/login/password",
			func() http.Header { return from("192.0.2.3", "Cookie", forgedPost) }, []int{418, 418, 429}},
		{"a forged cookie naming the pages' client at an unidentified API", "GET", "/open/v1/health",
			func() http.Header { return from("192.0.2.4", "Cookie", forgedGet) }, []int{200, 200, 429}},
		{"a signed-in browser keeps the client's budget", "GET", "/demo/v1/hello",
			func() http.Header { return from("192.0.2.5", "Cookie", genuine) }, []int{200, 200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.expectStatus {
				res, body := e.sendNoFollow(tt.givenMethod, tt.givenPath, tt.givenHeader())
				if res.StatusCode != want {
					t.Fatalf("request %d: status %d, want %d: %s", i+1, res.StatusCode, want, body)
				}
			}
		})
	}
}

// TestReview_pagesCookiesNeverReachBackends: the sign-in pages' CSRF
// cookie is sent by the browser to every path of the gateway's origin
// (a __Host- cookie has Path=/). With its value, anyone can have the
// pages issue valid tokens of the public forms (sign-in, sign-out) for
// that browser, so a backend (or its logs) must never see it, as it
// never sees a token cookie; the backend's own cookies still reach it.
func TestReview_pagesCookiesNeverReachBackends(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.PrivateCookies = []string{"__Host-authgw-csrf"} })
	backend := echoBackend(t, "demo")
	client := e.client(sha256Hex("s3cret"), 100)
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true})
	e.refresh()
	tok := e.tokens("session-1", fixedNow).ByMethod["GET"]
	for _, cookie := range []string{
		"__Host-authgw-csrf=AAAA; theme=dark",
		"theme=dark; __host-authgw-csrf=AAAA",
		"theme=dark, __Host-authgw-csrf=AAAA",
	} {
		res, body := e.send("GET", "/demo/v1/hello", header("Authorization", authz(client, "s3cret", tok), "Cookie", cookie), nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%q: status %d: %s", cookie, res.StatusCode, body)
		}
		got := http.Header(decodeEcho(t, body).Header).Get("Cookie")
		if strings.Contains(strings.ToLower(got), "csrf") || !strings.Contains(got, "theme=dark") {
			t.Errorf("%q: the backend got Cookie %q", cookie, got)
		}
	}
}
