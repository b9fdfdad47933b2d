package accounts

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/passkey"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
)

// Passkeys (WebAuthn). A user registers a passkey in two requests: POST
// /users/:id/passkeys/options, with a proof of the user (as for a TOTP
// enrolment: a stolen token alone must not add the thief's passkey),
// returns the creation options for navigator.credentials.create; POST
// /users/:id/passkeys sends the browser's answer with a name. The
// challenge is stored bound to the user and taken once. GET lists the
// passkeys; DELETE removes one, again with a proof.
//
// The login step webauthn (POST /sessions/login/webauthn) signs in with a
// passkey alone (discoverable: no address typed), or answers the second
// factor of a user with TOTP on in place of a TOTP code.

// Ceremony keys of the store: a registration is bound to its user, a
// login to its state.
func registrationKey(userID string) string { return "reg:" + userID }
func loginKey(state string) string         { return "login:" + state }

// maxPasskeyName bounds a passkey's name.
const maxPasskeyName = 100

// passkeyOut is a passkey as the API shows it (never its key).
type passkeyOut struct {
	Type           string   `json:"type"`
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	AAGUID         string   `json:"aaguid"`
	Transports     []string `json:"transports"`
	BackupEligible bool     `json:"backupEligible"`
	BackupState    bool     `json:"backupState"`
	// CloneWarning is set once an assertion came with a counter that went
	// back: the passkey was copied and is refused from then on.
	CloneWarning bool  `json:"cloneWarning"`
	CreatedMs    int64 `json:"createdMs"`
	LastUsedMs   int64 `json:"lastUsedMs,omitempty"`
}

func passkeyJSON(c db.WebAuthnCredential) passkeyOut {
	transports := []string{}
	if c.Transports != "" {
		transports = strings.Split(c.Transports, ",")
	}
	return passkeyOut{Type: "passkeys", ID: c.ID, Name: c.Name, AAGUID: hex.EncodeToString(c.AAGUID), Transports: transports,
		BackupEligible: c.BackupEligible, BackupState: c.BackupState, CloneWarning: c.CloneWarning, CreatedMs: c.CreatedMs, LastUsedMs: c.LastUsedMs}
}

// optionsOut carries the options for the browser: {"publicKey": {...}}
// as navigator.credentials.create or .get takes it (binary members as
// base64url strings: PublicKeyCredential.parseCreationOptionsFromJSON
// and parseRequestOptionsFromJSON read them).
type optionsOut struct {
	Type    string          `json:"type"`
	Options json.RawMessage `json:"options"`
}

func (s *Service) passkeysOn() error {
	if s.passkeys == nil {
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "Passkeys are not configured.")
	}
	return nil
}

// passkeyUser is the user as the ceremonies see it, with their passkeys.
func (s *Service) passkeyUser(r *request, u db.User) (passkey.User, error) {
	creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), u.ID)
	if err != nil {
		return passkey.User{}, err
	}
	name := u.Name
	if emails, err := s.logins.ListEmails(r.ctx(), u.ID); err == nil && len(emails) > 0 {
		name = emails[0].Email
	}
	return passkey.User{ID: u.ID, Name: name, DisplayName: u.Name, Credentials: creds}, nil
}

// passkeyOptions starts a registration, after a proof of the user.
func (s *Service) passkeyOptions(r *request) error {
	proof, err := readProofBody(r, "")
	if err != nil {
		return err
	}
	if err := s.passkeysOn(); err != nil {
		return err
	}
	u := r.target.user
	if err := s.checkProof(r, u, proof); err != nil {
		return err
	}
	pu, err := s.passkeyUser(r, *u)
	if err != nil {
		return err
	}
	if len(pu.Credentials) >= s.cfg.MaxPasskeysPerUser {
		return errTooManyPasskeys()
	}
	options, session, err := s.passkeys.BeginRegistration(pu)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := s.logins.SaveWebAuthnCeremony(r.ctx(), db.WebAuthnCeremony{Key: registrationKey(u.ID), UserID: u.ID, SessionData: session,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.passkeys.Timeout()).UnixMilli()}); err != nil {
		return err
	}
	return single(r, http.StatusOK, optionsOut{Type: "passkey-options", Options: options})
}

func errTooManyPasskeys() error {
	return apiError(http.StatusConflict, CodeTooManyPasskeys, "You have as many passkeys as allowed: remove one first.")
}

