package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// browserAccept is what Chromium and Firefox send when they navigate.
const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// apiWith registers a (the test's clock as its time).
func (e *env) apiWith(a db.API) {
	e.t.Helper()
	a.CreatedMs = fixedNow.UnixMilli()
	if err := e.d.CreateAPI(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
}

// sendNoFollow is send without following redirects.
func (e *env) sendNoFollow(method, path string, h http.Header) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, b
}

// bound returns tok attenuated with a client caveat naming clientID, as
// the tokens of a browser's sign-in through a client are.
func bound(t testing.TB, tok, clientID string) string {
	t.Helper()
	out, err := mint.AttenuateText(tok, "client "+clientID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forged mints the demo policy for session with a key ring the gateway
// does not have, under the key ID it has: a token that decodes, names
// clientID, and fails its signature.
func forged(t testing.TB, session, clientID string) map[string]string {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: minttest.KeyRing(t, "k1", 99), ServerID: serverID, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("demo.json", []byte(demoPolicy))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "user-1", SessionID: session, Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for method, tok := range toks.ByMethod {
		out[method] = bound(t, tok, clientID)
	}
	return out
}

// countingBackend is echoBackend that counts the requests it got.
func countingBackend(t *testing.T, audience string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	echo := echoBackend(t, audience)
	var n atomic.Int64
	target, _ := url.Parse(echo.URL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		r.URL.Scheme, r.URL.Host, r.RequestURI = target.Scheme, target.Host, ""
		res, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestBrowser_clientFromCookie: a request without a Basic credential
// is made by the client its token cookie's client caveat names; that
// client's restrictions and rate limit apply, and the verifier checks
// the token (a forged one never reaches the backend).
func TestBrowser_clientFromCookie(t *testing.T) {
	e := newEnv(t, nil)
	backend, reached := countingBackend(t, "demo")
	portal := e.client(sha256Hex("unused"), -1)
	limited := e.client(sha256Hex("unused"), 1)
	elsewhere := e.client(sha256Hex("unused"), -1, db.Restriction{Type: db.RestrictionIP, Value: "10.0.0.0/8"})
	apiOnlyOther := e.client(sha256Hex("unused"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "other"})
	system, err := e.d.CreateClient(e.ctx, db.Client{ID: e.id(), OrganizationID: e.orgID, Name: "sys", SecretHash: sha256Hex("s3cret"),
		ReqsPerSec: -1, CreatedMs: fixedNow.UnixMilli(), Roles: []string{db.ClientRoleSystem, db.ClientRoleInternal}})
	if err != nil {
		t.Fatal(err)
	}
	other := e.client(sha256Hex("other-secret"), -1)
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, LoginRedirect: true})
	openBackend, openReached := countingBackend(t, "open")
	e.apiWith(db.API{Name: "open", Version: 1, URL: openBackend.URL, Active: true, AllowUnidentified: true})
	e.refresh()
	get := e.tokens("session-1", fixedNow).ByMethod["GET"]
	post := e.tokens("session-1", fixedNow).ByMethod["POST"]
	cookie := func(tok string) string { return "theme=dark; authgw-get=" + tok }

	tests := []struct {
		name          string
		givenMethod   string
		givenPath     string
		givenHeader   http.Header
		expectStatus  int
		expectCode    string
		expectClient  string // in the request info, when 200
		expectReached bool
	}{
		{name: "cookie bound to a client, no Basic", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, portal))), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "cookie with a quoted value", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", `authgw-get="`+bound(t, get, portal)+`"`), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "HEAD reads GET's cookie", givenMethod: "HEAD", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, portal))), expectStatus: 200, expectReached: true},
		{name: "POST with its own cookie, same origin", givenMethod: "POST", givenPath: "/demo/v1/notes",
			givenHeader: header("Cookie", "authgw-post="+bound(t, post, portal), "Origin", e.srv.URL), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "POST with the cookie from another origin (CSRF)", givenMethod: "POST", givenPath: "/demo/v1/notes",
			givenHeader: header("Cookie", "authgw-post="+bound(t, post, portal), "Origin", "https://evil.example"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "an allowUnidentified API: the cookie still names its client", givenMethod: "GET", givenPath: "/open/v1/x",
			givenHeader: header("Cookie", cookie(bound(t, get, portal))), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "the client's IP restriction applies", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, elsewhere))), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "the client's API restriction applies", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, apiOnlyOther))), expectStatus: 403, expectCode: "ACCESS-RESTRICTION-API"},
		{name: "unknown client in the caveat", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, "no-such-client"))), expectStatus: 401, expectCode: "UNKNOWN-CLIENT"},
		{name: "forged token naming a known client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(forged(t, "session-1", portal)["GET"])), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "forged token naming a known client, allowUnidentified API", givenMethod: "GET", givenPath: "/open/v1/x",
			givenHeader: header("Cookie", cookie(forged(t, "session-1", portal)["GET"])), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "token without a client caveat, no Basic", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(get)), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "the token in the Authorization header needs Basic", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Macaroon "+bound(t, get, portal)), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "a header token next to the cookie: the header's is checked, and names no client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Macaroon "+get, "Cookie", cookie(bound(t, get, portal))), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "Bearer token (an OAuth access token) bound to a client, no Basic", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+bound(t, get, portal)), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "Bearer token: the client's IP restriction applies", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+bound(t, get, elsewhere)), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "Bearer token naming an unknown client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+bound(t, get, "no-such-client")), expectStatus: 401, expectCode: "UNKNOWN-CLIENT"},
		{name: "Bearer token without a client caveat", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+get), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "forged Bearer token naming a known client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+forged(t, "session-1", portal)["GET"]), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "Bearer token next to a cookie bound to another client: the Bearer one names the client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+bound(t, get, other), "Cookie", cookie(bound(t, get, portal))), expectStatus: 200, expectClient: other, expectReached: true},
		{name: "Basic of X with a Bearer token bound to Y", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Basic "+basic(other, "other-secret")+", Bearer "+bound(t, get, portal)), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "Bearer and Macaroon credentials together", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", "Bearer "+bound(t, get, portal)+", Macaroon "+bound(t, get, portal)), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "cookie of another method is not read", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", "authgw-post="+bound(t, post, portal)), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "cookie name in another case is not read", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", "AUTHGW-GET="+bound(t, get, portal)), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "cookie that is no token", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", "authgw-get=%%%not-base64"), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "Basic of X with a cookie bound to Y", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", authz(other, "other-secret", ""), "Cookie", cookie(bound(t, get, portal))), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "Basic of X with a header token bound to Y", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", authz(other, "other-secret", bound(t, get, portal))), expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "control: Basic of Y with the cookie bound to Y", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Authorization", authz(portal, "", ""), "Cookie", cookie(bound(t, get, portal))), expectStatus: 200, expectClient: portal, expectReached: true},
		{name: "rate limit: first", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, limited))), expectStatus: 200, expectClient: limited, expectReached: true},
		{name: "rate limit: the client's budget is spent", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, limited))), expectStatus: 429, expectCode: "RATE-LIMITED"},
		{name: "rate limit: a forged token spends the named client's budget, as its Basic ID would", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(forged(t, "session-1", limited)["GET"])), expectStatus: 429, expectCode: "RATE-LIMITED"},
		{name: "system client's token in a cookie: no secret verified", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: header("Cookie", cookie(bound(t, get, system.ID))), expectStatus: 200, expectClient: system.ID, expectReached: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached.Load() + openReached.Load()
			res, body := e.sendNoFollow(tt.givenMethod, tt.givenPath, tt.givenHeader)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			if got := reached.Load()+openReached.Load() > before; got != tt.expectReached {
				t.Errorf("backend reached: %v, want %v", got, tt.expectReached)
			}
			if tt.expectCode != "" {
				if got := decodeError(t, body).Error.Code; got != tt.expectCode {
					t.Errorf("code %q, want %q", got, tt.expectCode)
				}
			}
			if tt.expectClient == "" {
				return
			}
			got := decodeEcho(t, body)
			if got.Claims == nil {
				t.Fatalf("no request info: %s", got.InfoError)
			}
			if got.Claims.Client != tt.expectClient || got.Claims.SecretVerified || got.Claims.User == nil || got.Claims.User.ID != "user-1" {
				t.Errorf("claims %+v, want client %s, secret not verified, user-1", *got.Claims, tt.expectClient)
			}
			if c := http.Header(got.Header).Get("Cookie"); strings.Contains(c, "authgw-") {
				t.Errorf("the backend got the token cookie: %q", c)
			}
		})
	}
	if !strings.Contains(e.logText(), "client="+limited) {
		t.Errorf("the access log does not name the cookie's client:\n%s", e.logText())
	}
}

