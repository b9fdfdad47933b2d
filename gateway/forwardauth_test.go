package gateway_test

import (
	"crypto/ecdsa"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// loopbackCallers lets the tests' loopback proxies call ForwardAuth.
var loopbackCallers = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// described returns the headers of dialect d describing the original
// request, followed by kv.
func described(d gateway.ForwardAuthDialect, method, uri string, kv ...string) http.Header {
	m, u := gateway.HeaderOriginalMethod, gateway.HeaderOriginalURI
	if d == gateway.DialectForwarded {
		m, u = gateway.HeaderForwardedMethod, gateway.HeaderForwardedURI
	}
	h := header(kv...)
	h.Set(m, method)
	h.Set(u, uri)
	h.Set(gateway.HeaderForwardedHost, "app.example.com")
	h.Set(gateway.HeaderForwardedProto, "https")
	if h.Get(gateway.HeaderForwardedFor) == "" {
		h.Set(gateway.HeaderForwardedFor, "203.0.113.7")
	}
	return h
}

// forwardAuthFixture is what the forward-auth tables start from: the
// decision endpoint fa of a gateway answering forward-auth in one dialect
// to loopback callers, the clients good (secret "s3cret"),
// apiOnlyOther (restricted to the API "other") and limited (one request
// a second), and the tokens of session-1.
type forwardAuthFixture struct {
	fa                          *httptest.Server
	good, apiOnlyOther, limited string
	tok                         map[string]string
}

// newForwardAuthFixture makes the fixture for dialect d.
func newForwardAuthFixture(t *testing.T, d gateway.ForwardAuthDialect) forwardAuthFixture {
	t.Helper()
	e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers, c.ForwardAuthDialect = loopbackCallers, d })
	f := forwardAuthFixture{
		good:         e.client(sha256Hex("s3cret"), -1),
		apiOnlyOther: e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "other"}),
		limited:      e.client(sha256Hex("x"), 1),
	}
	e.refresh()
	f.fa = httptest.NewServer(e.gw.ForwardAuth())
	t.Cleanup(f.fa.Close)
	f.tok = e.tokens("session-1", fixedNow).ByMethod
	return f
}

// TestForwardAuth: the decision endpoint answers 200 with request info
// for an allowed original request and the pipeline's refusals otherwise,
// in each dialect.
func TestForwardAuth(t *testing.T) {
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectNginx, gateway.DialectForwarded} {
		t.Run(string(d), func(t *testing.T) { testForwardAuth(t, d) })
	}
}

