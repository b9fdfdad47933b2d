package accounts

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
)

// The multi-step login of the README's "Login and sessions". Each step answers the next step to
// submit ({"t":"step"}), the session ({"t":"session"}) or an error. The
// state, 32 hex characters the client picks, binds the steps of one
// login: a code is only good for the state it was issued for.

// Login steps.
const (
	StepEmail    = "email"
	StepCode     = "code"
	StepPassword = "password"
	StepTOTP     = "totp"
	StepWebAuthn = "webauthn"
)

// maxMailsInFlight bounds the login-code and recovery emails sent in the
// background (mailLater); past it the email step and the recovery request
// answer 503 to everyone alike.
const maxMailsInFlight = 64

// knownSourceAge is how recently an account must have logged in (or
// refreshed a session) from a source for the source to be known to it:
// a known source is not held to the address's cap on login codes.
const knownSourceAge = 30 * 24 * time.Hour

// maxKnownSources bounds how many recent sessions' IPs are read.
const maxKnownSources = 200

// mailTimeout bounds the sending of one login-code email.
const mailTimeout = 30 * time.Second

// The background work of the email step starts mailDelayMin plus up to
// mailDelaySpread after the answer.
const (
	mailDelayMin    = 10 * time.Millisecond
	mailDelaySpread = 30 * time.Millisecond
)

// stepOut is the data of a {"t":"step"} answer.
type stepOut struct {
	Step  string `json:"step"`
	State string `json:"state"`
	// Code is the flow code the totp step must send back.
	Code string `json:"code,omitempty"`
}

func step(r *request, next, state, code string) error {
	noStore(r)
	r.Set(stepAnsweredKey, true) // for authgw_login_steps_total
	return r.JSON(http.StatusOK, struct {
		T    string  `json:"t"`
		Data stepOut `json:"data"`
	}{T: "step", Data: stepOut{Step: next, State: state, Code: code}})
}

// login dispatches POST /sessions/login/:step, counts it in the metrics,
// and records a refused step in the audit log (login.failed, or
// login.locked for a lockout) with the account the step found, if any. A
// step that succeeds records nothing until the session starts
// (session.created).
func (s *Service) login(r *request) (err error) {
	stepName := r.Param("step")
	defer func() { s.metrics.countLogin(r, stepName, err) }()
	err = s.loginStep(r)
	s.recordRefusal(r.ctx(), err, audit.LoginFailed, audit.LoginLocked, auditSubjectOf(r),
		map[string]string{"step": stepName, "factor": stepFactors[stepName]})
	return err
}

// stepFactors names the factor each login step checks, for the audit
// log (the email step checks none: it asks for a code). The totp step
// also takes a recovery code; its refusal's reason says which failed.
var stepFactors = map[string]string{StepCode: "code", StepPassword: "password", StepTOTP: "totp",
	StepTOTPEnrol: "totp", StepWebAuthn: "passkey", StepFederated: "federated"}

// loginStep runs the step of POST /sessions/login/:step.
func (s *Service) loginStep(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	stepName := r.Param("step")
	b.tIs(stepName + "-step")
	state := b.str("state", true, 32)
	if state != "" && !validState(state) {
		b.obstruct("state", ObstructionInvalid, "state must be 32 lower-case hex characters.")
	}
	switch stepName {
	case StepEmail, StepCode:
		if s.cfg.CodeLoginOff {
			// The same answer for every address, before any is read.
			return apiError(http.StatusForbidden, CodeCodeLoginOff, "Login by an emailed code is turned off; log in with your password.")
		}
		if stepName == StepEmail {
			return s.emailStep(r, b, state)
		}
		return s.codeStep(r, b, state)
	case StepPassword:
		return s.passwordStep(r, b, state)
	case StepTOTP:
		return s.totpStep(r, b, state)
	case StepWebAuthn:
		return s.webauthnStep(r, b, state)
	case StepTOTPEnrol:
		return s.totpEnrolStep(r, b, state)
	case StepFederated:
		return s.federatedStep(r, b, state) // federated.go: in-process only
	}
	return apiError(http.StatusNotFound, CodeUnknownEndpoint, "The login steps are email, code, password, totp, totp-enrol and webauthn.")
}