// TestBrowser_redirect: a browser's GET or HEAD refused 401 for want of
// a valid token goes to the sign-in page on APIs registered with
// loginRedirect and on the sign-in pages; nothing else changes, but that
// a browser never gets the Basic challenge.
func TestBrowser_redirect(t *testing.T) {
	var accountsGot atomic.Int64
	e := newEnv(t, func(c *gateway.Config) {
		c.Public = map[string][]string{"GET": {"/accounts/v1/ui/login"}, "POST": {"/accounts/v1/ui/login"}}
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			accountsGot.Add(1)
			c, _ := requestinfo.ClaimsFrom(r.Context())
			w.Header().Set("X-Client", c.Client)
			w.WriteHeader(http.StatusTeapot)
		})
	})
	backend, reached := countingBackend(t, "demo")
	portal := e.client(sha256Hex("unused"), -1)
	elsewhere := e.client(sha256Hex("unused"), -1, db.Restriction{Type: db.RestrictionIP, Value: "10.0.0.0/8"})
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, LoginRedirect: true})
	e.apiWith(db.API{Name: "other", Version: 1, URL: backend.URL, Active: true})
	e.refresh()
	get := bound(t, e.tokens("session-1", fixedNow).ByMethod["GET"], portal)
	expired := bound(t, e.tokens("session-old", fixedNow.Add(-24*time.Hour)).ByMethod["GET"], portal)
	revoked := bound(t, e.tokens("session-revoked", fixedNow).ByMethod["GET"], portal)
	e.revoked.RevokeSession("session-revoked", fixedNow.Add(time.Hour))
	browser := func(kv ...string) http.Header { return header(append([]string{"Accept", browserAccept}, kv...)...) }
	signIn := func(returnTo string) string { return "/accounts/v1/ui/login?return_to=" + url.QueryEscape(returnTo) }

	tests := []struct {
		name           string
		givenMethod    string
		givenPath      string
		givenHeader    http.Header
		expectStatus   int
		expectCode     string
		expectLocation string
		expectBasic    bool // the Basic challenge is sent
	}{
		{name: "browser without a cookie", givenMethod: "GET", givenPath: "/demo/v1/hello?x=1&y=%2F",
			givenHeader: browser(), expectStatus: 303, expectLocation: "/accounts/v1/ui/login?return_to=%2Fdemo%2Fv1%2Fhello%3Fx%3D1%26y%3D%252F"},
		{name: "HEAD", givenMethod: "HEAD", givenPath: "/demo/v1/hello", givenHeader: browser(), expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "expired token", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: browser("Cookie", "authgw-get="+expired),
			expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "revoked session", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: browser("Cookie", "authgw-get="+revoked),
			expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "forged token", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: browser("Cookie", "authgw-get="+forged(t, "s", portal)["GET"]),
			expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "token naming an unknown client", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader:  browser("Cookie", "authgw-get="+bound(t, e.tokens("s", fixedNow).ByMethod["GET"], "gone")),
			expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "a token without a client caveat", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: browser("Cookie", "authgw-get="+e.tokens("s", fixedNow).ByMethod["GET"]), expectStatus: 303, expectLocation: signIn("/demo/v1/hello")},
		{name: "control: a valid cookie", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: browser("Cookie", "authgw-get="+get), expectStatus: 200},
		{name: "curl's Accept", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: header("Accept", "*/*"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectBasic: true},
		{name: "no Accept", givenMethod: "GET", givenPath: "/demo/v1/hello", expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectBasic: true},
		{name: "JSON first", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: header("Accept", "application/json, text/html;q=0.9"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectBasic: true},
		{name: "a tie is no browser", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: header("Accept", "text/html, application/json"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectBasic: true},
		{name: "API client without a token", givenMethod: "GET", givenPath: "/demo/v1/hello", givenHeader: header("Authorization", authz(portal, "", "")),
			expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "browser POST: 401, no Basic challenge", givenMethod: "POST", givenPath: "/demo/v1/hello", givenHeader: browser(),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "an API without loginRedirect: 401, no Basic challenge", givenMethod: "GET", givenPath: "/other/v1/hello", givenHeader: browser(),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "the client's IP restriction is no sign-in matter", givenMethod: "GET", givenPath: "/demo/v1/hello",
			givenHeader: browser("Cookie", "authgw-get="+bound(t, e.tokens("s", fixedNow).ByMethod["GET"], elsewhere)), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "403 unchanged", givenMethod: "GET", givenPath: "/demo/v3/x", givenHeader: browser("Cookie", "authgw-get="+bound(t, mustAttenuate(t, e.tokens("s", fixedNow).ByMethod["GET"], "routes /demo/v1/**"), portal)),
			expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "400 unchanged", givenMethod: "GET", givenPath: "/demo/v1//x", givenHeader: browser(), expectStatus: 400, expectCode: "NON-CANONICAL-PATH"},
		{name: "a sign-in page needing a session", givenMethod: "GET", givenPath: "/accounts/v1/ui/settings?tab=2", givenHeader: browser(),
			expectStatus: 303, expectLocation: signIn("/accounts/v1/ui/settings?tab=2")},
		{name: "the sign-in page itself, no cookie", givenMethod: "GET", givenPath: "/accounts/v1/ui/login?return_to=%2Fdemo", givenHeader: browser(), expectStatus: 418},
		{name: "the sign-in page with a stale cookie of an unknown client", givenMethod: "GET", givenPath: "/accounts/v1/ui/login",
			givenHeader: browser("Cookie", "authgw-get="+bound(t, e.tokens("s", fixedNow).ByMethod["GET"], "gone")), expectStatus: 418},
		{name: "sign-in page POST without Basic", givenMethod: "POST", givenPath: "/accounts/v1/ui/login", givenHeader: browser(), expectStatus: 418},
		{name: "a sign-in page, curl", givenMethod: "GET", givenPath: "/accounts/v1/ui/settings", givenHeader: header("Accept", "*/*"),
			expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "the accounts JSON API without Basic is not redirected", givenMethod: "GET", givenPath: "/accounts/v1/users/current", givenHeader: browser(),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := reached.Load()
			res, body := e.sendNoFollow(tt.givenMethod, tt.givenPath, tt.givenHeader)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s (Location %q)", res.StatusCode, tt.expectStatus, body, res.Header.Get("Location"))
			}
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			basic := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic")
			if basic != tt.expectBasic {
				t.Errorf("WWW-Authenticate %q, Basic challenge wanted: %v", res.Header.Get("WWW-Authenticate"), tt.expectBasic)
			}
			if tt.expectStatus == 303 {
				if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", cc)
				}
				if reached.Load() != before {
					t.Error("a redirected request reached the backend")
				}
				expectRelativeReturnTo(t, res.Header.Get("Location"))
			}
			if tt.expectCode != "" {
				if got := decodeError(t, body).Error.Code; got != tt.expectCode {
					t.Errorf("code %q, want %q", got, tt.expectCode)
				}
			}
		})
	}
}