// addPasskey finishes a registration with the browser's answer
// {"name", "credential"}.
func (s *Service) addPasskey(r *request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	name := b.str("name", true, maxPasskeyName)
	cred := b.value("credential")
	if cred == nil {
		b.obstruct("credential", ObstructionRequired, "credential is the browser's answer (PublicKeyCredential.toJSON()).")
	} else {
		checkCredential(b, cred)
	}
	if err := b.done(); err != nil {
		return err
	}
	if err := s.passkeysOn(); err != nil {
		return err
	}
	u := r.target.user
	// Taken whatever the answer: each challenge is answered once.
	c, err := s.logins.TakeWebAuthnCeremony(r.ctx(), registrationKey(u.ID), s.nowMs())
	if isNotFound(err) {
		return errNoCeremony()
	}
	if err != nil {
		return err
	}
	pu, err := s.passkeyUser(r, *u)
	if err != nil {
		return err
	}
	rec, err := s.passkeys.FinishRegistration(pu, c.SessionData, cred)
	if errors.Is(err, passkey.ErrInvalid) {
		s.cfg.Logger.Info("accounts: passkey registration refused", "user", u.ID, "err", err)
		return apiError(http.StatusBadRequest, CodePasskeyInvalid, "The passkey's answer does not hold: ask for options again.")
	}
	if err != nil {
		return err
	}
	rec.ID, rec.Name, rec.CreatedMs = s.newID(), name, s.nowMs()
	switch err := s.logins.CreateWebAuthnCredential(r.ctx(), rec, s.cfg.MaxPasskeysPerUser); {
	case errors.Is(err, db.ErrDuplicate):
		return apiError(http.StatusConflict, CodePasskeyExists, "This passkey is registered already.")
	case errors.Is(err, db.ErrWebAuthnLimit):
		return errTooManyPasskeys()
	case errors.Is(err, db.ErrInvalid):
		return apiError(http.StatusBadRequest, CodePasskeyInvalid, "The passkey is too large to keep.")
	case err != nil:
		return err
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorAdded, SubjectUserID: u.ID, Data: map[string]string{"factor": "passkey", "passkey": rec.ID}})
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.PasskeyAdded, "", "")
	return single(r, http.StatusCreated, passkeyJSON(rec))
}

// checkCredential obstructs a credential that is no JSON object, or too
// long, before any ceremony is taken for it.
func checkCredential(b *body, cred json.RawMessage) {
	switch {
	case len(cred) > passkey.MaxResponseBytes:
		b.obstruct("credential", ObstructionTooLong, "credential is too long.")
	case cred[0] != '{':
		b.obstruct("credential", ObstructionWrongType, "credential must be an object (PublicKeyCredential.toJSON()).")
	}
}

func errNoCeremony() error {
	return apiError(http.StatusConflict, CodePasskeyNoCeremony, "No passkey ceremony in progress (none asked for, expired or already answered): ask for options again.")
}

