package verifier_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	mrand "math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// This file attacks step-up tokens and their discharges as a holder, or
// another user of the same gateway, would. Every case states the error
// it expects and has a control that the same request with the genuine
// pieces is allowed, so each can fail.

// stepUpOrgPolicy adds to stepUpPolicy organization routes of POST whose
// role changes need a step-up of five minutes.
const stepUpOrgPolicy = `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [
    {"name": "own", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["GET", "DELETE"]},
    {"name": "danger", "routes": ["/accounts/v1/users/:userId"], "methods": ["DELETE"], "stepUp": 120},
    {"name": "orgs", "routes": ["/accounts/v1/organizations/:orgId/**"], "methods": ["GET", "POST"], "membership": "read"},
    {"name": "roles", "routes": ["/accounts/v1/organizations/:orgId/roles/**"], "methods": ["POST"], "membership": "read", "stepUp": 300}
  ]}`

// suSet is a subject's tokens minted from stepUpOrgPolicy with fresh
// randomness, and per step-up method a discharge, unbound and bound.
type suSet struct {
	tokens  mint.Tokens
	unbound map[string]string
	bound   map[string]string
}

// mintSuSet mints stepUpOrgPolicy for s with the ring at fixedNow, and
// discharges each step-up token at dischargeAt.
func mintSuSet(t testing.TB, ring *mint.KeyRing, s mint.Subject, dischargeAt time.Time) suSet {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: clock, Rand: rand.Reader})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{parsePolicy(t, stepUpOrgPolicy)}, s)
	if err != nil {
		t.Fatal(err)
	}
	set := suSet{tokens: toks, unbound: map[string]string{}, bound: map[string]string{}}
	for method, tok := range toks.StepUp {
		set.unbound[method] = dischargeOf(t, ring, tok, dischargeAt)
		set.bound[method] = rebind(t, set.unbound[method], tok)
	}
	return set
}

