package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authgw/authgw/db"
)

// DefaultTimeout is how long a ceremony's challenge is good for.
const DefaultTimeout = 5 * time.Minute

// MaxResponseBytes bounds the browser's JSON answer (attestation or
// assertion) this package parses.
const MaxResponseBytes = 16 << 10

// Config configures the relying party.
type Config struct {
	// RPID is the relying-party ID: the site's registrable domain or a
	// host name ("example.com", "auth.example.com", "localhost"), never
	// an IP address. Required.
	RPID string
	// DisplayName is the name the browser shows. Optional. Default RPID.
	DisplayName string
	// Origins are the exact origins ("https://auth.example.com") pages
	// may run the ceremonies from; each host must be RPID or under it.
	// Required.
	Origins []string
	// Timeout is how long a ceremony is good for. Optional. Default
	// DefaultTimeout.
	Timeout time.Duration
}

// Passkeys runs the registration and login ceremonies.
type Passkeys struct {
	w       *webauthn.WebAuthn
	timeout time.Duration
}

// Errors of the ceremonies, checked with errors.Is.
var (
	// ErrInvalid means the browser's answer does not hold: malformed, for
	// another challenge, origin or relying party, a bad signature, or a
	// credential not of this user.
	ErrInvalid = errors.New("passkey: the answer does not hold")
	// ErrCloned means the passkey's counter went back: it was copied.
	ErrCloned = errors.New("passkey: the signature counter went back (a copied passkey)")
)

// New checks cfg and returns the relying party.
func New(cfg Config) (*Passkeys, error) {
	if cfg.RPID == "" || strings.ContainsAny(cfg.RPID, ":/ ") {
		return nil, fmt.Errorf("passkey: the relying-party ID %q is not a host name", cfg.RPID)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: no allowed origin")
	}
	for _, o := range cfg.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("passkey: the origin %q is not scheme://host[:port]", o)
		}
		if h := u.Hostname(); h != cfg.RPID && !strings.HasSuffix(h, "."+cfg.RPID) {
			return nil, fmt.Errorf("passkey: the origin %q is not on the relying-party ID %q", o, cfg.RPID)
		}
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.RPID
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.DisplayName,
		RPOrigins:             cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Passkeys{w: w, timeout: cfg.Timeout}, nil
}

// Timeout is how long a ceremony is good for: the store's expiry of its
// session data.
func (p *Passkeys) Timeout() time.Duration { return p.timeout }

// User is an account as the ceremonies see it.
type User struct {
	// ID is the account's ID; its bytes are the WebAuthn user handle.
	ID          string
	Name        string
	DisplayName string
	Credentials []db.WebAuthnCredential
}

// user adapts User to the library.
type user struct{ u User }

func (w user) WebAuthnID() []byte          { return []byte(w.u.ID) }
func (w user) WebAuthnName() string        { return w.u.Name }
func (w user) WebAuthnDisplayName() string { return w.u.DisplayName }
func (w user) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(w.u.Credentials))
	for _, c := range w.u.Credentials {
		out = append(out, toLibrary(c))
	}
	return out
}

