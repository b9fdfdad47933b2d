package mint_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/policytest"
)

// fixedNow is the clock of every test here.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const testServerID = "test-server"

// testRing returns a ring with deterministic keys k2 (mints) and k1.
func testRing(t testing.TB) *mint.KeyRing {
	t.Helper()
	return minttest.Rotate(t, minttest.KeyRing(t, "k1", 1), "k2", 2)
}

// browserPolicy is a typical browser policy: 8 routes for GET, 5 methods
// minus PUT.
const browserPolicy = minttest.BrowserPolicy

const (
	testUser    = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
	testSession = "0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa"
	testClient  = "client-1"
)

func testSubject() mint.Subject {
	return mint.Subject{
		UserID:    testUser,
		SessionID: testSession,
		ClientID:  testClient,
		Memberships: []mint.Membership{
			{OrgID: "org-a", Read: true},
			{OrgID: "org-b", Read: true},
		},
	}
}

var parsePolicy = policytest.Parse

func parsePolicies(t testing.TB, srcs ...string) []*policy.Policy {
	t.Helper()
	out := make([]*policy.Policy, 0, len(srcs))
	for _, src := range srcs {
		out = append(out, parsePolicy(t, src))
	}
	return out
}

// newMinter returns a minter on the fixed clock with deterministic nonces.
func newMinter(t testing.TB, ring *mint.KeyRing, mod func(*mint.Config)) *mint.Minter {
	t.Helper()
	cfg := mint.Config{
		Keys: ring, ServerID: testServerID,
		Now:  func() time.Time { return fixedNow },
		Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 4096)),
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := mint.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// caveatsOf decodes a token, checks its signature with macaroon.v2 and
// the ring's root key, and returns its caveats.
func caveatsOf(t testing.TB, ring *mint.KeyRing, tok string) []string {
	t.Helper()
	m, err := mint.Decode(tok)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	id, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		t.Fatalf("ParseIdentifier: %v", err)
	}
	root, err := ring.RootKey(id.KeyID, m.Id())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(root, func(string) error { return nil }, nil); err != nil {
		t.Fatalf("macaroon.v2 Verify: %v", err)
	}
	var out []string
	for _, c := range m.Caveats() {
		if c.VerificationId != nil || c.Location != "" {
			t.Errorf("caveat %q is not first-party", c.Id)
		}
		out = append(out, string(c.Id))
	}
	return out
}

func routesCaveat(routes ...string) string { return "routes " + strings.Join(routes, " ") }

