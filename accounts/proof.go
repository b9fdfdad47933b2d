package accounts

import (
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
//   - "totp": a code of the user's TOTP app, when TOTP is on.
//
// Each proof is a guess like a login's: it goes through checkGuess,
// limited per account and per IP.

// Regulation steps of the proofs.
const (
	stepProofPassword = "proof-password"
	stepProofTOTP     = "proof-totp"
)

// proofIn is a proof as read from a body.
type proofIn struct {
	password, totp string
}

// given reports whether any proof was sent.
func (p proofIn) given() bool { return p.password != "" || p.totp != "" }

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
	if required && !p.given() {
		b.obstruct("currentPassword", ObstructionRequired,
			"Confirm it is you: send currentPassword, or totp when TOTP is on.")
	}
	return p
}

// checkProof checks a proof of the user u, through checkGuess: nil when it
// holds, 403 INCORRECT-PASSWORD or TOTP-INVALID when it does not, 429
// while the account or IP is banned. A TOTP code is checked when one was
// sent, else the password; a user without a password (or without TOTP)
// fails that proof after the same work.
func (s *Service) checkProof(r *request, u *db.User, p proofIn) error {
	subjects := []regulation.Subject{accountSubject(u.ID), ipSubject(r.caller)}
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