// expectRelativeReturnTo fails unless loc is the sign-in path whose
// return_to, if any, is a path of the gateway's own origin.
func expectRelativeReturnTo(t *testing.T, loc string) {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.IsAbs() || u.Host != "" || u.Path != gateway.DefaultLoginPath {
		t.Fatalf("Location %q is not the sign-in path", loc)
	}
	rt := u.Query().Get("return_to")
	if rt == "" {
		return
	}
	r, err := url.Parse(rt)
	if err != nil || r.IsAbs() || r.Host != "" || !strings.HasPrefix(rt, "/") || strings.HasPrefix(rt, "//") || strings.HasPrefix(rt, "/\\") {
		t.Errorf("return_to %q is not a path of the gateway's origin", rt)
	}
}

func mustAttenuate(t *testing.T, tok string, texts ...string) string {
	t.Helper()
	out, err := mint.AttenuateText(tok, texts...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBrowser_signInPagesLimitedPerIP: the sign-in pages spend the
// per-IP budget of unidentified requests, never the budget of the
// client a page's cookie names: a flood of sign-in pages cannot lock
// the signed-in browsers out, and the pages answer without any client.
func TestBrowser_signInPagesLimitedPerIP(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) {
		c.UnidentifiedPerSecond = 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.Public = map[string][]string{"GET": {"/accounts/v1/ui/login"}}
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	})
	backend := echoBackend(t, "demo")
	portal := e.client(sha256Hex("unused"), 1)
	e.apiWith(db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, LoginRedirect: true})
	e.refresh()
	cookie := "authgw-get=" + bound(t, e.tokens("session-1", fixedNow).ByMethod["GET"], portal)
	from := func(ip string, kv ...string) http.Header {
		return header(append([]string{"Accept", browserAccept, "X-Forwarded-For", ip}, kv...)...)
	}
	steps := []struct {
		name         string
		givenPath    string
		givenHeader  http.Header
		expectStatus int
	}{
		{"page from A, with the cookie", "/accounts/v1/ui/login", from("192.0.2.1", "Cookie", cookie), 418},
		{"page from A", "/accounts/v1/ui/login", from("192.0.2.1"), 418},
		{"page from A: its IP budget is spent", "/accounts/v1/ui/login", from("192.0.2.1"), 429},
		{"page from B", "/accounts/v1/ui/login", from("192.0.2.2"), 418},
		{"the cookie's client still has its own budget", "/demo/v1/hello", from("192.0.2.1", "Cookie", cookie), 200},
		{"and then not", "/demo/v1/hello", from("192.0.2.3", "Cookie", cookie), 429},
	}
	for _, st := range steps {
		res, body := e.sendNoFollow("GET", st.givenPath, st.givenHeader)
		if res.StatusCode != st.expectStatus {
			t.Fatalf("%s: status %d, want %d: %s", st.name, res.StatusCode, st.expectStatus, body)
		}
	}
}

