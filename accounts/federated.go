package accounts

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/db"
)

// Signing in with an external OpenID Connect provider ("Sign in with …",
// package accounts/oidcrp). The relying party (the portal's pages) runs
// the protocol and verifies the provider's ID token; what it vouches for
// reaches the login as a FederatedIdentity in the context of an
// in-process call of the login step "federated" (WithFederatedIdentity).
// A request from outside cannot put one there: without one the step
// answers as an unknown step. The step decides which account the
// identity opens (linked already, linked now by a verified address, or
// created), and is a first factor only: a user with a second factor goes
// on to its step, as after a password.

// StepFederated is the login step of an external provider's identity,
// reachable in-process only (WithFederatedIdentity).
const StepFederated = "federated"

// AMRFederated is the amr value of a sign-in with an external provider.
// RFC 8176 registers none for federation; "fed" is authgw's (the RFC lets
// a value outside its registry be used where both sides agree). The
// provider's own amr is not passed on: authgw did not see those factors.
const AMRFederated = "fed"

// Error codes of the federated step.
const (
	// CodeFederatedNoAccount: the identity is linked to no account, and
	// the provider's settings neither link it by address nor create an
	// account (403).
	CodeFederatedNoAccount = "FEDERATED-NO-ACCOUNT"
	// CodeFederatedAddressTaken: an account uses the identity's address,
	// and it may not be linked to it (the provider did not assert the
	// address verified, or linking is off): a new account is not created
	// for the address either (409).
	CodeFederatedAddressTaken = "FEDERATED-ADDRESS-TAKEN"
	// CodeFederatedNoAddress: an account would be created, but the
	// provider gave no usable address (403).
	CodeFederatedNoAddress = "FEDERATED-NO-ADDRESS"
)

// maxFederatedName bounds the display name taken from the provider for a
// new account; a longer one is not used.
const maxFederatedName = 100

// FederatedIdentity is what an external OpenID Connect provider vouched
// for in a verified ID token, with the operator's settings for that
// provider.
type FederatedIdentity struct {
	// ProviderID is the operator's name of the provider (its slug);
	// ProviderName the name shown to users.
	ProviderID, ProviderName string
	// Issuer and Subject are the identity (the ID token's iss and sub).
	Issuer, Subject string
	// Email is the token's email claim, "" when none; EmailVerified is
	// true only when the token's email_verified was the boolean true.
	Email         string
	EmailVerified bool
	// Name is the token's name claim, for a new account's display name.
	Name string
	// AllowLinking links the identity to the account whose verified
	// address it is, when EmailVerified. AllowSignUp creates an account
	// on a first sign-in.
	AllowLinking, AllowSignUp bool
}

type federatedKey struct{}

// WithFederatedIdentity returns ctx carrying id, for an in-process call
// of the login step StepFederated. Only code in the process can call it:
// the caller vouches that a provider's verified ID token said so.
func WithFederatedIdentity(ctx context.Context, id FederatedIdentity) context.Context {
	return context.WithValue(ctx, federatedKey{}, id)
}

// IdentityStore is what the federated step and the identities routes ask
// of the store. *db.DB implements it.
type IdentityStore interface {
	GetOIDCIdentity(ctx context.Context, issuer, subject string) (db.OIDCIdentity, error)
	CreateOIDCIdentity(ctx context.Context, i db.OIDCIdentity) error
	CreateUserWithOIDCIdentity(ctx context.Context, nu db.NewUser, i db.OIDCIdentity) (db.User, error)
	ListOIDCIdentities(ctx context.Context, userID string) ([]db.OIDCIdentity, error)
	DeleteOIDCIdentity(ctx context.Context, userID, id string) error
}

var _ IdentityStore = (*db.DB)(nil)