func validState(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// regulated checks the subjects' bans: 429 TOO-MANY-FAILURES with
// Retry-After while one is banned, 503 when the regulator cannot tell.
// The first call of a request then waits out the delay of an account
// that strangers have been failing against (regulation.Delay): a delay
// slows every guess at the account and never refuses its owner. Later
// calls of the request (verifyGuessed checks again once it holds a
// hashing slot) do not wait, so that no one sleeps holding a slot: a
// step must call regulated before it takes one.
func (s *Service) regulated(r *request, subjects ...regulation.Subject) error {
	if err := s.refusal(r, s.cfg.Regulator.Check(r.ctx(), subjects...)); err != nil {
		return err
	}
	return s.refusal(r, s.waitDelay(r, subjects))
}

// delayedKey marks the context of a request that has waited out its
// account delay.
type delayedKey struct{}

// waitDelay waits, once per request, for the accounts' delay.
func (s *Service) waitDelay(r *request, subjects []regulation.Subject) error {
	ctx := r.ctx()
	if ctx.Value(delayedKey{}) != nil || !slices.ContainsFunc(subjects, func(s regulation.Subject) bool { return s.Kind == regulation.KindAccount }) {
		return nil
	}
	r.SetRequest(r.Request().WithContext(context.WithValue(ctx, delayedKey{}, true)))
	d, err := s.cfg.Regulator.Delay(ctx, subjects...)
	if err != nil || d <= 0 {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
}

// refusal maps a regulator's answer to the step's: nil, 429
// TOO-MANY-FAILURES with Retry-After for a ban, the error otherwise.
func (s *Service) refusal(r *request, err error) error {
	var banned *regulation.BannedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &banned):
		secs := int(banned.Until.Sub(s.cfg.Now())/time.Second) + 1
		r.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		return apiError(http.StatusTooManyRequests, CodeRegulated, "Too many failed attempts; try again later.")
	}
	return err
}