// dischargeOf is what the accounts service answers for tok's caveat at
// the time at: an unbound discharge.
func dischargeOf(t testing.TB, ring *mint.KeyRing, tok string, at time.Time) string {
	t.Helper()
	cid, ok := mint.StepUpCaveatID(tok)
	if !ok {
		t.Fatal("no step-up caveat")
	}
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := m.Discharge(cid, claim)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// expectStepUp checks one Verify outcome with discharges: allowed when
// expectErr is nil, else an error matching expectErr under exactly one
// of the 401/403/400 roots.
func expectStepUp(t testing.TB, v *verifier.Verifier, tok string, req verifier.Request, discharges []string, expectErr error) verifier.Identity {
	t.Helper()
	id, err := v.Verify(tok, req, discharges...)
	if expectErr == nil {
		if err != nil {
			t.Fatalf("Verify(%s %s) = %v, want allowed", req.Method, req.Path, err)
		}
		return id
	}
	if !errors.Is(err, expectErr) {
		t.Fatalf("Verify(%s %s) = %v, want %v", req.Method, req.Path, err, expectErr)
	}
	roots := 0
	for _, root := range []error{verifier.ErrUnauthorized, verifier.ErrForbidden, verifier.ErrBadRequest} {
		if errors.Is(err, root) {
			roots++
		}
	}
	if roots != 1 {
		t.Fatalf("Verify error %v wraps %d of the 401/403/400 roots, want exactly 1", err, roots)
	}
	return id
}

// otherUser and otherSession are subjects that differ from testSubject
// in the user, and in the session only.
var (
	otherUser = mint.Subject{UserID: "0190a1b2-c3d4-7e5f-8a9b-bbbbbbbbbbbb", SessionID: "0190a1b2-c3d4-7e5f-8a9b-cccccccccccc",
		Roles: []string{"user"}, Memberships: testSubject.Memberships}
	otherSession = mint.Subject{UserID: testSubject.UserID, SessionID: "0190a1b2-c3d4-7e5f-8a9b-dddddddddddd",
		Roles: testSubject.Roles, Memberships: testSubject.Memberships}
)

func orgPath(org, rest string) string { return "/accounts/v1/organizations/" + org + rest }

// withThirdParty appends a third-party caveat with macaroon.v2, as any
// holder can, keyed with rootKey, and returns the token.
func withThirdParty(t testing.TB, tok string, rootKey, cid []byte, location string) string {
	t.Helper()
	var m macaroon.Macaroon // not mint.Decode: it refuses a second third-party caveat
	if err := m.UnmarshalBinary(binaryOf(t, tok)); err != nil {
		t.Fatal(err)
	}
	if err := m.AddThirdPartyCaveat(rootKey, cid, location); err != nil {
		t.Fatal(err)
	}
	return encodeMacaroon(t, &m)
}

// selfDischarge is the discharge a holder makes of their own third-party
// caveat (rootKey, cid), with a time-before, bound to tok.
func selfDischarge(t testing.TB, tok string, rootKey, cid []byte, until time.Time) string {
	t.Helper()
	d, err := macaroon.New(rootKey, cid, "", macaroon.V2)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddFirstPartyCaveat([]byte("time-before " + until.UTC().Format(time.RFC3339))); err != nil {
		t.Fatal(err)
	}
	var tm macaroon.Macaroon // not mint.Decode: tok may hold two third-party caveats
	if err := tm.UnmarshalBinary(binaryOf(t, tok)); err != nil {
		t.Fatal(err)
	}
	d.Bind(tm.Signature())
	return encodeMacaroon(t, d)
}

// v2Parts is a V2 macaroon taken apart with its third-party caveat's
// verification ID and location, to be written back changed without any
// key.
type v2Parts struct {
	id      []byte
	caveats []v2Caveat
	sig     []byte
}

type v2Caveat struct {
	location string
	id, vid  []byte
}

func v2PartsOf(t testing.TB, tok string) v2Parts {
	t.Helper()
	m, err := mint.Decode(tok)
	if err != nil {
		t.Fatal(err)
	}
	p := v2Parts{id: bytes.Clone(m.Id()), sig: bytes.Clone(m.Signature())}
	for _, c := range m.Caveats() {
		p.caveats = append(p.caveats, v2Caveat{location: c.Location, id: bytes.Clone(c.Id), vid: bytes.Clone(c.VerificationId)})
	}
	return p
}

func (p v2Parts) encode() string {
	b := []byte{2}
	b = appendPacket(b, 2, p.id)
	b = append(b, 0)
	for _, c := range p.caveats {
		if c.location != "" {
			b = appendPacket(b, 1, []byte(c.location))
		}
		b = appendPacket(b, 2, c.id)
		if c.vid != nil {
			b = appendPacket(b, 4, c.vid)
		}
		b = append(b, 0)
	}
	b = append(b, 0)
	return encodeBinary(appendPacket(b, 6, p.sig))
}

// third returns the index of the third-party caveat.
func (p v2Parts) third(t testing.TB) int {
	t.Helper()
	for i, c := range p.caveats {
		if c.vid != nil {
			return i
		}
	}
	t.Fatal("no third-party caveat")
	return -1
}

func TestStepUpAttack_discharges(t *testing.T) {
	ring := testRing(t)
	me := mintSuSet(t, ring, testSubject, fixedNow)
	again := mintSuSet(t, ring, testSubject, fixedNow) // the same user and session, a later login's tokens
	user := mintSuSet(t, ring, otherUser, fixedNow)
	session := mintSuSet(t, ring, otherSession, fixedNow)
	v := newVerifier(t, ring, nil)
	del := me.tokens.StepUp["DELETE"]
	post := me.tokens.StepUp["POST"]
	delReq := deleteReq(userPath(""))
	postReq := verifier.Request{Method: "POST", Path: orgPath("org-a", "/roles/admin")}

	narrowed := func(extra string) string { return attenuateDischarge(t, del, me.unbound["DELETE"], extra) }
	dischargeWithThirdParty := func() string {
		d, err := mint.Decode(me.unbound["DELETE"])
		if err != nil {
			t.Fatal(err)
		}
		if err := d.AddThirdPartyCaveat(bytes.Repeat([]byte{5}, 32), []byte("mine"), mint.DischargePath); err != nil {
			t.Fatal(err)
		}
		return rebind(t, encodeMacaroon(t, d), del)
	}
	tests := []struct {
		name       string
		token      string
		req        verifier.Request
		discharges []string
		expectErr  error
	}{
		{"control: DELETE step-up token with its discharge", del, delReq, []string{me.bound["DELETE"]}, nil},
		{"control: POST step-up token with its discharge", post, postReq, []string{me.bound["POST"]}, nil},
		{"no discharge", del, delReq, nil, verifier.ErrNoDischarge},
		{"empty discharge", del, delReq, []string{""}, verifier.ErrBadDischarge},
		{"unbound discharge", del, delReq, []string{me.unbound["DELETE"]}, verifier.ErrBadDischarge},
		{"discharge bound twice", del, delReq, []string{rebind(t, me.bound["DELETE"], del)}, verifier.ErrBadDischarge},
		{"the POST token's discharge for the DELETE token", del, delReq, []string{me.bound["POST"]}, verifier.ErrBadDischarge},
		{"rebinding: this caveat's discharge bound to the POST token", del, delReq, []string{rebind(t, me.unbound["DELETE"], post)}, verifier.ErrBadDischarge},
		{"rebinding: the POST discharge bound to the DELETE token", del, delReq, []string{rebind(t, me.unbound["POST"], del)}, verifier.ErrBadDischarge},
		{"a later login's discharge (same user and session)", del, delReq, []string{again.bound["DELETE"]}, verifier.ErrBadDischarge},
		{"a later login's discharge bound to this token", del, delReq, []string{rebind(t, again.unbound["DELETE"], del)}, verifier.ErrBadDischarge},
		{"another user's discharge", del, delReq, []string{user.bound["DELETE"]}, verifier.ErrBadDischarge},
		{"another user's discharge bound to this token", del, delReq, []string{rebind(t, user.unbound["DELETE"], del)}, verifier.ErrBadDischarge},
		{"another session's discharge", del, delReq, []string{session.bound["DELETE"]}, verifier.ErrBadDischarge},
		{"another session's discharge bound to this token", del, delReq, []string{rebind(t, session.unbound["DELETE"], del)}, verifier.ErrBadDischarge},
		{"another user's token with my discharge", user.tokens.StepUp["DELETE"], deleteReq("/accounts/v1/users/" + otherUser.UserID), []string{me.bound["DELETE"]}, verifier.ErrBadDischarge},
		{"the token as its own discharge", del, delReq, []string{del}, verifier.ErrBadDischarge},
		{"the ordinary token as a discharge", del, delReq, []string{me.tokens.ByMethod["DELETE"]}, verifier.ErrBadDischarge},
		{"discharge describing the user", del, delReq, []string{narrowed("user " + testSubject.UserID)}, verifier.ErrBadDischarge},
		{"discharge describing the session", del, delReq, []string{narrowed("session " + testSubject.SessionID)}, verifier.ErrBadDischarge},
		{"discharge describing the roles", del, delReq, []string{narrowed("user-roles user")}, verifier.ErrBadDischarge},
		{"discharge describing the organizations", post, postReq, []string{attenuateDischarge(t, post, me.unbound["POST"], "orgs org-a:r")}, verifier.ErrBadDischarge},
		{"discharge with an unknown caveat", del, delReq, []string{narrowed("colour blue")}, verifier.ErrBadDischarge},
		{"discharge with a third-party caveat", del, delReq, []string{dischargeWithThirdParty()}, verifier.ErrBadDischarge},
		{"discharge with a narrowing caveat that holds", del, delReq, []string{narrowed("routes /accounts/v1/users/*")}, nil},
		{"discharge with a later time-before does not extend", del, delReq, []string{narrowed("time-before 2099-01-01T00:00:00Z")}, nil},
		{"discharge for another method", del, delReq, []string{narrowed("method POST")}, verifier.ErrDischargeCaveat},
		{"discharge for another route", del, delReq, []string{narrowed("routes /accounts/v1/users/x")}, verifier.ErrDischargeCaveat},
		{"discharge excluding the route", del, delReq, []string{narrowed("except-routes /accounts/v1/users/*")}, verifier.ErrDischargeCaveat},
		{"discharge for another server", del, delReq, []string{narrowed("server-id other-server")}, verifier.ErrWrongServer},
		{"discharge bound to a client the request lacks", del, delReq, []string{narrowed("client client-9")}, verifier.ErrWrongClient},
		{"discharge for other addresses", del, delReq, []string{narrowed("ip 192.0.2.0/24")}, verifier.ErrIPNotAllowed},
		{"garbage, then the genuine discharge", del, delReq, []string{"!!", user.bound["DELETE"], me.bound["DELETE"]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := expectStepUp(t, v, tt.token, tt.req, tt.discharges, tt.expectErr)
			if tt.expectErr == nil && (!id.StepUp || id.UserID != testSubject.UserID) {
				t.Errorf("identity %+v, want a step-up of the test user", id)
			}
			if tt.expectErr != nil && errors.Is(tt.expectErr, verifier.ErrUnauthorized) {
				var se *verifier.StepUpError
				if _, err := v.Verify(tt.token, tt.req, tt.discharges...); !errors.As(err, &se) || se.Location != mint.DischargePath {
					t.Errorf("refusal %v is not a StepUpError naming %s", err, mint.DischargePath)
				}
			}
		})
	}
}

func TestStepUpAttack_timeAndRevocation(t *testing.T) {
	ring := testRing(t)
	set := verifier.NewRevocationSet()
	clk := fixedNow
	v := newVerifier(t, ring, func(c *verifier.Config) { c.Now = func() time.Time { return clk }; c.Revocations = set })
	me := mintSuSet(t, ring, testSubject, fixedNow)
	del := me.tokens.StepUp["DELETE"]
	req := deleteReq(userPath(""))
	d := []string{me.bound["DELETE"]}
	old := mintSuSet(t, ring, testSubject, fixedNow.Add(-3*time.Minute)) // discharged three minutes ago, a two-minute window

	tests := []struct {
		name       string
		at         time.Time
		discharges []string
		expectErr  error
	}{
		{"fresh", fixedNow, d, nil},
		{"at the end of the window, within the skew", fixedNow.Add(2*time.Minute + verifier.DefaultSkew - time.Second), d, nil},
		{"window and skew over", fixedNow.Add(2*time.Minute + verifier.DefaultSkew), d, verifier.ErrExpired},
		{"five minutes later, the token still valid", fixedNow.Add(5 * time.Minute), d, verifier.ErrExpired},
		{"discharged three minutes before", fixedNow, []string{rebind(t, old.unbound["DELETE"], del)}, verifier.ErrBadDischarge},
		{"discharged three minutes before, its own token", fixedNow, []string{old.bound["DELETE"]}, verifier.ErrExpired},
		{"the token expired, the discharge fresh", me.tokens.Expires.Add(verifier.DefaultSkew), []string{rebind(t, dischargeOf(t, ring, del, me.tokens.Expires), del)}, verifier.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk = tt.at
			tok := del
			if tt.name == "discharged three minutes before, its own token" {
				tok = old.tokens.StepUp["DELETE"]
			}
			expectStepUp(t, v, tok, req, tt.discharges, tt.expectErr)
		})
	}
	// Reused after logout: the session's revocation refuses the step-up
	// token however good its discharge (a memo hit included).
	clk = fixedNow
	expectStepUp(t, v, del, req, d, nil)
	set.RevokeSession(testSubject.SessionID, me.tokens.Expires.Add(time.Hour))
	expectStepUp(t, v, del, req, d, verifier.ErrRevoked)
	expectStepUp(t, v, me.tokens.ByMethod["DELETE"], deleteReq(userPath("/emails/1")), nil, verifier.ErrRevoked)
}

