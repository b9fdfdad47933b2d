package accounts

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
)

// How and when a user authenticated, and second factors that are
// required.
//
// Each step of a login records the factor it proved (proved): a password
// (mint.AMRPassword), a mailed code (mint.AMRMailedCode), a TOTP or
// recovery code (mint.AMROTP), a passkey (mint.AMRPasskey). A first
// factor followed by a second step travels on the step's flow code
// (db.Code.AMR). The session keeps the factors, with mint.AMRMultiFactor
// when there were two (a passkey alone counts as two: the authenticator
// verified its user), and the time of the login; its tokens carry both
// in amr and auth-time caveats, and a refresh mints the same ones.
//
// A second factor is required of a user who has one of
// Config.RequireSecondFactorRoles, or who is an accepted member of an
// organization that requires it (PATCH /organizations/:id
// {"requireSecondFactor": true}). After the first factor such a user
// goes on to the step of the second factor they have (totp, or webauthn
// for a passkey), or, with none, to the totp-enrol step: it shows a new
// TOTP secret and ends the login only when a code of it is confirmed,
// answering the session with the new recovery codes. While a second
// factor is required the user cannot remove the last one (409
// SECOND-FACTOR-REQUIRED); the sysadmin's factor reset still can, and
// the user enrols again at the next sign-in. Sessions that exist when
// the requirement is set are not ended: the next sign-in enforces it,
// and a backend that must not wait reads amr ("mfa") in X-Auth-Info.

// StepTOTPEnrol is the login step of a user who must have a second
// factor and has none: it enrols TOTP.
const StepTOTPEnrol = "totp-enrol"

// CodeSecondFactorRequired refuses removing the last second factor of a
// user who must have one (409).
const CodeSecondFactorRequired = "SECOND-FACTOR-REQUIRED"

// The keys of what a login request carries between its steps' code and
// the session it starts (echo.Context values).
const (
	provedKey        = "authgw.accounts.proved"
	enrolledCodesKey = "authgw.accounts.enrolled-recovery-codes"
)

// checkRequiredRoles checks Config.RequireSecondFactorRoles.
func checkRequiredRoles(roles []string) error {
	for _, role := range roles {
		if !caveat.ValidRole(role) {
			return fmt.Errorf("accounts: RequireSecondFactorRoles: %q is not a role name (1 to 64 of [A-Za-z0-9._-])", role)
		}
	}
	return nil
}

// proved records factors the login request proved.
func proved(r *request, factors ...string) {
	have, _ := r.Get(provedKey).([]string)
	r.Set(provedKey, append(slices.Clone(have), factors...))
}

