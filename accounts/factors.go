package accounts

import (
	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
)

// resetFactors (DELETE /users/:id/factors) is a sysadmin's way out for a
// user who lost every second factor: it removes the user's TOTP secret,
// recovery codes and passkeys, ends all of the user's sessions (whoever held one
// with the old factors is out) and mails the user a notice. A sysadmin
// never resets their own factors this way (the authorization table):
// that would let a stolen sysadmin token shed the second factor. The
// act is logged at Info with the acting user's and the target's IDs, and
// recorded in the audit log (factor.removed, factor "all").
func (s *Service) resetFactors(r *request) error {
	u := r.target.user
	totpOff := true
	if err := s.logins.DeleteTOTP(r.ctx(), u.ID); isNotFound(err) {
		totpOff = false
	} else if err != nil {
		return err
	}
	// DeleteTOTP took the recovery codes with it; codes left without a
	// secret (none should be) go too.
	codes, err := s.logins.DeleteRecoveryCodes(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	passkeys, err := s.logins.DeleteWebAuthnCredentials(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	if err := s.revokeUser(r, u.ID, "factors-reset"); err != nil {
		return err
	}
	s.cfg.Logger.Info("accounts: second factors reset by a sysadmin",
		"admin", r.caller.User.ID, "user", u.ID, "totp", totpOff, "recoveryCodes", codes, "passkeys", passkeys)
	s.record(r.ctx(), audit.Event{Type: audit.FactorRemoved, SubjectUserID: u.ID, Data: map[string]string{"factor": "all"}})
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.FactorsReset, "", "")
	return null(r)
}
