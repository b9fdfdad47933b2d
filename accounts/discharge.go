package accounts

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/accounts/audit"
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
	// Discharges answers "tokens": one entry per token, in their order
	// (the first is also the answer's own fields).
	Discharges []dischargeOut `json:"discharges,omitempty"`
}

// stepUpCaveat is one caveat a discharge is asked for: its identifier
// and, when the request sent the step-up token itself, the token.
type stepUpCaveat struct {
	cid   []byte
	token *macaroon.Macaroon
	claim mint.StepUpClaim
}

// discharge is POST /discharge: {"caveatId"} (base64url, as the 401
// STEP-UP-REQUIRED names it), {"token"} (the step-up token itself) or
// {"tokens"} (several, one per method: one proof discharges them all, as
// the re-authentication page does for every step-up token a browser
// holds), and a proof of the user. Each caveat must be one this key ring
// sealed, for the caller's user and the caller's session, and that
// session must be live. A refusal (a forged or foreign token, a wrong
// proof) is recorded in the audit log as a failed stepup.granted with
// its error code.
func (s *Service) discharge(r *request) error {
	err := s.dischargeStep(r)
	s.recordRefusal(r.ctx(), err, audit.StepUpGranted, "", r.caller.userID(), nil)
	return err
}

// dischargeStep answers POST /discharge (see discharge).
func (s *Service) dischargeStep(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	cidText := b.str("caveatId", false, maxCaveatIDChars)
	token := b.secret("token", false, maxStepUpTokenChars)
	var tokens []string
	if raw := b.value("tokens"); raw != nil {
		if json.Unmarshal(raw, &tokens) != nil || len(tokens) == 0 || len(tokens) > len(mint.Methods()) {
			b.obstruct("tokens", ObstructionInvalid, fmt.Sprintf("tokens must be a list of 1 to %d step-up tokens.", len(mint.Methods())))
			tokens = nil
		}
	}
	proof := readProof(b, true, "")
	given := 0
	for _, ok := range []bool{cidText != "", token != "", b.has("tokens")} {
		if ok {
			given++
		}
	}
	switch {
	case given == 0:
		b.obstruct("caveatId", ObstructionRequired, "Send caveatId (as the STEP-UP-REQUIRED answer gives it) or token (your step-up token).")
	case given > 1:
		b.obstruct("token", ObstructionInvalid, "Send one of caveatId, token and tokens.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if s.keyRing() == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "Step-up is not configured.")
	}
	u := r.caller.User
	if token != "" {
		tokens = []string{token}
	}
	var caveats []stepUpCaveat
	for _, t := range tokens {
		m, cid, ok := s.stepUpToken(t)
		if !ok {
			s.stepUpRefused(r, "not a step-up token of this service")
			return apiError(http.StatusBadRequest, CodeNotStepUpCaveat, "token is not a step-up token of this service.")
		}
		caveats = append(caveats, stepUpCaveat{cid: cid, token: m})
	}
	if cidText != "" {
		cid, err := base64.RawURLEncoding.DecodeString(cidText)
		if err != nil {
			return invalidField("caveatId", "caveatId must be unpadded base64url, as the STEP-UP-REQUIRED answer gives it.")
		}
		caveats = append(caveats, stepUpCaveat{cid: cid})
	}
	for i := range caveats {
		c := &caveats[i]
		c.claim, err = mint.OpenStepUp(s.keyRing(), c.cid)
		if err != nil {
			reason := "not a step-up caveat"
			if errors.Is(err, mint.ErrUnknownKey) {
				reason = "sealed by a key no longer in the ring"
			}
			s.stepUpRefused(r, reason)
			return apiError(http.StatusBadRequest, CodeNotStepUpCaveat,
				"This is not a step-up caveat of this service, or it was sealed by a key since retired: log in again for a new step-up token.")
		}
		if c.claim.UserID != u.ID || c.claim.SessionID != r.caller.SessionID {
			s.stepUpRefused(r, "caveat of another user or session")
			return apiError(http.StatusForbidden, CodeStepUpNotYours, "This caveat belongs to another user or session: send it with the token of the session it came with.")
		}
	}
	sess, err := s.logins.GetSession(r.ctx(), r.caller.SessionID)
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
	outs := make([]dischargeOut, 0, len(caveats))
	for _, c := range caveats {
		discharge, expires, err := s.cfg.Minter.Discharge(c.cid, c.claim)
		if err != nil {
			return err
		}
		out := dischargeOut{Discharge: discharge, ExpiresAt: expires.UnixMilli()}
		if c.token != nil {
			dm, err := mint.Decode(discharge)
			if err != nil {
				return err
			}
			dm.Bind(c.token.Signature())
			if out.BoundDischarge, err = mint.Encode(dm); err != nil {
				return err
			}
		}
		outs = append(outs, out)
	}
	out := outs[0]
	if b.has("tokens") {
		out.Discharges = outs
	}
	s.cfg.Logger.Info("accounts: step-up granted", "user", u.ID, "session", r.caller.SessionID, "discharges", len(outs),
		"window_s", int(caveats[0].claim.Window.Seconds()))
	s.record(r.ctx(), audit.Event{Type: audit.StepUpGranted, SubjectUserID: u.ID, Data: map[string]string{"factor": proof.factor()}})
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
	keys := s.keyRing()
	if keys == nil || len(token) > maxStepUpTokenChars {
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
	root, err := keys.RootKey(ident.KeyID, m.Id())
	if err != nil {
		return nil, nil, false
	}
	claim, err := mint.OpenStepUp(keys, cid)
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

// keyRing is the key ring step-up tokens are opened with: Config.Keys
// until SetKeys replaces it.
func (s *Service) keyRing() *mint.KeyRing {
	if k := s.keys.Load(); k != nil {
		return k
	}
	return s.cfg.Keys
}

// SetKeys makes the service open step-up tokens and their discharges
// with ring from the next request on (the key ring read again while
// serving; the Minter is given it apart). It is safe to call while
// serving.
func (s *Service) SetKeys(ring *mint.KeyRing) {
	s.keys.Store(ring)
}