// provedFactors returns the factors the request proved, each once.
func provedFactors(r *request) []string {
	have, _ := r.Get(provedKey).([]string)
	var out []string
	for _, f := range have {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// provedAfter records the factor of a second step and the first factor
// its flow code carries.
func provedAfter(r *request, flow db.Code, factor string) {
	proved(r, append(strings.Fields(flow.AMR), factor)...)
}

// loginAMR is the session's amr: the factors proved, and
// mint.AMRMultiFactor when there were two or more; "" when none was
// recorded (a registration's session).
func loginAMR(r *request) string {
	factors := provedFactors(r)
	n := 0
	for _, f := range factors {
		if f != mint.AMRMultiFactor {
			n++
		}
	}
	if n >= 2 && !slices.Contains(factors, mint.AMRMultiFactor) {
		factors = append(factors, mint.AMRMultiFactor)
	}
	if len(factors) > caveat.MaxAMR {
		factors = factors[:caveat.MaxAMR]
	}
	return strings.Join(factors, " ")
}

// sessionAuthn is the amr and auth time the session's tokens carry: those
// of its login; none for a session from before they were kept.
func sessionAuthn(sess db.Session) ([]string, time.Time) {
	var at time.Time
	if sess.AuthTimeMs > 0 {
		at = time.UnixMilli(sess.AuthTimeMs)
	}
	return strings.Fields(sess.AMR), at
}

// enrolledRecoveryCodes returns the recovery codes of a TOTP enrolled by
// this login request, nil otherwise.
func enrolledRecoveryCodes(r *request) *recoveryCodesOut {
	codes, _ := r.Get(enrolledCodesKey).(*recoveryCodesOut)
	return codes
}

// secondFactorRequired reports whether u must sign in with a second
// factor: one of u's roles is in Config.RequireSecondFactorRoles, or u is
// an accepted member of an organization that requires it.
func (s *Service) secondFactorRequired(ctx context.Context, u db.User) (bool, error) {
	for _, role := range u.Roles {
		if slices.Contains(s.cfg.RequireSecondFactorRoles, role) {
			return true, nil
		}
	}
	return s.logins.UserInSecondFactorOrg(ctx, u.ID)
}

// passkeyCount is the number of the user's passkeys, counted even while
// passkeys are turned off: a passkey is still the user's second factor
// then (its step answers 503), so turning passkeys off neither lets a
// first factor alone in nor lets whoever knows the password enrol a TOTP
// app of their own in its place.
func (s *Service) passkeyCount(ctx context.Context, userID string) (int, error) {
	creds, err := s.logins.ListWebAuthnCredentials(ctx, userID)
	return len(creds), err
}

// enforceSecondFactor runs, after a first factor, for a user without
// TOTP: when a second factor is required, it answers the step of the
// user's passkey (webauthn) or, with none, the totp-enrol step, each
// with a flow code that carries the first factor, and reports handled.
// Otherwise it answers nothing.
func (s *Service) enforceSecondFactor(r *request, u db.User, state string) (handled bool, err error) {
	if u.TOTPEnabled {
		return false, nil
	}
	required, err := s.secondFactorRequired(r.ctx(), u)
	if err != nil || !required {
		return err != nil, err
	}
	passkeys, err := s.passkeyCount(r.ctx(), u.ID)
	if err != nil {
		return true, err
	}
	if passkeys == 0 && s.cfg.TOTP == nil {
		s.cfg.Logger.Error("accounts: a second factor is required but neither TOTP nor passkeys are configured", "user", u.ID)
		return true, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	code, err := s.newFlowCode(r, u.ID, state)
	if err != nil {
		return true, err
	}
	if passkeys > 0 {
		return true, step(r, StepWebAuthn, state, code)
	}
	return true, step(r, StepTOTPEnrol, state, code)
}

// newFlowCode stores a flow code of the login's second step, carrying
// the factors proved so far, and returns it.
func (s *Service) newFlowCode(r *request, userID, state string) (string, error) {
	code, hash, err := s.newCode()
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	return code, s.logins.CreateCode(r.ctx(), db.Code{ID: s.newID(), Hash: hash, Kind: db.CodeTOTPFlow, UserID: userID,
		State: state, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.LoginCodeTTL).UnixMilli(), AMR: strings.Join(provedFactors(r), " ")})
}

// totpEnrolOut is the data of the totp-enrol step's first answer.
type totpEnrolOut struct {
	Step  string `json:"step"`
	State string `json:"state"`
	Code  string `json:"code"`
	// Secret, URI and QR (a data: URL of the QR code PNG of URI) are the
	// new TOTP secret, shown this once.
	Secret string `json:"secret"`
	URI    string `json:"uri"`
	QR     string `json:"qr"`
}

// totpEnrolStep enrols TOTP inside a login. With {code, state} (the flow
// code of the first factor) it stores a new, unconfirmed secret and
// shows it; with {code, state, totp} it confirms it with a code of the
// app (a guess like a login's TOTP code), turns TOTP on, and ends the
// login with the session and the new recovery codes. A wrong flow code is
// a wrong guess; a wrong TOTP code uses up one of the flow code's
// attempts.
func (s *Service) totpEnrolStep(r *request, b *body, state string) error {
	flow := b.secret("code", true, 64)
	otp := b.secret("totp", false, 16)
	if err := b.done(); err != nil {
		return err
	}
	if s.cfg.TOTP == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	c, err := s.flowCode(r, StepTOTP, flow, state)
	if err != nil {
		return err
	}
	u, err := s.loginUser(r, c.UserID)
	if err != nil {
		return err
	}
	if u.TOTPEnabled {
		return apiError(http.StatusConflict, CodeTOTPEnabled, "TOTP is on already; start again and use the totp step.")
	}
	// Only a login that must enrol may: the flow code of a user with a
	// passkey is for the passkey (whoever knows the password must not
	// swap the owner's second factor for an app of their own), and one
	// of whom nothing is required has no reason to enrol here.
	if err := s.mayEnrolInLogin(r, u); err != nil {
		return err
	}
	if otp == "" {
		return s.showLoginEnrolment(r, u, state, flow)
	}
	if _, err := s.logins.GetTOTPSecret(r.ctx(), u.ID); isNotFound(err) {
		return apiError(http.StatusConflict, CodeTOTPNotEnrolled, "Ask for the secret first: send the step without totp.")
	}
	ok, err := s.guessWithFlowCode(r, c, func() (bool, error) { return s.totpMatches(r, u.ID, otp) })
	switch {
	case err != nil:
		return err
	case !ok:
		return errTOTPInvalid(http.StatusUnauthorized)
	}
	if err := s.consumeFlowCode(r, c); err != nil {
		return err
	}
	if err := s.logins.ConfirmTOTP(r.ctx(), u.ID, s.nowMs()); err != nil {
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorAdded, SubjectUserID: u.ID, Data: map[string]string{"factor": "totp"}})
	codes, err := s.issueRecoveryCodes(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	r.Set(enrolledCodesKey, &codes)
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.TOTPOn, "", "")
	provedAfter(r, c, mint.AMROTP)
	u.TOTPEnabled = true
	return s.startLoginSession(r, u)
}

// showLoginEnrolment stores a new, unconfirmed TOTP secret for u
// (replacing one not confirmed) and answers it with the flow code.
func (s *Service) showLoginEnrolment(r *request, u db.User, state, flow string) error {
	en, err := s.newTOTPSecret(r, &u)
	if err != nil {
		return err
	}
	noStore(r)
	return r.JSON(http.StatusOK, struct {
		T    string       `json:"t"`
		Data totpEnrolOut `json:"data"`
	}{T: "step", Data: totpEnrolOut{Step: StepTOTPEnrol, State: state, Code: flow, Secret: en.Secret, URI: en.URI,
		QR: "data:image/png;base64," + base64.StdEncoding.EncodeToString(en.PNG)}})
}

// keepsSecondFactor refuses (409 SECOND-FACTOR-REQUIRED) removing a
// second factor of u when a second factor is required of u and none
// would be left: TOTP when passkeyID is "", else the passkey passkeyID
// (one that is not u's removes nothing: the caller answers 404).
func (s *Service) keepsSecondFactor(r *request, u *db.User, passkeyID string) error {
	if passkeyID == "" && !u.TOTPEnabled {
		return nil // a secret never confirmed is no factor
	}
	required, err := s.secondFactorRequired(r.ctx(), *u)
	if err != nil || !required {
		return err
	}
	left := 0
	if u.TOTPEnabled && passkeyID != "" {
		left++
	}
	if s.passkeys != nil {
		creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), u.ID)
		if err != nil {
			return err
		}
		if passkeyID != "" && !slices.ContainsFunc(creds, func(c db.WebAuthnCredential) bool { return c.ID == passkeyID }) {
			return nil
		}
		for _, c := range creds {
			if c.ID != passkeyID {
				left++
			}
		}
	}
	if left > 0 {
		return nil
	}
	return apiError(http.StatusConflict, CodeSecondFactorRequired,
		"A second factor is required of your account (by your role or an organization): add another (TOTP or a passkey) before removing this one.")
}

