package verifier

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/mint/wire"
)

// Reasons a step-up token is refused for want of a valid discharge; each
// comes inside a *StepUpError, which matches ErrStepUpRequired.
var (
	ErrStepUpRequired  = fmt.Errorf("%w: step-up required", ErrUnauthorized)
	ErrNoDischarge     = errors.New("no discharge of the step-up caveat")
	ErrBadDischarge    = errors.New("discharge malformed, of another caveat, or not bound to this token")
	ErrDischargeCaveat = errors.New("a caveat of the discharge does not hold")
)

// StepUpError refuses a step-up token that came without a valid
// discharge of its third-party caveat. It matches ErrStepUpRequired (and
// so ErrUnauthorized) and its Reason. The client gets a discharge from
// Location, for CaveatID, proving a fresh factor, binds it to the token
// and sends both.
type StepUpError struct {
	// CaveatID is the third-party caveat's identifier, opaque to all but
	// the accounts service.
	CaveatID []byte
	// Location is where discharges are obtained, as the caveat names it
	// (mint.DischargePath).
	Location string
	// Reason is why: ErrNoDischarge, ErrBadDischarge, ErrDischargeCaveat
	// or a caveat reason such as ErrExpired.
	Reason error
}

func (e *StepUpError) Error() string {
	return ErrStepUpRequired.Error() + ": " + e.Reason.Error()
}

// Unwrap returns ErrStepUpRequired and the reason.
func (e *StepUpError) Unwrap() []error { return []error{ErrStepUpRequired, e.Reason} }

// EncodedCaveatID is CaveatID in unpadded base64url, as the discharge
// endpoint takes it.
func (e *StepUpError) EncodedCaveatID() string {
	return base64.RawURLEncoding.EncodeToString(e.CaveatID)
}

// thirdParty is a verified token's third-party caveat: its identifier,
// location, and the key a discharge's signature starts from (the
// caveat's root key after macaroon key generation), which the
// verification ID sealed.
type thirdParty struct {
	id, location string
	key          [sha256.Size]byte
}

// verifiedDischarge is a discharge whose signature held, bound to the
// token whose signature is boundTo.
type verifiedDischarge struct {
	boundTo [sha256.Size]byte
	caveats []caveat.Caveat
}

// vidSize is the size of a verification ID macaroon.v2 makes: a
// secretbox nonce, its tag and a 32-byte key.
const vidSize = 24 + secretbox.Overhead + sha256.Size

// openVID opens a verification ID with the signature so far as the key,
// into s.cavKey. It does not allocate.
func (s *state) openVID(sig *[sha256.Size]byte, vid []byte) bool {
	if len(vid) != vidSize {
		return false
	}
	nonce := (*[24]byte)(vid[:24])
	out, ok := secretbox.Open(s.open[:0], vid[24:], nonce, sig)
	if !ok || len(out) != sha256.Size {
		return false
	}
	s.cavKey = s.open
	return true
}

// checkDischarge finds among discharges the one bound to vt for its
// third-party caveat and checks it against req.
func (v *Verifier) checkDischarge(vt *verifiedToken, req Request, discharges []string) error {
	refuse := func(reason error) error {
		return &StepUpError{CaveatID: []byte(vt.third.id), Location: vt.third.location, Reason: reason}
	}
	if len(discharges) == 0 {
		return refuse(ErrNoDischarge)
	}
	var reason error = ErrBadDischarge
	for _, d := range discharges {
		vd, ok := v.discharges.get(d)
		if !ok {
			var err error
			if vd, err = v.verifyDischarge(vt, d); err != nil {
				continue
			}
			v.discharges.put(d, vd)
		}
		if subtle.ConstantTimeCompare(vd.boundTo[:], vt.sig[:]) != 1 {
			continue // a discharge of this caveat bound to another token
		}
		if err := v.checkList(vd.caveats, vt, req); err != nil {
			reason = err
			if errors.Is(err, ErrForbidden) {
				// A discharge its holder narrowed away from this request
				// (method, routes) is no discharge for it: the client needs
				// another (401), the token is not refused (403).
				reason = ErrDischargeCaveat
			}
			continue
		}
		return nil
	}
	return refuse(reason)
}

// verifyDischarge decodes a discharge and checks that it discharges vt's
// third-party caveat and is bound to vt: its identifier is the caveat's,
// its signature chain starts from the caveat's key, and its signature is
// that chain bound to the token's signature. Its caveats must be kinds
// that constrain the request, with a time-before among them.
func (v *Verifier) verifyDischarge(vt *verifiedToken, discharge string) (*verifiedDischarge, error) {
	if len(discharge) > MaxTokenSize {
		return nil, ErrBadDischarge
	}
	s := v.pool.Get().(*state)
	defer v.pool.Put(s)
	b, ok := wire.AppendBase64(s.buf[:0], discharge)
	if !ok || !wire.SplitV2(b, &s.tok) || s.tok.Third >= 0 {
		return nil, ErrBadDischarge
	}
	if subtle.ConstantTimeCompare(s.tok.ID.In(b), []byte(vt.third.id)) != 1 {
		return nil, ErrBadDischarge
	}
	sig := &s.sig
	s.mac(vt.third.key[:], s.tok.ID.In(b), nil, sig)
	for i := 0; i < s.tok.N; i++ {
		s.mac(sig[:], s.tok.Caveats[i].In(b), nil, sig)
	}
	// Bind: HMAC(0, HMAC(0, token sig) || HMAC(0, chain)), unless equal.
	if *sig != vt.sig {
		s.macFixed(v.zeroKey, vt.sig[:], nil, &s.h1)
		s.macFixed(v.zeroKey, sig[:], nil, &s.h2)
		s.macFixed(v.zeroKey, s.h1[:], s.h2[:], sig)
	}
	if subtle.ConstantTimeCompare(sig[:], s.tok.Sig.In(b)) != 1 {
		return nil, ErrBadDischarge
	}
	vd := &verifiedDischarge{boundTo: vt.sig, caveats: make([]caveat.Caveat, 0, s.tok.N)}
	text := string(b)
	hasExpiry := false
	for i := 0; i < s.tok.N; i++ {
		c, err := caveat.Parse(spanOf(text, s.tok.Caveats[i]))
		if err != nil || c.Kind().Constrains() == caveat.None {
			// A caveat that only describes a token (user, session, ...)
			// means nothing on a discharge: refuse what is not understood.
			return nil, ErrBadDischarge
		}
		hasExpiry = hasExpiry || c.Kind() == caveat.TimeBefore
		vd.caveats = append(vd.caveats, c)
	}
	if !hasExpiry {
		return nil, ErrBadDischarge
	}
	return vd, nil
}

// DischargeExpiry returns the earliest time-before of an encoded
// discharge, without checking its signature, for a client or a page that
// stores it (a cookie's expiry); false when it has none or cannot be read.
func DischargeExpiry(discharge string) (time.Time, bool) {
	m, err := mint.Decode(discharge)
	if err != nil {
		return time.Time{}, false
	}
	var at time.Time
	for _, c := range m.Caveats() {
		if cv, err := caveat.Parse(string(c.Id)); err == nil && cv.Kind() == caveat.TimeBefore && (at.IsZero() || cv.Time().Before(at)) {
			at = cv.Time()
		}
	}
	return at, !at.IsZero()
}