// failed records a failed step. Regulation fails closed: a failure that
// cannot be recorded (with Redis, neither on Redis nor on the database
// fallback) is logged and refused with 503 UNAVAILABLE instead of the
// step's failure, so that guesses are never uncounted while the store is
// down: the caller learns nothing from a guess it made then.
func (s *Service) failed(r *request, stepName string, subjects ...regulation.Subject) error {
	if err := s.cfg.Regulator.Fail(r.ctx(), stepName, subjects...); err != nil {
		s.cfg.Logger.Warn("accounts: recording a failure failed; the attempt is refused", "step", stepName, "err", err)
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	return nil
}

func ipSubject(c *Caller) regulation.Subject {
	return regulation.Subject{Kind: db.RegulateIP, Value: c.IP}
}

func accountSubject(key string) regulation.Subject {
	return regulation.Subject{Kind: db.RegulateAccount, Value: key}
}

// emailStep sends a login code to the address when it belongs to a user.
// The answer is the same, and as fast, whether or not it does: the
// lookup and the email happen in the background, after the answer.
// Asking for a code is not a failure: it is counted apart from failures,
// so strangers asking for codes for someone's address leave their
// password step open. Before the answer it is counted per (address,
// source) and per source (regulation.RequestCode: 429 past either,
// whether or not the address has an account). After the answer, in the
// background, a code for a source the account has not logged in from
// within knownSourceAge also counts against the address
// (RequestCodeToAddress): past that cap no mail goes, so strangers from
// many sources cannot bomb a mailbox; and since the owner's own sources
// skip that cap, they cannot keep the owner's code login closed either.
func (s *Service) emailStep(r *request, b *body, state string) error {
	raw := b.str("email", true, db.MaxEmailLength)
	email, err := db.NormalizeEmail(raw)
	if raw != "" && err != nil {
		b.obstruct("email", ObstructionInvalid, "email is not an email address.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if err := s.mailLater(r, email, func(ctx context.Context, email string) { s.sendLoginCode(ctx, email, state) }); err != nil {
		return err
	}
	return step(r, StepCode, state, "")
}

// mayMailCode reports whether a login code may be mailed to email for a
// request from ip: always when the address's account logged in from ip's
// source within knownSourceAge; otherwise while the address's cap for
// other sources holds (regulation.RequestCodeToAddress, which counts it).
// It runs after the email step answered, so what it finds changes
// nothing in the answer. Failures are logged without the address, and
// send nothing.
func (s *Service) mayMailCode(ctx context.Context, email, ip string) bool {
	key := db.EmailKey(email)
	if s.knownSource(ctx, key, ip) {
		return true
	}
	if err := s.cfg.Regulator.RequestCodeToAddress(ctx, accountSubject(key)); err != nil {
		if !errors.Is(err, regulation.ErrBanned) {
			s.cfg.Logger.Warn("accounts: regulation of login codes failed", "err", err)
		}
		return false
	}
	return true
}

// knownSource reports whether the account whose verified address has the
// key emailKey logged in (or refreshed a session) from ip's source (the
// address, or its IPv6 /64) within knownSourceAge. A failure to read is
// logged and reported as unknown.
func (s *Service) knownSource(ctx context.Context, emailKey, ip string) bool {
	ips, err := s.logins.RecentLoginIPs(ctx, emailKey, s.cfg.Now().Add(-knownSourceAge).UnixMilli(), maxKnownSources)
	if err != nil {
		s.cfg.Logger.Warn("accounts: reading the sources of an address's logins failed", "err", err)
		return false
	}
	for _, known := range ips {
		if known != "" && regulation.SameSource(known, ip) {
			return true
		}
	}
	return false
}

// sendLoginCode mails a login code for state to the user of email, if
// there is one. Failures are logged without the code or the address.
func (s *Service) sendLoginCode(ctx context.Context, email, state string) {
	// A login code goes only to an address its owner proved: an address
	// added to an account, by a thief with a token or by a squatter, opens
	// nothing. The one exception is an address nobody verified on an
	// account with no verified address at all (a registration never
	// verified): the code is how the mailbox is first proved, and the code
	// step then ends whatever was set up on the account before.
	u, e, err := s.logins.GetUserByEmail(ctx, email)
	if isNotFound(err) {
		u, e, err = s.logins.GetUserByUnprovenEmail(ctx, email)
	}
	if err != nil {
		if !isNotFound(err) {
			s.cfg.Logger.Warn("accounts: login code lookup failed", "err", err)
		}
		return
	}
	if u.BannedMs != 0 {
		return
	}
	code, hash, err := s.newCode()
	if err != nil {
		s.cfg.Logger.Error("accounts: login code", "err", err)
		return
	}
	now := s.cfg.Now()
	if err := s.logins.CreateCode(ctx, db.Code{ID: s.newID(), Hash: hash, Kind: db.CodeLogin, UserID: u.ID, EmailID: e.ID,
		State: state, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.cfg.LoginCodeTTL).UnixMilli()}); err != nil {
		s.cfg.Logger.Warn("accounts: storing a login code failed", "user", u.ID, "err", err)
		return
	}
	msg, err := s.mails.Render(mailtemplate.LoginCode, e.Email, mailtemplate.View{Code: code, Lifetime: s.cfg.LoginCodeTTL})
	if err == nil {
		err = s.send(ctx, msg)
	}
	if err != nil {
		s.cfg.Logger.Warn("accounts: sending a login code failed", "user", u.ID, "err", err)
	}
}

// codeStep checks an emailed login code for the state.
//
// When the code's address is one nobody verified and more than one
// account holds it as its never-verified registration (someone may have
// registered the owner's address first), the step never picks one by
// itself: the code is not used up, and the answer is the code step again
// with "accounts", each candidate's ID, name and creation time (nothing
// secret: whoever holds the code reads the mailbox). The client sends
// the same code again with "account", the ID picked: the address is
// verified on that account (which is reset as on any first proof) and
// the other accounts lose their hold on it. Otherwise an "account" other
// than the one the code opens is refused, and the code is not used up.
func (s *Service) codeStep(r *request, b *body, state string) error {
	code := b.secret("code", true, 64)
	account := b.str("account", false, 64)
	if err := b.done(); err != nil {
		return err
	}
	var holders []db.UnprovenHolder
	var chosen *db.UnprovenHolder
	c, err := s.takeCode(r, db.CodeLogin, state, code, func(c db.Code) (bool, error) {
		hs, err := s.unprovenHolders(r, c)
		switch {
		case err != nil:
			return false, err
		case len(hs) < 2 && account != "" && account != c.UserID:
			// Only one account may open: never another than the one picked.
			return false, errNotCandidate()
		case len(hs) < 2:
			return false, nil
		}
		holders = hs
		if account == "" {
			return true, nil
		}
		for i := range hs {
			if hs[i].User.ID == account {
				chosen = &hs[i]
				return false, nil
			}
		}
		return false, errNotCandidate()
	})
	if err != nil {
		return err
	}
	if holders != nil && chosen == nil {
		return chooseAccount(r, state, holders)
	}
	if chosen != nil {
		c.UserID, c.EmailID = chosen.User.ID, chosen.Email.ID
	}
	u, err := s.loginUser(r, c.UserID)
	if err != nil {
		return err
	}
	if u, err = s.proveMailbox(r, u, c); err != nil {
		return err
	}
	proved(r, mint.AMRMailedCode)
	return s.secondFactor(r, u, state)
}

// CodeAccountNotCandidate refuses, at the code step, an "account" that is
// not among the accounts the code's address may open (409).
const CodeAccountNotCandidate = "ACCOUNT-NOT-CANDIDATE"

// errNotCandidate is the 409 of an "account" the code cannot open.
func errNotCandidate() error {
	return apiError(http.StatusConflict, CodeAccountNotCandidate,
		"account is not one of the accounts this address may open; send one of those the code step listed.")
}

// unprovenHolders returns the accounts a first proof of the address of
// the login code c may open, when nobody verified it; nil when it is
// verified, or gone (proveMailbox answers that).
func (s *Service) unprovenHolders(r *request, c db.Code) ([]db.UnprovenHolder, error) {
	if c.EmailID == "" {
		return nil, nil
	}
	e, err := s.logins.GetEmail(r.ctx(), c.UserID, c.EmailID)
	switch {
	case isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case e.VerifiedMs != 0:
		return nil, nil
	}
	return s.logins.ListUnprovenHolders(r.ctx(), e.Email)
}

// accountChoiceOut is one account the code step lists to choose from.
type accountChoiceOut struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedMs int64  `json:"createdMs"`
}

