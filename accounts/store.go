package accounts

import (
	"context"
	"time"

	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
)

// Store is what the accounts service asks of the SQL store: what its
// login flow uses, what its management API uses, and the login
// regulator's tables. Config.Store takes one value for all three; each
// part of the service reaches it only through its own interface, so each
// names what it uses. *db.DB implements it. (The gateway's needs are its
// own: gateway.SnapshotSource.)
type Store interface {
	LoginStore
	ManagementStore
	regulation.Store
	OIDCStore
	AuditStore
	WebhookStore
}

var (
	_ Store           = (*db.DB)(nil)
	_ LoginStore      = (*db.DB)(nil)
	_ ManagementStore = (*db.DB)(nil)
)

// LoginStore is what the login flow uses (login.go, proof.go, tokens.go,
// totpenrol.go, recoverycodes.go, factors.go, caller.go, recovery.go): finding and proving an account,
// recovering its password, starting, refreshing and ending sessions,
// enrolling TOTP, and resolving the caller of a request.
type LoginStore interface {
	// Who is calling: the user of a token.
	GetUser(ctx context.Context, id string) (db.User, error)
	// Finding the account of a login and proving it: passwords, login
	// codes, TOTP.
	GetUserByEmail(ctx context.Context, normalizedEmail string) (db.User, db.Email, error)
	GetUserByUnprovenEmail(ctx context.Context, normalizedEmail string) (db.User, db.Email, error)
	ListUnprovenHolders(ctx context.Context, normalizedEmail string) ([]db.UnprovenHolder, error)
	GetEmail(ctx context.Context, userID, emailID string) (db.Email, error)
	ListEmails(ctx context.Context, userID string) ([]db.Email, error)
	ProveEmailByLogin(ctx context.Context, emailID string, at db.Revoking) (reset bool, err error)
	SetPasswordHash(ctx context.Context, userID, hash string, updatedMs int64) error
	RecentLoginIPs(ctx context.Context, emailKey string, sinceMs int64, limit int) ([]string, error)
	CreateCode(ctx context.Context, c db.Code) error
	GetCodeByHash(ctx context.Context, hash string) (db.Code, error)
	GetPendingCode(ctx context.Context, kind, key string) (db.Code, error)
	RecordCodeAttempt(ctx context.Context, id string, maxAttempts int, nowMs int64) (int, error)
	ConsumeCode(ctx context.Context, id string, nowMs int64) error
	GetTOTPSecret(ctx context.Context, userID string) (db.TOTPSecret, error)
	// Whether a second factor is required (mfarequired.go).
	UserInSecondFactorOrg(ctx context.Context, userID string) (bool, error)
	// Password recovery (recovery.go): a recovery code sets the password.
	RecoverPassword(ctx context.Context, codeID, passwordHash string, nowMs int64) (db.Code, error)
	UseTOTPStep(ctx context.Context, userID string, step int64) error
	// Sessions: start, refresh, logout.
	StartSession(ctx context.Context, sess db.Session, first db.RefreshToken) (db.MintInputs, error)
	GetSession(ctx context.Context, id string) (db.Session, error)
	GetRefreshToken(ctx context.Context, hash string) (db.RefreshToken, error)
	RotateRefreshToken(ctx context.Context, oldHash string, next db.RefreshToken, nowMs int64) (*db.RotateResult, error)
	InvalidateSession(ctx context.Context, id, reason string, at db.Revoking) error
	InvalidateUserSessions(ctx context.Context, userID, reason string, at db.Revoking) (int64, error)
	ListUserSessions(ctx context.Context, userID string) ([]db.Session, error)
	// TOTP enrolment.
	SaveTOTPSecret(ctx context.Context, secret db.TOTPSecret) error
	ConfirmTOTP(ctx context.Context, userID string, ms int64) error
	DeleteTOTP(ctx context.Context, userID string) error
	// Recovery codes of the second factor (recoverycodes.go, factors.go).
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, createdMs int64) error
	UseRecoveryCode(ctx context.Context, userID, hash string, nowMs int64) (int, error)
	GetRecoveryCodesStatus(ctx context.Context, userID string) (db.RecoveryCodesStatus, error)
	DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error)
	// Passkeys (passkeys.go) and the webauthn login step.
	CreateWebAuthnCredential(ctx context.Context, c db.WebAuthnCredential, max int) error
	ListWebAuthnCredentials(ctx context.Context, userID string) ([]db.WebAuthnCredential, error)
	GetWebAuthnCredential(ctx context.Context, credentialID []byte) (db.WebAuthnCredential, error)
	UseWebAuthnCredential(ctx context.Context, id string, prevCount, newCount uint32, backupState bool, nowMs int64) error
	FlagWebAuthnClone(ctx context.Context, id string) error
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) error
	DeleteWebAuthnCredentials(ctx context.Context, userID string) (int64, error)
	SaveWebAuthnCeremony(ctx context.Context, c db.WebAuthnCeremony) error
	TakeWebAuthnCeremony(ctx context.Context, key string, nowMs int64) (db.WebAuthnCeremony, error)
}

