package verifier_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files from the current code")

var goldenTokensFile = filepath.Join("..", "testdata", "golden", "tokens.json")

// goldenSubject is a member of two organizations, one with every
// membership flag, so that every scope of member.json grants a route.
var goldenSubject = mint.Subject{
	UserID:    "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
	SessionID: "0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa",
	ClientID:  "client-1",
	Memberships: []mint.Membership{
		{OrgID: "org-a", Read: true, Edit: true, Manage: true, Delete: true},
		{OrgID: "org-b", Read: true},
	},
}

// goldenTokens mints testdata/policies/member.json for goldenSubject with
// the test ring, the fixed clock and fixed randomness: the same bytes on
// every run, as long as the token format does not change.
func goldenTokens(t *testing.T) mint.Tokens {
	t.Helper()
	p, err := policy.LoadFile(filepath.Join("..", "testdata", "policies", "member.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.BindClient || p.Expires != 900 {
		t.Fatalf("member.json changed: bindClient %v, expires %d; the golden test expects true and 900", p.BindClient, p.Expires)
	}
	// Enough for every method's identifier nonce and, for a step-up
	// token, its caveat's root key and sealing nonce too.
	nonces := make([]byte, 0, 128*len(mint.Methods()))
	for i := range 128 * len(mint.Methods()) {
		nonces = append(nonces, byte(i))
	}
	m, err := mint.New(mint.Config{Keys: testRing(t), ServerID: testServerID, Now: clock, Rand: bytes.NewReader(nonces)})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, goldenSubject)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

// TestGoldenTokens keeps the token format stable: tokens minted today
// must equal, byte for byte, those in testdata/golden/tokens.json, and
// the golden tokens must still verify. Run with -update to rewrite the
// file after a deliberate format change.
func TestGoldenTokens(t *testing.T) {
	toks := goldenTokens(t)
	got, err := json.MarshalIndent(toks.ByMethod, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenTokensFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenTokensFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", goldenTokensFile)
	}
	want, err := os.ReadFile(goldenTokensFile)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenTokens -update ./verifier/ to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("minted tokens differ from %s: the token format changed.\ngot:\n%s\nwant:\n%s", goldenTokensFile, got, want)
	}

	var golden map[string]string
	if err := json.Unmarshal(want, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden) != len(mint.Methods()) {
		t.Errorf("golden file has %d tokens, want one per method (%d)", len(golden), len(mint.Methods()))
	}
	v := newVerifier(t, testRing(t), nil)
	for method, tok := range golden {
		t.Run(method, func(t *testing.T) {
			m, err := mint.Decode(tok)
			if err != nil {
				t.Fatal(err)
			}
			var routes []string
			for _, c := range m.Caveats() {
				if arg, ok := strings.CutPrefix(string(c.Id), caveat.Routes.Name()+" "); ok {
					routes = strings.Fields(arg)
				}
			}
			if len(routes) == 0 {
				t.Fatal("no routes caveat")
			}
			for _, route := range routes {
				req := verifier.Request{Method: method, Path: concretePath(route), ClientID: goldenSubject.ClientID}
				id, err := v.Verify(tok, req)
				if err != nil {
					t.Fatalf("golden %s token, %s: %v", method, req.Path, err)
				}
				if id.UserID != goldenSubject.UserID || id.SessionID != goldenSubject.SessionID || id.ClientID != goldenSubject.ClientID ||
					id.KeyID != "k2" || id.Method != method || !id.Expires.Equal(fixedNow.Add(900*time.Second)) || !id.IssuedAt.Equal(fixedNow) {
					t.Fatalf("golden %s token identity: %+v", method, id)
				}
			}
			// And it is still bound to its client.
			req := verifier.Request{Method: method, Path: concretePath(routes[0])}
			if _, err := v.Verify(tok, req); err == nil {
				t.Fatalf("golden %s token accepted without its client", method)
			}
		})
	}
}

// concretePath turns a token route into a path it matches: wildcards
// become "x", organization parameters org-a (which has every flag in
// goldenSubject).
func concretePath(route string) string {
	for _, p := range []string{policy.OrgParamRead, policy.OrgParamEdit, policy.OrgParamManage, policy.OrgParamDelete, policy.OrgParamAny} {
		route = strings.ReplaceAll(route, ":"+p, "org-a")
	}
	segs := strings.Split(route, "/")
	for i, s := range segs {
		switch {
		case s == "*" || s == "**":
			segs[i] = "x"
		case strings.HasSuffix(s, "*"):
			segs[i] = strings.TrimSuffix(s, "*") + "x"
		}
	}
	return strings.Join(segs, "/")
}