// choiceOut is the data of the code step's answer that lists accounts.
type choiceOut struct {
	Step     string             `json:"step"`
	State    string             `json:"state"`
	Accounts []accountChoiceOut `json:"accounts"`
}

// chooseAccount answers the code step again, listing the accounts the
// code may open, newest first.
func chooseAccount(r *request, state string, holders []db.UnprovenHolder) error {
	out := choiceOut{Step: StepCode, State: state, Accounts: make([]accountChoiceOut, len(holders))}
	for i, h := range holders {
		out.Accounts[i] = accountChoiceOut{ID: h.User.ID, Name: h.User.Name, CreatedMs: h.User.CreatedMs}
	}
	noStore(r)
	return r.JSON(http.StatusOK, struct {
		T    string    `json:"t"`
		Data choiceOut `json:"data"`
	}{T: "step", Data: out})
}

// proveMailbox records what a login code proved: its owner reads the
// mailbox it was sent to. For an address not verified yet (the first
// proof of the mailbox of an account that has no verified address), the
// address is verified, other accounts' unverified holds on it end, and,
// since nobody proved anything of the account before, its password, TOTP
// and sessions are ended too (account pre-hijacking: whoever registered
// the address without owning it keeps nothing). It returns the user as
// the login continues with.
func (s *Service) proveMailbox(r *request, u db.User, c db.Code) (db.User, error) {
	if c.EmailID == "" {
		return u, nil
	}
	e, err := s.logins.GetEmail(r.ctx(), u.ID, c.EmailID)
	switch {
	case isNotFound(err):
		return u, apiError(http.StatusUnauthorized, CodeCodeExpired, "The address of this code was removed; start again.")
	case err != nil:
		return u, err
	case e.VerifiedMs != 0:
		return u, nil
	}
	now, expires := s.nowMs(), s.revocationExpiresMs()
	reset, err := s.logins.ProveEmailByLogin(r.ctx(), e.ID, db.Revoking{AtMs: now, ExpiresMs: expires})
	switch {
	case isDuplicate(err):
		return u, apiError(http.StatusConflict, CodeDuplicateEmail, "Another account verified this address first.")
	case errors.Is(err, db.ErrNotFirstProof):
		return u, apiError(http.StatusUnauthorized, CodeCodeExpired, "This code no longer opens the account; log in with a verified address.")
	case err != nil:
		return u, err
	}
	s.record(r.ctx(), audit.Event{Type: audit.EmailVerified, SubjectUserID: u.ID, Data: map[string]string{"email": e.ID}})
	if !reset {
		return u, nil
	}
	s.cfg.Revoked(r.ctx(), db.Revocation{Kind: db.RevokeUser, Subject: u.ID, NotBeforeMs: now, ExpiresMs: expires, CreatedMs: now})
	return s.loginUser(r, u.ID)
}

