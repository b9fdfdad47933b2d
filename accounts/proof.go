package accounts

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
)

// A proof of the user is a secret only the user knows, sent again in the
// request that changes what protects their account: a token can be
// stolen, the secret behind it should not be. The body carries one of:
//
//   - "currentPassword": the user's password ("password" is the older
//     name DELETE .../totp took, still read there);
//   - "totp": a code of the user's TOTP app, when TOTP is on;
//   - "loginState" and "loginCode": a login code mailed for that state by
//     the email login step (POST /sessions/login/email) to one of the
//     user's verified addresses, not yet used. This is how a user without
//     a password (and without TOTP) proves themselves: the code reaches
//     only a mailbox the user proved they own, never an address added
//     with the token alone. The code is used up.
//
// Each proof is a guess like a login's: it goes through checkGuess,
// limited per account and per IP.

// Regulation steps of the proofs.
const (
	stepProofPassword = "proof-password"
	stepProofTOTP     = "proof-totp"
	stepProofCode     = "proof-code"
)

// proofIn is a proof as read from a body.
type proofIn struct {
	password, totp, loginState, loginCode string
	passkey                               json.RawMessage
}

// factor names the proof sent, for the audit log: passkey, code, totp
// or password ("" for none), as checkProof picks it.
func (p proofIn) factor() string {
	switch {
	case p.passkey != nil:
		return "passkey"
	case p.loginCode != "" && p.totp == "":
		return "code"
	case p.totp != "":
		return "totp"
	case p.password != "":
		return "password"
	}
	return ""
}

// given reports whether any proof was sent.
func (p proofIn) given() bool {
	return p.password != "" || p.totp != "" || p.loginCode != "" || p.passkey != nil
}

// readProof reads the proof fields of the body; passwordAlias is an older
// name of currentPassword the route still reads ("" for none). A
// required proof that is missing is a REQUIRED obstruction.
func readProof(b *body, required bool, passwordAlias string) proofIn {
	var p proofIn
	p.password = b.secret("currentPassword", false, password.MaxLength)
	if passwordAlias != "" && p.password == "" {
		p.password = b.secret(passwordAlias, false, password.MaxLength)
	}
	p.totp = b.secret("totp", false, 16)
	p.loginState = b.str("loginState", false, 32)
	p.loginCode = b.secret("loginCode", false, 64)
	p.passkey = readPasskeyProof(b)
	switch {
	case p.loginCode != "" && !validState(p.loginState):
		b.obstruct("loginState", ObstructionInvalid, "loginState must be the 32 lower-case hex characters of the login the code was mailed for.")
	case p.loginCode == "" && p.loginState != "":
		b.obstruct("loginCode", ObstructionRequired, "loginCode is required with loginState.")
	case required && !p.given():
		b.obstruct("currentPassword", ObstructionRequired,
			"Confirm it is you: send currentPassword, totp when TOTP is on, a login code mailed to a verified address (loginState and loginCode), or passkey (an assertion for POST /users/{id}/passkeys/proof-options).")
	}
	return p
}

// checkProof checks a proof of the user u, through checkGuess: nil when it
// holds, 403 INCORRECT-PASSWORD, TOTP-INVALID or CODE-INVALID when it does
// not (PASSKEY-INVALID for a passkey), 429 while the account or IP is
// banned. A passkey's assertion is checked when one was sent, else a TOTP
// code, else a login code, else the password; a user without a password
// (or without TOTP) fails that proof after the same work.
func (s *Service) checkProof(r *request, u *db.User, p proofIn) error {
	subjects := []regulation.Subject{accountSubject(u.ID), ipSubject(r.caller)}
	if p.passkey != nil {
		return s.checkPasskeyProof(r, u, subjects, p.passkey)
	}
	if p.loginCode != "" && p.totp == "" {
		ok, err := s.checkGuess(r, stepProofCode, subjects, func() (bool, []regulation.Subject, error) {
			return s.takeProofCode(r, u.ID, p)
		})
		switch {
		case err != nil:
			return err
		case !ok:
			return apiError(http.StatusForbidden, CodeCodeInvalid, "The login code is wrong, expired or used: ask for a new one.")
		}
		return nil
	}
	if p.totp != "" {
		if s.cfg.TOTP == nil {
			return apiError(http.StatusServiceUnavailable, CodeUnavailable, "TOTP is not configured.")
		}
		ok, err := s.checkGuess(r, stepProofTOTP, subjects, func() (bool, []regulation.Subject, error) {
			ok, err := s.totpMatches(r, u.ID, p.totp)
			return ok && u.TOTPEnabled, nil, err
		})
		switch {
		case err != nil:
			return err
		case !ok:
			return errTOTPInvalid(http.StatusForbidden)
		}
		return nil
	}
	ok, _, err := s.verifyGuessed(r, stepProofPassword, p.password, s.passwordHashOrDummy(u), u.PasswordHash == "", subjects...)
	switch {
	case err != nil:
		return err
	case !ok:
		return apiError(http.StatusForbidden, CodeIncorrectPassword, "The password is wrong.")
	}
	return nil
}

// takeProofCode consumes the login code of the proof when it was mailed to
// the user u for loginState and is still good. A wrong code counts an
// attempt against the state's pending code.
func (s *Service) takeProofCode(r *request, userID string, p proofIn) (bool, []regulation.Subject, error) {
	now := s.nowMs()
	c, err := s.logins.GetCodeByHash(r.ctx(), codeHash(p.loginCode))
	if err != nil && !isNotFound(err) {
		return false, nil, err
	}
	if err != nil || c.Kind != db.CodeLogin || c.State != p.loginState || c.UserID != userID {
		if pending, err := s.logins.GetPendingCode(r.ctx(), db.CodeLogin, p.loginState); err == nil && pending.UserID == userID {
			_, _ = s.logins.RecordCodeAttempt(r.ctx(), pending.ID, maxCodeAttempts, now)
		}
		return false, nil, nil
	}
	if err := s.logins.ConsumeCode(r.ctx(), c.ID, now); err != nil {
		if errors.Is(err, db.ErrCodeSpent) || isNotFound(err) {
			return false, nil, nil
		}
		return false, nil, err
	}
	return true, nil, nil
}

// readProofBody reads a body that holds a proof of the user and nothing
// else (the dangerous changes that ask for one: TOTP on or off, passkeys,
// recovery codes, deleting the account); alias is readProof's older name
// of the password field, "" for none.
func readProofBody(r *request, alias string) (proofIn, error) {
	b, err := readBody(r)
	if err != nil {
		return proofIn{}, err
	}
	proof := readProof(b, true, alias)
	return proof, b.done()
}