// TestBrowser_acceptEdgeCases: hostile and odd Accept headers never make
// the gateway fail; each is read as a browser or not, as written.
func TestBrowser_acceptEdgeCases(t *testing.T) {
	e := newEnv(t, nil)
	e.apiWith(db.API{Name: "demo", Version: 1, URL: "http://127.0.0.1:1", Active: true, LoginRedirect: true})
	e.refresh()
	tests := []struct {
		name       string
		givenLines []string
		expect303  bool
	}{
		{"Firefox", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true},
		{"Safari", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, true},
		{"old IE", []string{"image/gif, image/jpeg, */*"}, false},
		{"text/* above JSON", []string{"text/*, application/json;q=0.5"}, true},
		{"upper case", []string{"TEXT/HTML"}, true},
		{"spaces and tabs", []string{" text/html \t; \tq=1 , application/json ; q=0.1"}, true},
		{"two lines", []string{"application/json;q=0.2", "text/html"}, true},
		{"html refused", []string{"text/html;q=0, */*"}, false},
		{"q above 1 is malformed", []string{"text/html;q=1.5"}, false},
		{"q with four decimals is malformed", []string{"text/html;q=0.0001"}, false},
		{"q not a number", []string{"text/html;q=abc"}, false},
		{"empty q", []string{"text/html;q="}, false},
		{"negative q", []string{"text/html;q=-1"}, false},
		{"a media parameter: another variant", []string{"text/html;level=1"}, false},
		{"an accept-ext after q is fine", []string{"text/html;q=0.9;foo=bar, application/json;q=0.5"}, true},
		{"no slash", []string{"html"}, false},
		{"only separators", []string{",,,;;;,/,;q=,"}, false},
		{"high bytes", []string{"text/html\xff;q=\xff"}, false},
		{"high bytes in q", []string{"text/html;q=0.\xff"}, false},
		{"huge, many ranges", []string{strings.Repeat("application/json;q=0.5,", 20000) + "text/html"}, true},
		{"huge single range", []string{"text/html;" + strings.Repeat("q=0.5;", 20000)}, true},
		{"huge garbage", []string{strings.Repeat(";=,/\"", 30000)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gateway.PrefersHTML(tt.givenLines); got != tt.expect303 {
				t.Errorf("PrefersHTML(%.60q) = %v, want %v", tt.givenLines, got, tt.expect303)
			}
			h := http.Header{"Accept": tt.givenLines}
			res, body := e.sendNoFollow("GET", "/demo/v1/hello", h)
			want := http.StatusUnauthorized
			if tt.expect303 {
				want = http.StatusSeeOther
			}
			if res.StatusCode != want {
				t.Fatalf("status %d, want %d: %.200s", res.StatusCode, want, body)
			}
		})
	}
}

