package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
)

// thirdPartyView is a step-up token's third-party caveat as inspect shows
// it.
type thirdPartyView struct {
	Location string `json:"location"`
	// CaveatID is the caveat's identifier in unpadded base64url, as the
	// discharge endpoint takes it.
	CaveatID string `json:"caveatId"`
	// SealedWithKey is the key the identifier names as its sealer; ""
	// when it is not shaped as a step-up caveat of authgw.
	SealedWithKey string `json:"sealedWithKey,omitempty"`
	// Sealed is verdictUnchecked without a ring, else verdictValid when
	// the ring opens it, verdictInvalid when not.
	Sealed        string `json:"sealed"`
	SealedDetail  string `json:"sealedDetail,omitempty"`
	UserID        string `json:"userId,omitempty"`
	SessionID     string `json:"sessionId,omitempty"`
	WindowSeconds int    `json:"windowSeconds,omitempty"`
	raw           []byte
}

func newThirdPartyView(cav macaroon.Caveat) *thirdPartyView {
	tp := &thirdPartyView{Location: cav.Location, CaveatID: base64.RawURLEncoding.EncodeToString(cav.Id), Sealed: verdictUnchecked, raw: cav.Id}
	tp.SealedWithKey, _ = mint.StepUpCaveatKeyID(cav.Id)
	return tp
}

// open opens the caveat ID with the ring, to show whom it is for.
func (tp *thirdPartyView) open(ring *mint.KeyRing) {
	claim, err := mint.OpenStepUp(ring, tp.raw)
	if err != nil {
		tp.Sealed, tp.SealedDetail = verdictInvalid, err.Error()
		return
	}
	tp.Sealed = verdictValid
	tp.UserID, tp.SessionID, tp.WindowSeconds = claim.UserID, claim.SessionID, int(claim.Window/time.Second)
}

func (tp *thirdPartyView) writeSealed(w io.Writer) {
	key := "it names key " + strconv.Quote(tp.SealedWithKey)
	if tp.SealedWithKey == "" {
		key = "NOT a step-up caveat of authgw"
	}
	fmt.Fprintf(w, "  sealed:    for the accounts service (%s)\n", key)
	switch tp.Sealed {
	case verdictValid:
		fmt.Fprintf(w, "  opens with the key ring: user %s, session %s, discharges live %ds\n", tp.UserID, tp.SessionID, tp.WindowSeconds)
	case verdictInvalid:
		fmt.Fprintf(w, "  DOES NOT open with the key ring (%s)\n", tp.SealedDetail)
	}
}

// dischargeView is a discharge as inspect shows it.
type dischargeView struct {
	// CaveatID is the discharge's identifier: the ID of the caveat it
	// discharges, in unpadded base64url.
	CaveatID      string     `json:"caveatId"`
	SealedWithKey string     `json:"sealedWithKey,omitempty"`
	Caveats       []string   `json:"caveats"`
	Problems      []string   `json:"problems,omitempty"`
	Expires       *time.Time `json:"expires,omitempty"`
	// OfToken, when a token was given, is verdictMatch when the
	// discharge is of the token's third-party caveat, else
	// verdictMismatch; verdictUnchecked without a token.
	OfToken string `json:"ofToken"`
	// Bound, when a token and a ring were given, is verdictValid when
	// macaroon.v2 verifies the token with this discharge (signatures
	// from the caveat's key, bound to the token), else verdictInvalid;
	// verdictUnchecked otherwise.
	Bound       string `json:"bound"`
	BoundDetail string `json:"boundDetail,omitempty"`
}

// isDischarge reports whether a decoded macaroon is shaped as a discharge
// of authgw: its identifier a step-up caveat ID, no third-party caveat.
func isDischarge(m *macaroon.Macaroon) bool {
	if _, ok := mint.StepUpCaveatKeyID(m.Id()); !ok {
		return false
	}
	for _, c := range m.Caveats() {
		if len(c.VerificationId) > 0 {
			return false
		}
	}
	return true
}