// identities returns the store as an IdentityStore, or the 503 of a
// store that has none.
func (s *Service) identities() (IdentityStore, error) {
	st, ok := s.cfg.Store.(IdentityStore)
	if !ok {
		return nil, apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
	return st, nil
}

// federatedStep signs in with the identity of the request's context. It
// answers as an unknown step when the context carries none.
func (s *Service) federatedStep(r *request, b *body, state string) error {
	id, ok := r.ctx().Value(federatedKey{}).(FederatedIdentity)
	if !ok {
		return apiError(http.StatusNotFound, CodeUnknownEndpoint, "The login steps are email, code, password, totp, totp-enrol and webauthn.")
	}
	if err := b.done(); err != nil {
		return err
	}
	store, err := s.identities()
	if err != nil {
		return err
	}
	if err := s.regulated(r, ipSubject(r.caller)); err != nil {
		return err
	}
	var u db.User
	link, err := store.GetOIDCIdentity(r.ctx(), id.Issuer, id.Subject)
	switch {
	case err == nil:
		if u, err = s.loginUser(r, link.UserID); err != nil {
			return err
		}
	case !isNotFound(err):
		return err
	default:
		if u, err = s.federatedFirstSignIn(r, store, id); err != nil {
			return err
		}
	}
	if err := s.regulated(r, accountSubject(u.ID), ipSubject(r.caller)); err != nil {
		return err
	}
	proved(r, AMRFederated)
	return s.secondFactor(r, u, state)
}

// federatedFirstSignIn finds or creates the account of an identity linked
// to none: the account whose verified address the provider asserted
// verified, where the provider may link; else a new account, where the
// provider may create one; else 403 FEDERATED-NO-ACCOUNT. A banned or
// deleted account is refused before anything is linked.
func (s *Service) federatedFirstSignIn(r *request, store IdentityStore, id FederatedIdentity) (db.User, error) {
	// An address registration would refuse (not one bare ASCII address:
	// it could never receive a code, and may only look like another,
	// such as one with a zero-width space) is no address.
	email, err := db.NormalizeEmail(id.Email)
	if err != nil || !mailableAddress(email) {
		email = ""
	}
	ident := db.OIDCIdentity{ID: s.newID(), ProviderID: id.ProviderID, Issuer: id.Issuer, Subject: id.Subject, Email: email, CreatedMs: s.nowMs()}
	if email != "" && id.EmailVerified && id.AllowLinking {
		owner, _, err := s.logins.GetUserByEmail(r.ctx(), email)
		switch {
		case err == nil:
			u, err := s.loginUser(r, owner.ID)
			if err != nil {
				return u, err
			}
			ident.UserID = u.ID
			switch err := store.CreateOIDCIdentity(r.ctx(), ident); {
			case isDuplicate(err):
				// Linked meanwhile (two callbacks at once): to this user
				// or another, the next sign-in finds it.
				return u, apiError(http.StatusConflict, CodeConflict, "This identity was linked meanwhile; sign in again.")
			case err != nil:
				return u, err
			}
			s.cfg.Logger.Info("accounts: external identity linked by address", "user", u.ID, "provider", id.ProviderID)
			s.notifyIdentity(r.ctx(), u.ID, mailtemplate.IdentityLinked, id.ProviderName)
			return u, nil
		case !isNotFound(err):
			return db.User{}, err
		}
	}
	if !id.AllowSignUp {
		if email != "" {
			if _, _, err := s.logins.GetUserByEmail(r.ctx(), email); err == nil {
				return db.User{}, errAddressTaken()
			}
		}
		return db.User{}, apiError(http.StatusForbidden, CodeFederatedNoAccount,
			"No account uses this identity, and none is created on a first sign-in with this provider.")
	}
	if email == "" {
		return db.User{}, apiError(http.StatusForbidden, CodeFederatedNoAddress,
			"The provider gave no email address, which a new account needs.")
	}
	if err := s.quotaRefusal(r, s.takeQuotas(r, registrationSourceQuota(s, r.caller.IP)), CodeTooManyRegistrations,
		"Too many registrations from this network; try again later."); err != nil {
		return db.User{}, err
	}
	now := s.nowMs()
	e := db.Email{ID: s.newID(), Email: email, CreatedMs: now}
	if id.EmailVerified {
		// The provider vouches for the mailbox, as a verification code
		// would.
		e.VerifiedMs = now
	}
	u, err := store.CreateUserWithOIDCIdentity(r.ctx(), db.NewUser{
		User:  db.User{ID: s.newID(), Name: federatedName(id.Name), CreatedMs: now},
		Email: e,
		Roles: []string{db.RoleUser},
	}, ident)
	switch {
	case isDuplicate(err):
		// The address is verified by an account this identity may not
		// open, or the identity was linked meanwhile.
		return u, errAddressTaken()
	case err != nil:
		return u, err
	}
	s.cfg.Logger.Info("accounts: account created on a first external sign-in", "user", u.ID, "provider", id.ProviderID)
	s.record(r.ctx(), audit.Event{Type: audit.UserCreated, SubjectUserID: u.ID, Data: map[string]string{"referrer": r.caller.ClientID}})
	return u, nil
}

func errAddressTaken() error {
	return apiError(http.StatusConflict, CodeFederatedAddressTaken,
		"An account uses this email address, and this sign-in may not open it: sign in as before, then link the provider from the account's settings.")
}

// federatedName returns the provider's display name for a new account:
// one line of at most maxFederatedName bytes with no control character
// (as registration takes a name: C1 and line separators included), else
// "".
func federatedName(name string) string {
	name = strings.TrimSpace(name)
	if len(name) > maxFederatedName || !utf8.ValidString(name) || hasControl(name) {
		return ""
	}
	return name
}

// notifyIdentity tells the user, on each verified address, that an
// external identity of the provider was linked or unlinked (as
// notifyOwner does for other changes).
func (s *Service) notifyIdentity(ctx context.Context, userID string, notice mailtemplate.Name, provider string) {
	es, err := s.management.ListEmails(ctx, userID)
	if err != nil {
		s.cfg.Logger.Warn("accounts: account notice not sent", "user", userID, "err", err)
		return
	}
	s.notifyAddresses(ctx, userID, es, notice, mailtemplate.View{Provider: provider})
}

// identityOut is a linked identity as the API shows it.
type identityOut struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	// ProviderID is the operator's name of the provider.
	ProviderID string `json:"providerId"`
	Issuer     string `json:"issuer"`
	Subject    string `json:"subject"`
	// Email is the address the provider gave when the identity was
	// linked ("" when none).
	Email     string `json:"email"`
	CreatedMs int64  `json:"createdMs"`
}