// TestBrowser_returnToIsAlwaysAPath: whatever the request target, the
// gateway's return_to is a path of its own origin, or absent.
func TestBrowser_returnToIsAlwaysAPath(t *testing.T) {
	for _, tt := range []struct {
		name        string
		givenTarget string // RequestURI as received
		givenURL    string // r.URL when RequestURI is not a path
		expect      string
	}{
		{"a path and query", "/demo/v1/x?a=1", "", "/demo/v1/x?a=1"},
		{"two slashes", "//evil.example/demo/v1", "", ""},
		{"slash backslash", "/\\evil.example/demo/v1", "", ""},
		{"absolute form", "http://evil.example/demo/v1/x", "http://evil.example/demo/v1/x?b=2", "/demo/v1/x?b=2"},
		{"built in-process", "", "/demo/v1/y", "/demo/v1/y"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RequestURI = tt.givenTarget
			if tt.givenURL != "" {
				u, err := url.Parse(tt.givenURL)
				if err != nil {
					t.Fatal(err)
				}
				r.URL = u
			}
			if got := gateway.OriginalPath(r); got != tt.expect {
				t.Errorf("OriginalPath = %q, want %q", got, tt.expect)
			}
		})
	}
}

// TestNew_loginPath: LoginPath must be a path no browser reads as another
// origin.
func TestNew_loginPath(t *testing.T) {
	for _, tt := range []struct {
		given    string
		expectOK bool
	}{
		{"", true},
		{"/accounts/v1/ui/login", true},
		{"/signin", true},
		{"//evil.example/login", false},
		{"/\\evil.example", false},
		{"https://evil.example/login", false},
		{"login", false},
		{"/login?x=1", false},
		{"/a/../login", false},
	} {
		t.Run("path="+tt.given, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic: %v", p)
				}
			}()
			ok := true
			newEnvErr(t, func(c *gateway.Config) { c.LoginPath = tt.given }, func(err error) { ok = err == nil })
			if ok != tt.expectOK {
				t.Errorf("LoginPath %q accepted: %v, want %v", tt.given, ok, tt.expectOK)
			}
		})
	}
}

// newEnvErr builds a gateway configured by mod as newEnv does, and
// passes New's error to check instead of failing on it.
func newEnvErr(t *testing.T, mod func(*gateway.Config), check func(error)) {
	t.Helper()
	e := newEnv(t, nil)
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "authgw-test", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{Snapshots: e.src, Keys: e.ring, ServerID: serverID, Signer: signer}
	mod(&cfg)
	_, err = gateway.New(cfg)
	check(err)
}
