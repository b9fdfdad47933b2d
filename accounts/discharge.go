package accounts

import (
	"encoding/base64"
	"errors"
	"net/http"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint"
)

// Step-up (the README's "Step-up for dangerous operations"): a scope with
// stepUp keeps its routes out of the ordinary token; the session answer
// carries, per method, a step-up token whose last caveat is a
// third-party caveat addressed here. POST /discharge asks the user for a
// fresh proof (password, TOTP code or mailed login code, as every
// dangerous change does) and answers the discharge of that caveat, which
// expires within the scope's stepUp seconds.

// Error codes of the discharge endpoint.
const (
	// CodeNotStepUpCaveat: the caveat ID (or the token's caveat) is not a
	// step-up caveat this service sealed, or was sealed by a key the
	// ring no longer holds.
	CodeNotStepUpCaveat = "NOT-A-STEP-UP-CAVEAT"
	// CodeStepUpNotYours: the caveat was sealed for another user or
	// another session than the caller's.
	CodeStepUpNotYours = "STEP-UP-NOT-YOURS"
)

// maxCaveatIDChars bounds a caveat ID in base64url: a sealed claim is
// about 180 bytes; 1 KiB leaves room and refuses anything absurd early.
const maxCaveatIDChars = 1024

// maxStepUpTokenChars bounds a step-up token in the body: twice the
// largest token minted, so that a client may attenuate it.
const maxStepUpTokenChars = 2 * mint.MaxTokenSize

// dischargeOut is the data of a discharge answer.
type dischargeOut struct {
	// Discharge is the unbound discharge macaroon: the client binds it to
	// its step-up token (macaroon.v2's Bind) before sending both.
	Discharge string `json:"discharge"`
	// BoundDischarge is the discharge already bound to the step-up token
	// the request sent ("token"), for clients without a macaroon library.
	BoundDischarge string `json:"boundDischarge,omitempty"`
	// ExpiresAt is the discharge's time-before (Unix ms).
	ExpiresAt int64 `json:"expiresAt"`
}

// discharge is POST /discharge: {"caveatId"} (base64url, as the 401
// STEP-UP-REQUIRED names it) or {"token"} (the step-up token itself),
// and a proof of the user. The caveat must be one this key ring sealed,
// for the caller's user and the caller's session, and that session must
// be live.
func (s *Service) discharge(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	cidText := b.str("caveatId", false, maxCaveatIDChars)
	token := b.secret("token", false, maxStepUpTokenChars)
	proof := readProof(b, true, "")
	switch {
	case cidText == "" && token == "":
		b.obstruct("caveatId", ObstructionRequired, "Send caveatId (as the STEP-UP-REQUIRED answer gives it) or token (your step-up token).")
	case cidText != "" && token != "":
		b.obstruct("token", ObstructionInvalid, "Send caveatId or token, not both.")
	}
	if err := b.done(); err != nil {
		return err
	}
	u := r.caller.User
	var cid []byte
	var stepUpToken *macaroon.Macaroon
	if token != "" {
		m, id, ok := s.stepUpToken(token)
		if !ok {
			s.stepUpRefused(r, "not a step-up token of this service")
			return apiError(http.StatusBadRequest, CodeNotStepUpCaveat, "token is not a step-up token of this service.")
		}
		stepUpToken, cid = m, id
	} else {
		cid, err = base64.RawURLEncoding.DecodeString(cidText)
		if err != nil {
			return invalidField("caveatId", "caveatId must be unpadded base64url, as the STEP-UP-REQUIRED answer gives it.")
		}
	}
	if s.cfg.Keys == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "Step-up is not configured.")
	}
	claim, err := mint.OpenStepUp(s.cfg.Keys, cid)
	if err != nil {
		reason := "not a step-up caveat"
		if errors.Is(err, mint.ErrUnknownKey) {
			reason = "sealed by a key no longer in the ring"
		}
		s.stepUpRefused(r, reason)
		return apiError(http.StatusBadRequest, CodeNotStepUpCaveat,
			"This is not a step-up caveat of this service, or it was sealed by a key since retired: log in again for a new step-up token.")
	}
	if claim.UserID != u.ID || claim.SessionID != r.caller.SessionID {
		s.stepUpRefused(r, "caveat of another user or session")
		return apiError(http.StatusForbidden, CodeStepUpNotYours, "This caveat belongs to another user or session: send it with the token of the session it came with.")
	}
	sess, err := s.logins.GetSession(r.ctx(), claim.SessionID)
	if isNotFound(err) || (err == nil && !sess.Live(s.nowMs())) {
		s.stepUpRefused(r, "session ended")
		return apiError(http.StatusUnauthorized, CodeSessionInvalidated, "The session has ended; log in again.")
	}
	if err != nil {
		return err
	}
	if err := s.checkProof(r, u, proof); err != nil {
		s.stepUpRefused(r, "proof refused")
		return err
	}
	discharge, expires, err := s.cfg.Minter.Discharge(cid, claim)
	if err != nil {
		return err
	}
	out := dischargeOut{Discharge: discharge, ExpiresAt: expires.UnixMilli()}
	if stepUpToken != nil {
		dm, err := mint.Decode(discharge)
		if err != nil {
			return err
		}
		dm.Bind(stepUpToken.Signature())
		if out.BoundDischarge, err = mint.Encode(dm); err != nil {
			return err
		}
	}
	s.cfg.Logger.Info("accounts: step-up granted", "user", u.ID, "session", claim.SessionID, "window_s", int(claim.Window.Seconds()))
	return single(r, http.StatusOK, out)
}

// stepUpRefused logs a refused discharge: who and why, never the caveat
// or the proof.
func (s *Service) stepUpRefused(r *request, reason string) {
	s.cfg.Logger.Info("accounts: step-up refused", "user", r.caller.userID(), "reason", reason)
}

// stepUpToken checks that token is a genuine step-up token of this key
// ring, and returns it decoded with its third-party caveat's identifier.
// Genuine means its signature chain holds from the root key of the key
// that minted it, through every caveat, the third-party one included
// (checked with a discharge minted here for the purpose and bound to
// it); its first-party caveats are not checked (the gateway does that
// when the token is used).
func (s *Service) stepUpToken(token string) (*macaroon.Macaroon, []byte, bool) {
	if s.cfg.Keys == nil || len(token) > maxStepUpTokenChars {
		return nil, nil, false
	}
	m, err := mint.Decode(token)
	if err != nil {
		return nil, nil, false
	}
	cid, ok := mint.StepUpCaveatID(token)
	if !ok {
		return nil, nil, false
	}
	ident, err := mint.ParseIdentifier(m.Id())
	if err != nil {
		return nil, nil, false
	}
	root, err := s.cfg.Keys.RootKey(ident.KeyID, m.Id())
	if err != nil {
		return nil, nil, false
	}
	claim, err := mint.OpenStepUp(s.cfg.Keys, cid)
	if err != nil {
		return nil, nil, false
	}
	discharge, _, err := s.cfg.Minter.Discharge(cid, claim)
	if err != nil {
		return nil, nil, false
	}
	dm, err := mint.Decode(discharge)
	if err != nil {
		return nil, nil, false
	}
	dm.Bind(m.Signature())
	if _, err := m.VerifySignature(root, []*macaroon.Macaroon{dm}); err != nil {
		return nil, nil, false
	}
	return m, cid, true
}

// invalidField is the 400 of one field's problem.
func invalidField(field, text string) error {
	b := &body{known: map[string]bool{}}
	b.obstruct(field, ObstructionInvalid, text)
	return b.done()
}