func TestMintOneTokenPerMethod(t *testing.T) {
	ring := testRing(t)
	toks, err := newMinter(t, ring, nil).Mint(parsePolicies(t, browserPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	u, s := testUser, testSession
	wantRoutes := map[string][]string{
		"GET": {
			"/accounts/v1/users/" + u + "/**", "/accounts/v1/users/" + u,
			"/accounts/v1/sessions/" + s,
			"/projects/v1/" + u + "_*/*", "/projects/v1/shared/**",
			"/reports/v1/orgs/:orgIdRead/**",
			"/notes/v1/**",
		},
		"POST":   {"/projects/v1/" + u + "_*/*", "/projects/v1/shared/**"},
		"PATCH":  {"/accounts/v1/users/" + u + "/**", "/accounts/v1/users/" + u},
		"DELETE": {"/accounts/v1/sessions/" + s},
	}
	expires := fixedNow.Add(900 * time.Second)
	if !toks.Expires.Equal(expires) {
		t.Errorf("Expires = %v, want %v", toks.Expires, expires)
	}
	if len(toks.ByMethod) != len(wantRoutes) {
		t.Errorf("tokens for %d methods, want %d", len(toks.ByMethod), len(wantRoutes))
	}
	for _, method := range mint.Methods() {
		t.Run(method, func(t *testing.T) {
			routes, granted := wantRoutes[method]
			tok, minted := toks.ByMethod[method]
			if !granted {
				if minted {
					t.Fatalf("%s has no grant but got a token", method)
				}
				if _, ok := toks.Routes[method]; ok {
					t.Errorf("%s has no grant but has routes", method)
				}
				return
			}
			if !minted {
				t.Fatalf("no %s token", method)
			}
			if len(tok) > mint.MaxTokenSize {
				t.Errorf("token is %d bytes", len(tok))
			}
			if !slices.Equal(toks.Routes[method], routes) {
				t.Errorf("Routes = %q, want %q", toks.Routes[method], routes)
			}
			want := []string{
				"server-id " + testServerID,
				"method " + method,
				routesCaveat(routes...),
			}
			if method == "GET" {
				// The organizations of the :orgIdRead route, once.
				want = append(want, "orgs org-a:r org-b:r")
			}
			want = append(want,
				"time-before 2026-11-22T12:15:00Z",
				"user "+u,
				"user-roles -",
				"session "+s,
			)
			if got := caveatsOf(t, ring, tok); !slices.Equal(got, want) {
				t.Errorf("caveats =\n%q\nwant\n%q", got, want)
			}
			m, _ := mint.Decode(tok)
			id, err := mint.ParseIdentifier(m.Id())
			if err != nil {
				t.Fatal(err)
			}
			if id.KeyID != "k2" || id.SessionID != s || !id.IssuedAt.Equal(fixedNow) {
				t.Errorf("identifier = %+v, want key k2, session %s, issued %v", id, s, fixedNow)
			}
			if bytes.Contains(m.Id(), []byte(u)) {
				t.Error("identifier holds the user ID")
			}
		})
	}
}

func TestMintDistinctNonces(t *testing.T) {
	toks, err := newMinter(t, testRing(t), func(c *mint.Config) { c.Rand = nil }).Mint(parsePolicies(t, browserPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[mint.NonceSize]byte]string{}
	for method, tok := range toks.ByMethod {
		m, _ := mint.Decode(tok)
		id, err := mint.ParseIdentifier(m.Id())
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[id.Nonce]; dup {
			t.Errorf("%s and %s share a nonce", method, other)
		}
		seen[id.Nonce] = method
	}
}

// TestMintWritesRoles: every token carries the subject's roles in one
// user-roles caveat, right after the user caveat, and "-" for none.
func TestMintWritesRoles(t *testing.T) {
	for _, tt := range []struct {
		roles []string
		want  string
	}{
		{nil, "user-roles -"},
		{[]string{"user"}, "user-roles user"},
		{[]string{"sysadmin", "employee", "user"}, "user-roles sysadmin employee user"},
	} {
		s := testSubject()
		s.Roles = tt.roles
		ring := testRing(t)
		toks, err := newMinter(t, ring, nil).Mint(parsePolicies(t, browserPolicy), s)
		if err != nil {
			t.Fatal(err)
		}
		for method, tok := range toks.ByMethod {
			got := caveatsOf(t, ring, tok)
			i := slices.Index(got, "user "+s.UserID)
			if i < 0 || i+1 >= len(got) || got[i+1] != tt.want {
				t.Errorf("roles %q, %s token: caveats %q, want %q after the user caveat", tt.roles, method, got, tt.want)
			}
			n := 0
			for _, c := range got {
				if strings.HasPrefix(c, caveat.UserRoles.Name()+" ") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s token has %d user-roles caveats, want 1", method, n)
			}
		}
	}
}

// orgPolicy grants one method per membership flag on :orgId routes.
const orgPolicy = `{
  "name": "orgs",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 600,
  "scopes": [
    {"name": "read", "routes": ["/orgs/v1/:orgId/**"], "methods": ["GET"], "membership": "read"},
    {"name": "edit", "routes": ["/orgs/v1/:orgId"], "methods": ["PATCH"], "membership": "edit"},
    {"name": "any", "routes": ["/orgs/v1/:orgId/notes"], "methods": ["POST"]},
    {"name": "delete", "routes": ["/orgs/v1/:orgId"], "methods": ["DELETE"], "membership": "delete"}
  ]
}`

func TestMintOrgExpansionRespectsMembership(t *testing.T) {
	subject := mint.Subject{
		UserID: "u1", SessionID: "s1",
		Memberships: []mint.Membership{
			{OrgID: "org-a", Read: true},
			{OrgID: "org-b", Edit: true},
			{OrgID: "org-c", Read: true, Edit: true, Manage: true},
			{OrgID: "org-d"},
			{OrgID: "org-a", Read: true}, // listed twice
		},
	}
	toks, err := newMinter(t, testRing(t), nil).Mint(parsePolicies(t, orgPolicy), subject)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		whenMethod   string
		expectRoutes []string
		expectOrgs   string
	}{
		{"read flag", "GET", []string{"/orgs/v1/:orgIdRead/**"}, "orgs org-a:r org-c:r"},
		{"edit flag", "PATCH", []string{"/orgs/v1/:orgIdEdit"}, "orgs org-b:e org-c:e"},
		{"no flag: every membership", "POST", []string{"/orgs/v1/:orgId/notes"}, "orgs org-a org-b org-c org-d"},
		{"flag nobody has: no token", "DELETE", nil, ""},
		{"not in the policy: no token", "PUT", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(toks.Routes[tt.whenMethod], tt.expectRoutes) {
				t.Errorf("routes = %q, want %q", toks.Routes[tt.whenMethod], tt.expectRoutes)
			}
			tok, ok := toks.ByMethod[tt.whenMethod]
			if ok != (tt.expectRoutes != nil) {
				t.Fatalf("token minted = %v, want %v", ok, tt.expectRoutes != nil)
			}
			if !ok {
				return
			}
			var orgs []string
			for _, c := range caveatsOf(t, testRing(t), tok) {
				if strings.HasPrefix(c, "orgs ") {
					orgs = append(orgs, c)
				}
			}
			if len(orgs) != 1 || orgs[0] != tt.expectOrgs {
				t.Errorf("orgs caveats = %q, want one: %q", orgs, tt.expectOrgs)
			}
		})
	}
}

func TestMembershipHas(t *testing.T) {
	all := mint.Membership{OrgID: "o", Read: true, Edit: true, Manage: true, Delete: true}
	none := mint.Membership{OrgID: "o"}
	tests := []struct {
		name       string
		givenM     mint.Membership
		whenFlag   policy.MembershipFlag
		expectHave bool
	}{
		{"any membership", none, "", true},
		{"read", all, "read", true},
		{"edit", all, "edit", true},
		{"manage", all, "manage", true},
		{"delete", all, "delete", true},
		{"read missing", none, "read", false},
		{"delete missing", mint.Membership{Read: true, Edit: true, Manage: true}, "delete", false},
		{"unknown flag", all, "admin", false},
		{"flags are case-sensitive", all, "Read", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.givenM.Has(tt.whenFlag); got != tt.expectHave {
				t.Errorf("Has(%q) = %v, want %v", tt.whenFlag, got, tt.expectHave)
			}
		})
	}
}

