package accounts

import (
	"encoding/base64"
	"net/http"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
)

// TOTP enrolment (the README's "TOTP"): POST /users/:id/totp stores a new,
// unconfirmed secret and shows it once (secret, otpauth:// URI, QR code);
// POST .../totp/confirm with a code from the app turns it on; DELETE
// .../totp turns it off after re-authentication with the password or a
// TOTP code; its recovery codes go with it. Only the user does these.

// totpOut is the answer of an enrolment.
type totpOut struct {
	Type   string `json:"type"`
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	// QR is a data: URL of the QR code PNG of URI.
	QR string `json:"qr"`
}

// enrolTOTP starts (or restarts) an enrolment. A user whose TOTP is on
// must turn it off first: 409 TOTP-ENABLED. The user proves who they are
// again (see checkProof): a stolen token alone must not enrol the thief's
// app, which would lock the owner out at the next login.
func (s *Service) enrolTOTP(r *request) error {
	proof, err := readProofBody(r, "")
	if err != nil {
		return err
	}
	if s.cfg.TOTP == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "TOTP is not configured.")
	}
	u := r.target.user
	if u.TOTPEnabled {
		return apiError(http.StatusConflict, CodeTOTPEnabled, "TOTP is on; turn it off first.")
	}
	if err := s.checkProof(r, u, proof); err != nil {
		return err
	}
	en, err := s.newTOTPSecret(r, u)
	if err != nil {
		return err
	}
	return single(r, http.StatusCreated, totpOut{Type: "totp", Secret: en.Secret, URI: en.URI,
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(en.PNG)})
}

// confirmTOTP turns TOTP on with a code of the enrolled secret; the code's
// step is used up like a login's. The answer is the user with a new batch
// of recovery codes, shown this once.
func (s *Service) confirmTOTP(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	code := b.secret("totp", true, 16)
	if err := b.done(); err != nil {
		return err
	}
	if s.cfg.TOTP == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "TOTP is not configured.")
	}
	u := r.target.user
	if u.TOTPEnabled {
		return apiError(http.StatusConflict, CodeTOTPEnabled, "TOTP is already on.")
	}
	if _, err := s.logins.GetTOTPSecret(r.ctx(), u.ID); isNotFound(err) {
		return apiError(http.StatusConflict, CodeTOTPNotEnrolled, "Enrol first (POST .../totp).")
	}
	// The code of the new secret is a guess like a login's.
	ok, err := s.checkGuess(r, StepTOTP, []regulation.Subject{accountSubject(u.ID), ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
		ok, err := s.totpMatches(r, u.ID, code)
		return ok, nil, err
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return errTOTPInvalid(http.StatusUnauthorized)
	}
	if err := s.logins.ConfirmTOTP(r.ctx(), u.ID, s.nowMs()); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorAdded, SubjectUserID: u.ID, Data: map[string]string{"factor": "totp"}})
	// The recovery codes of the new factor, shown this once (see
	// recoverycodes.go). TOTP is on even if they cannot be made: the user
	// makes them again with POST .../recovery-codes.
	codes, err := s.issueRecoveryCodes(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.TOTPOn, "", "")
	out := *u
	out.TOTPEnabled = true
	return single(r, http.StatusOK, totpConfirmedOut{userOut: userJSON(out), RecoveryCodes: codes})
}

// deleteTOTP turns TOTP off. The caller proves again who they are, with
// {"currentPassword"} (or its older name {"password"}) or {"totp"}: a
// stolen session alone cannot remove the second factor.
func (s *Service) deleteTOTP(r *request) error {
	proof, err := readProofBody(r, "password")
	if err != nil {
		return err
	}
	u := r.target.user
	if _, err := s.logins.GetTOTPSecret(r.ctx(), u.ID); isNotFound(err) {
		return apiError(http.StatusConflict, CodeTOTPNotEnrolled, "TOTP is not on.")
	}
	if err := s.checkProof(r, u, proof); err != nil {
		return err
	}
	if err := s.keepsSecondFactor(r, u, ""); err != nil { // mfarequired.go
		return err
	}
	if err := s.logins.DeleteTOTP(r.ctx(), u.ID); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorRemoved, SubjectUserID: u.ID, Data: map[string]string{"factor": "totp"}})
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.TOTPOff, "", "")
	return null(r)
}

// passwordHashOrDummy is the user's hash, or the dummy one for a user
// without a password (the same work either way).
func (s *Service) passwordHashOrDummy(u *db.User) string {
	if u.PasswordHash != "" {
		return u.PasswordHash
	}
	return s.dummyHash
}

// newTOTPSecret makes a new TOTP secret for u, labelled with the user's
// first address (else the name) in the authenticator app, and stores it
// sealed and unconfirmed, replacing one not confirmed.
func (s *Service) newTOTPSecret(r *request, u *db.User) (totp.Enrollment, error) {
	account := u.Name
	if emails, err := s.logins.ListEmails(r.ctx(), u.ID); err == nil && len(emails) > 0 {
		account = emails[0].Email
	}
	en, err := s.cfg.TOTP.Enroll(u.ID, account)
	if err != nil {
		return totp.Enrollment{}, err
	}
	if err := s.logins.SaveTOTPSecret(r.ctx(), db.TOTPSecret{UserID: u.ID, Ciphertext: en.Ciphertext, CreatedMs: s.nowMs()}); err != nil {
		return totp.Enrollment{}, err
	}
	return en, nil
}