// takeCode finds the code of the kind issued for state, and consumes it,
// through checkGuess. A wrong code counts an attempt against the state's
// pending code (5 at most) and a failure against the IP (and the account
// when known): 401 CODE-INVALID. A spent or expired code is 401
// CODE-EXPIRED. When keep, called with a good code before it is
// consumed, answers true, the code is left for a later request (it still
// must be good: not spent nor expired); an error of keep is the answer.
func (s *Service) takeCode(r *request, kind, state, code string, keep func(db.Code) (bool, error)) (db.Code, error) {
	var c db.Code
	ok, err := s.checkGuess(r, kind, []regulation.Subject{ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
		now := s.nowMs()
		var err error
		c, err = s.logins.GetCodeByHash(r.ctx(), codeHash(code))
		if err != nil && !isNotFound(err) {
			return false, nil, err
		}
		if err != nil || c.Kind != kind || c.State != state {
			var more []regulation.Subject
			if pending, err := s.logins.GetPendingCode(r.ctx(), kind, state); err == nil {
				auditSubject(r, pending.UserID)
				_, _ = s.logins.RecordCodeAttempt(r.ctx(), pending.ID, maxCodeAttempts, now)
				more = append(more, accountSubject(pending.UserID))
			}
			return false, more, nil
		}
		if keep != nil {
			if c.ConsumedMs != 0 || c.InvalidatedMs != 0 || c.ExpiresMs <= now {
				return false, nil, apiError(http.StatusUnauthorized, CodeCodeExpired, "The code has expired or was used; start again.")
			}
			switch kept, err := keep(c); {
			case err != nil:
				return false, nil, err
			case kept:
				return true, nil, nil
			}
		}
		if err := s.logins.ConsumeCode(r.ctx(), c.ID, now); err != nil {
			if errors.Is(err, db.ErrCodeSpent) || isNotFound(err) {
				return false, nil, apiError(http.StatusUnauthorized, CodeCodeExpired, "The code has expired or was used; start again.")
			}
			return false, nil, err
		}
		return true, nil, nil
	})
	switch {
	case err != nil:
		return c, err
	case !ok:
		return c, apiError(http.StatusUnauthorized, CodeCodeInvalid, "The code is wrong.")
	}
	return c, nil
}

// loginUser reads the user a first factor named: a banned or deleted user
// cannot log in.
func (s *Service) loginUser(r *request, id string) (db.User, error) {
	u, err := s.logins.GetUser(r.ctx(), id)
	switch {
	case isNotFound(err):
		return u, apiError(http.StatusUnauthorized, CodeUserDeleted, "The account no longer exists.")
	case err != nil:
		return u, err
	case u.BannedMs != 0:
		return u, apiError(http.StatusUnauthorized, CodeUserBanned, "The account is banned.")
	}
	return u, nil
}