func TestStepUpAttack_keyRotation(t *testing.T) {
	k1 := ringOf(t, "k1", 1)
	k2k1 := ringOf(t, "k2", 2, "k1", 1)
	k2 := ringOf(t, "k2", 2)
	old := mintSuSet(t, k1, testSubject, fixedNow)     // minted and discharged under k1
	fresh := mintSuSet(t, k2k1, testSubject, fixedNow) // under k2 after the rotation
	req := deleteReq(userPath(""))

	t.Run("after adding k2, k1's step-up token and discharge still verify", func(t *testing.T) {
		expectStepUp(t, newVerifier(t, k2k1, nil), old.tokens.StepUp["DELETE"], req, []string{old.bound["DELETE"]}, nil)
		expectStepUp(t, newVerifier(t, k2k1, nil), fresh.tokens.StepUp["DELETE"], req, []string{fresh.bound["DELETE"]}, nil)
	})
	t.Run("after k1 is removed, its token is refused", func(t *testing.T) {
		expectStepUp(t, newVerifier(t, k2, nil), old.tokens.StepUp["DELETE"], req, []string{old.bound["DELETE"]}, verifier.ErrUnknownKey)
		expectStepUp(t, newVerifier(t, k2, nil), fresh.tokens.StepUp["DELETE"], req, []string{fresh.bound["DELETE"]}, nil)
	})
	t.Run("after k1 is removed, its caveat can no longer be discharged", func(t *testing.T) {
		cid, _ := mint.StepUpCaveatID(old.tokens.StepUp["DELETE"])
		if _, err := mint.OpenStepUp(k2, cid); !errors.Is(err, mint.ErrBadStepUpCaveat) || !errors.Is(err, mint.ErrUnknownKey) {
			t.Errorf("OpenStepUp with k1 gone: %v, want ErrBadStepUpCaveat and ErrUnknownKey", err)
		}
		if _, err := mint.OpenStepUp(k2k1, cid); err != nil {
			t.Errorf("OpenStepUp with k1 present: %v", err)
		}
	})
	t.Run("a k2 token whose caveat k1 sealed, once k1 is gone", func(t *testing.T) {
		// Only a holder of both keys can build it: k2's token, re-signed
		// with k2's root key, carrying the caveat k1 sealed for the same
		// user and session. With k1 in the ring it is as good as any; with
		// k1 gone its caveat opens with no key and it is refused.
		cid, _ := mint.StepUpCaveatID(old.tokens.StepUp["DELETE"])
		tok, key := resignWithCaveat(t, k2k1, fresh.tokens.StepUp["DELETE"], cid)
		d := selfDischarge(t, tok, key, cid, fixedNow.Add(time.Minute))
		expectStepUp(t, newVerifier(t, k2k1, nil), tok, req, []string{d}, nil)
		expectStepUp(t, newVerifier(t, k2, nil), tok, req, []string{d}, verifier.ErrBadCaveat)
	})
	t.Run("a discharge made with a key of another ring", func(t *testing.T) {
		other := mintSuSet(t, ringOf(t, "k2", 9, "k1", 1), testSubject, fixedNow)
		expectStepUp(t, newVerifier(t, k2k1, nil), fresh.tokens.StepUp["DELETE"], req, []string{rebind(t, other.unbound["DELETE"], fresh.tokens.StepUp["DELETE"])}, verifier.ErrBadDischarge)
		expectStepUp(t, newVerifier(t, k2k1, nil), other.tokens.StepUp["DELETE"], req, []string{other.bound["DELETE"]}, verifier.ErrBadSignature)
	})
}