func testForwardAuth(t *testing.T, d gateway.ForwardAuthDialect) {
	f := newForwardAuthFixture(t, d)
	fa, good, apiOnlyOther, limited, tok := f.fa, f.good, f.apiOnlyOther, f.limited, f.tok
	riv, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: "demo", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	method, uri := gateway.HeaderOriginalMethod, gateway.HeaderOriginalURI
	if d == gateway.DialectForwarded {
		method, uri = gateway.HeaderForwardedMethod, gateway.HeaderForwardedURI
	}
	without := func(h http.Header, name string) http.Header { h.Del(name); return h }

	tests := []struct {
		name         string
		givenHeader  http.Header
		expectStatus int
		expectCode   string
	}{
		{"allowed", described(d, "GET", "/demo/v1/items?x=1", "Authorization", authz(good, "s3cret", tok["GET"])), 200, ""},
		{"method not granted", described(d, "DELETE", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), 403, "TOKEN-NOT-GRANTED"},
		{"no token", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", "")), 401, "TOKEN-MISSING"},
		{"unknown client", described(d, "GET", "/demo/v1/items", "Authorization", authz("nobody", "", tok["GET"])), 401, "UNKNOWN-CLIENT"},
		{"api restriction", described(d, "GET", "/demo/v1/items", "Authorization", authz(apiOnlyOther, "", tok["GET"])), 403, "ACCESS-RESTRICTION-API"},
		{"rate limit first", described(d, "GET", "/demo/v1/items", "Authorization", authz(limited, "", tok["GET"])), 200, ""},
		{"rate limit second", described(d, "GET", "/demo/v1/items", "Authorization", authz(limited, "", tok["GET"])), 429, "RATE-LIMITED"},
		{"traversal in the original URI", described(d, "GET", "/demo/v1/../x", "Authorization", authz(good, "", tok["GET"])), 400, "NON-CANONICAL-PATH"},
		{"a method override", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), "X-HTTP-Method-Override", "DELETE"),
			400, "OVERRIDE-HEADER-REFUSED"},
		{"no original URI", without(described(d, "GET", "/x", "Authorization", authz(good, "", tok["GET"])), uri), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"no original method", without(described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), method), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"no host", without(described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), gateway.HeaderForwardedHost), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"no scheme", without(described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), gateway.HeaderForwardedProto), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"the URI twice", func() http.Header {
			h := described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]))
			h.Add(uri, "/demo/v1/other")
			return h
		}(), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"no X-Forwarded-For", without(described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), gateway.HeaderForwardedFor), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For twice", func() http.Header {
			h := described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]))
			h.Add(gateway.HeaderForwardedFor, "198.51.100.1")
			return h
		}(), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For with a port", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "203.0.113.9:4711"), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For bracketed IPv6", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "[2001:db8::1]"), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For with a zone", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "fe80::1%eth0"), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For a name", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "unknown"), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For an empty hop", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "203.0.113.9,,127.0.0.1"), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"X-Forwarded-For a chain", described(d, "GET", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"]), gateway.HeaderForwardedFor, "203.0.113.9, 2001:db8::1"), 200, ""},
		// Laravel/Symfony, Express methodOverride('_method'), Jersey read
		// the method from the query of a POST.
		{"a _method query parameter", described(d, "POST", "/demo/v1/items?_method=DELETE", "Authorization", authz(good, "s3cret", tok["POST"])), 400, "OVERRIDE-HEADER-REFUSED"},
		{"a _method query parameter after a semicolon", described(d, "POST", "/demo/v1/items?a=1;%5Fmethod=DELETE", "Authorization", authz(good, "s3cret", tok["POST"])), 400, "OVERRIDE-HEADER-REFUSED"},
		{"an absolute URI", described(d, "GET", "http://evil.example/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), 400, "FORWARD-AUTH-BAD-REQUEST"},
		{"a malformed method", described(d, "GET /x", "/demo/v1/items", "Authorization", authz(good, "s3cret", tok["GET"])), 400, "FORWARD-AUTH-BAD-REQUEST"},
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
			// The decision carries the refusal's headers, as the proxy
			// path does: the proxy passes them on to the client.
			if got, want := res.Header.Get("WWW-Authenticate"), forwardAuthChallenges[tt.expectCode]; got != want {
				t.Errorf("WWW-Authenticate %q, want %q", got, want)
			}
			if got := res.Header.Get("Retry-After"); (got != "") != (tt.expectStatus == http.StatusTooManyRequests) {
				t.Errorf("Retry-After %q on a %d", got, tt.expectStatus)
			}
		})
	}
}

// forwardAuthChallenges are the WWW-Authenticate values of the refusals
// testForwardAuth meets: the token's 401s challenge for a Macaroon, the
// client credential's for Basic; no other refusal has one.
var forwardAuthChallenges = map[string]string{
	"TOKEN-MISSING":  `Macaroon realm="authgw"`,
	"UNKNOWN-CLIENT": `Basic realm="authgw"`,
}

// TestForwardAuth_otherDialectIgnored: the headers of the dialect not
// configured decide nothing. A token attenuated to /demo/v1/notes/** asks
// about /demo/v1/secret in the configured dialect's headers and about a
// granted note in the other's: 403, and the other's alone is a 400.
func TestForwardAuth_otherDialectIgnored(t *testing.T) {
	for _, d := range []gateway.ForwardAuthDialect{gateway.DialectNginx, gateway.DialectForwarded} {
		t.Run(string(d), func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.ForwardAuthCallers, c.ForwardAuthDialect = loopbackCallers, d })
			good := e.client(sha256Hex("s3cret"), -1)
			e.refresh()
			h := e.gw.ForwardAuth()
			notes, err := mint.AttenuateText(e.tokens("session-1", fixedNow).ByMethod["GET"], "routes /demo/v1/notes/**")
			if err != nil {
				t.Fatal(err)
			}
			other := gateway.DialectForwarded
			otherMethod, otherURI := gateway.HeaderForwardedMethod, gateway.HeaderForwardedURI
			if d == gateway.DialectForwarded {
				other, otherMethod, otherURI = gateway.DialectNginx, gateway.HeaderOriginalMethod, gateway.HeaderOriginalURI
			}
			ask := func(hd http.Header) int {
				req := httptest.NewRequest("GET", "/forward-auth", nil)
				req.Header = hd
				req.RemoteAddr = "127.0.0.1:4000"
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code
			}
			auth := authz(good, "s3cret", notes)
			if got := ask(described(d, "GET", "/demo/v1/notes/a", "Authorization", auth)); got != 200 {
				t.Fatalf("control: a granted note = %d, want 200", got)
			}
			spoofed := described(d, "GET", "/demo/v1/secret", "Authorization", auth, otherURI, "/demo/v1/notes/a", otherMethod, "GET")
			if got := ask(spoofed); got != 403 {
				t.Errorf("the %s dialect's headers naming a granted note decided: %d, want 403", other, got)
			}
			if got := ask(described(other, "GET", "/demo/v1/notes/a", "Authorization", auth)); got != 400 {
				t.Errorf("only the %s dialect's headers = %d, want 400", other, got)
			}
		})
	}
}