// ManagementStore is what the management API uses (orgs, memberships,
// users, emails, clients, APIs, sessions, and the authorization and
// password checks they share).
type ManagementStore interface {
	// Organizations and memberships. The writes that change or remove a
	// membership revoke, in the same transaction, the tokens minted before
	// when they lower it (see db.MintInputs); the store's plain
	// UpdateMembershipFlags and DeleteMembership are left out on purpose:
	// they revoke nothing.
	CreateOrganizationBounded(ctx context.Context, org db.Organization, creator db.Membership, memberships, created int) error
	GetOrganization(ctx context.Context, id string) (db.Organization, error)
	ListOrganizations(ctx context.Context, p db.Page) ([]db.Organization, db.PageInfo, error)
	ListUserOrganizations(ctx context.Context, userID string, p db.Page) ([]db.Organization, db.PageInfo, error)
	UpdateOrganization(ctx context.Context, id, name string) error
	SetOrganizationSecondFactor(ctx context.Context, id string, required bool) error
	DeleteOrganizationRevoking(ctx context.Context, id string, at db.Revoking) ([]db.Revocation, error)
	AddMembership(ctx context.Context, m db.Membership, limit int) error
	AcceptMembership(ctx context.Context, id string, limit int) error
	GetMembership(ctx context.Context, id string) (db.Membership, error)
	GetUserMembership(ctx context.Context, orgID, userID string) (db.Membership, error)
	ListUserMemberships(ctx context.Context, userID string) ([]db.Membership, error)
	ListOrgMemberships(ctx context.Context, orgID string, p db.Page) ([]db.Membership, db.PageInfo, error)
	RemoveMembership(ctx context.Context, id string, at db.Revoking) (*db.Revocation, error)
	SetMembershipFlags(ctx context.Context, id string, flags db.MembershipFlags, at db.Revoking) (db.Membership, *db.Revocation, error)
	// Users and their roles.
	CreateUser(ctx context.Context, nu db.NewUser) (db.User, error)
	GetUser(ctx context.Context, id string) (db.User, error)
	GetUserByEmail(ctx context.Context, normalizedEmail string) (db.User, db.Email, error)
	ListUsers(ctx context.Context, p db.Page) ([]db.User, db.PageInfo, error)
	UpdateUserName(ctx context.Context, id, name string, updatedMs int64) error
	SetPasswordHash(ctx context.Context, userID, hash string, updatedMs int64) error
	BanUser(ctx context.Context, id string, bannedMs int64) error
	UnbanUser(ctx context.Context, id string, updatedMs int64) error
	DeleteUser(ctx context.Context, id string, at db.Revoking) error
	AddUserRole(ctx context.Context, userID, role string) error
	RemoveUserRole(ctx context.Context, userID, role string) error
	// Email addresses and their verification codes.
	AddEmail(ctx context.Context, e db.Email) error
	GetEmail(ctx context.Context, userID, emailID string) (db.Email, error)
	ListEmails(ctx context.Context, userID string) ([]db.Email, error)
	DeleteEmail(ctx context.Context, userID, emailID string) error
	MarkEmailVerified(ctx context.Context, emailID string, verifiedMs int64) error
	TakeMailQuota(ctx context.Context, quotas []db.MailQuota, window db.MailWindow) error
	CreateCode(ctx context.Context, c db.Code) error
	GetCodeByHash(ctx context.Context, hash string) (db.Code, error)
	GetPendingCode(ctx context.Context, kind, key string) (db.Code, error)
	RecordCodeAttempt(ctx context.Context, id string, maxAttempts int, nowMs int64) (int, error)
	ConsumeCode(ctx context.Context, id string, nowMs int64) error
	// API clients, their roles and access restrictions.
	CreateClientWithin(ctx context.Context, c db.Client, limit int) (db.Client, error)
	GetClient(ctx context.Context, id string) (db.Client, error)
	ListClients(ctx context.Context, orgID string, p db.Page) ([]db.Client, db.PageInfo, error)
	UpdateClient(ctx context.Context, id, name string, reqsPerSec int, updatedMs int64) error
	SetClientSecretHash(ctx context.Context, id, hash string, updatedMs int64) error
	DeleteClient(ctx context.Context, id string, at db.Revoking) error
	AddClientRole(ctx context.Context, clientID, role string) error
	RemoveClientRole(ctx context.Context, clientID, role string) error
	ClientRoles(ctx context.Context, clientID string) ([]string, error)
	AddRestriction(ctx context.Context, r db.Restriction) error
	ListRestrictions(ctx context.Context, clientID string) ([]db.Restriction, error)
	DeleteRestriction(ctx context.Context, clientID, restrictionID string) error
	// The backend registry.
	CreateAPI(ctx context.Context, a db.API) error
	GetAPI(ctx context.Context, name string, version int) (db.API, error)
	ListAPIs(ctx context.Context) ([]db.API, error)
	UpdateAPI(ctx context.Context, a db.API) error
	DeleteAPI(ctx context.Context, name string, version int) error
	// Sessions, listed.
	ListSessions(ctx context.Context, afterID string, limit int) ([]db.Session, error)
	ListUserSessions(ctx context.Context, userID string) ([]db.Session, error)
}

// Regulator counts failed login steps and bans (regulation.Regulator):
// bans fall on a source and on an account from a source; an account's
// failures from everywhere only delay its checks (Delay), one password
// guess at a time (Turn); its second factor is capped from all sources
// (KindFactor); requests for a login code are counted apart (RequestCode,
// RequestCodeToAddress).
type Regulator interface {
	Check(ctx context.Context, subjects ...regulation.Subject) error
	Delay(ctx context.Context, subjects ...regulation.Subject) (time.Duration, error)
	Fail(ctx context.Context, step string, subjects ...regulation.Subject) error
	RequestCode(ctx context.Context, subjects ...regulation.Subject) error
	RequestCodeToAddress(ctx context.Context, address regulation.Subject) error
	Turn(ctx context.Context, account regulation.Subject, wait time.Duration) (func(), error)
}

var _ Regulator = (*regulation.Regulator)(nil)
