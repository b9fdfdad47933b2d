package accounts

import (
	"context"
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// Prefix is where the service is served.
const Prefix = "/accounts/v1"

// Route is one endpoint of the service and who may call it. Routes is the
// authorization table of the README's "Authorization": the router is built from it, the
// README prints it, and the tests check each row with an allowed and a
// denied caller.
type Route struct {
	// Method and Path (Echo syntax, under Prefix) name the endpoint.
	Method, Path string
	// Who says, in the README's words, who may call it.
	Who string

	target targetKind
	// allow decides once the target is found and visible; nil admits
	// anyone without a token: the route is public (see Public and
	// PublicScope, which read this and nothing else).
	allow  func(c *Caller, t *target) bool
	handle func(s *Service, r *request) error
	// tokenless admits a caller without a user to a route that is not
	// public (the gateway still verifies the token of every request to
	// it): the handler then asks for a proof of its own. Only logout has
	// it: a refresh token proves the session it ends.
	tokenless bool
}

// Public reports whether the route needs no token and no logged-in user.
func (r Route) Public() bool { return r.allow == nil }

// Routes returns the authorization table, in the order of the README's "The accounts service".
func Routes() []Route { return append([]Route(nil), routes...) }

// The rules of the table, named as in the README's "Authorization" table.

func loggedIn(c *Caller, _ *target) bool { return c.User != nil }

func staff(c *Caller, _ *target) bool { return c.staff() }

// loggedInOrRefreshToken admits a logged-in user, and a caller without
// a token (a tokenless route), whom the handler asks for the refresh
// token of the session to end, through the client that logged in.
func loggedInOrRefreshToken(*Caller, *target) bool { return true }

func sysint(c *Caller, _ *target) bool { return c.sysint() }

func sysadmin(c *Caller, _ *target) bool { return c.userIs(db.RoleSysadmin) }

// orgRole is orgRole(F): ISC, a sysadmin or employee user, or a member
// of the target organization whose membership has flag F.
func orgRole(flag policy.MembershipFlag) func(*Caller, *target) bool {
	return func(c *Caller, t *target) bool {
		return c.privileged() || (t.membership != nil && membershipHas(t.membership, flag))
	}
}

func self(c *Caller, t *target) bool { return c.self(t.user.ID) }

func selfOr(rule func(*Caller, *target) bool) func(*Caller, *target) bool {
	return func(c *Caller, t *target) bool { return c.self(t.user.ID) || rule(c, t) }
}

// sysadminNotSelf: a sysadmin acting on another user; nobody changes
// their own roles.
func sysadminNotSelf(c *Caller, t *target) bool {
	return c.userIs(db.RoleSysadmin) && !c.self(t.user.ID)
}

// userMemberships: ISC, self, or a sysadmin or employee user.
func userMemberships(c *Caller, t *target) bool {
	return c.isc() || c.self(t.user.ID) || c.userIs(db.RoleSysadmin) || c.userIs(db.RoleEmployee)
}

// memberOrOrgRole: the member of the target membership, or orgRole(F) in
// its organization.
func memberOrOrgRole(flag policy.MembershipFlag) func(*Caller, *target) bool {
	return func(c *Caller, t *target) bool { return c.self(t.member.UserID) || orgRole(flag)(c, t) }
}

// invitee: the user of the target membership (an invitation's consent
// is theirs alone).
func invitee(c *Caller, t *target) bool { return c.self(t.member.UserID) }

// clientPrivileged is orgRole(manage) for a client whose roles the caller
// outranks: whoever obtains a client's secret, or edits, deletes or
// restricts it, can act as that client, so they need at least the
// privilege its roles carry. A client with any role beyond external
// (system, internal) is only for ISC or a sysadmin user; an external
// client is for orgRole(manage).
func clientPrivileged(c *Caller, t *target) bool {
	if !orgRole(policy.FlagManage)(c, t) {
		return false
	}
	for _, role := range t.client.Roles {
		if role != db.ClientRoleExternal {
			return c.isc() || c.userIs(db.RoleSysadmin)
		}
	}
	return true
}

// membershipHas reports whether the membership has the flag (mint's
// reading of flags, which the policies' membership scopes use too).
func membershipHas(m *db.Membership, flag policy.MembershipFlag) bool {
	return flag != policy.AnyMembership && mint.Membership{Read: m.Read, Edit: m.Edit, Manage: m.Manage, Delete: m.Delete}.Has(flag)
}

var routes = []Route{
	{Method: "GET", Path: "/organizations", Who: "STAFF (all); any other logged-in user: the organizations they belong to", allow: loggedIn, handle: (*Service).listOrganizations},
	{Method: "POST", Path: "/organizations", Who: "any logged-in user (becomes a member with every flag)", allow: loggedIn, handle: (*Service).createOrganization},
	{Method: "GET", Path: "/organizations/:id", Who: "STAFF or orgRole(read)", target: orgTarget, allow: or(staff, orgRole(policy.FlagRead)), handle: (*Service).getOrganization},
	{Method: "PATCH", Path: "/organizations/:id", Who: "orgRole(edit); setting requireSecondFactor needs orgRole(manage)", target: orgTarget, allow: orgRole(policy.FlagEdit), handle: (*Service).updateOrganization},
	{Method: "DELETE", Path: "/organizations/:id", Who: "orgRole(delete)", target: orgTarget, allow: orgRole(policy.FlagDelete), handle: (*Service).deleteOrganization},

	{Method: "GET", Path: "/users", Who: "STAFF", allow: staff, handle: (*Service).listUsers},
	{Method: "POST", Path: "/users", Who: "anyone (registration; referrer must be an existing client)", handle: (*Service).createUser},
	{Method: "GET", Path: "/users/:id", Who: "self or STAFF", target: userTarget, allow: selfOr(staff), handle: (*Service).getUser},
	{Method: "PATCH", Path: "/users/:id", Who: "self or sysadmin; banned: a sysadmin, never on themselves", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).updateUser},
	{Method: "DELETE", Path: "/users/:id", Who: "self or sysadmin", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).deleteUser},
	{Method: "GET", Path: "/users/:id/roles", Who: "self or STAFF", target: userTarget, allow: selfOr(staff), handle: (*Service).listUserRoles},
	{Method: "POST", Path: "/users/:id/roles", Who: "sysadmin, never on themselves", target: userTarget, allow: sysadminNotSelf, handle: (*Service).addUserRole},
	{Method: "DELETE", Path: "/users/:id/roles/:roleId", Who: "sysadmin, never on themselves", target: userTarget, allow: sysadminNotSelf, handle: (*Service).removeUserRole},
	{Method: "POST", Path: "/users/:id/change-password", Who: "self (with the current password) or sysadmin", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).changePassword},

	{Method: "GET", Path: "/users/:id/emails", Who: "self or STAFF", target: userTarget, allow: selfOr(staff), handle: (*Service).listEmails},
	{Method: "POST", Path: "/users/:id/emails", Who: "self or SYSINT", target: userTarget, allow: selfOr(sysint), handle: (*Service).addEmail},
	{Method: "DELETE", Path: "/users/:id/emails/:emailId", Who: "self or SYSINT", target: userTarget, allow: selfOr(sysint), handle: (*Service).deleteEmail},
	{Method: "POST", Path: "/users/:id/emails/:emailId/generate-verification", Who: "self or SYSINT", target: userTarget, allow: selfOr(sysint), handle: (*Service).generateVerification},
	{Method: "POST", Path: "/users/:id/emails/:emailId/verify", Who: "self or SYSINT", target: userTarget, allow: selfOr(sysint), handle: (*Service).verifyEmail},
	{Method: "POST", Path: "/email-verifications", Who: "anyone holding the address's mailed verification code (the link of the verification mail)", handle: (*Service).verifyEmailByLink},

	{Method: "GET", Path: "/organizations/:id/clients", Who: "orgRole(read)", target: orgTarget, allow: orgRole(policy.FlagRead), handle: (*Service).listClients},
	{Method: "POST", Path: "/organizations/:id/clients", Who: "orgRole(manage); setting reqsPerSec needs STAFF", target: orgTarget, allow: orgRole(policy.FlagManage), handle: (*Service).createClient},
	{Method: "GET", Path: "/organizations/:id/clients/:clientId", Who: "orgRole(read)", target: clientTarget, allow: orgRole(policy.FlagRead), handle: (*Service).getClient},
	{Method: "PATCH", Path: "/organizations/:id/clients/:clientId", Who: "clientPrivileged (orgRole(manage); a client with a role beyond external: ISC or a sysadmin only); setting reqsPerSec needs STAFF", target: clientTarget, allow: clientPrivileged, handle: (*Service).updateClient},
	{Method: "DELETE", Path: "/organizations/:id/clients/:clientId", Who: "clientPrivileged (orgRole(manage); a client with a role beyond external: ISC or a sysadmin only)", target: clientTarget, allow: clientPrivileged, handle: (*Service).deleteClient},
	{Method: "POST", Path: "/organizations/:id/clients/:clientId/refresh-secret", Who: "clientPrivileged (orgRole(manage); a client with a role beyond external: ISC or a sysadmin only)", target: clientTarget, allow: clientPrivileged, handle: (*Service).refreshClientSecret},
	{Method: "GET", Path: "/organizations/:id/clients/:clientId/roles", Who: "SYSINT", target: clientTarget, allow: sysint, handle: (*Service).listClientRoles},
	{Method: "POST", Path: "/organizations/:id/clients/:clientId/roles", Who: "SYSINT", target: clientTarget, allow: sysint, handle: (*Service).addClientRole},
	{Method: "DELETE", Path: "/organizations/:id/clients/:clientId/roles/:roleId", Who: "SYSINT", target: clientTarget, allow: sysint, handle: (*Service).removeClientRole},
	{Method: "GET", Path: "/organizations/:id/clients/:clientId/access-restrictions", Who: "orgRole(read)", target: clientTarget, allow: orgRole(policy.FlagRead), handle: (*Service).listRestrictions},
	{Method: "POST", Path: "/organizations/:id/clients/:clientId/access-restrictions", Who: "clientPrivileged (orgRole(manage); a client with a role beyond external: ISC or a sysadmin only); type api also needs ISC or a sysadmin", target: clientTarget, allow: clientPrivileged, handle: (*Service).addRestriction},
	{Method: "DELETE", Path: "/organizations/:id/clients/:clientId/access-restrictions/:restrictionId", Who: "clientPrivileged (orgRole(manage); a client with a role beyond external: ISC or a sysadmin only); type api also needs ISC or a sysadmin", target: clientTarget, allow: clientPrivileged, handle: (*Service).deleteRestriction},

	{Method: "GET", Path: "/users/:id/memberships", Who: "ISC, self, or a sysadmin or employee", target: userTarget, allow: userMemberships, handle: (*Service).listUserMemberships},
	{Method: "GET", Path: "/organizations/:id/memberships", Who: "orgRole(read)", target: orgTarget, allow: orgRole(policy.FlagRead), handle: (*Service).listOrgMemberships},
	{Method: "POST", Path: "/organizations/:id/memberships", Who: "orgRole(manage); a member grants only flags they hold; a new membership made by anyone but ISC, a sysadmin or an employee is a pending invitation", target: orgTarget, allow: orgRole(policy.FlagManage), handle: (*Service).upsertMembership},
	{Method: "PATCH", Path: "/org-memberships/:id", Who: "orgRole(manage), granting only flags they hold; the member may lower, never raise, their own flags", target: membershipTarget, allow: memberOrOrgRole(policy.FlagManage), handle: (*Service).updateMembership},
	{Method: "POST", Path: "/org-memberships/:id/accept", Who: "the invited user", target: membershipTarget, allow: invitee, handle: (*Service).acceptMembership},
	{Method: "DELETE", Path: "/org-memberships/:id", Who: "the member (leaving, or declining an invitation), or orgRole(delete)", target: membershipTarget, allow: memberOrOrgRole(policy.FlagDelete), handle: (*Service).deleteMembership},

	{Method: "POST", Path: "/sessions/login/:step", Who: "anyone (the login steps email, code, password, totp, totp-enrol, webauthn; totp takes a recovery code instead)", handle: (*Service).login},
	{Method: "POST", Path: "/recovery", Who: "anyone (forgot password: mails a recovery code to a verified address; the same answer for every address)", handle: (*Service).requestRecovery},
	{Method: "POST", Path: "/recovery/reset", Who: "anyone holding a mailed recovery code", handle: (*Service).resetPassword},
	{Method: "POST", Path: "/sessions/refresh", Who: "anyone holding a refresh token, through the client that logged in", handle: (*Service).refresh},
	{Method: "POST", Path: "/sessions/logout", Who: "a logged-in user: their own session, sessions they own, or any session whose refresh token they send (SESSADM: any session); without a token (in-process only: the sign-out page), the session of an unspent refresh token, through the client that logged in", allow: loggedInOrRefreshToken, tokenless: true, handle: (*Service).logout},
	{Method: "POST", Path: "/discharge", Who: "a logged-in user, with the password, a TOTP code, a login code or a passkey, for a step-up caveat of their own session", allow: loggedIn, handle: (*Service).discharge},
	{Method: "GET", Path: "/sessions", Who: "SESSADM (an internal client with a sysadmin user)", allow: sysint, handle: (*Service).listSessions},
	{Method: "GET", Path: "/users/:id/sessions", Who: "self or SESSADM", target: userTarget, allow: selfOr(sysint), handle: (*Service).listUserSessions},

	{Method: "POST", Path: "/users/:id/totp", Who: "self", target: userTarget, allow: self, handle: (*Service).enrolTOTP},
	{Method: "POST", Path: "/users/:id/totp/confirm", Who: "self", target: userTarget, allow: self, handle: (*Service).confirmTOTP},
	{Method: "DELETE", Path: "/users/:id/totp", Who: "self, with the password or a TOTP code", target: userTarget, allow: self, handle: (*Service).deleteTOTP},
	{Method: "GET", Path: "/users/:id/recovery-codes", Who: "self (how many are left, never the codes)", target: userTarget, allow: self, handle: (*Service).getRecoveryCodes},
	{Method: "POST", Path: "/users/:id/recovery-codes", Who: "self, with the password or a TOTP code (new codes, shown once; the old ones die)", target: userTarget, allow: self, handle: (*Service).regenerateRecoveryCodes},
	{Method: "DELETE", Path: "/users/:id/factors", Who: "sysadmin, never on themselves (removes TOTP and recovery codes, ends the user's sessions)", target: userTarget, allow: sysadminNotSelf, handle: (*Service).resetFactors},

	{Method: "POST", Path: "/users/:id/passkeys/options", Who: "self, with the password, a TOTP code, a login code or a passkey", target: userTarget, allow: self, handle: (*Service).passkeyOptions},
	{Method: "POST", Path: "/users/:id/passkeys/proof-options", Who: "self", target: userTarget, allow: self, handle: (*Service).passkeyProofOptions},
	{Method: "POST", Path: "/users/:id/passkeys", Who: "self, answering the options", target: userTarget, allow: self, handle: (*Service).addPasskey},
	{Method: "GET", Path: "/users/:id/passkeys", Who: "self or STAFF", target: userTarget, allow: selfOr(staff), handle: (*Service).listPasskeys},
	{Method: "GET", Path: "/users/:id/identities", Who: "self or SYSADMIN", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).listIdentities},
	{Method: "DELETE", Path: "/users/:id/identities/:identityId", Who: "self, with the password, a TOTP code, a login code or a passkey; or SYSADMIN", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).deleteIdentity},
	{Method: "DELETE", Path: "/users/:id/passkeys/:passkeyId", Who: "self, with the password, a TOTP code, a login code or a passkey", target: userTarget, allow: self, handle: (*Service).deletePasskey},

	{Method: "GET", Path: "/apis", Who: "sysadmin", allow: sysadmin, handle: (*Service).listAPIs},
	{Method: "POST", Path: "/apis", Who: "sysadmin", allow: sysadmin, handle: (*Service).createAPI},
	{Method: "PATCH", Path: "/apis/:name/:version", Who: "sysadmin", allow: sysadmin, handle: (*Service).updateAPI},
	{Method: "DELETE", Path: "/apis/:name/:version", Who: "sysadmin", allow: sysadmin, handle: (*Service).deleteAPI},

	{Method: "GET", Path: "/audit-events", Who: "sysadmin", allow: sysadmin, handle: (*Service).listAuditEvents},
	{Method: "GET", Path: "/webhooks", Who: "sysadmin", allow: sysadmin, handle: (*Service).listWebhooks},
	{Method: "POST", Path: "/webhooks", Who: "sysadmin", allow: sysadmin, handle: (*Service).createWebhook},
	{Method: "GET", Path: "/webhooks/:id", Who: "sysadmin", allow: sysadmin, handle: (*Service).getWebhook},
	{Method: "PATCH", Path: "/webhooks/:id", Who: "sysadmin", allow: sysadmin, handle: (*Service).updateWebhook},
	{Method: "DELETE", Path: "/webhooks/:id", Who: "sysadmin", allow: sysadmin, handle: (*Service).deleteWebhook},
	{Method: "POST", Path: "/webhooks/:id/rotate-secret", Who: "sysadmin", allow: sysadmin, handle: (*Service).rotateWebhookSecret},
	{Method: "GET", Path: "/webhooks/:id/deliveries", Who: "sysadmin", allow: sysadmin, handle: (*Service).listWebhookDeliveries},
	{Method: "POST", Path: "/webhooks/:id/deliveries/:deliveryId/retry", Who: "sysadmin", allow: sysadmin, handle: (*Service).retryWebhookDelivery},

	{Method: "GET", Path: "/openapi.json", Who: "anyone", handle: (*Service).openAPI},

	{Method: "GET", Path: "/oidc-requests/:id", Who: "any logged-in user (the consent page: the OpenID Connect authorization request to decide)", allow: loggedIn, handle: (*Service).getOIDCRequest},
	{Method: "POST", Path: "/oidc-requests/:id/decision", Who: "any logged-in user (the consent page: allow or deny the request as themselves)", allow: loggedIn, handle: (*Service).decideOIDCRequest},
	{Method: "GET", Path: "/users/:id/oidc-consents", Who: "self or sysadmin", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).listOIDCConsents},
	{Method: "DELETE", Path: "/users/:id/oidc-consents/:clientId", Who: "self or sysadmin (ends that client's sessions of the user)", target: userTarget, allow: selfOr(sysadmin), handle: (*Service).deleteOIDCConsent},
}