// loginTOTPMatches is totpMatches for the totp login step: only a
// confirmed secret counts, so that the flow code of a login that is
// enrolling cannot end it there with a secret nobody confirmed (the
// totp-enrol step confirms it, and shows the recovery codes).
func (s *Service) loginTOTPMatches(r *request, userID, code string) (bool, error) {
	sec, err := s.logins.GetTOTPSecret(r.ctx(), userID)
	switch {
	case isNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	case sec.ConfirmedMs == 0:
		return false, nil
	}
	return s.totpMatches(r, userID, code)
}

// CodeEnrolNotAllowed refuses the totp-enrol step of a login whose user
// has a passkey, or of whom no second factor is required (409).
const CodeEnrolNotAllowed = "ENROL-NOT-ALLOWED"

// mayEnrolInLogin allows the totp-enrol step only for a user of whom a
// second factor is required and who has none.
func (s *Service) mayEnrolInLogin(r *request, u db.User) error {
	required, err := s.secondFactorRequired(r.ctx(), u)
	if err != nil {
		return err
	}
	passkeys, err := s.passkeyCount(r.ctx(), u.ID)
	if err != nil {
		return err
	}
	if !required || passkeys > 0 {
		return apiError(http.StatusConflict, CodeEnrolNotAllowed,
			"This login cannot enrol a second factor: use the step the first factor answered (totp or webauthn).")
	}
	return nil
}