// inspectDischarge reads a decoded, unverified discharge, and with token
// (nil when inspected alone) tells whether it is of the token's caveat
// and, with a ring, bound to it.
func inspectDischarge(d, token *macaroon.Macaroon, ring *mint.KeyRing, haveRing bool) *dischargeView {
	dv := &dischargeView{CaveatID: base64.RawURLEncoding.EncodeToString(d.Id()), Caveats: []string{}, OfToken: verdictUnchecked, Bound: verdictUnchecked}
	dv.SealedWithKey, _ = mint.StepUpCaveatKeyID(d.Id())
	hasExpiry := false
	for n, cav := range d.Caveats() {
		text := string(cav.Id)
		if len(cav.VerificationId) > 0 {
			dv.Caveats = append(dv.Caveats, "third-party "+strconv.Quote(cav.Location))
			dv.Problems = append(dv.Problems, fmt.Sprintf("caveat %d: a third-party caveat: a discharge may have none", n+1))
			continue
		}
		if !caveat.ValidText(text) {
			text = strconv.Quote(text)
		}
		dv.Caveats = append(dv.Caveats, text)
		c, err := caveat.Parse(string(cav.Id))
		switch {
		case err != nil:
			dv.Problems = append(dv.Problems, fmt.Sprintf("caveat %d: %s", n+1, caveat.Explain(string(cav.Id))))
		case c.Kind().Constrains() == caveat.None:
			dv.Problems = append(dv.Problems, fmt.Sprintf("caveat %d: %s describes a token: a discharge may carry only caveats that constrain a request", n+1, c.Kind().Name()))
		case c.Kind() == caveat.TimeBefore:
			hasExpiry = true
			if t := c.Time(); dv.Expires == nil || t.Before(*dv.Expires) {
				dv.Expires = &t
			}
		}
	}
	if !hasExpiry {
		dv.Problems = append(dv.Problems, "no time-before: the verifier refuses a discharge without one")
	}
	if token == nil {
		return dv
	}
	var cid []byte
	for _, c := range token.Caveats() {
		if len(c.VerificationId) > 0 {
			cid = c.Id
			break
		}
	}
	dv.OfToken = verdictMatch
	if cid == nil || string(cid) != string(d.Id()) {
		dv.OfToken = verdictMismatch
		return dv
	}
	if !haveRing {
		return dv
	}
	id, err := mint.ParseIdentifier(token.Id())
	if err != nil {
		dv.Bound, dv.BoundDetail = verdictInvalid, "the token's identifier is malformed"
		return dv
	}
	root, err := ring.RootKey(id.KeyID, token.Id())
	if err != nil {
		dv.Bound, dv.BoundDetail = verdictInvalid, fmt.Sprintf("key %q: %v", id.KeyID, err)
		return dv
	}
	if _, err := token.VerifySignature(root, []*macaroon.Macaroon{d}); err != nil {
		dv.Bound, dv.BoundDetail = verdictInvalid, "macaroon.v2 does not verify the token with this discharge: not bound to this token, or not signed from its caveat's key"
		return dv
	}
	dv.Bound, dv.BoundDetail = verdictValid, fmt.Sprintf("macaroon.v2 verifies the token with it, key %q", id.KeyID)
	return dv
}

// checkDischarge opens a step-up caveat ID with the ring and returns a
// discharge of it bound to token, made only to check the token's
// signature (macaroon.v2 verifies a token with a third-party caveat only
// with its discharge).
func checkDischarge(ring *mint.KeyRing, token *macaroon.Macaroon, cid []byte) (*macaroon.Macaroon, error) {
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		return nil, err
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "inspect"})
	if err != nil {
		return nil, err
	}
	text, _, err := m.Discharge(cid, claim)
	if err != nil {
		return nil, err
	}
	d, err := mint.Decode(text)
	if err != nil {
		return nil, err
	}
	d.Bind(token.Signature())
	return d, nil
}

// dischargeAlone reports whether the inspection is of a discharge given
// as TOKEN.
func (in *inspection) dischargeAlone() bool {
	return in.Discharge != nil && in.Identifier == nil && in.IdentifierError == ""
}

// writeText prints the discharge for a person; now dates the expiry.
func (dv *dischargeView) writeText(w io.Writer, now time.Time) {
	fmt.Fprintln(w, "discharge:")
	fmt.Fprintf(w, "  caveat ID: %s\n", dv.CaveatID)
	if dv.SealedWithKey != "" {
		fmt.Fprintf(w, "  of a caveat sealed for the accounts service (key %q)\n", dv.SealedWithKey)
	}
	fmt.Fprintln(w, "  caveats:")
	for _, c := range dv.Caveats {
		fmt.Fprintf(w, "    %s\n", c)
	}
	for _, p := range dv.Problems {
		fmt.Fprintf(w, "  problem:   %s\n", p)
	}
	if dv.Expires != nil {
		fmt.Fprintf(w, "  expires:   %s\n", expiryText(*dv.Expires, now))
	}
	switch dv.OfToken {
	case verdictMatch:
		fmt.Fprintln(w, "  of token:  yes (its identifier is the token's third-party caveat ID)")
	case verdictMismatch:
		fmt.Fprintln(w, "  of token:  NO (it discharges another caveat)")
	}
	switch dv.Bound {
	case verdictValid:
		fmt.Fprintf(w, "  bound:     yes (%s)\n", dv.BoundDetail)
	case verdictInvalid:
		fmt.Fprintf(w, "  bound:     NO (%s)\n", dv.BoundDetail)
	default:
		if dv.OfToken == verdictMatch {
			fmt.Fprintf(w, "  bound:     not checked (the signatures need the key ring: set --keys or %s)\n", envKeys)
		}
	}
}