func or(rules ...func(*Caller, *target) bool) func(*Caller, *target) bool {
	return func(c *Caller, t *target) bool {
		for _, r := range rules {
			if r(c, t) {
				return true
			}
		}
		return false
	}
}

// targetKind says which resource a route's path names.
type targetKind int

const (
	noTarget         targetKind = iota
	userTarget                  // /users/:id (":id" may be "current")
	orgTarget                   // /organizations/:id
	clientTarget                // /organizations/:id/clients/:clientId
	membershipTarget            // /org-memberships/:id
)

// target is the resource a request is about, read before the rule runs.
type target struct {
	user *db.User
	org  *db.Organization
	// membership is the caller's membership in org, nil when none.
	membership *db.Membership
	client     *db.Client
	// member is the membership that /org-memberships/:id names.
	member *db.Membership
}

// request is one call of a handler: the Echo context, the caller and the
// target found for it.
type request struct {
	echo.Context
	caller *Caller
	target target
}

// ctx is the request's context (its deadline and cancellation).
func (r *request) ctx() context.Context { return r.Request().Context() }

// findTarget reads the route's target. A target that does not exist, or
// that the caller may not see, is ErrHidden (404); "current" without a
// user is 401 CURRENT-ALIAS-NO-USER.
func (s *Service) findTarget(ctx context.Context, kind targetKind, c echo.Context, caller *Caller) (target, error) {
	var t target
	switch kind {
	case noTarget:
		return t, nil
	case userTarget:
		id := c.Param("id")
		if id == "current" {
			if caller.User == nil {
				return t, apiError(401, CodeCurrentNoUser, `"current" needs a logged-in user.`)
			}
			t.user = caller.User
			return t, nil
		}
		u, err := s.management.GetUser(ctx, id)
		if err != nil {
			return t, hideNotFound(err)
		}
		t.user = &u
		if !(caller.self(u.ID) || caller.staff() || caller.privileged()) {
			return t, ErrHidden
		}
		return t, nil
	case membershipTarget:
		m, err := s.management.GetMembership(ctx, c.Param("id"))
		if err != nil {
			return t, hideNotFound(err)
		}
		t.member = &m
		if err := s.findOrg(ctx, &t, m.OrganizationID, caller); err != nil && !(errors.Is(err, ErrHidden) && caller.self(m.UserID)) {
			return t, err
		}
		return t, nil
	}
	if err := s.findOrg(ctx, &t, c.Param("id"), caller); err != nil {
		return t, err
	}
	if kind == clientTarget {
		cl, err := s.management.GetClient(ctx, c.Param("clientId"))
		if err != nil {
			return t, hideNotFound(err)
		}
		if cl.OrganizationID != t.org.ID {
			return t, ErrHidden
		}
		t.client = &cl
	}
	return t, nil
}