// resignWithCaveat rebuilds a step-up token with the ring's root key for
// its identifier (as only the issuer can): its first-party caveats, then
// a third-party caveat with identifier cid keyed with the key sealed in
// it, which it returns.
func resignWithCaveat(t testing.TB, ring *mint.KeyRing, tok string, cid []byte) (string, []byte) {
	t.Helper()
	p := v2PartsOf(t, tok)
	var first []string
	for _, c := range p.caveats {
		if c.vid == nil {
			first = append(first, string(c.id))
		}
	}
	m := signWith(t, rootKeyOf(t, ring, p.id), p.id, first)
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	k := claim.CaveatKey()
	key := k[:]
	if err := m.AddThirdPartyCaveat(key, cid, mint.DischargePath); err != nil {
		t.Fatal(err)
	}
	return encodeMacaroon(t, m), key
}

func TestStepUpAttack_tokenTampering(t *testing.T) {
	ring := testRing(t)
	me := mintSuSet(t, ring, testSubject, fixedNow)
	user := mintSuSet(t, ring, otherUser, fixedNow)
	session := mintSuSet(t, ring, otherSession, fixedNow)
	v := newVerifier(t, ring, nil)
	del := me.tokens.StepUp["DELETE"]
	req := deleteReq(userPath(""))
	d := []string{me.bound["DELETE"]}
	parts := v2PartsOf(t, del)
	i := parts.third(t)
	cid := parts.caveats[i].id
	key := bytes.Repeat([]byte{9}, 32)

	change := func(f func(p *v2Parts)) string {
		p := v2PartsOf(t, del)
		f(&p)
		return p.encode()
	}
	flip := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] ^= 1; return b }
	tests := []struct {
		name       string
		token      string
		discharges []string
		expectErr  error
	}{
		{"control: re-encoded unchanged", change(func(*v2Parts) {}), d, nil},
		{"third-party caveat removed, signature kept", change(func(p *v2Parts) { p.caveats = append(p.caveats[:i], p.caveats[i+1:]...) }), d, verifier.ErrBadSignature},
		{"third-party caveat removed, no discharge", change(func(p *v2Parts) { p.caveats = append(p.caveats[:i], p.caveats[i+1:]...) }), nil, verifier.ErrBadSignature},
		{"caveat identifier altered (first byte)", change(func(p *v2Parts) { p.caveats[i].id = flip(p.caveats[i].id, 0) }), d, verifier.ErrBadSignature},
		{"caveat identifier altered (last byte)", change(func(p *v2Parts) { p.caveats[i].id = flip(p.caveats[i].id, len(p.caveats[i].id)-1) }), d, verifier.ErrBadSignature},
		{"caveat identifier of another user's token", change(func(p *v2Parts) { p.caveats[i].id, _ = mint.StepUpCaveatID(user.tokens.StepUp["DELETE"]) }), d, verifier.ErrBadSignature},
		{"verification ID altered", change(func(p *v2Parts) { p.caveats[i].vid = flip(p.caveats[i].vid, 30) }), d, verifier.ErrBadSignature},
		{"verification ID truncated", change(func(p *v2Parts) { p.caveats[i].vid = p.caveats[i].vid[:40] }), d, verifier.ErrBadSignature},
		{"location altered (it is not signed)", change(func(p *v2Parts) { p.caveats[i].location = "https://evil.example/discharge" }), d, verifier.ErrBadCaveat},
		{"location removed", change(func(p *v2Parts) { p.caveats[i].location = "" }), d, verifier.ErrBadCaveat},
		{"third-party caveat turned first-party (VID dropped)", change(func(p *v2Parts) { p.caveats[i].vid, p.caveats[i].location = nil, "" }), d, verifier.ErrBadSignature},
		{"a first-party caveat given a VID", change(func(p *v2Parts) { p.caveats[0].vid = parts.caveats[i].vid; p.caveats[0].location = mint.DischargePath }), d, verifier.ErrMalformedToken},
		{"holder's own third-party caveat on top, self-discharged", withThirdParty(t, del, key, []byte("mine"), mint.DischargePath),
			append([]string{selfDischarge(t, withThirdParty(t, del, key, []byte("mine"), mint.DischargePath), key, []byte("mine"), fixedNow.Add(time.Minute))}, d...), verifier.ErrMalformedToken},
		{"two third-party caveats: the real one copied", withThirdParty(t, del, key, cid, mint.DischargePath), d, verifier.ErrMalformedToken},
		{"ordinary token with the holder's third-party caveat, self-discharged", withThirdParty(t, me.tokens.ByMethod["DELETE"], key, []byte("mine"), mint.DischargePath),
			[]string{selfDischarge(t, withThirdParty(t, me.tokens.ByMethod["DELETE"], key, []byte("mine"), mint.DischargePath), key, []byte("mine"), fixedNow.Add(time.Minute))}, verifier.ErrBadCaveat},
		{"ordinary token with a copy of the real caveat ID, self-discharged", withThirdParty(t, me.tokens.ByMethod["DELETE"], key, cid, mint.DischargePath),
			[]string{selfDischarge(t, withThirdParty(t, me.tokens.ByMethod["DELETE"], key, cid, mint.DischargePath), key, cid, fixedNow.Add(time.Minute))}, verifier.ErrBadCaveat},
		{"step-up token's caveat ID copied onto another user's ordinary token, self-discharged", withThirdParty(t, user.tokens.ByMethod["DELETE"], key, cid, mint.DischargePath),
			[]string{selfDischarge(t, withThirdParty(t, user.tokens.ByMethod["DELETE"], key, cid, mint.DischargePath), key, cid, fixedNow.Add(time.Minute))}, verifier.ErrConflict},
		{"another session's step-up token", session.tokens.StepUp["DELETE"], []string{session.bound["DELETE"]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectStepUp(t, v, tt.token, req, tt.discharges, tt.expectErr)
		})
	}

	// The copied caveat ID on an ordinary route: were the key in the
	// verification ID trusted, the holder would pass for stepped up
	// (Identity.StepUp) without a fresh proof.
	t.Run("copied caveat ID on an ordinary route", func(t *testing.T) {
		ord := me.tokens.ByMethod["DELETE"]
		expectStepUp(t, v, ord, deleteReq(userPath("/emails/1")), nil, nil)
		forged := withThirdParty(t, ord, key, cid, mint.DischargePath)
		id, err := v.Verify(forged, deleteReq(userPath("/emails/1")), selfDischarge(t, forged, key, cid, fixedNow.Add(time.Minute)))
		if !errors.Is(err, verifier.ErrBadCaveat) {
			t.Fatalf("Verify = %+v, %v; want ErrBadCaveat", id, err)
		}
	})

	// The issuer-only forgeries: a token re-signed with its real root key
	// whose caveat ID names another user or session (sealed by the ring
	// for them) is refused although every signature holds.
	for _, tt := range []struct {
		name  string
		other suSet
	}{{"another user's caveat", user}, {"another session's caveat", session}} {
		t.Run("re-signed with "+tt.name, func(t *testing.T) {
			ocid, _ := mint.StepUpCaveatID(tt.other.tokens.StepUp["DELETE"])
			tok, key := resignWithCaveat(t, ring, del, ocid)
			expectStepUp(t, v, tok, req, []string{selfDischarge(t, tok, key, ocid, fixedNow.Add(time.Minute))}, verifier.ErrConflict)
		})
	}
	t.Run("re-signed with its own caveat: control", func(t *testing.T) {
		tok, key := resignWithCaveat(t, ring, del, cid)
		expectStepUp(t, v, tok, req, []string{selfDischarge(t, tok, key, cid, fixedNow.Add(time.Minute))}, nil)
	})
}