// TestForwardAuth_callers: only a configured caller may ask (by default
// the trusted proxies); loopback is no exception, since any local process
// could otherwise have any client IP signed.
func TestForwardAuth_callers(t *testing.T) {
	for _, tt := range []struct {
		name         string
		givenConfig  func(*gateway.Config)
		givenPeer    string
		expectStatus int
	}{
		{"no callers configured, loopback", nil, "127.0.0.1:4000", 403},
		{"no callers configured, IPv6 loopback", nil, "[::1]:4000", 403},
		{"trusted proxy by default", func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, "10.1.2.3:4000", 401},
		{"untrusted peer", func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, "198.51.100.9:4000", 403},
		{"loopback besides trusted proxies", func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, "127.0.0.1:4000", 403},
		{"configured caller", func(c *gateway.Config) { c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")} }, "192.0.2.7:4000", 401},
		{"callers replace the trusted proxies", func(c *gateway.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
			c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}
		}, "10.1.2.3:4000", 403},
		{"IPv4-mapped caller", func(c *gateway.Config) { c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")} }, "[::ffff:192.0.2.7]:4000", 401},
		// Peers are compared unmapped, so mapped prefixes are read as IPv4.
		{"IPv4-mapped caller address configured", func(c *gateway.Config) {
			c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.7/128")}
		}, "192.0.2.7:4000", 401},
		{"IPv4-mapped caller prefix configured", func(c *gateway.Config) {
			c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.0/120")}
		}, "[::ffff:192.0.2.9]:4000", 401},
		{"IPv4-mapped trusted proxies, callers by default", func(c *gateway.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}
		}, "10.1.2.3:4000", 401},
		{"IPv4-mapped caller prefix, another peer", func(c *gateway.Config) {
			c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.0/120")}
		}, "192.0.3.9:4000", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.givenConfig)
			e.refresh()
			req := httptest.NewRequest("GET", "/forward-auth", nil)
			req.RemoteAddr = tt.givenPeer
			req.Header = described(gateway.DialectNginx, "GET", "/demo/v1/x", "X-Forwarded-For", "203.0.113.50")
			rec := httptest.NewRecorder()
			e.gw.ForwardAuth().ServeHTTP(rec, req)
			if rec.Code != tt.expectStatus {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.expectStatus, rec.Body)
			}
			if tt.expectStatus == 403 {
				if got := decodeError(t, rec.Body.Bytes()).Error.Code; got != gateway.CodeForwardAuthUntrusted {
					t.Errorf("code %s, want %s", got, gateway.CodeForwardAuthUntrusted)
				}
			}
		})
	}
}

// TestNew_mappedPrefixes: an IPv4-mapped prefix shorter than /96 in the
// trusted proxies or the forward-auth callers would match no peer (peers
// are compared unmapped): New refuses it, naming the setting.
func TestNew_mappedPrefixes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		given     func(*gateway.Config)
		expectErr string
	}{
		{"trusted proxies", func(c *gateway.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/95")}
		}, "TrustedProxies"},
		{"forward-auth callers", func(c *gateway.Config) { c.ForwardAuthCallers = []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/64")} }, "ForwardAuthCallers"},
		{"control: /96 is every IPv4 address", func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("::ffff:0:0/96")} }, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			newEnv(t, func(c *gateway.Config) {
				try := *c
				tt.given(&try)
				_, err = gateway.New(try)
			})
			if tt.expectErr == "" && err != nil || tt.expectErr != "" && (err == nil || !strings.Contains(err.Error(), tt.expectErr)) {
				t.Errorf("New: %v, want an error naming %q", err, tt.expectErr)
			}
		})
	}
}

// TestParseForwardAuthDialect: the dialect names serve accepts.
func TestParseForwardAuthDialect(t *testing.T) {
	for _, tt := range []struct {
		given     string
		expect    gateway.ForwardAuthDialect
		expectErr bool
	}{
		{"nginx", gateway.DialectNginx, false},
		{"NGINX", gateway.DialectNginx, false},
		{"forwarded", gateway.DialectForwarded, false},
		{"traefik", gateway.DialectForwarded, false},
		{"caddy", gateway.DialectForwarded, false},
		{"envoy", "", true},
		{"", "", true},
	} {
		got, err := gateway.ParseForwardAuthDialect(tt.given)
		if got != tt.expect || (err != nil) != tt.expectErr {
			t.Errorf("ParseForwardAuthDialect(%q) = %q, %v; want %q, error %v", tt.given, got, err, tt.expect, tt.expectErr)
		}
	}
}