func identityJSON(i db.OIDCIdentity) identityOut {
	return identityOut{Type: "identities", ID: i.ID, ProviderID: i.ProviderID, Issuer: i.Issuer, Subject: i.Subject, Email: i.Email, CreatedMs: i.CreatedMs}
}

// listIdentities lists the external identities linked to the user,
// oldest first.
func (s *Service) listIdentities(r *request) error {
	store, err := s.identities()
	if err != nil {
		return err
	}
	list, err := store.ListOIDCIdentities(r.ctx(), r.target.user.ID)
	if err != nil {
		return err
	}
	out := make([]identityOut, len(list))
	for i, id := range list {
		out[i] = identityJSON(id)
	}
	return collection(r, out, len(out), db.PageInfo{})
}

// deleteIdentity unlinks an external identity. The user proves it is
// them, as for removing a passkey (a stolen token alone must not change
// how the account signs in); a sysadmin removing another user's needs
// none, and sends no body. An identity of
// another user is 404.
func (s *Service) deleteIdentity(r *request) error {
	store, err := s.identities()
	if err != nil {
		return err
	}
	u := r.target.user
	if r.caller.User == nil || r.caller.User.ID == u.ID {
		proof, err := readProofBody(r, "")
		if err != nil {
			return err
		}
		if err := s.checkProof(r, u, proof); err != nil {
			return err
		}
	}
	var provider string
	if list, err := store.ListOIDCIdentities(r.ctx(), u.ID); err == nil {
		for _, i := range list {
			if i.ID == r.Param("identityId") {
				provider = i.ProviderID
			}
		}
	}
	if err := store.DeleteOIDCIdentity(r.ctx(), u.ID, r.Param("identityId")); err != nil {
		return hideNotFound(err)
	}
	if provider != "" {
		s.notifyIdentity(r.ctx(), u.ID, mailtemplate.IdentityRemoved, provider)
	}
	return null(r)
}
