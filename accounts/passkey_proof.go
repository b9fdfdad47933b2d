package accounts

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/authgw/authgw/accounts/passkey"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
)

// A passkey as a proof of the user: POST /users/:id/passkeys/proof-options
// answers the request options for the user's own passkeys, the
// authenticator verifying its user (a PIN or biometric), and keeps the
// challenge bound to the user, the caller's session and the purpose
// "proof", for the passkeys' timeout (5 minutes), to be answered once.
// The request that wants the proof then carries the browser's assertion
// in its "passkey" field (PublicKeyCredential.toJSON()); checkProof takes
// the ceremony whatever the answer and checks the assertion as a login's
// (signature, origin, user verification, the counter going up, a copied
// passkey flagged). A proof ceremony is answered by no login and no
// registration, and theirs by no proof: the keys differ.

// stepProofPasskey is the regulation step of a passkey proof.
const stepProofPasskey = "proof-passkey"

// proofKey is the ceremony key of a passkey proof of the user in the
// session: at most 6+36+1+36 = 79 characters, within the store's 80.
func proofKey(userID, sessionID string) string { return "proof:" + userID + ":" + sessionID }

// passkeyProofOptions is POST /users/:id/passkeys/proof-options.
func (s *Service) passkeyProofOptions(r *request) error {
	if err := s.passkeysOn(); err != nil {
		return err
	}
	u := r.target.user
	creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	if len(creds) == 0 {
		return apiError(http.StatusConflict, CodePasskeyNoCeremony, "The account has no passkey: prove it is you with the password, a TOTP code or a login code.")
	}
	options, session, err := s.passkeys.BeginProof(passkey.User{ID: u.ID, Credentials: creds})
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := s.logins.SaveWebAuthnCeremony(r.ctx(), db.WebAuthnCeremony{Key: proofKey(u.ID, r.caller.SessionID), UserID: u.ID, SessionData: session,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.passkeys.Timeout()).UnixMilli()}); err != nil {
		return err
	}
	return single(r, http.StatusOK, optionsOut{Type: "passkey-options", Options: options})
}

// readPasskeyProof reads the "passkey" field of a proof: a JSON object
// of bounded size, or nil when absent.
func readPasskeyProof(b *body) json.RawMessage {
	v := b.value("passkey")
	switch {
	case v == nil:
		return nil
	case len(v) > passkey.MaxResponseBytes:
		b.obstruct("passkey", ObstructionTooLong, "passkey is too long.")
		return nil
	case v[0] != '{':
		b.obstruct("passkey", ObstructionWrongType, "passkey must be an object (PublicKeyCredential.toJSON() of the assertion).")
		return nil
	}
	return v
}

// checkPasskeyProof checks the assertion of a passkey proof of u, through
// checkGuess: nil when it holds, 403 PASSKEY-INVALID when it does not
// (no ceremony of this user and session, used already, expired, another
// user's passkey, a bad signature, no user verification, a copied
// passkey), 429 while the account or IP is banned.
func (s *Service) checkPasskeyProof(r *request, u *db.User, subjects []regulation.Subject, assertion json.RawMessage) error {
	if err := s.passkeysOn(); err != nil {
		return err
	}
	ok, err := s.checkGuess(r, stepProofPasskey, subjects, func() (bool, []regulation.Subject, error) {
		// Taken whatever the answer: each challenge is answered once.
		c, err := s.logins.TakeWebAuthnCeremony(r.ctx(), proofKey(u.ID, r.caller.SessionID), s.nowMs())
		if isNotFound(err) {
			return false, nil, nil
		}
		if err != nil {
			return false, nil, err
		}
		if c.UserID != u.ID {
			return false, nil, nil
		}
		res, err := s.passkeys.FinishLogin(c.SessionData, assertion, func(credentialID []byte) (passkey.User, error) {
			cred, err := s.logins.GetWebAuthnCredential(r.ctx(), credentialID)
			if err != nil {
				return passkey.User{}, err
			}
			if cred.UserID != u.ID {
				return passkey.User{}, errors.New("the passkey of another user")
			}
			creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), u.ID)
			if err != nil {
				return passkey.User{}, err
			}
			return passkey.User{ID: u.ID, Credentials: creds}, nil
		})
		switch {
		case errors.Is(err, passkey.ErrCloned):
			s.cfg.Logger.Warn("accounts: a passkey's signature counter went back (a copied passkey?); it is refused from now on", "user", u.ID, "passkey", res.Credential.ID)
			if ferr := s.logins.FlagWebAuthnClone(r.ctx(), res.Credential.ID); ferr != nil {
				return false, nil, ferr
			}
			return false, nil, nil
		case errors.Is(err, passkey.ErrInvalid):
			return false, nil, nil
		case err != nil:
			return false, nil, err
		}
		if err := s.logins.UseWebAuthnCredential(r.ctx(), res.Credential.ID, res.Credential.SignCount, res.SignCount, res.BackupState, s.nowMs()); err != nil {
			if isNotFound(err) {
				// Another use took the same counter first, or the passkey
				// was flagged or removed meanwhile.
				return false, nil, nil
			}
			return false, nil, err
		}
		return true, nil, nil
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return apiError(http.StatusForbidden, CodePasskeyInvalid, "The passkey's answer does not hold (wrong, used or expired, or not your passkey): ask for proof options again.")
	}
	return nil
}