// policyJSON builds a one-scope GET policy.
func policyJSON(name string, expires int, bindClient bool, routes ...string) string {
	quoted := make([]string, len(routes))
	for i, r := range routes {
		quoted[i] = fmt.Sprintf("%q", r)
	}
	return fmt.Sprintf(`{"name": %q, "appliesTo": {"userRoles": ["user"]}, "expires": %d, "bindClient": %v,
  "scopes": [{"name": "s", "routes": [%s], "methods": ["GET"]}]}`, name, expires, bindClient, strings.Join(quoted, ", "))
}

func TestMintLifetimeAndBinding(t *testing.T) {
	ring := testRing(t)
	tests := []struct {
		name          string
		givenPolicies []string
		givenNow      time.Time
		whenTTL       time.Duration
		whenClient    string
		expectExpires time.Time
		expectClient  bool
	}{
		{"policy expires", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow, 0, testClient, fixedNow.Add(900 * time.Second), false},
		{"shortest policy wins", []string{policyJSON("a", 900, false, "/a/**"), policyJSON("b", 300, false, "/b/**")}, fixedNow, 0, testClient, fixedNow.Add(300 * time.Second), false},
		{"shortest policy wins in any order", []string{policyJSON("b", 300, false, "/b/**"), policyJSON("a", 900, false, "/a/**")}, fixedNow, 0, testClient, fixedNow.Add(300 * time.Second), false},
		{"shorter TTL wins", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow, time.Minute, testClient, fixedNow.Add(time.Minute), false},
		{"longer TTL ignored", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow, 2 * time.Hour, testClient, fixedNow.Add(900 * time.Second), false},
		{"sub-second clock rounds down", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow.Add(700 * time.Millisecond), 0, testClient, fixedNow.Add(900 * time.Second), false},
		{"clock in another zone", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow.In(time.FixedZone("X", -5*3600)), 0, testClient, fixedNow.Add(900 * time.Second), false},
		{"bindClient", []string{policyJSON("a", 900, true, "/a/**")}, fixedNow, 0, testClient, fixedNow.Add(900 * time.Second), true},
		{"policy for this server", []string{`{"name": "mine", "serverId": "` + testServerID + `", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [{"name": "s", "routes": ["/a/**"], "methods": ["GET"]}]}`}, fixedNow, 0, testClient, fixedNow.Add(900 * time.Second), false},
		{"TTL of one second", []string{policyJSON("a", 900, false, "/a/**")}, fixedNow, time.Second, testClient, fixedNow.Add(time.Second), false},
		{"one binding policy binds", []string{policyJSON("a", 900, false, "/a/**"), policyJSON("b", 900, true, "/b/**")}, fixedNow, 0, testClient, fixedNow.Add(900 * time.Second), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMinter(t, ring, func(c *mint.Config) { c.Now = func() time.Time { return tt.givenNow } })
			s := mint.Subject{UserID: "u1", SessionID: "s1", ClientID: tt.whenClient, TTL: tt.whenTTL}
			toks, err := m.Mint(parsePolicies(t, tt.givenPolicies...), s)
			if err != nil {
				t.Fatal(err)
			}
			if !toks.Expires.Equal(tt.expectExpires) {
				t.Errorf("Expires = %v, want %v", toks.Expires, tt.expectExpires)
			}
			caveats := caveatsOf(t, ring, toks.ByMethod["GET"])
			wantTime := "time-before " + tt.expectExpires.UTC().Format(time.RFC3339)
			if !slices.Contains(caveats, wantTime) {
				t.Errorf("caveats %q lack %q", caveats, wantTime)
			}
			hasClient := slices.Contains(caveats, "client "+testClient)
			if hasClient != tt.expectClient {
				t.Errorf("client caveat = %v, want %v (caveats %q)", hasClient, tt.expectClient, caveats)
			}
			n := 0
			for _, c := range caveats {
				if strings.HasPrefix(c, "client ") {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d client caveats", n)
			}
		})
	}
}