func toLibrary(c db.WebAuthnCredential) webauthn.Credential {
	var transports []protocol.AuthenticatorTransport
	for t := range strings.SplitSeq(c.Transports, ",") {
		if t != "" {
			transports = append(transports, protocol.AuthenticatorTransport(t))
		}
	}
	return webauthn.Credential{
		ID:        c.CredentialID,
		PublicKey: c.PublicKey,
		Transport: transports,
		Flags:     webauthn.CredentialFlags{UserPresent: true, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{
			AAGUID:       c.AAGUID,
			SignCount:    c.SignCount,
			CloneWarning: c.CloneWarning,
		},
	}
}

// BeginRegistration returns the creation options for the browser
// (navigator.credentials.create({publicKey: options.publicKey})) and the
// session data to keep until FinishRegistration. The user's passkeys are
// excluded: an authenticator holding one of them does not make another.
func (p *Passkeys) BeginRegistration(u User) (options json.RawMessage, session []byte, err error) {
	var exclude []protocol.CredentialDescriptor
	for _, c := range (user{u}).WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := p.w.BeginRegistration(user{u}, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	return marshalPair(creation, sd)
}

// FinishRegistration checks the browser's answer (the JSON of the
// PublicKeyCredential) against the session data and returns the new
// passkey's record: CredentialID, PublicKey, SignCount, AAGUID,
// Transports and the backup flags set, the rest for the caller.
func (p *Passkeys) FinishRegistration(u User, session, response []byte) (db.WebAuthnCredential, error) {
	sd, err := readSession(session)
	if err != nil {
		return db.WebAuthnCredential{}, err
	}
	if len(response) > MaxResponseBytes {
		return db.WebAuthnCredential{}, fmt.Errorf("%w: the answer is too long", ErrInvalid)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return db.WebAuthnCredential{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	c, err := p.w.CreateCredential(user{u}, sd, parsed)
	if err != nil {
		return db.WebAuthnCredential{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	transports := make([]string, 0, len(c.Transport))
	for _, t := range c.Transport {
		// Hints only; anything odd is dropped rather than stored.
		if s := string(t); len(s) <= 16 && s != "" && !strings.ContainsAny(s, ", ") {
			transports = append(transports, s)
		}
	}
	return db.WebAuthnCredential{
		UserID:         u.ID,
		CredentialID:   c.ID,
		PublicKey:      c.PublicKey,
		SignCount:      c.Authenticator.SignCount,
		AAGUID:         c.Authenticator.AAGUID,
		Transports:     strings.Join(transports, ","),
		BackupEligible: c.Flags.BackupEligible,
		BackupState:    c.Flags.BackupState,
	}, nil
}

// BeginLogin returns the request options for the browser
// (navigator.credentials.get({publicKey: options.publicKey})) and the
// session data to keep until FinishLogin. With u nil the login is
// discoverable: any passkey of the site may answer, and says whose it
// is; the authenticator must then verify the user.
// With a user (a second factor), only that user's passkeys may.
func (p *Passkeys) BeginLogin(u *User) (options json.RawMessage, session []byte, err error) {
	var (
		assertion *protocol.CredentialAssertion
		sd        *webauthn.SessionData
	)
	if u == nil {
		// A passkey alone must be two factors in one: the authenticator
		// verifies the user (a PIN or biometric), or the login fails.
		assertion, sd, err = p.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		assertion, sd, err = p.w.BeginLogin(user{*u})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	return marshalPair(assertion, sd)
}

// BeginProof returns the request options of a fresh proof of the user u
// (one of u's passkeys, the authenticator verifying its user: a PIN or
// biometric) and the session data to keep until FinishLogin, which then
// takes only u's passkeys and refuses an answer without user
// verification.
func (p *Passkeys) BeginProof(u User) (options json.RawMessage, session []byte, err error) {
	assertion, sd, err := p.w.BeginLogin(user{u}, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	return marshalPair(assertion, sd)
}

// Lookup finds the account holding a credential ID (with all its
// passkeys); any error refuses the login.
type Lookup func(credentialID []byte) (User, error)

// Result is a login that held.
type Result struct {
	UserID string
	// Credential is the passkey as stored before this login.
	Credential db.WebAuthnCredential
	// SignCount and BackupState are the values to store now.
	SignCount   uint32
	BackupState bool
}

// FinishLogin checks the browser's assertion against the session data.
// For a discoverable login the account is found with lookup from the
// credential ID, and the user handle the authenticator returned must be
// that account's. For a second-factor login (the session names a user)
// the credential must be one of that user's, looked up the same way.
// A flagged passkey, or one whose counter does not go up, is refused:
// ErrCloned, with the Result naming the passkey to flag. A refused answer
// for a known credential (ErrInvalid) still names its owner in the Result.
func (p *Passkeys) FinishLogin(session, response []byte, lookup Lookup) (Result, error) {
	sd, err := readSession(session)
	if err != nil {
		return Result{}, err
	}
	if len(response) > MaxResponseBytes {
		return Result{}, fmt.Errorf("%w: the answer is too long", ErrInvalid)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	owner, err := lookup(parsed.RawID)
	if err != nil {
		return Result{}, fmt.Errorf("%w: unknown credential", ErrInvalid)
	}
	var stored *db.WebAuthnCredential
	for i := range owner.Credentials {
		if bytes.Equal(owner.Credentials[i].CredentialID, parsed.RawID) {
			stored = &owner.Credentials[i]
		}
	}
	if stored == nil {
		return Result{}, fmt.Errorf("%w: unknown credential", ErrInvalid)
	}
	if stored.CloneWarning {
		return Result{Credential: *stored, UserID: owner.ID}, ErrCloned
	}
	var c *webauthn.Credential
	if len(sd.UserID) == 0 {
		_, c, err = p.w.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, []byte(owner.ID)) {
				return nil, errors.New("the user handle is not the credential's owner")
			}
			return user{owner}, nil
		}, sd, parsed)
	} else {
		c, err = p.w.ValidateLogin(user{owner}, sd, parsed)
	}
	if err != nil {
		// The owner is named all the same: the failure counts against
		// the account as well as the source.
		return Result{UserID: owner.ID, Credential: *stored}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	res := Result{UserID: owner.ID, Credential: *stored, SignCount: c.Authenticator.SignCount, BackupState: c.Flags.BackupState}
	if c.Authenticator.CloneWarning {
		return res, ErrCloned
	}
	return res, nil
}

func marshalPair(options any, sd *webauthn.SessionData) (json.RawMessage, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	s, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey: %w", err)
	}
	return o, s, nil
}

func readSession(b []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(b, &sd); err != nil || sd.Challenge == "" {
		return webauthn.SessionData{}, fmt.Errorf("%w: no ceremony in progress", ErrInvalid)
	}
	return sd, nil
}