func TestStepUpAttack_routes(t *testing.T) {
	ring := testRing(t)
	me := mintSuSet(t, ring, testSubject, fixedNow)
	v := newVerifier(t, ring, nil)
	delUp, postUp := me.tokens.StepUp["DELETE"], me.tokens.StepUp["POST"]
	delD, postD := []string{me.bound["DELETE"]}, []string{me.bound["POST"]}
	get, del, post := me.tokens.ByMethod["GET"], me.tokens.ByMethod["DELETE"], me.tokens.ByMethod["POST"]
	req := func(method, path string) verifier.Request { return verifier.Request{Method: method, Path: path} }
	tests := []struct {
		name       string
		token      string
		req        verifier.Request
		discharges []string
		expectErr  error
	}{
		// The step-up tokens reach only their own routes and method.
		{"DELETE step-up token: its route", delUp, req("DELETE", userPath("")), delD, nil},
		{"DELETE step-up token: an ordinary DELETE route", delUp, req("DELETE", userPath("/emails/1")), delD, verifier.ErrRouteNotGranted},
		{"DELETE step-up token for GET of its route", delUp, req("GET", userPath("")), delD, verifier.ErrMethodNotGranted},
		{"DELETE step-up token for an ordinary GET route", delUp, req("GET", userPath("/emails")), delD, verifier.ErrMethodNotGranted},
		{"DELETE step-up token for a POST step-up route", delUp, req("POST", orgPath("org-a", "/roles/x")), delD, verifier.ErrMethodNotGranted},
		{"DELETE step-up token for a POST step-up route, POST's discharge", delUp, req("POST", orgPath("org-a", "/roles/x")), postD, verifier.ErrMethodNotGranted},
		{"POST step-up token: its route, org-a", postUp, req("POST", orgPath("org-a", "/roles/x")), postD, nil},
		{"POST step-up token: its route, org-b", postUp, req("POST", orgPath("org-b", "/roles/x/y")), postD, nil},
		{"POST step-up token: an organization it is not in", postUp, req("POST", orgPath("org-c", "/roles/x")), postD, verifier.ErrRouteNotGranted},
		{"POST step-up token: an ordinary organization route", postUp, req("POST", orgPath("org-a", "/members")), postD, verifier.ErrRouteNotGranted},
		{"POST step-up token for DELETE of the user", postUp, req("DELETE", userPath("")), postD, verifier.ErrMethodNotGranted},
		// The ordinary tokens never reach a step-up route, with or
		// without a discharge, whatever the organization.
		{"ordinary DELETE token: the step-up route", del, req("DELETE", userPath("")), nil, verifier.ErrRouteExcluded},
		{"ordinary DELETE token: the step-up route with a discharge", del, req("DELETE", userPath("")), delD, verifier.ErrRouteExcluded},
		{"ordinary DELETE token: an ordinary route", del, req("DELETE", userPath("/emails/1")), nil, nil},
		{"ordinary POST token: a role route of org-a", post, req("POST", orgPath("org-a", "/roles/x")), postD, verifier.ErrRouteExcluded},
		{"ordinary POST token: a role route of org-b", post, req("POST", orgPath("org-b", "/roles")), nil, verifier.ErrRouteExcluded},
		{"ordinary POST token: a role route of an organization it is not in", post, req("POST", orgPath("org-c", "/roles/x")), nil, verifier.ErrForbidden},
		{"ordinary POST token: an ordinary organization route", post, req("POST", orgPath("org-a", "/members")), nil, nil},
		{"ordinary GET token: a GET role route (no step-up for GET)", get, req("GET", orgPath("org-a", "/roles/x")), nil, nil},
		// Attenuation cannot lift the exception: a holder's routes
		// caveat only narrows.
		{"ordinary POST token narrowed to the role route", attenuate(t, post, "routes "+orgPath("org-a", "/roles/**")), req("POST", orgPath("org-a", "/roles/x")), nil, verifier.ErrRouteExcluded},
		{"ordinary DELETE token narrowed to the step-up route", attenuate(t, del, "routes "+userPath("")), req("DELETE", userPath("")), delD, verifier.ErrRouteExcluded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := expectStepUp(t, v, tt.token, tt.req, tt.discharges, tt.expectErr)
			if tt.expectErr == nil && id.StepUp != (tt.token == delUp || tt.token == postUp) {
				t.Errorf("identity StepUp = %v", id.StepUp)
			}
		})
	}
}