func TestMintErrors(t *testing.T) {
	ring := testRing(t)
	manyOrgs := func(n int, length int) []mint.Membership {
		out := make([]mint.Membership, n)
		for i := range out {
			id := fmt.Sprintf("org-%d-", i)
			out[i] = mint.Membership{OrgID: id + strings.Repeat("x", length-len(id)), Read: true}
		}
		return out
	}
	longRoutes := make([]string, 60)
	for i := range longRoutes {
		longRoutes[i] = fmt.Sprintf("/service-with-a-rather-long-name/v1/resources/some-long-resource-name-%02d/**", i)
	}
	const orgReports = `{"name": "org-reports", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [{"name": "reports", "routes": ["/reports/v1/organizations/:orgId/**"], "methods": ["GET"], "membership": "read"}]}`
	const clientRoutes = `{"name": "client-routes", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [{"name": "c", "routes": ["/clients/v1/:clientId/**"], "methods": ["GET"]}]}`
	const otherServer = `{"name": "other", "serverId": "other-server", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [{"name": "s", "routes": ["/a/**"], "methods": ["GET"]}]}`
	tests := []struct {
		name           string
		givenPolicies  []string
		givenMaxSize   int
		whenSubject    mint.Subject
		expectErr      error
		expectTooLarge string // the policy a *TooLargeError names
	}{
		{"no policies", nil, 0, mint.Subject{UserID: "u1", SessionID: "s1"}, mint.ErrNoGrants, ""},
		{"policy for another server", []string{otherServer}, 0, mint.Subject{UserID: "u1", SessionID: "s1"}, mint.ErrWrongServer, ""},
		{"TTL under a second", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", TTL: 500 * time.Millisecond}, mint.ErrBadSubject, ""},
		{"negative TTL", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", TTL: -time.Minute}, mint.ErrBadSubject, ""},
		{"only org routes, no memberships", []string{orgPolicy}, 0, mint.Subject{UserID: "u1", SessionID: "s1"}, mint.ErrNoGrants, ""},
		{"bindClient without client", []string{policyJSON("a", 900, true, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1"}, mint.ErrBadSubject, ""},
		{":clientId without client", []string{clientRoutes}, 0, mint.Subject{UserID: "u1", SessionID: "s1"}, mint.ErrBadSubject, ""},
		{"empty user", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{SessionID: "s1"}, mint.ErrBadSubject, ""},
		{"empty session", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1"}, mint.ErrBadSubject, ""},
		{"user with slash", []string{browserPolicy}, 0, mint.Subject{UserID: "u1/../admin", SessionID: "s1"}, mint.ErrBadSubject, ""},
		{"user with space", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1 x", SessionID: "s1"}, mint.ErrBadSubject, ""},
		{"client with slash", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", ClientID: "c/1"}, mint.ErrBadSubject, ""},
		{"role with space", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Roles: []string{"user sysadmin"}}, mint.ErrBadSubject, ""},
		{"empty role", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Roles: []string{""}}, mint.ErrBadSubject, ""},
		{"too many roles", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Roles: slices.Repeat([]string{"r"}, mint.MaxRoles+1)}, mint.ErrBadSubject, ""},
		{"role that reads as none", []string{policyJSON("a", 900, false, "/a/**")}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Roles: []string{"-"}}, mint.ErrBadSubject, ""},
		{"user with underscore in :userId_*", []string{browserPolicy}, 0, mint.Subject{UserID: "u_1", SessionID: "s1"}, policy.ErrBadParamValue, ""},
		{"user with underscore in :userId", []string{policyJSON("a", 900, false, "/users/:userId")}, 0, mint.Subject{UserID: "u_1", SessionID: "s1"}, policy.ErrBadParamValue, ""},
		{"session with underscore in :sessionId", []string{policyJSON("a", 900, false, "/sessions/:sessionId")}, 0, mint.Subject{UserID: "u1", SessionID: "s_1"}, policy.ErrBadParamValue, ""},
		{"org ID with underscore", []string{orgPolicy}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Memberships: []mint.Membership{{OrgID: "o_1", Read: true}}}, policy.ErrBadParamValue, ""},
		{"too many orgs", []string{orgReports}, 0, mint.Subject{UserID: "u1", SessionID: "s1", Memberships: manyOrgs(policy.MaxOrgExpansion+1, 8)}, policy.ErrTooManyOrgs, ""},
		{"many long literal routes", []string{policyJSON("small", 900, false, "/a/**"), policyJSON("wide-routes", 900, false, longRoutes...)}, 0,
			mint.Subject{UserID: "u1", SessionID: "s1"}, nil, "wide-routes"},
		{"many long org IDs", []string{policyJSON("small", 900, false, "/a/**"), orgReports}, 0,
			mint.Subject{UserID: "u1", SessionID: "s1", Memberships: manyOrgs(policy.MaxOrgExpansion, 36)}, nil, "org-reports"},
		{"configured smaller limit", []string{browserPolicy}, 300, testSubject(), nil, "member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMinter(t, ring, func(c *mint.Config) { c.MaxTokenSize = tt.givenMaxSize })
			toks, err := m.Mint(parsePolicies(t, tt.givenPolicies...), tt.whenSubject)
			if err == nil {
				t.Fatalf("Mint = %v, want an error", toks.ByMethod)
			}
			if len(toks.ByMethod) != 0 {
				t.Errorf("Mint returned tokens with the error %v", err)
			}
			if tt.expectTooLarge == "" {
				if !errors.Is(err, tt.expectErr) {
					t.Errorf("Mint error = %v, want %v", err, tt.expectErr)
				}
				return
			}
			tooLarge, ok := errors.AsType[*mint.TooLargeError](err)
			if !ok {
				t.Fatalf("Mint error = %v (%T), want *TooLargeError", err, err)
			}
			limit := tt.givenMaxSize
			if limit == 0 {
				limit = mint.MaxTokenSize
			}
			if tooLarge.Policy != tt.expectTooLarge || tooLarge.Method != "GET" || tooLarge.Limit != limit || tooLarge.Size <= limit {
				t.Errorf("TooLargeError = %+v, want policy %q, GET, limit %d", tooLarge, tt.expectTooLarge, limit)
			}
			if msg := err.Error(); !strings.Contains(msg, `"`+tt.expectTooLarge+`"`) || !strings.Contains(msg, fmt.Sprint(limit)) {
				t.Errorf("message %q does not name the policy and the limit", msg)
			}
		})
	}
}

func TestMintJustUnderTheLimit(t *testing.T) {
	// 100 short org IDs stay well under 3,800 bytes: one route, and one
	// short entry per organization in the orgs caveat.
	ms := make([]mint.Membership, policy.MaxOrgExpansion)
	for i := range ms {
		ms[i] = mint.Membership{OrgID: fmt.Sprintf("o%d", i), Read: true}
	}
	toks, err := newMinter(t, testRing(t), nil).Mint(parsePolicies(t, orgPolicy), mint.Subject{UserID: "u1", SessionID: "s1", Memberships: ms})
	if err != nil {
		t.Fatal(err)
	}
	if got := toks.Routes["GET"]; !slices.Equal(got, []string{"/orgs/v1/:orgIdRead/**"}) {
		t.Errorf("GET routes = %q, want the one pattern", got)
	}
	if n := len(toks.ByMethod["GET"]); n > mint.MaxTokenSize {
		t.Errorf("GET token %d bytes", n)
	}
}

func TestMintDeterministicWithInjectedRand(t *testing.T) {
	ring := testRing(t)
	policies := parsePolicies(t, browserPolicy)
	mintWith := func(seed byte) mint.Tokens {
		t.Helper()
		m := newMinter(t, ring, func(c *mint.Config) { c.Rand = bytes.NewReader(bytes.Repeat([]byte{seed}, 1024)) })
		toks, err := m.Mint(policies, testSubject())
		if err != nil {
			t.Fatal(err)
		}
		return toks
	}
	a, b, c := mintWith(7), mintWith(7), mintWith(8)
	for method, tok := range a.ByMethod {
		if b.ByMethod[method] != tok {
			t.Errorf("%s: same Rand, different tokens", method)
		}
		if c.ByMethod[method] == tok {
			t.Errorf("%s: different Rand, same token", method)
		}
	}
	t.Run("failing Rand", func(t *testing.T) {
		m := newMinter(t, ring, func(c *mint.Config) { c.Rand = bytes.NewReader(make([]byte, 20)) })
		if _, err := m.Mint(policies, testSubject()); err == nil {
			t.Error("Mint succeeded with a Rand that runs out")
		}
	})
}

func TestMintUsesPrimaryKey(t *testing.T) {
	ring := testRing(t)
	rotated, err := ring.WithNewKey("k3", bytes.NewReader(bytes.Repeat([]byte{3}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := newMinter(t, rotated, nil).Mint(parsePolicies(t, browserPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := mint.Decode(toks.ByMethod["GET"])
	id, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		t.Fatal(err)
	}
	if id.KeyID != "k3" {
		t.Errorf("minted with %q, want the new first key k3", id.KeyID)
	}
	if _, err := ring.RootKey(id.KeyID, m.Id()); !errors.Is(err, mint.ErrUnknownKey) {
		t.Errorf("old ring knows the new key: %v", err)
	}
	// The signature checks with the new ring's key and not with another.
	caveatsOf(t, rotated, toks.ByMethod["GET"])
	other, _ := mint.GenerateKeyRing("k3", bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	root, _ := other.RootKey("k3", m.Id())
	if err := m.Verify(root, func(string) error { return nil }, nil); err == nil {
		t.Error("token verifies with another ring's k3")
	}
}

func TestNewConfig(t *testing.T) {
	ring := testRing(t)
	tests := []struct {
		name      string
		whenCfg   mint.Config
		expectErr bool
	}{
		{"minimal", mint.Config{Keys: ring, ServerID: "srv"}, false},
		{"nil keys", mint.Config{ServerID: "srv"}, true},
		{"empty ring", mint.Config{Keys: &mint.KeyRing{}, ServerID: "srv"}, true},
		{"empty server ID", mint.Config{Keys: ring}, true},
		{"server ID with space", mint.Config{Keys: ring, ServerID: "my server"}, true},
		{"server ID too long", mint.Config{Keys: ring, ServerID: strings.Repeat("s", 65)}, true},
		{"server ID at the limit", mint.Config{Keys: ring, ServerID: strings.Repeat("s", 64)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mint.New(tt.whenCfg)
			if (err != nil) != tt.expectErr {
				t.Fatalf("New error = %v, want error %v", err, tt.expectErr)
			}
			if err != nil && m != nil {
				t.Error("New returned a Minter with an error")
			}
		})
	}
}

// TestMintedTokenIsMacaroonV2 checks the wire form: V2 binary in unpadded
// base64url, no location, readable by macaroon.v2 on its own.
func TestMintedTokenIsMacaroonV2(t *testing.T) {
	ring := testRing(t)
	toks, err := newMinter(t, ring, nil).Mint(parsePolicies(t, browserPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	for method, tok := range toks.ByMethod {
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("%s token is not unpadded base64url", method)
		}
		var m macaroon.Macaroon
		b, err := mint.DecodeBase64(tok)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: macaroon.v2 UnmarshalBinary: %v", method, err)
		}
		if m.Version() != macaroon.V2 || m.Location() != "" || b[0] != 2 {
			t.Errorf("%s: version %v location %q", method, m.Version(), m.Location())
		}
	}
}

func TestMintMembershipsWithoutOrgRoutes(t *testing.T) {
	// Policies without :orgId do not look at the memberships: more than
	// MaxOrgExpansion, or an ID that could not stand in a route, change
	// nothing, and no orgs caveat is written.
	var ms []mint.Membership
	for i := range policy.MaxOrgExpansion + 1 {
		ms = append(ms, mint.Membership{OrgID: fmt.Sprintf("o%d", i), Read: true})
	}
	ms = append(ms, mint.Membership{OrgID: "o_1", Read: true})
	toks, err := newMinter(t, testRing(t), nil).Mint(parsePolicies(t, policyJSON("a", 900, false, "/a/**")),
		mint.Subject{UserID: "u1", SessionID: "s1", Memberships: ms})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range caveatsOf(t, testRing(t), toks.ByMethod["GET"]) {
		if strings.HasPrefix(c, caveat.Orgs.Name()+" ") {
			t.Errorf("caveat %q in a token without organization routes", c)
		}
	}
}
