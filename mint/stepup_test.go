package mint_test

import (
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
)

// stepUpPolicy grants GET and DELETE on /a/v1/items/**, and DELETE on
// /a/v1/items/:userId only after a step-up of two minutes; a second
// scope asks five minutes of the same method, so the shorter wins.
const stepUpPolicy = `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [
    {"name": "read", "routes": ["/a/v1/items/**"], "methods": ["GET", "DELETE"]},
    {"name": "danger", "routes": ["/a/v1/items/:userId"], "methods": ["DELETE"], "stepUp": 120},
    {"name": "other", "routes": ["/a/v1/keys"], "methods": ["DELETE"], "stepUp": 300}
  ]}`

func mintStepUp(t *testing.T, ring *mint.KeyRing) mint.Tokens {
	t.Helper()
	m := newMinter(t, ring, func(c *mint.Config) { c.Rand = rand.Reader })
	toks, err := m.Mint(parsePolicies(t, stepUpPolicy), testSubject())
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func TestMintStepUpKeepsRoutesOutOfTheOrdinaryToken(t *testing.T) {
	ring := testRing(t)
	toks := mintStepUp(t, ring)

	if _, ok := toks.StepUp["GET"]; ok {
		t.Errorf("GET has a step-up token; no GET scope asks for one")
	}
	wantUp := []string{"/a/v1/items/" + testUser, "/a/v1/keys"}
	if !slices.Equal(toks.StepUpRoutes["DELETE"], wantUp) {
		t.Errorf("step-up DELETE routes = %v, want %v", toks.StepUpRoutes["DELETE"], wantUp)
	}
	if !slices.Equal(toks.Routes["DELETE"], []string{"/a/v1/items/**"}) {
		t.Errorf("ordinary DELETE routes = %v", toks.Routes["DELETE"])
	}
	// The ordinary token has only first-party caveats; the step-up
	// token's last caveat is the third-party one, addressed to the
	// discharge endpoint.
	caveatsOf(t, ring, toks.ByMethod["DELETE"])
	m, err := mint.Decode(toks.StepUp["DELETE"])
	if err != nil {
		t.Fatal(err)
	}
	cavs := m.Caveats()
	last := cavs[len(cavs)-1]
	if last.VerificationId == nil || last.Location != mint.DischargePath {
		t.Fatalf("last caveat %+v is not a third-party caveat for %s", last, mint.DischargePath)
	}
	for _, c := range cavs[:len(cavs)-1] {
		if c.VerificationId != nil {
			t.Errorf("caveat %q: only the last is third-party", c.Id)
		}
	}
	cid, ok := mint.StepUpCaveatID(toks.StepUp["DELETE"])
	if !ok || string(cid) != string(last.Id) {
		t.Fatalf("StepUpCaveatID = %x, %v", cid, ok)
	}
	if _, ok := mint.StepUpCaveatID(toks.ByMethod["DELETE"]); ok {
		t.Errorf("StepUpCaveatID found a caveat in the ordinary token")
	}
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	if claim.UserID != testUser || claim.SessionID != testSession || claim.Window != 120*time.Second {
		t.Errorf("claim = %+v, want the subject's user and session and the shorter window", claim)
	}
	if strings.Contains(string(cid), testUser) || strings.Contains(string(cid), testSession) {
		t.Errorf("the caveat identifier shows the user or session in clear")
	}
}

// TestDischargeVerifiesWithMacaroonV2 proves the token and its bound
// discharge with macaroon.v2's own verification, which knows nothing of
// authgw: the discharge's root key is the one the caveat sealed.
func TestDischargeVerifiesWithMacaroonV2(t *testing.T) {
	ring := testRing(t)
	toks := mintStepUp(t, ring)
	tok := toks.StepUp["DELETE"]
	cid, _ := mint.StepUpCaveatID(tok)
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	m := newMinter(t, ring, nil)
	dis, expires, err := m.Discharge(cid, claim)
	if err != nil {
		t.Fatal(err)
	}
	if !expires.Equal(fixedNow.Add(120 * time.Second)) {
		t.Errorf("discharge expires %v, want now + 2 min", expires)
	}
	bound, err := mint.BindDischarge(tok, dis)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(dischargeText string) error {
		tm, _ := mint.Decode(tok)
		dm, err := mint.Decode(dischargeText)
		if err != nil {
			return err
		}
		id, _ := mint.ParseIdentifier(tm.Id())
		root, _ := ring.RootKey(id.KeyID, tm.Id())
		var seen []string
		err = tm.Verify(root, func(c string) error { seen = append(seen, c); return nil }, []*macaroon.Macaroon{dm})
		if err == nil && !slices.Contains(seen, "time-before "+expires.Format(time.RFC3339)) {
			t.Errorf("the discharge's time-before was not among the checked caveats %q", seen)
		}
		return err
	}
	if err := verify(bound); err != nil {
		t.Errorf("bound discharge: %v", err)
	}
	if err := verify(dis); err == nil {
		t.Errorf("an unbound discharge verified")
	}
	other := mintStepUp(t, ring).StepUp["DELETE"]
	rebound, _ := mint.BindDischarge(other, dis)
	if err := verify(rebound); err == nil {
		t.Errorf("a discharge bound to another token verified")
	}
}

func TestOpenStepUpAcrossRotationAndDamage(t *testing.T) {
	old := minttest.KeyRing(t, "k1", 1)
	toks := mintStepUp(t, old)
	cid, _ := mint.StepUpCaveatID(toks.StepUp["DELETE"])

	rotated := minttest.Rotate(t, old, "k2", 2)
	if _, err := mint.OpenStepUp(rotated, cid); err != nil {
		t.Errorf("after a rotation the older key does not open its caveat: %v", err)
	}
	gone := minttest.KeyRing(t, "k2", 2)
	if _, err := mint.OpenStepUp(gone, cid); !errors.Is(err, mint.ErrBadStepUpCaveat) || !errors.Is(err, mint.ErrUnknownKey) {
		t.Errorf("key rotated out: error = %v, want ErrBadStepUpCaveat and ErrUnknownKey", err)
	}
	impostor := minttest.KeyRing(t, "k1", 9) // same ID, another secret
	if _, err := mint.OpenStepUp(impostor, cid); !errors.Is(err, mint.ErrBadStepUpCaveat) {
		t.Errorf("another secret opened the caveat: %v", err)
	}
	for i := range cid {
		damaged := slices.Clone(cid)
		damaged[i] ^= 0x01
		if _, err := mint.OpenStepUp(old, damaged); err == nil {
			t.Fatalf("a caveat damaged at byte %d opened", i)
		}
	}
	for n := range len(cid) {
		if _, err := mint.OpenStepUp(old, cid[:n]); err == nil {
			t.Fatalf("a caveat cut to %d bytes opened", n)
		}
	}
}

func TestMintOnlyStepUpRoutes(t *testing.T) {
	ring := testRing(t)
	m := newMinter(t, ring, nil)
	toks, err := m.Mint(parsePolicies(t, `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [{"name": "danger", "routes": ["/a/v1/x"], "methods": ["DELETE"], "stepUp": 60}]}`), testSubject())
	if err != nil {
		t.Fatalf("a policy of step-up routes only: %v", err)
	}
	if len(toks.ByMethod) != 0 || toks.StepUp["DELETE"] == "" {
		t.Errorf("tokens = %v, step-up = %v", toks.ByMethod, toks.StepUp)
	}
}
