package gateway_test

import (
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/requestinfo"
)

// TestForwardAuth: the decision endpoint answers 200 with request info
// for an allowed original request and the pipeline's refusals otherwise.
func TestForwardAuth(t *testing.T) {
	e := newEnv(t, nil)
	good := e.client(sha256Hex("s3cret"), -1)
	apiOnlyOther := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "other"})
	limited := e.client(sha256Hex("x"), 1)
	e.refresh()
	fa := httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(fa.Close)
	tok := e.tokens("session-1", fixedNow).ByMethod
	riv, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: "demo", Now: clock})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name         string
		givenHeader  http.Header
		expectStatus int
		expectCode   string
	}{
		{"allowed", header("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/demo/v1/items?x=1", "Authorization", authz(good, "s3cret", tok["GET"])), 200, ""},
		{"allowed via X-Original-URI", header("X-Original-URI", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), 200, ""},
		{"method not granted", header("X-Forwarded-Method", "DELETE", "X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), 403, "TOKEN-NOT-GRANTED"},
		{"no token", header("X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz(good, "s3cret", "")), 401, "TOKEN-MISSING"},
		{"unknown client", header("X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz("nobody", "", tok["GET"])), 401, "UNKNOWN-CLIENT"},
		{"api restriction", header("X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz(apiOnlyOther, "", tok["GET"])), 403, "ACCESS-RESTRICTION-API"},
		{"rate limit first", header("X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz(limited, "", tok["GET"])), 200, ""},
		{"rate limit second", header("X-Forwarded-Uri", "/demo/v1/items", "Authorization", authz(limited, "", tok["GET"])), 429, "RATE-LIMITED"},
		{"traversal in the original URI", header("X-Forwarded-Uri", "/demo/v1/../x", "Authorization", authz(good, "", tok["GET"])), 400, "NON-CANONICAL-PATH"},
		{"no original URI", header("Authorization", authz(good, "", tok["GET"])), 400, "FORWARD-AUTH-BAD-REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", fa.URL+"/auth", nil)
			req.Header = tt.givenHeader
			res, err := fa.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.expectStatus)
			}
			if tt.expectStatus == 200 {
				c, err := requestinfo.FromRequest(&http.Request{Header: res.Header}, riv)
				if err != nil {
					t.Fatalf("X-Auth-Info: %v", err)
				}
				if c.Audience != "demo" || c.User == nil || c.User.ID != "user-1" {
					t.Errorf("claims %+v", c)
				}
				return
			}
			var b [4096]byte
			n, _ := res.Body.Read(b[:])
			if got := decodeError(t, b[:n]).Error.Code; got != tt.expectCode {
				t.Errorf("code %s, want %s", got, tt.expectCode)
			}
		})
	}
}

// TestForwardAuth_untrustedPeer: the X-Forwarded-* description is taken
// only from loopback or a trusted proxy.
func TestForwardAuth_untrustedPeer(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	e.refresh()
	h := e.gw.ForwardAuth()
	for _, tt := range []struct {
		name         string
		givenPeer    string
		expectStatus int
	}{
		{"untrusted peer", "198.51.100.9:4000", 403},
		{"trusted proxy", "10.1.2.3:4000", 401},
		{"loopback", "127.0.0.1:4000", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/auth", nil)
			req.RemoteAddr = tt.givenPeer
			req.Header.Set("X-Forwarded-Uri", "/demo/v1/x")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.expectStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.expectStatus, rec.Body)
			}
		})
	}
}
