package audit

// The event types: dotted nouns and verbs. Every event also has its
// columns: outcome (success or failure), reason (a stable code for a
// failure, or why a session ended), actor (the signed-in user and the
// client of the request), subject (the user acted on), organization and
// ip. Each constant says what its data holds; Types lists them all.
const (
	// SessionCreated: a sign-in succeeded and a session started (a login,
	// a registration's first session, an external sign-in). Data:
	// session (its ID), amr (the factors proved, space-separated), step
	// (the login step that ended it; oidc for an OpenID Connect grant;
	// "" elsewhere, a registration say).
	SessionCreated = "session.created"
	// LoginFailed: a login step was refused. Reason: the answer's error
	// code (INCORRECT-PASSWORD, TOTP-INVALID, CODE-INVALID, USER-BANNED,
	// ...). Subject: the account when the step named a known one. Data:
	// step (email, code, password, totp, totp-enrol, webauthn), factor
	// (code, password, totp, passkey, federated; none for email).
	LoginFailed = "login.failed"
	// LoginLocked: a login step was refused because its source or
	// account is locked out after too many failures (login
	// regulation). Reason: TOO-MANY-FAILURES. Data: step, factor.
	LoginLocked = "login.locked"
	// SessionRevoked: a session ended before its time. Reason: logout,
	// new-login, idle, refresh-reuse, oidc-consent-revoked, ... Subject:
	// its user. Data: session.
	SessionRevoked = "session.revoked"
	// SessionsRevoked: every session of a user ended (password changed,
	// roles removed, factors reset, ...). Reason: why. Subject: the user.
	SessionsRevoked = "sessions.revoked"
	// RefreshTokenReused: a refresh token already spent was presented
	// again after the grace for racing tabs: a replay; its session (the
	// token family) is revoked. Outcome failure, reason
	// REFRESH-TOKEN-REUSED. Subject: the session's user. Data: session.
	RefreshTokenReused = "refresh_token.reused"

	// UserCreated: an account was registered or created. Subject: the
	// new user. Data: referrer (the client it registered through).
	UserCreated = "user.created"
	// UserDeleted: an account was deleted. Subject: the user.
	UserDeleted = "user.deleted"
	// UserBanned and UserUnbanned: a sysadmin banned or unbanned an
	// account. Subject: the user.
	UserBanned   = "user.banned"
	UserUnbanned = "user.unbanned"
	// PasswordChanged: a password was set or changed through the API
	// (outcome failure with reason INCORRECT-PASSWORD when the current
	// password was wrong). Subject: the user. Data: by (self or admin).
	PasswordChanged = "password.changed"
	// PasswordReset: a password was set with a mailed recovery code.
	// Subject: the user.
	PasswordReset = "password.reset"
	// EmailVerified: an address was verified (by its code or link).
	// Subject: the user. Data: email (the address's ID, never the
	// address).
	EmailVerified = "email.verified"

	// FactorAdded and FactorRemoved: a second factor was enrolled or
	// removed. Subject: the user. Data: factor (totp, passkey,
	// recovery-codes; all for a sysadmin's reset of every factor),
	// passkey (the passkey's ID, for passkeys).
	FactorAdded   = "factor.added"
	FactorRemoved = "factor.removed"
	// StepUpGranted: a signed-in user proved themselves again and got a
	// step-up discharge (outcome failure when the proof was refused,
	// with the error code as reason). Subject: the user. Data: factor
	// (password, totp, code, passkey).
	StepUpGranted = "stepup.granted"

	// RoleAdded and RoleRemoved: a user's role changed. Subject: the
	// user. Data: role.
	RoleAdded   = "role.added"
	RoleRemoved = "role.removed"
	// MembershipAdded, MembershipChanged, MembershipAccepted and
	// MembershipRemoved: a membership of an organization was made (an
	// invitation when pending), its flags changed, an invitation was
	// accepted, or it ended. Subject: the member. Organization: the
	// organization. Data: membership (its ID), flags (read,edit,manage,
	// delete as held after the change), pending (true for an
	// invitation).
	MembershipAdded    = "membership.added"
	MembershipChanged  = "membership.changed"
	MembershipAccepted = "membership.accepted"
	MembershipRemoved  = "membership.removed"
	// OrganizationCreated and OrganizationDeleted. Organization: it.
	OrganizationCreated = "organization.created"
	OrganizationDeleted = "organization.deleted"

	// ClientCreated, ClientDeleted and ClientSecretRotated: an API
	// client was created, deleted, or given a new secret. Organization:
	// the client's. Data: client (its ID; never the secret).
	ClientCreated       = "client.created"
	ClientDeleted       = "client.deleted"
	ClientSecretRotated = "client.secret_rotated"
	// ClientRoleAdded and ClientRoleRemoved: a client's role changed.
	// Organization: the client's. Data: client, role.
	ClientRoleAdded   = "client.role_added"
	ClientRoleRemoved = "client.role_removed"

	// ConsentGranted and ConsentRevoked: a user allowed an OpenID
	// Connect client (on the consent page), or withdrew the consent
	// (ending that client's sessions). Subject: the user. Data: client
	// (the OpenID client's ID), scopes (space-separated, on a grant).
	ConsentGranted = "consent.granted"
	ConsentRevoked = "consent.revoked"

	// FormRefused: a form of the sign-in and account pages was refused
	// because its CSRF token was missing, forged, expired or another
	// browser's (cross-site request forgery, or a page left open too
	// long). Outcome failure, reason CSRF-REFUSED. Actor: the signed-in
	// user, if any. Data: path (the form's path).
	FormRefused = "form.refused"
)

