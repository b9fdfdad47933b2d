package gateway_test

import (
	"bytes"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/verifier"
)

// TestPipeline_decisions runs every step's pass and refusal through the
// whole gateway: credentials, restrictions, rate limit, token, routing.
func TestPipeline_decisions(t *testing.T) {
	e := newEnv(t, func(c *gateway.Config) { c.UnidentifiedPerSecond = 2 })
	backend := echoBackend(t, "demo")
	e.api("demo", 1, backend.URL, false, true)
	e.api("demo", 2, backend.URL, false, true)
	e.api("demo", 3, backend.URL, false, false)
	e.api("open", 1, echoBackend(t, "open").URL, true, true)
	e.api("other", 1, echoBackend(t, "other").URL, false, true)

	legacy, err := bcrypt.GenerateFromPassword([]byte("legacy-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := e.client(sha256Hex("s3cret"), -1)
	legacyClient := e.client(string(legacy), -1)
	ipOK := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionIP, Value: "10.0.0.0/8"}, db.Restriction{Type: db.RestrictionIP, Value: "127.0.0.0/8"})
	ipFail := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionIP, Value: "10.0.0.0/8"})
	hostOK := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionHost, Value: "*.example.com"})
	hostExact := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionHost, Value: "API.Example.org"})
	apiOK := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "demo"})
	apiFail := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionAPI, Value: "other"})
	combined := e.client(sha256Hex("x"), -1, db.Restriction{Type: db.RestrictionIP, Value: "127.0.0.1"}, db.Restriction{Type: db.RestrictionAPI, Value: "other"})
	limited := e.client(sha256Hex("x"), 1)
	blocked := e.client(sha256Hex("x"), 0)
	deleted := e.client(sha256Hex("x"), -1)
	e.refresh()
	if err := e.d.DeleteClient(e.ctx, deleted, db.Revoking{AtMs: fixedNow.UnixMilli(), ExpiresMs: fixedNow.Add(time.Hour).UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	// Until the refresh the deleted client still works (bounded by the
	// refresh interval); after it, it is unknown.
	tok := e.tokens("session-1", fixedNow).ByMethod
	if res, _ := e.send("GET", "/demo/v1/x", header("Authorization", authz(deleted, "", tok["GET"])), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("deleted client before refresh: %d, want 200", res.StatusCode)
	}
	e.refresh()

	expired := e.tokens("session-2", fixedNow.Add(-time.Hour)).ByMethod["GET"]
	revokedTok := e.tokens("session-revoked", fixedNow).ByMethod["GET"]
	e.revoked.RevokeSession("session-revoked", fixedNow.Add(time.Hour))
	tampered := []byte(tok["GET"])
	tampered[len(tampered)/2] ^= 1
	if tampered[len(tampered)/2] == '-' || tampered[len(tampered)/2] == '_' {
		tampered[len(tampered)/2] = 'A'
	}

	tests := []struct {
		name         string
		givenMethod  string
		givenPath    string
		givenHeader  http.Header
		expectStatus int
		expectCode   string
		expectHeader map[string]string
	}{
		{"good client and token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 200, "", map[string]string{"X-Request-Id": "*"}},
		{"client ID without secret", "GET", "/demo/v1/items", header("Authorization", authz(good, "", tok["GET"])), 200, "", nil},
		{"two Authorization headers", "GET", "/demo/v1/items", header("Authorization", "Basic "+basic(good, "s3cret"), "Authorization", "Macaroon "+tok["GET"]), 200, "", nil},
		{"legacy bcrypt secret", "GET", "/demo/v1/items", header("Authorization", authz(legacyClient, "legacy-secret", tok["GET"])), 200, "", nil},
		{"legacy bcrypt secret again (cached)", "GET", "/demo/v1/items", header("Authorization", authz(legacyClient, "legacy-secret", tok["GET"])), 200, "", nil},
		{"legacy bcrypt wrong secret", "GET", "/demo/v1/items", header("Authorization", authz(legacyClient, "nope", tok["GET"])), 401, "INVALID-CLIENT-SECRET", map[string]string{"WWW-Authenticate": `Basic realm="authgw"`}},
		{"unknown client", "GET", "/demo/v1/items", header("Authorization", authz("no-such-client", "", tok["GET"])), 401, "UNKNOWN-CLIENT", map[string]string{"WWW-Authenticate": `Basic realm="authgw"`}},
		{"deleted client after refresh", "GET", "/demo/v1/items", header("Authorization", authz(deleted, "", tok["GET"])), 401, "UNKNOWN-CLIENT", nil},
		{"wrong secret", "GET", "/demo/v1/items", header("Authorization", authz(good, "wrong", tok["GET"])), 401, "INVALID-CLIENT-SECRET", nil},
		{"malformed basic", "GET", "/demo/v1/items", header("Authorization", "Basic !!!"), 401, "MALFORMED-BASIC-AUTH", map[string]string{"WWW-Authenticate": `Basic realm="authgw"`}},
		{"two basic credentials", "GET", "/demo/v1/items", header("Authorization", "Basic "+basic(good, "")+", Basic "+basic(good, "")), 401, "MALFORMED-BASIC-AUTH", map[string]string{"WWW-Authenticate": `Basic realm="authgw"`}},
		{"no client for identified API", "GET", "/demo/v1/items", header("Authorization", "Macaroon "+tok["GET"]), 401, "MISSING-BASIC-AUTH", map[string]string{"WWW-Authenticate": `Basic realm="authgw"`}},
		{"no client for allowUnidentified API", "GET", "/open/v1/items", header("Authorization", "Macaroon "+tok["GET"]), 200, "", nil},
		{"public route without token", "GET", "/open/v1/health", nil, 200, "", nil},
		{"ip restriction passes (second value)", "GET", "/demo/v1/items", header("Authorization", authz(ipOK, "", tok["GET"])), 200, "", nil},
		{"ip restriction fails", "GET", "/demo/v1/items", header("Authorization", authz(ipFail, "", tok["GET"])), 401, "ACCESS-RESTRICTION-IP", nil},
		{"host restriction by Origin passes", "GET", "/demo/v1/items", header("Authorization", authz(hostOK, "", tok["GET"]), "Origin", "https://app.EXAMPLE.com"), 200, "", nil},
		{"host wildcard excludes apex", "GET", "/demo/v1/items", header("Authorization", authz(hostOK, "", tok["GET"]), "Origin", "https://example.com"), 401, "ACCESS-RESTRICTION-HOST", nil},
		{"host wildcard is not a substring", "GET", "/demo/v1/items", header("Authorization", authz(hostOK, "", tok["GET"]), "Origin", "https://evilexample.com"), 401, "ACCESS-RESTRICTION-HOST", nil},
		{"host restriction by Host passes", "GET", "/demo/v1/items", header("Authorization", authz(hostExact, "", tok["GET"]), "Host", "api.example.org:8443"), 200, "", nil},
		{"host restriction by Host fails", "GET", "/demo/v1/items", header("Authorization", authz(hostExact, "", tok["GET"])), 401, "ACCESS-RESTRICTION-HOST", nil},
		{"Origin wins over Host", "GET", "/demo/v1/items", header("Authorization", authz(hostExact, "", tok["GET"]), "Host", "api.example.org", "Origin", "https://evil.test"), 401, "ACCESS-RESTRICTION-HOST", nil},
		{"api restriction passes", "GET", "/demo/v1/items", header("Authorization", authz(apiOK, "", tok["GET"])), 200, "", nil},
		{"api restriction fails", "GET", "/demo/v1/items", header("Authorization", authz(apiFail, "", tok["GET"])), 403, "ACCESS-RESTRICTION-API", nil},
		{"types AND: ip passes, api fails", "GET", "/demo/v1/items", header("Authorization", authz(combined, "", tok["GET"])), 403, "ACCESS-RESTRICTION-API", nil},
		{"types AND: both pass", "GET", "/other/v1/items", header("Authorization", authz(combined, "", tok["GET"])), 200, "", nil},
		{"rate limit first request", "GET", "/demo/v1/items", header("Authorization", authz(limited, "", tok["GET"])), 200, "", map[string]string{"RateLimit-Limit": "1", "RateLimit-Remaining": "0"}},
		{"rate limit second request", "GET", "/demo/v1/items", header("Authorization", authz(limited, "", tok["GET"])), 429, "RATE-LIMITED", map[string]string{"Retry-After": "1", "RateLimit-Limit": "1", "RateLimit-Remaining": "0"}},
		{"rate 0 blocks", "GET", "/demo/v1/items", header("Authorization", authz(blocked, "", tok["GET"])), 429, "RATE-LIMITED", nil},
		{"missing token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", "")), 401, "TOKEN-MISSING", map[string]string{"WWW-Authenticate": `Macaroon realm="authgw"`}},
		{"tampered token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", string(tampered))), 401, "TOKEN-INVALID", nil},
		{"expired token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", expired)), 401, "TOKEN-INVALID", nil},
		{"revoked token", "GET", "/demo/v1/items", header("Authorization", authz(good, "s3cret", revokedTok)), 401, "TOKEN-INVALID", nil},
		{"token of another method", "DELETE", "/demo/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 403, "TOKEN-NOT-GRANTED", nil},
		{"route not granted", "GET", "/secret/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 403, "TOKEN-NOT-GRANTED", nil},
		{"token from cookie", "GET", "/demo/v1/items", header("Authorization", "Basic "+basic(good, ""), "Cookie", "authgw-get="+tok["GET"]), 200, "", nil},
		{"unknown version lists active ones", "GET", "/demo/v9/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 404, "API-NOT-FOUND", nil},
		{"inactive version", "GET", "/demo/v3/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 404, "API-NOT-FOUND", nil},
		{"unknown api", "GET", "/ghost/v1/items", header("Authorization", authz(good, "s3cret", tok["GET"])), 404, "API-NOT-FOUND", nil},
		{"accounts without handler", "GET", "/accounts/v1/users", header("Authorization", "Basic "+basic(good, "")), 401, "TOKEN-MISSING", nil},
		{"bad path: no version", "GET", "/demo/items", nil, 400, "BAD-PATH", nil},
		{"bad path: leading zero", "GET", "/demo/v01/items", nil, 400, "BAD-PATH", nil},
		{"bad path: v0", "GET", "/demo/v0/items", nil, 400, "BAD-PATH", nil},
		{"bad path: root", "GET", "/", nil, 400, "BAD-PATH", nil},
		{"non-canonical: double slash", "GET", "/demo/v1//items", nil, 400, "NON-CANONICAL-PATH", nil},
		{"non-canonical: encoded slash", "GET", "/demo/v1/a%2Fb", nil, 400, "NON-CANONICAL-PATH", nil},
		{"non-canonical: trailing slash", "GET", "/demo/v1/items/", nil, 400, "NON-CANONICAL-PATH", nil},
		// The two unidentified requests above used this IP's burst of 2.
		{"unidentified per-IP limit", "GET", "/open/v1/health", nil, 429, "RATE-LIMITED", map[string]string{"Retry-After": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send(tt.givenMethod, tt.givenPath, tt.givenHeader, nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tt.expectStatus, body)
			}
			if tt.expectCode != "" {
				if got := decodeError(t, body).Error.Code; got != tt.expectCode {
					t.Errorf("code %s, want %s", got, tt.expectCode)
				}
			}
			for k, want := range tt.expectHeader {
				got := res.Header.Get(k)
				if (want == "*" && got == "") || (want != "*" && got != want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}

	t.Run("404 detail lists the active versions", func(t *testing.T) {
		_, body := e.send("GET", "/demo/v9/items", header("Authorization", authz(good, "s3cret", tok["GET"])), nil)
		if d := decodeError(t, body).Error.Detail; !strings.Contains(d, "available: v1, v2.") {
			t.Errorf("detail %q does not list v1, v2", d)
		}
	})
	t.Run("access log holds no credential", func(t *testing.T) {
		logs := e.logText()
		for _, secret := range []string{"s3cret", "legacy-secret", tok["GET"][:20], basic(good, "s3cret")} {
			if strings.Contains(logs, secret) {
				t.Errorf("log contains %q", secret)
			}
		}
		if !strings.Contains(logs, "client="+good) || !strings.Contains(logs, "path=/demo/v1/items") {
			t.Errorf("access log lacks client or path:\n%s", logs[:min(len(logs), 2000)])
		}
	})
}

func TestParseAPIPath(t *testing.T) {
	tests := []struct {
		givenPath     string
		expectOK      bool
		expectName    string
		expectVersion int
		expectRest    string
	}{
		{"/demo/v1", true, "demo", 1, ""},
		{"/demo/v1/", true, "demo", 1, "/"},
		{"/demo/v12/a/b", true, "demo", 12, "/a/b"},
		{"/demo/v123456789/a", true, "demo", 123456789, "/a"},
		{"/demo/v1234567890/a", false, "", 0, ""},
		{"/demo/v0", false, "", 0, ""},
		{"/demo/v01", false, "", 0, ""},
		{"/demo/V1", false, "", 0, ""},
		{"/demo/v", false, "", 0, ""},
		{"/demo/v1x", false, "", 0, ""},
		{"/demo/v-1", false, "", 0, ""},
		{"/demo", false, "", 0, ""},
		{"/de%6Do/v1", false, "", 0, ""},
		{"/", false, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.givenPath, func(t *testing.T) {
			name, version, rest, ok := gateway.ParseAPIPath(tt.givenPath)
			if ok != tt.expectOK || name != tt.expectName || version != tt.expectVersion || rest != tt.expectRest {
				t.Errorf("got (%q, %d, %q, %v), want (%q, %d, %q, %v)", name, version, rest, ok, tt.expectName, tt.expectVersion, tt.expectRest, tt.expectOK)
			}
		})
	}
}

// TestPipeline_accounts: /accounts/v1 is served in-process with the full
// path and the verified identity; a panic there is a 500 envelope.
func TestPipeline_accounts(t *testing.T) {
	var gotPath, gotUser string
	e := newEnv(t, func(c *gateway.Config) {
		c.Public = map[string][]string{"GET": {"/accounts/v1/users/current", "/accounts/v1/panic"}}
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/accounts/v1/panic" {
				panic("boom")
			}
			gotPath = r.URL.Path
			if id, ok := verifier.IdentityFrom(r.Context()); ok {
				gotUser = id.UserID
			}
			w.WriteHeader(http.StatusTeapot)
		})
	})
	id := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	res, _ := e.send("GET", "/accounts/v1/users/current", header("Authorization", authz(id, "", "")), nil)
	if res.StatusCode != http.StatusTeapot || gotPath != "/accounts/v1/users/current" || gotUser != "" {
		t.Errorf("public accounts request: %d %q %q", res.StatusCode, gotPath, gotUser)
	}
	res, body := e.send("GET", "/accounts/v1/panic", header("Authorization", authz(id, "", "")), nil)
	if res.StatusCode != http.StatusInternalServerError || decodeError(t, body).Error.Code != "INTERNAL" {
		t.Errorf("panic: %d %s", res.StatusCode, body)
	}
}

// legacyEnv is a gateway with an API "demo" and n clients whose secret,
// "legacy-secret", is stored as a bcrypt hash, with a GET token. Client
// IPs come from X-Forwarded-For: the test's loopback peer is a trusted
// proxy.
func legacyEnv(t *testing.T, n int) (e *env, getToken string, clients []string) {
	t.Helper()
	e = newEnv(t, func(c *gateway.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	e.api("demo", 1, echoBackend(t, "demo").URL, false, true)
	legacy, err := bcrypt.GenerateFromPassword([]byte("legacy-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		clients = append(clients, e.client(string(legacy), -1))
	}
	e.refresh()
	return e, e.tokens("session-1", fixedNow).ByMethod["GET"], clients
}

// TestLegacySecretBudgetSources: an IPv6 /64 is one source (its addresses
// cost nothing to change), and all sources together may cost the
// instance at most 16 bcrypt checks at once, so many addresses cannot buy
// its CPU either. The test's clock stands still: nothing refills.
func TestLegacySecretBudgetSources(t *testing.T) {
	e, tok, clients := legacyEnv(t, 1)
	attacked := clients[0]
	send := func(secret, ip string) (int, []byte) {
		res, body := e.send("GET", "/demo/v1/items", header("Authorization", authz(attacked, secret, tok), "X-Forwarded-For", ip), nil)
		return res.StatusCode, body
	}
	expect := func(what string, status int, body []byte, want int) {
		t.Helper()
		if status != want {
			t.Fatalf("%s: status %d %s, want %d", what, status, body, want)
		}
	}

	spent := 0
	for i := range gateway.BcryptBurst {
		status, body := send("guess", "2001:db8:1:2::"+strconv.Itoa(i+1))
		expect("a guess from the /64", status, body, 401)
		spent++
	}
	status, body := send("guess", "2001:db8:1:2:ffff:ffff:ffff:ffff")
	expect("another address of the same /64", status, body, 429)
	status, body = send("guess", "::ffff:198.51.100.1") // IPv4-mapped: an IPv4 source
	expect("an IPv4-mapped address", status, body, 401)
	spent++
	for i := 0; spent < gateway.BcryptInstanceBurst; i++ {
		status, body := send("guess", "2001:db8:1:"+strconv.Itoa(i+3)+"::1")
		expect("a guess from another /64", status, body, 401)
		spent++
	}
	status, body = send("guess", "203.0.113.50")
	expect("a fresh address once the instance's budget is spent", status, body, 429)
	status, body = send("legacy-secret", "203.0.113.51")
	expect("the right secret waits too", status, body, 429)
}

// TestLegacySecretBudget: wrong secrets of a client with a legacy bcrypt
// hash cost the gateway one bcrypt each, so each client gets a small
// budget of them (4, refilled at one a second; the test's clock stands
// still); a secret that matched once is remembered and needs none.
func TestLegacySecretBudget(t *testing.T) {
	e, tok, clients := legacyEnv(t, 2)
	attacked, bystander := clients[0], clients[1]
	const attacker, owner = "198.51.100.7", "203.0.113.9"
	tests := []struct {
		name         string
		givenClient  string
		givenSecret  string
		givenIP      string
		expectStatus int
		expectCode   string
	}{
		{"wrong secret 1", attacked, "guess-1", attacker, 401, "INVALID-CLIENT-SECRET"},
		{"wrong secret 2", attacked, "guess-2", attacker, 401, "INVALID-CLIENT-SECRET"},
		{"wrong secret 3", attacked, "guess-3", attacker, 401, "INVALID-CLIENT-SECRET"},
		{"wrong secret 4, the budget's last", attacked, "guess-4", attacker, 401, "INVALID-CLIENT-SECRET"},
		{"wrong secret 5: no bcrypt left at this address", attacked, "guess-5", attacker, 429, "SECRET-CHECK-THROTTLED"},
		{"the right secret from that address waits too", attacked, "legacy-secret", attacker, 429, "SECRET-CHECK-THROTTLED"},
		{"the client's own address has its own budget: not locked out", attacked, "legacy-secret", owner, 200, ""},
		{"the remembered right secret needs no bcrypt, from any address", attacked, "legacy-secret", attacker, 200, ""},
		{"another client has its own budget", bystander, "legacy-secret", attacker, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send("GET", "/demo/v1/items", header("Authorization", authz(tt.givenClient, tt.givenSecret, tok), "X-Forwarded-For", tt.givenIP), nil)
			if res.StatusCode != tt.expectStatus || (tt.expectCode != "" && !bytes.Contains(body, []byte(`"code":"`+tt.expectCode+`"`))) {
				t.Fatalf("status %d %s, want %d %s", res.StatusCode, body, tt.expectStatus, tt.expectCode)
			}
			if tt.expectStatus == 429 && res.Header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want 1", res.Header.Get("Retry-After"))
			}
		})
	}
}