// secondFactor ends a first factor: a user with TOTP always goes through
// the totp step, a user with a passkey (and no TOTP) through the webauthn
// step, each with a flow code bound to the state; others get their
// session. The passkey's step is asked for even while passkeys are off
// (it answers 503 then): turning them off must not let the password
// alone in.
func (s *Service) secondFactor(r *request, u db.User, state string) error {
	if handled, err := s.enforceSecondFactor(r, u, state); handled { // mfarequired.go
		return err
	}
	next := StepTOTP
	if !u.TOTPEnabled {
		// A passkey, like TOTP, is followed by its step after a first
		// factor; a user with TOTP may answer the totp step with one.
		passkeys, err := s.passkeyCount(r.ctx(), u.ID)
		if err != nil {
			return err
		}
		if passkeys == 0 {
			return s.startLoginSession(r, u)
		}
		next = StepWebAuthn
	}
	if next == StepTOTP && s.cfg.TOTP == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	code, err := s.newFlowCode(r, u.ID, state)
	if err != nil {
		return err
	}
	return step(r, next, state, code)
}

// passwordStep checks an email and password. An unknown email, a user
// without a password and a wrong password get the same answer, after the
// same work (a password hash verified), and count the same failures.
func (s *Service) passwordStep(r *request, b *body, state string) error {
	raw := b.str("email", true, db.MaxEmailLength)
	email, err := db.NormalizeEmail(raw)
	if raw != "" && err != nil {
		b.obstruct("email", ObstructionInvalid, "email is not an email address.")
	}
	pw := b.secret("password", true, password.MaxLength)
	if err := b.done(); err != nil {
		return err
	}
	// The address counts by its key: the same address in another case
	// logs in to the same account, so it must not buy more guesses.
	subjects := []regulation.Subject{accountSubject(db.EmailKey(email)), ipSubject(r.caller)}
	u, _, err := s.logins.GetUserByEmail(r.ctx(), email)
	known := err == nil
	if err != nil && !isNotFound(err) {
		return err
	}
	if known {
		auditSubject(r, u.ID)
	}
	ok, rehash, err := s.verifyGuessed(r, StepPassword, pw, s.passwordHashOrDummy(&u), !known || u.PasswordHash == "", subjects...)
	if err != nil {
		return err
	}
	if !ok {
		return apiError(http.StatusUnauthorized, CodeIncorrectPassword, "The email or password is wrong.")
	}
	if u.BannedMs != 0 {
		return apiError(http.StatusUnauthorized, CodeUserBanned, "The account is banned.")
	}
	if err := s.regulated(r, accountSubject(u.ID), ipSubject(r.caller)); err != nil {
		return err
	}
	if rehash {
		if h, err := s.hashPassword(r, pw); err == nil {
			if err := s.logins.SetPasswordHash(r.ctx(), u.ID, h, s.nowMs()); err != nil {
				s.cfg.Logger.Warn("accounts: rehash on login failed", "user", u.ID, "err", err)
			}
		}
	}
	proved(r, mint.AMRPassword)
	return s.secondFactor(r, u, state)
}

// totpStep checks the flow code of the first factor and a TOTP code. A
// step once accepted is never accepted again (the store keeps the last
// one per user, updated atomically).
func (s *Service) totpStep(r *request, b *body, state string) error {
	flow := b.secret("code", true, 64)
	// A recovery code (recoverycodes.go) stands in for the TOTP code:
	// exactly one of the two.
	otp := b.secret("totp", false, 16)
	recovery := b.secret("recoveryCode", false, maxRecoveryCodeInput)
	switch {
	case otp == "" && recovery == "":
		b.obstruct("totp", ObstructionRequired, "Send totp, the code of the TOTP app, or recoveryCode, one of the recovery codes.")
	case otp != "" && recovery != "":
		b.obstruct("recoveryCode", ObstructionInvalid, "Send totp or recoveryCode, not both.")
	}
	if err := b.done(); err != nil {
		return err
	}
	if s.cfg.TOTP == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	// The flow code is looked up, not consumed, until the TOTP code holds:
	// a mistyped TOTP code may be retried within the flow code's attempts.
	c, err := s.flowCode(r, StepTOTP, flow, state)
	if err != nil {
		return err
	}
	ok, err := s.guessWithFlowCode(r, c, func() (bool, error) {
		if recovery != "" {
			return s.loginRecoveryCode(r, c.UserID, recovery)
		}
		return s.loginTOTPMatches(r, c.UserID, otp) // mfarequired.go
	})
	switch {
	case err != nil:
		return err
	case !ok && recovery != "":
		return apiError(http.StatusUnauthorized, CodeFactorRecoveryCodeInvalid, "The recovery code is wrong or was already used.")
	case !ok:
		return errTOTPInvalid(http.StatusUnauthorized)
	}
	if err := s.consumeFlowCode(r, c); err != nil {
		return err
	}
	u, err := s.loginUser(r, c.UserID)
	if err != nil {
		return err
	}
	provedAfter(r, c, mint.AMROTP)
	return s.startLoginSession(r, u)
}

