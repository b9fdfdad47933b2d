package mint_test

import (
	"crypto/rand"
	"testing"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// benchPolicy is the browser-like policy with every method granted: five
// tokens, eight routes in the GET one.
const benchPolicy = `{
  "name": "member",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "profile", "routes": ["/accounts/v1/users/:userId/**", "/accounts/v1/users/:userId"], "methods": ["GET", "PATCH"]},
    {"name": "sessions", "routes": ["/accounts/v1/sessions/:sessionId"], "methods": ["GET", "DELETE"]},
    {"name": "projects", "routes": ["/projects/v1/:userId_*/*", "/projects/v1/shared/**"], "methods": ["GET", "POST", "PUT"]},
    {"name": "orgs", "routes": ["/reports/v1/orgs/:orgId/**"], "methods": ["GET"], "membership": "read"},
    {"name": "notes", "routes": ["/notes/v1/**"], "methods": ["GET"]}
  ]
}`

// BenchmarkMint mints the browser-like policy for one subject, as a login
// does: five tokens. BenchmarkRootKey is its per-token baseline.
func BenchmarkMint(b *testing.B) {
	m, err := mint.New(mint.Config{Keys: testRing(b), ServerID: testServerID, Rand: rand.Reader})
	if err != nil {
		b.Fatal(err)
	}
	policies := []*policy.Policy{parsePolicy(b, benchPolicy)}
	subject := testSubject()
	b.ReportAllocs()
	for b.Loop() {
		toks, err := m.Mint(policies, subject)
		if err != nil {
			b.Fatal(err)
		}
		if len(toks.ByMethod) != len(mint.Methods()) {
			b.Fatalf("%d tokens", len(toks.ByMethod))
		}
	}
}

// BenchmarkRootKey is the baseline the mint pays per token: one HKDF
// derivation.
func BenchmarkRootKey(b *testing.B) {
	ring := testRing(b)
	id := make([]byte, 3+2+36+8+mint.NonceSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.RootKey("k2", id); err != nil {
			b.Fatal(err)
		}
	}
}
