package verifier_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/policytest"
	"github.com/authgw/authgw/verifier"
)

// fixedNow is the clock of every test here.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

const testServerID = "test-server"

// testRing returns a ring with deterministic keys k2 (mints) and k1.
func testRing(t testing.TB) *mint.KeyRing {
	t.Helper()
	return minttest.Rotate(t, minttest.KeyRing(t, "k1", 1), "k2", 2)
}

// browserPolicy is a typical browser policy: 8 routes for GET.
const browserPolicy = minttest.BrowserPolicy

var parsePolicy = policytest.Parse

var testSubject = mint.Subject{
	UserID:    "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
	SessionID: "0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa",
	ClientID:  "client-1",
	Roles:     []string{"user", "employee"},
	Memberships: []mint.Membership{
		{OrgID: "org-a", Read: true},
		{OrgID: "org-b", Read: true},
	},
}

// mintTokens mints the browser policy for testSubject.
func mintTokens(t testing.TB, ring *mint.KeyRing, src string) mint.Tokens {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: clock, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 1024))})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{parsePolicy(t, src)}, testSubject)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func newVerifier(t testing.TB, ring *mint.KeyRing, mod func(*verifier.Config)) *verifier.Verifier {
	t.Helper()
	cfg := verifier.Config{ServerID: testServerID, Keys: ring, Now: clock}
	if mod != nil {
		mod(&cfg)
	}
	v, err := verifier.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func userPath(rest string) string {
	return "/accounts/v1/users/" + testSubject.UserID + rest
}

var _ = strings.Cut