// errTOTPInvalid is the answer to a wrong or replayed TOTP code.
func errTOTPInvalid(status int) error {
	return apiError(status, CodeTOTPInvalid, "The TOTP code is wrong or was already used.")
}

// totpMatches reports whether code is a TOTP code of the user's secret
// not accepted before, and if so uses up its step: the matched step is
// stored only if it is later than the last one accepted, so of two uses
// of one code (even concurrent) exactly one passes. A user without a
// secret matches nothing. Callers go through checkGuess.
func (s *Service) totpMatches(r *request, userID, code string) (bool, error) {
	sec, err := s.logins.GetTOTPSecret(r.ctx(), userID)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	stepNo, err := s.cfg.TOTP.Check(userID, sec.Ciphertext, code, sec.LastUsedStep)
	switch {
	case errors.Is(err, totp.ErrInvalidCode), errors.Is(err, totp.ErrReplayed):
		return false, nil
	case err != nil:
		s.cfg.Logger.Error("accounts: TOTP secret unusable", "user", userID, "err", err)
		return false, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	if err := s.logins.UseTOTPStep(r.ctx(), userID, stepNo); err != nil {
		if errors.Is(err, db.ErrTOTPStepUsed) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// flowCode returns the live flow code of a login's second step (the
// first factor's, bound to state), looked up, not consumed. A wrong,
// spent or expired one is a wrong guess of step like any other (counted
// per IP: it names no account) and answers 401 CODE-INVALID.
func (s *Service) flowCode(r *request, step, flow, state string) (db.Code, error) {
	c, err := s.logins.GetCodeByHash(r.ctx(), codeHash(flow))
	if err != nil && !isNotFound(err) {
		return db.Code{}, err
	}
	if err != nil || c.Kind != db.CodeTOTPFlow || c.State != state || c.ConsumedMs != 0 || c.InvalidatedMs != 0 || c.ExpiresMs <= s.nowMs() {
		if _, err := s.checkGuess(r, step, []regulation.Subject{ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
			return false, nil, nil
		}); err != nil {
			return db.Code{}, err
		}
		return db.Code{}, apiError(http.StatusUnauthorized, CodeCodeInvalid, "The flow code is wrong or has expired; start again.")
	}
	auditSubject(r, c.UserID)
	return c, nil
}

// guessWithFlowCode runs check, the second factor of a login whose flow
// code c names the user, as a guess of the totp step (counted per account
// and IP); a wrong answer also uses up one of the flow code's attempts.
func (s *Service) guessWithFlowCode(r *request, c db.Code, check func() (bool, error)) (bool, error) {
	return s.checkGuess(r, StepTOTP, []regulation.Subject{accountSubject(c.UserID), ipSubject(r.caller)}, func() (bool, []regulation.Subject, error) {
		ok, err := check()
		if err != nil || ok {
			return ok, nil, err
		}
		if _, aerr := s.logins.RecordCodeAttempt(r.ctx(), c.ID, maxCodeAttempts, s.nowMs()); aerr != nil && !errors.Is(aerr, db.ErrCodeSpent) {
			return false, nil, aerr
		}
		return false, nil, nil
	})
}

// consumeFlowCode uses up a login's flow code once its second factor
// held: a code spent meanwhile (a race, or its attempts used up) is 401
// CODE-EXPIRED.
func (s *Service) consumeFlowCode(r *request, c db.Code) error {
	if err := s.logins.ConsumeCode(r.ctx(), c.ID, s.nowMs()); err != nil {
		if errors.Is(err, db.ErrCodeSpent) {
			return apiError(http.StatusUnauthorized, CodeCodeExpired, "The flow code has expired or was used; start again.")
		}
		return err
	}
	return nil
}
