package accounts

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// Password recovery ("forgot password"), in two requests, neither with a
// logged-in user:
//
//  1. POST /recovery {email}: for a verified address of a live, unbanned
//     account, a recovery code is mailed (with a link to the recovery
//     page when Config.PublicURL is set). The answer is 202 and the same,
//     after the same work, whether or not the address has an account: the
//     lookup and the mail happen in the background, after the answer, as
//     the login email step's do, under the same bounds (mail slots, the
//     per-address and per-source counters of login-code requests, and
//     the address's cap for sources its account never logged in from).
//  2. POST /recovery/reset {code, newPassword}: a good code and a
//     password the policy accepts set the password; every session of the
//     user is revoked, the code is spent, and the user's verified
//     addresses are told. No session is started: the user logs in with the
//     new password, and an enrolled TOTP is asked as at any login.
//
// Only a verified address gets a recovery mail: its owner proved the
// mailbox, and only that proof is worth a new password. An address nobody
// verified (a registration never confirmed, an address added but not
// verified, one a squatter typed) gets nothing: the account of a
// never-verified registration is opened by a login code, whose first use
// proves the mailbox and ends whatever was set up on the account before;
// a password is then set with that proof. A recovery code is bound to the
// user and to the address row it was mailed to: removing the address or
// deleting the account kills it (the store deletes it with the address,
// and the reset checks the address is still verified and the user live,
// in the transaction that sets the password).
//
// A code is spent only by a successful reset. A good code with a password
// the policy refuses counts one try of the code (maxCodeAttempts, the
// last kills it) and is kept, so the person can try a better password. A
// wrong, used, replaced or expired code is one answer, 400
// RECOVERY-CODE-INVALID, and counts a failure against the caller's IP
// (the regulation of the login steps): a recovery code, like a login
// code, carries 128 bits, and a source that keeps guessing is banned.

// Regulation step names of this file's guesses.
const (
	stepRecovery   = "recovery"
	stepVerifyLink = "verify-link"
)

// errRecoveryCode is the one answer to a recovery code that cannot reset.
func errRecoveryCode() error {
	return apiError(http.StatusBadRequest, CodeRecoveryCodeInvalid,
		"This recovery code is wrong, was used or has expired: ask for a new recovery mail.")
}

// requestRecovery handles POST /recovery.
func (s *Service) requestRecovery(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	raw := b.str("email", true, db.MaxEmailLength)
	email, err := db.NormalizeEmail(raw)
	if raw != "" && err != nil {
		b.obstruct("email", ObstructionInvalid, "email is not an email address.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if err := s.mailLater(r, email, s.sendRecovery); err != nil {
		return err
	}
	noStore(r)
	return r.JSON(http.StatusAccepted, envelope.NewNull())
}

// mailLater runs send(ctx, email) in the background (the login email
// step's code and the recovery mail), a random 10-40 ms
// after the answer, so that what send finds (an account or none) changes
// nothing in the answer's content or time. It takes one of the mail
// slots (503 to everyone alike when none is free) and counts the request
// as the login email step does: per (address, source) and per source
// before the answer (429 TOO-MANY-FAILURES past either, whether or not
// the address has an account), and against the address's cap for
// unknown sources in the background (mayMailCode: past it nothing is
// sent, and the answer is the same).
func (s *Service) mailLater(r *request, email string, send func(ctx context.Context, email string)) error {
	select {
	case s.mailSlots <- struct{}{}:
	default:
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	if err := s.cfg.Regulator.RequestCode(r.ctx(), accountSubject(db.EmailKey(email)), ipSubject(r.caller)); err != nil {
		<-s.mailSlots
		return s.refusal(r, err)
	}
	var jitter [1]byte
	if _, err := io.ReadFull(s.cfg.Rand, jitter[:]); err != nil {
		<-s.mailSlots
		return err
	}
	// The work starts a random 10-40 ms after the answer: done at once,
	// it would compete for the CPU with this very answer, which would
	// then be measurably slower for an address that has an account.
	delay := mailDelayMin + time.Duration(jitter[0])*(mailDelaySpread/256)
	ip := r.caller.IP
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx()), mailTimeout+delay)
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer func() { <-s.mailSlots }()
		defer cancel()
		timer := time.NewTimer(delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return
		}
		if !s.mayMailCode(ctx, email, ip) {
			return
		}
		send(ctx, email)
	}()
	return nil
}