// TestStepUpAttack_neverWidens is the attenuation property extended to
// step-up: whatever token of the login (ordinary or step-up, of any
// method), whatever caveats its holder adds to it and to discharges,
// whichever discharges (bound to it or not, of another token, user or
// session) come with it, no request is allowed that the token of the same
// policy minted without any stepUp would refuse.
func TestStepUpAttack_neverWidens(t *testing.T) {
	ring := testRing(t)
	me := mintSuSet(t, ring, testSubject, fixedNow)
	others := []suSet{mintSuSet(t, ring, otherUser, fixedNow), mintSuSet(t, ring, otherSession, fixedNow), mintSuSet(t, ring, testSubject, fixedNow)}
	plain := strings.ReplaceAll(strings.ReplaceAll(stepUpOrgPolicy, `, "stepUp": 120`, ""), `, "stepUp": 300`, "")
	if plain == stepUpOrgPolicy || strings.Contains(plain, "stepUp") {
		t.Fatal("could not take the stepUp out of the policy")
	}
	ref := mintFor(t, ring, plain, testSubject)
	if len(ref.StepUp) != 0 {
		t.Fatal("the reference minted step-up tokens")
	}
	uid := testSubject.UserID
	patterns := []string{"/**", "/accounts/v1/**", "/accounts/v1/users/*", "/accounts/v1/users/" + uid, "/accounts/v1/users/" + uid + "/**",
		"/accounts/v1/organizations/*/**", "/accounts/v1/organizations/org-a/**", "/accounts/v1/organizations/org-c/roles/*",
		"/accounts/v1/organizations/:orgId/roles/**", "/accounts/v1/organizations/:orgIdRead/**", "/x"}
	paths := []string{userPath(""), userPath("/emails/1"), "/accounts/v1/users/someone-else", orgPath("org-a", "/roles/admin"),
		orgPath("org-b", "/roles"), orgPath("org-c", "/roles/x"), orgPath("org-a", "/members"), orgPath("org-c", "/members"), "/x", "/"}
	methods := []string{"GET", "HEAD", "POST", "DELETE", "PATCH"}
	ips := []netip.Addr{{}, netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.7.7")}
	offsets := []time.Duration{0, time.Minute, 2*time.Minute + 29*time.Second, 2*time.Minute + verifier.DefaultSkew, 4 * time.Minute,
		5*time.Minute + 29*time.Second, 6 * time.Minute, 10*time.Minute + 29*time.Second, 11 * time.Minute, -time.Hour}
	r := mrand.New(mrand.NewPCG(2026, 16))
	pick := func(list []string) string { return list[r.IntN(len(list))] }
	randomCaveat := func() string {
		switch r.IntN(8) {
		case 0, 1:
			return "routes " + pick(patterns)
		case 2:
			return "except-routes " + pick(patterns)
		case 3:
			return "time-before " + fixedNow.Add(time.Duration(r.IntN(16)-2)*time.Minute).Format(time.RFC3339)
		case 4:
			return "ip " + pick([]string{"10.0.0.0/8", "192.168.0.0/16", "0.0.0.0/0"})
		case 5:
			return "method " + pick([]string{"GET", "POST", "DELETE"})
		case 6:
			return "client " + pick([]string{"client-1", "client-2"})
		default:
			return "server-id " + pick([]string{testServerID, "other"})
		}
	}
	caveats := func(max int) []string {
		out := make([]string, r.IntN(max+1))
		for i := range out {
			out[i] = randomCaveat()
		}
		return out
	}

	clk := fixedNow
	v := newVerifier(t, ring, func(c *verifier.Config) { c.Now = func() time.Time { return clk } })
	var allowed, allowedStepUp, refusedByRef int
	const iterations, requestsEach = 2000, 6
	for i := 0; i < iterations; i++ {
		// The token: mostly a step-up token, sometimes an ordinary one.
		stepUpMethod := pick([]string{"DELETE", "POST"})
		tok := me.tokens.StepUp[stepUpMethod]
		if r.IntN(4) == 0 {
			tok = me.tokens.ByMethod[pick([]string{"GET", "POST", "DELETE"})]
		}
		added := caveats(2)
		if len(added) > 0 {
			tok = attenuate(t, tok, added...)
		}
		// The discharges: mostly the right caveat's, narrowed and bound
		// to the token as sent; sometimes another's or a stale binding.
		var discharges []string
		for n := r.IntN(3); n > 0; n-- {
			switch r.IntN(6) {
			case 0, 1, 2:
				discharges = append(discharges, attenuateDischarge(t, tok, me.unbound[stepUpMethod], caveats(2)...))
			case 3:
				discharges = append(discharges, me.bound[stepUpMethod])
			case 4:
				o := others[r.IntN(len(others))]
				discharges = append(discharges, attenuateDischarge(t, tok, o.unbound[stepUpMethod], caveats(1)...))
			default:
				discharges = append(discharges, me.unbound[pick([]string{"DELETE", "POST"})])
			}
		}
		for k := 0; k < requestsEach; k++ {
			req := verifier.Request{Method: pick(methods), Path: pick(paths), ClientID: pick([]string{"", "client-1"}), ClientIP: ips[r.IntN(len(ips))]}
			clk = fixedNow.Add(offsets[r.IntN(len(offsets))])
			if r.IntN(2) == 0 {
				// Half the requests aim at the step-up routes, soon.
				req.Method, req.Path = stepUpMethod, userPath("")
				if stepUpMethod == "POST" {
					req.Path = orgPath(pick([]string{"org-a", "org-b", "org-c"}), "/roles/x")
				}
				clk = fixedNow.Add(offsets[r.IntN(3)])
			}
			id, err := v.Verify(tok, req, discharges...)
			if err != nil {
				continue
			}
			allowed++
			if id.StepUp {
				allowedStepUp++
			}
			method := req.Method
			if method == "HEAD" {
				method = "GET"
			}
			if _, refErr := v.Verify(ref.ByMethod[method], req); refErr != nil {
				t.Fatalf("widened at +%v: %s %s (client %q, ip %v) allowed with token caveats %q and %d discharges, refused to the token minted without step-up: %v",
					clk.Sub(fixedNow), req.Method, req.Path, req.ClientID, req.ClientIP, added, len(discharges), refErr)
			}
		}
	}
	// Count what the reference refuses among the same requests, so the
	// property is not vacuous: both sides must see refusals and grants.
	for _, p := range paths {
		clk = fixedNow
		if _, err := v.Verify(ref.ByMethod["GET"], getReq(p)); err != nil {
			refusedByRef++
		}
	}
	if allowed < 300 || allowedStepUp < 150 || refusedByRef == 0 {
		t.Fatalf("too few interesting cases: %d allowed, %d of them stepped up, %d paths the reference refuses", allowed, allowedStepUp, refusedByRef)
	}
	t.Logf("%d requests: %d allowed, %d of them with a discharge", iterations*requestsEach, allowed, allowedStepUp)
}