// findOrg reads the organization and the caller's membership in it. An
// organization is visible to STAFF, to privileged callers and to its
// members.
func (s *Service) findOrg(ctx context.Context, t *target, orgID string, caller *Caller) error {
	org, err := s.management.GetOrganization(ctx, orgID)
	if err != nil {
		return hideNotFound(err)
	}
	t.org = &org
	if caller.User != nil {
		m, err := s.management.GetUserMembership(ctx, org.ID, caller.User.ID)
		switch {
		case err == nil && m.Pending:
			// An invitation not accepted grants nothing, visibility
			// included.
		case err == nil:
			t.membership = &m
		case !errors.Is(err, db.ErrNotFound):
			return err
		}
	}
	if t.membership == nil && !caller.staff() && !caller.privileged() {
		return ErrHidden
	}
	return nil
}

// hideNotFound turns the store's not-found (and a malformed ID, which
// cannot exist) into ErrHidden, leaving other errors as they are.
func hideNotFound(err error) error {
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, db.ErrInvalid) {
		return ErrHidden
	}
	return err
}

// PublicScope is the verifier's public scope for the service: the routes
// that need no token (the README's "Library use"): the login steps,
// refresh, registration, password recovery, verification by link and
// the API description. It is derived from the
// route table, where a route without a rule is public, each :param
// becoming a * segment. The gateway is configured with it.
func PublicScope() map[string][]string {
	scope := map[string][]string{}
	for _, rt := range routes {
		if !rt.Public() {
			continue
		}
		segments := strings.Split(rt.Path, "/")
		for i, seg := range segments {
			if strings.HasPrefix(seg, ":") {
				segments[i] = "*"
			}
		}
		scope[rt.Method] = append(scope[rt.Method], Prefix+strings.Join(segments, "/"))
	}
	for method, paths := range OIDCPublicRoutes() {
		scope[method] = append(scope[method], paths...)
	}
	return scope
}