// sendRecovery mails a recovery code to email when it is the verified
// address of a live, unbanned user. Failures are logged with IDs, never
// the code or the address.
func (s *Service) sendRecovery(ctx context.Context, email string) {
	u, e, err := s.logins.GetUserByEmail(ctx, email)
	if err != nil {
		if !isNotFound(err) {
			s.cfg.Logger.Warn("accounts: recovery lookup failed", "err", err)
		}
		return
	}
	if u.BannedMs != 0 || e.VerifiedMs == 0 || !mailableAddress(e.Email) {
		return
	}
	code, hash, err := s.newCode()
	if err != nil {
		s.cfg.Logger.Error("accounts: recovery code", "err", err)
		return
	}
	now := s.cfg.Now()
	if err := s.logins.CreateCode(ctx, db.Code{ID: s.newID(), Hash: hash, Kind: db.CodeRecovery, UserID: u.ID, EmailID: e.ID,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.RecoveryTTL).UnixMilli()}); err != nil {
		s.cfg.Logger.Warn("accounts: storing a recovery code failed", "user", u.ID, "err", err)
		return
	}
	msg, err := s.mails.Render(mailtemplate.Recovery, e.Email, mailtemplate.View{Code: code, Lifetime: s.cfg.RecoveryTTL,
		Link: s.pageLink(RecoverPagePath, "code", code)})
	if err == nil {
		err = s.send(ctx, msg)
	}
	if err != nil {
		s.cfg.Logger.Warn("accounts: sending a recovery code failed", "user", u.ID, "email", e.ID, "err", err)
	}
}

// resetPassword handles POST /recovery/reset.
func (s *Service) resetPassword(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	typed := b.secret("code", true, 64)
	if b.has("code") && strings.TrimSpace(typed) == "" {
		b.obstruct("code", ObstructionRequired, "code may not be empty.")
	}
	pw := b.secret("newPassword", true, password.MaxLength)
	if err := b.done(); err != nil {
		return err
	}
	c, err := s.takeRecoveryCode(r, typed)
	if err != nil {
		return err
	}
	ctx := r.ctx()
	u, err := s.logins.GetUser(ctx, c.UserID)
	switch {
	case isNotFound(err):
		return errRecoveryCode()
	case err != nil:
		return err
	case u.BannedMs != 0:
		return errRecoveryCode()
	}
	es, err := s.logins.ListEmails(ctx, u.ID)
	if err != nil {
		return err
	}
	personal := []string{u.Name}
	bound := false
	for _, e := range es {
		personal = append(personal, e.Email)
		bound = bound || (e.ID == c.EmailID && e.VerifiedMs != 0)
	}
	if !bound {
		return errRecoveryCode()
	}
	// The password rules see the user as the change-password endpoint
	// does: their name, addresses and organizations.
	r.target.user = &u
	s.checkNewPassword(r, b, "newPassword", pw, personal...)
	if err := b.done(); err != nil {
		// A refused password is one try of the code, which is kept.
		if _, aerr := s.logins.RecordCodeAttempt(ctx, c.ID, maxCodeAttempts, s.nowMs()); aerr != nil && !errors.Is(aerr, db.ErrCodeSpent) && !isNotFound(aerr) {
			return aerr
		}
		return err
	}
	hash, err := s.hashPassword(r, pw)
	if err != nil {
		return err
	}
	_, err = s.logins.RecoverPassword(ctx, c.ID, hash, s.nowMs())
	switch {
	case errors.Is(err, db.ErrCodeSpent) || isNotFound(err):
		// Another reset spent it meanwhile, or its address went.
		return errRecoveryCode()
	case err != nil:
		return err
	}
	s.record(ctx, audit.Event{Type: audit.PasswordReset, SubjectUserID: u.ID})
	if err := s.revokeUser(r, u.ID, "password-reset"); err != nil {
		return err
	}
	s.notifyOwner(ctx, u.ID, mailtemplate.PasswordChanged, "", "")
	return null(r)
}

// takeRecoveryCode finds the usable recovery code typed, through
// checkGuess: a code that is unknown, of another kind, used, replaced,
// out of tries or expired is a failure of the caller's IP and the answer
// errRecoveryCode. The code is not spent here.
func (s *Service) takeRecoveryCode(r *request, typed string) (db.Code, error) {
	var c db.Code
	ok, err := s.checkGuess(r, stepRecovery, []regulation.Subject{ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
		var err error
		c, err = s.logins.GetCodeByHash(r.ctx(), codeHash(typed))
		switch {
		case isNotFound(err):
			return false, nil, nil
		case err != nil:
			return false, nil, err
		}
		usable := c.Kind == db.CodeRecovery && c.ConsumedMs == 0 && c.InvalidatedMs == 0 && c.ExpiresMs > s.nowMs()
		return usable, nil, nil
	})
	switch {
	case err != nil:
		return c, err
	case !ok:
		return c, errRecoveryCode()
	}
	return c, nil
}
