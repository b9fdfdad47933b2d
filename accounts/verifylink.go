package accounts

import (
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
)

// Verifying an address from the link of its verification mail, without
// a logged-in user: the page the link opens (VerifyPagePath) sends the
// address's ID and the code to POST /email-verifications. Holding the
// mailed code, 128 random bits, is the proof: it is checked as the
// self-only POST /users/{id}/emails/{emailId}/verify checks it (the
// address's newest code, single use, expiring, dead after
// maxCodeAttempts wrong guesses), and each wrong code also counts a
// failure against the caller's IP (the login steps' regulation), since
// no account vouches for the caller. An address ID that does not exist
// is answered as a wrong code, so IDs cannot be probed.

// verifiedOut is the answer of a verification by link: the address and
// when it was verified; not its user (the caller is not logged in).
type verifiedOut struct {
	Type       string `json:"type"`
	ID         string `json:"id"`
	Email      string `json:"email"`
	VerifiedMs int64  `json:"verifiedMs"`
}

// verifyEmailByLink handles POST /email-verifications.
func (s *Service) verifyEmailByLink(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	emailID := b.str("emailId", true, 64)
	typed := b.secret("code", true, 64)
	if b.has("code") && strings.TrimSpace(typed) == "" {
		b.obstruct("code", ObstructionRequired, "code may not be empty.")
	}
	if err := b.done(); err != nil {
		return err
	}
	ctx, now := r.ctx(), s.nowMs()
	var c db.Code
	ok, err := s.checkGuess(r, stepVerifyLink, []regulation.Subject{ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
		var err error
		c, err = s.management.GetCodeByHash(ctx, codeHash(typed))
		switch {
		case isNotFound(err):
			return false, nil, nil
		case err != nil:
			return false, nil, err
		}
		return c.Kind == db.CodeEmailVerification && c.EmailID == emailID, nil, nil
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return s.wrongVerificationCode(ctx, emailID, now)
	}
	e, err := s.management.GetEmail(ctx, c.UserID, c.EmailID)
	if isNotFound(err) {
		// The address or its account is gone: as a wrong code.
		return s.wrongVerificationCode(ctx, emailID, now)
	}
	if err != nil {
		return err
	}
	if e, err = s.useVerificationCode(ctx, e, c, now); err != nil {
		return err
	}
	return single(r, http.StatusOK, verifiedOut{Type: "emails", ID: e.ID, Email: e.Email, VerifiedMs: e.VerifiedMs})
}