// listPasskeys lists the user's passkeys, oldest first.
func (s *Service) listPasskeys(r *request) error {
	creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	out := make([]passkeyOut, len(creds))
	for i, c := range creds {
		out[i] = passkeyJSON(c)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// deletePasskey removes a passkey, after a proof of the user (a stolen
// token alone must not remove the owner's passkeys).
func (s *Service) deletePasskey(r *request) error {
	proof, err := readProofBody(r, "")
	if err != nil {
		return err
	}
	u := r.target.user
	if err := s.checkProof(r, u, proof); err != nil {
		return err
	}
	if err := s.keepsSecondFactor(r, u, r.Param("passkeyId")); err != nil { // mfarequired.go
		return err
	}
	if err := s.logins.DeleteWebAuthnCredential(r.ctx(), u.ID, r.Param("passkeyId")); err != nil {
		return hideNotFound(err)
	}
	s.record(r.ctx(), audit.Event{Type: audit.FactorRemoved, SubjectUserID: u.ID, Data: map[string]string{"factor": "passkey", "passkey": r.Param("passkeyId")}})
	s.notifyOwner(r.ctx(), u.ID, mailtemplate.PasskeyRemoved, "", "")
	return null(r)
}

// webauthnOut is the data of the webauthn step's options answer.
type webauthnOut struct {
	Step    string          `json:"step"`
	State   string          `json:"state"`
	Options json.RawMessage `json:"options"`
}

// webauthnStep is the login step webauthn, {"state"} plus:
//
//   - nothing else: the options of a discoverable login (any passkey of
//     the site, no address typed), bound to the state;
//   - "code", the flow code the password or code step gave a user with
//     TOTP on: the options for that user's passkeys, in place of a TOTP
//     code;
//   - "credential" (and "code" again for the second factor): the
//     browser's assertion. It holds once: the ceremony is taken whatever
//     the answer. A passkey alone (discoverable) ends the login: the
//     authenticator must have verified the user (a PIN or biometric), so
//     it is two factors in one.
//
// Wrong assertions count as failures of the step, per source and, once
// the account is known, per account, as the other factors' do.
func (s *Service) webauthnStep(r *request, b *body, state string) error {
	cred := b.value("credential")
	if cred != nil {
		checkCredential(b, cred)
	}
	flow := b.secret("code", false, 64)
	if err := b.done(); err != nil {
		return err
	}
	if err := s.passkeysOn(); err != nil {
		return err
	}
	ip := ipSubject(r.caller)
	// The second factor: the flow code of the first names the user.
	var second *db.Code
	if flow != "" {
		c, err := s.flowCode(r, StepWebAuthn, flow, state)
		if err != nil {
			return err
		}
		second = &c
	}
	if cred == nil {
		return s.webauthnOptions(r, state, second)
	}
	ceremony, err := s.logins.TakeWebAuthnCeremony(r.ctx(), loginKey(state), s.nowMs())
	if isNotFound(err) {
		return apiError(http.StatusUnauthorized, CodePasskeyNoCeremony, "No passkey login in progress for this state (none asked for, expired or already answered): ask for options again.")
	}
	if err != nil {
		return err
	}
	// A ceremony for a user's second factor is answered only with that
	// user's flow code; a discoverable one only without.
	if (second == nil) != (ceremony.UserID == "") || (second != nil && second.UserID != ceremony.UserID) {
		return apiError(http.StatusUnauthorized, CodePasskeyNoCeremony, "The passkey login in progress for this state is another one: ask for options again.")
	}
	subjects := []regulation.Subject{ip}
	if second != nil {
		subjects = append(subjects, accountSubject(second.UserID))
	}
	var userID string
	ok, err := s.checkGuess(r, StepWebAuthn, subjects, func() (bool, []regulation.Subject, error) {
		res, err := s.passkeys.FinishLogin(ceremony.SessionData, cred, func(credentialID []byte) (passkey.User, error) {
			c, err := s.logins.GetWebAuthnCredential(r.ctx(), credentialID)
			if err != nil {
				return passkey.User{}, err
			}
			if second != nil && c.UserID != second.UserID {
				return passkey.User{}, errors.New("the passkey of another user")
			}
			creds, err := s.logins.ListWebAuthnCredentials(r.ctx(), c.UserID)
			if err != nil {
				return passkey.User{}, err
			}
			return passkey.User{ID: c.UserID, Credentials: creds}, nil
		})
		var also []regulation.Subject
		if res.UserID != "" && second == nil {
			also = []regulation.Subject{accountSubject(res.UserID)}
		}
		switch {
		case errors.Is(err, passkey.ErrCloned):
			s.cfg.Logger.Warn("accounts: a passkey's signature counter went back (a copied passkey?); it is refused from now on", "user", res.UserID, "passkey", res.Credential.ID)
			if ferr := s.logins.FlagWebAuthnClone(r.ctx(), res.Credential.ID); ferr != nil {
				return false, also, ferr
			}
			return false, also, nil
		case errors.Is(err, passkey.ErrInvalid):
			return false, also, nil
		case err != nil:
			return false, also, err
		}
		if err := s.logins.UseWebAuthnCredential(r.ctx(), res.Credential.ID, res.Credential.SignCount, res.SignCount, res.BackupState, s.nowMs()); err != nil {
			if isNotFound(err) {
				// Another login used the same counter first, or the passkey
				// was flagged or removed meanwhile.
				return false, also, nil
			}
			return false, also, err
		}
		userID = res.UserID
		return true, nil, nil
	})
	switch {
	case err != nil:
		return err
	case !ok:
		return apiError(http.StatusUnauthorized, CodePasskeyInvalid, "The passkey's answer does not hold.")
	}
	if second != nil {
		if err := s.logins.ConsumeCode(r.ctx(), second.ID, s.nowMs()); err != nil {
			if errors.Is(err, db.ErrCodeSpent) {
				return apiError(http.StatusUnauthorized, CodeCodeExpired, "The flow code has expired or was used; start again.")
			}
			return err
		}
	}
	u, err := s.loginUser(r, userID)
	if err != nil {
		return err
	}
	if second != nil {
		provedAfter(r, *second, mint.AMRPasskey)
	} else {
		// The authenticator verified its user (PIN or biometric): two
		// factors in one.
		proved(r, mint.AMRPasskey, mint.AMRMultiFactor)
	}
	return s.startLoginSession(r, u)
}

// webauthnOptions answers the options of a passkey login bound to state:
// discoverable, or for the user of the flow code second.
func (s *Service) webauthnOptions(r *request, state string, second *db.Code) error {
	var (
		options json.RawMessage
		session []byte
		err     error
		userID  string
	)
	if second == nil {
		options, session, err = s.passkeys.BeginLogin(nil)
	} else {
		userID = second.UserID
		creds, lerr := s.logins.ListWebAuthnCredentials(r.ctx(), userID)
		if lerr != nil {
			return lerr
		}
		if len(creds) == 0 {
			return apiError(http.StatusConflict, CodePasskeyNoCeremony, "The account has no passkey: use the totp step.")
		}
		options, session, err = s.passkeys.BeginLogin(&passkey.User{ID: userID, Credentials: creds})
	}
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	if err := s.logins.SaveWebAuthnCeremony(r.ctx(), db.WebAuthnCeremony{Key: loginKey(state), UserID: userID, SessionData: session,
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(s.passkeys.Timeout()).UnixMilli()}); err != nil {
		return err
	}
	noStore(r)
	return r.JSON(http.StatusOK, struct {
		T    string      `json:"t"`
		Data webauthnOut `json:"data"`
	}{T: "step", Data: webauthnOut{Step: StepWebAuthn, State: state, Options: options}})
}