// Type documents one event type: what it means and its data keys.
type Type struct {
	// Name is the type, "login.failed" say.
	Name string
	// About says when the event happens, in the README's words.
	About string
	// Data are the keys the event's data may hold; no other key is
	// recorded.
	Data []string
}

// Types is every event type, the one list the Recorder, the API's
// filter and the README (and the webhooks' documentation) read.
var Types = []Type{
	{SessionCreated, "a sign-in succeeded: a session started", []string{"session", "amr", "step"}},
	{LoginFailed, "a login step was refused; reason is the error code", []string{"step", "factor"}},
	{LoginLocked, "a login step was refused by a lockout after too many failures", []string{"step", "factor"}},
	{SessionRevoked, "a session ended before its time; reason says why (logout, idle, refresh-reuse, ...)", []string{"session"}},
	{SessionsRevoked, "every session of a user ended; reason says why", nil},
	{RefreshTokenReused, "a spent refresh token was replayed: its session (token family) is revoked", []string{"session"}},
	{UserCreated, "an account was registered or created", []string{"referrer"}},
	{UserDeleted, "an account was deleted", nil},
	{UserBanned, "a sysadmin banned an account", nil},
	{UserUnbanned, "a sysadmin lifted a ban", nil},
	{PasswordChanged, "a password was set or changed (failure: the current password was wrong)", []string{"by"}},
	{PasswordReset, "a password was set with a mailed recovery code", nil},
	{EmailVerified, "an address was verified (data names its ID, never the address)", []string{"email"}},
	{FactorAdded, "a second factor was enrolled: totp, passkey or recovery-codes", []string{"factor", "passkey"}},
	{FactorRemoved, "a second factor was removed (all: a sysadmin's reset)", []string{"factor", "passkey"}},
	{StepUpGranted, "a step-up proof was accepted (failure: refused)", []string{"factor"}},
	{RoleAdded, "a user was granted a role", []string{"role"}},
	{RoleRemoved, "a user lost a role", []string{"role"}},
	{MembershipAdded, "a membership (or a pending invitation) was made", []string{"membership", "flags", "pending"}},
	{MembershipChanged, "a membership's flags changed", []string{"membership", "flags"}},
	{MembershipAccepted, "an invitation was accepted", []string{"membership"}},
	{MembershipRemoved, "a membership ended (left, declined or removed)", []string{"membership"}},
	{OrganizationCreated, "an organization was created", nil},
	{OrganizationDeleted, "an organization was deleted", nil},
	{ClientCreated, "an API client was created", []string{"client"}},
	{ClientDeleted, "an API client was deleted", []string{"client"}},
	{ClientSecretRotated, "an API client got a new secret", []string{"client"}},
	{ClientRoleAdded, "an API client was granted a role", []string{"client", "role"}},
	{ClientRoleRemoved, "an API client lost a role", []string{"client", "role"}},
	{ConsentGranted, "a user allowed an OpenID Connect client", []string{"client", "scopes"}},
	{ConsentRevoked, "a user withdrew an OpenID Connect client's consent", []string{"client"}},
	{FormRefused, "a form of the sign-in pages was refused for its CSRF token (forged, expired, another browser's)", []string{"path"}},
}

// typeIndex finds a Type by name.
var typeIndex = func() map[string]Type {
	m := make(map[string]Type, len(Types))
	for _, t := range Types {
		m[t.Name] = t
	}
	return m
}()

// Known reports whether name is one of Types.
func Known(name string) bool {
	_, ok := typeIndex[name]
	return ok
}
