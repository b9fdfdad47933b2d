package gateway_test

import (
	"crypto/ecdsa"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestForwardAuth_browser: forward-auth names a browser's client from its
// token cookie, and a browser's GET or HEAD refused 401 for want of a
// valid token gets a Location: the sign-in page on the original origin,
// with return_to the original URL. The status stays 401 (what
// auth_request passes on); other callers and refusals get no Location,
// and a browser never gets the Basic challenge.
func TestForwardAuth_browser(t *testing.T) {
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectNginx, gateway.DialectForwarded} {
		t.Run(string(d), func(t *testing.T) { testForwardAuthBrowser(t, d) })
	}
}

func testForwardAuthBrowser(t *testing.T, d gateway.ForwardAuthDialect) {
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers, c.ForwardAuthDialect = loopbackCallers, d })
	portal := e.client(sha256Hex("unused"), -1)
	elsewhere := e.client(sha256Hex("unused"), -1, db.Restriction{Type: db.RestrictionIP, Value: "10.0.0.0/8"})
	e.refresh()
	riv, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: "demo", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	get := bound(t, e.tokens("session-1", fixedNow).ByMethod["GET"], portal)
	expired := bound(t, e.tokens("session-old", fixedNow.Add(-24*time.Hour)).ByMethod["GET"], portal)
	signIn := func(origin, returnTo string) string {
		return origin + "/accounts/v1/ui/login?return_to=" + url.QueryEscape(returnTo)
	}
	withHost := func(h http.Header, host string) http.Header { h.Set(gateway.HeaderForwardedHost, host); return h }

	tests := []struct {
		name           string
		givenHeader    http.Header
		expectStatus   int
		expectCode     string
		expectLocation string
		expectBasic    bool
	}{
		{name: "browser without a cookie", givenHeader: described(d, "GET", "/demo/v1/items?x=1", "Accept", browserAccept),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH",
			expectLocation: signIn("https://app.example.com", "https://app.example.com/demo/v1/items?x=1")},
		{name: "browser HEAD", givenHeader: described(d, "HEAD", "/demo/v1/items", "Accept", browserAccept),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectLocation: signIn("https://app.example.com", "https://app.example.com/demo/v1/items")},
		{name: "browser with an expired cookie", givenHeader: described(d, "GET", "/demo/v1/items", "Accept", browserAccept, "Cookie", "authgw-get="+expired),
			expectStatus: 401, expectCode: "TOKEN-INVALID", expectLocation: signIn("https://app.example.com", "https://app.example.com/demo/v1/items")},
		{name: "browser on a host with a port", givenHeader: withHost(described(d, "GET", "/demo/v1/items", "Accept", browserAccept), "app.example.com:8443"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectLocation: signIn("https://app.example.com:8443", "https://app.example.com:8443/demo/v1/items")},
		{name: "browser with a valid cookie and no Basic", givenHeader: described(d, "GET", "/demo/v1/items", "Accept", browserAccept, "Cookie", "authgw-get="+get),
			expectStatus: 200},
		{name: "curl", givenHeader: described(d, "GET", "/demo/v1/items", "Accept", "*/*"), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH", expectBasic: true},
		{name: "browser POST", givenHeader: described(d, "POST", "/demo/v1/items", "Accept", browserAccept), expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "browser refused by its client's IP restriction", givenHeader: described(d, "GET", "/demo/v1/items", "Accept", browserAccept,
			"Cookie", "authgw-get="+bound(t, e.tokens("s", fixedNow).ByMethod["GET"], elsewhere)), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "the sign-in page itself", givenHeader: described(d, "GET", "/accounts/v1/ui/login", "Accept", browserAccept),
			expectStatus: 401, expectCode: "TOKEN-MISSING"},
		{name: "a host hiding user info", givenHeader: withHost(described(d, "GET", "/demo/v1/items", "Accept", browserAccept), "evil.example@app.example.com"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "a host with a path", givenHeader: withHost(described(d, "GET", "/demo/v1/items", "Accept", browserAccept), "evil.example/x?"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
		{name: "a host with a bad port", givenHeader: withHost(described(d, "GET", "/demo/v1/items", "Accept", browserAccept), "app.example.com:x"),
			expectStatus: 401, expectCode: "MISSING-BASIC-AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", fa.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.givenHeader
			res, err := fa.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.expectStatus)
			}
			if got := res.Header.Get("Location"); got != tt.expectLocation {
				t.Errorf("Location %q, want %q", got, tt.expectLocation)
			}
			if got := strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic"); got != tt.expectBasic {
				t.Errorf("WWW-Authenticate %q, Basic challenge wanted: %v", res.Header.Get("WWW-Authenticate"), tt.expectBasic)
			}
			if tt.expectLocation != "" && res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q with a Location, want no-store", res.Header.Get("Cache-Control"))
			}
			if tt.expectStatus == 200 {
				c, err := requestinfo.FromRequest(&http.Request{Header: res.Header}, riv)
				if err != nil {
					t.Fatalf("X-Auth-Info: %v", err)
				}
				if c.Client != portal || c.SecretVerified || c.User == nil || c.User.ID != "user-1" {
					t.Errorf("claims %+v, want the cookie's client, no secret verified, user-1", c)
				}
				return
			}
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := decodeError(t, b).Error.Code; got != tt.expectCode {
				t.Errorf("code %q, want %q", got, tt.expectCode)
			}
		})
	}
}
