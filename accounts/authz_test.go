package accounts_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
)

// The authorization table (the README's "Authorization"), row by row: every route
// of accounts.Routes() with a caller it admits and a caller it refuses,
// through the real gateway on both databases.

// authzFixture is the world the authorization cases run in: users with
// each role, an organization with members holding various flags, another
// organization, and clients with each role. Cases make what they change
// (a client to delete, a user whose role they take) in their setup, so
// no case depends on another's side effects.
type authzFixture struct {
	s *stack
	d *db.DB

	// admin is a sysadmin, emp an employee; plain and other are plain
	// users who belong to no organization of the fixture.
	admin, emp, plain, other db.User
	// Members of home: owner holds every flag, the others the flags
	// their names say; editOnly holds edit without read.
	owner, reader, editor, manager, deleter, editOnly db.User
	// home is the organization of the members; away belongs to awayOwner
	// alone.
	home, away db.Organization
	awayOwner  db.User
	// Clients of home: app is external, isc has system and internal.
	app, system, internal, isc appClient
	// awayClient is a client of away.
	awayClient string

	n int // numbers the names made by fresh and friends
}

// newAuthzFixture builds the fixture on the store d.
func newAuthzFixture(t *testing.T, d *db.DB) *authzFixture {
	t.Helper()
	s := newStack(t, d, func(c *accounts.Config) {
		c.WebAuthnRPID, c.WebAuthnOrigins = "localhost", []string{"http://localhost"}
	})
	f := &authzFixture{s: s, d: d}
	f.admin = s.user("Admin", db.RoleSysadmin)
	f.emp = s.user("Emp", db.RoleEmployee)
	f.plain = s.user("Pia")
	f.other = s.user("Oscar")
	f.owner = s.user("Olga")
	f.home = s.org("Home", f.owner)
	f.reader = s.user("Rita")
	s.member(f.home, f.reader, "read")
	f.editor = s.user("Ed")
	s.member(f.home, f.editor, "read", "edit")
	f.manager = s.user("Max")
	s.member(f.home, f.manager, "read", "manage")
	f.deleter = s.user("Dora")
	s.member(f.home, f.deleter, "read", "delete")
	f.editOnly = s.user("Eli")
	s.member(f.home, f.editOnly, "edit")
	f.awayOwner = s.user("Abe")
	f.away = s.org("Away", f.awayOwner)
	f.app = s.client(f.home)
	f.system = s.client(f.home, db.ClientRoleSystem)
	f.internal = s.client(f.home, db.ClientRoleInternal)
	f.isc = s.client(f.home, db.ClientRoleSystem, db.ClientRoleInternal)
	f.awayClient = f.storeClient(f.away)
	return f
}

// next returns a number not used before in the fixture.
func (f *authzFixture) next() int {
	f.n++
	return f.n
}

// fresh creates a user with the roles, named prefix and a fresh number
// (its address is the lower-cased name at example.com).
// stepUpToken mints the DELETE step-up token of stepUpRoutes for the
// user's session through the fixture's app.
func (f *authzFixture) stepUpToken(u db.User, sessionID string) string {
	f.s.t.Helper()
	p, err := policy.Parse("step-up.json", []byte(stepUpRoutes))
	if err != nil {
		f.s.t.Fatal(err)
	}
	toks, err := f.s.minter.Mint([]*policy.Policy{p}, mint.Subject{UserID: u.ID, SessionID: sessionID, ClientID: f.app.ID})
	if err != nil {
		f.s.t.Fatal(err)
	}
	return toks.StepUp["DELETE"]
}

func (f *authzFixture) fresh(prefix string, roles ...string) db.User {
	f.s.t.Helper()
	return f.s.user(fmt.Sprintf("%s%d", prefix, f.next()), roles...)
}

// memberOf creates a user who is a member of org with the flags.
func (f *authzFixture) memberOf(org db.Organization, flags ...string) (db.User, db.Membership) {
	f.s.t.Helper()
	u := f.fresh("Member")
	return u, f.s.member(org, u, flags...)
}

// doomedOrg creates an organization, with a fresh owner, for a case to
// delete.
func (f *authzFixture) doomedOrg() db.Organization {
	f.s.t.Helper()
	return f.s.org(fmt.Sprintf("Doomed%d", f.next()), f.fresh("Founder"))
}

// storeClient creates a client of org with the roles (default external)
// in the store, without telling the gateway: it is a target, never a
// caller.
func (f *authzFixture) storeClient(org db.Organization, roles ...string) string {
	f.s.t.Helper()
	sum := sha256.Sum256([]byte("authz-secret"))
	c, err := f.d.CreateClient(f.s.ctx, db.Client{ID: f.s.id(), OrganizationID: org.ID, Name: fmt.Sprintf("Target%d", f.next()),
		SecretHash: hex.EncodeToString(sum[:]), ReqsPerSec: 10, CreatedMs: f.s.clock.Now().UnixMilli(), Roles: roles})
	if err != nil {
		f.s.t.Fatal(err)
	}
	return c.ID
}

// restriction adds an access restriction of the type ("ip", "host",
// "api") to the client and returns its ID.
func (f *authzFixture) restriction(clientID, typ, value string) string {
	f.s.t.Helper()
	x := db.Restriction{ID: f.s.id(), ClientID: clientID, Type: typ, Value: value, CreatedMs: f.s.clock.Now().UnixMilli()}
	if err := f.d.AddRestriction(f.s.ctx, x); err != nil {
		f.s.t.Fatal(err)
	}
	return x.ID
}

// extraAddress adds a second, unverified address to u and returns it.
func (f *authzFixture) extraAddress(u db.User) db.Email {
	f.s.t.Helper()
	e := db.Email{ID: f.s.id(), UserID: u.ID, Email: fmt.Sprintf("extra%d@example.org", f.next()), CreatedMs: f.s.clock.Now().UnixMilli()}
	if err := f.d.AddEmail(f.s.ctx, e); err != nil {
		f.s.t.Fatal(err)
	}
	return e
}

// verificationCode stores a pending verification code of the address e
// and returns the code.
func (f *authzFixture) verificationCode(e db.Email) string {
	f.s.t.Helper()
	code := fmt.Sprintf("authzcode%d", f.next())
	sum := sha256.Sum256([]byte(code))
	now := f.s.clock.Now()
	if err := f.d.CreateCode(f.s.ctx, db.Code{ID: f.s.id(), Hash: hex.EncodeToString(sum[:]), Kind: db.CodeEmailVerification,
		UserID: e.UserID, EmailID: e.ID, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(10 * time.Minute).UnixMilli()}); err != nil {
		f.s.t.Fatal(err)
	}
	return code
}

// recoveryCode stores a recovery code of u's first address and returns
// the code.
func (f *authzFixture) recoveryCode(u db.User) string {
	f.s.t.Helper()
	es, err := f.d.ListEmails(f.s.ctx, u.ID)
	if err != nil || len(es) == 0 {
		f.s.t.Fatalf("addresses of %s: %v, %v", u.ID, es, err)
	}
	code := fmt.Sprintf("authzrecovery%d", f.next())
	sum := sha256.Sum256([]byte(code))
	now := f.s.clock.Now()
	if err := f.d.CreateCode(f.s.ctx, db.Code{ID: f.s.id(), Hash: hex.EncodeToString(sum[:]), Kind: db.CodeRecovery,
		UserID: u.ID, EmailID: es[0].ID, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(20 * time.Minute).UnixMilli()}); err != nil {
		f.s.t.Fatal(err)
	}
	return code
}

// session stores a live session of u through the client and returns its
// ID and refresh token.
func (f *authzFixture) session(u db.User, c appClient) (id, refresh string) {
	f.s.t.Helper()
	now := f.s.clock.Now()
	id = f.s.id()
	refresh = "authz-refresh-" + id
	sum := sha256.Sum256([]byte(refresh))
	if err := f.d.CreateSession(f.s.ctx, db.Session{ID: id, UserID: u.ID, ClientID: c.ID, IP: "192.0.2.1", UserAgent: "authz-test",
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli()},
		db.RefreshToken{Hash: hex.EncodeToString(sum[:]), CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli()}); err != nil {
		f.s.t.Fatal(err)
	}
	return id, refresh
}

// enrolledTOTP enrols u in TOTP through the service and returns the
// secret (base32).
func (f *authzFixture) enrolledTOTP(u db.User) string {
	f.s.t.Helper()
	res := f.s.do(by(f.app, u), "POST", "/users/"+u.ID+"/totp", map[string]any{"currentPassword": testPassword}).expect(f.s.t, http.StatusCreated)
	secret, _ := res.data()["secret"].(string)
	if secret == "" {
		f.s.t.Fatalf("enrolment without a secret: %s", res.Raw)
	}
	return secret
}

// confirmedTOTP turns TOTP on for u through the service (which makes u's
// recovery codes) and returns u as it is now.
func (f *authzFixture) confirmedTOTP(u db.User) db.User {
	f.s.t.Helper()
	secret := f.enrolledTOTP(u)
	f.s.do(by(f.app, u), "POST", "/users/"+u.ID+"/totp/confirm", map[string]any{"totp": f.totpNow(secret)}).expect(f.s.t, http.StatusOK)
	u.TOTPEnabled = true
	return u
}

// storedPasskey stores a passkey of u (as a registration would) and
// returns its ID.
func (f *authzFixture) storedPasskey(u db.User) string {
	f.s.t.Helper()
	id := f.s.id()
	if err := f.d.CreateWebAuthnCredential(f.s.ctx, db.WebAuthnCredential{ID: id, UserID: u.ID, CredentialID: []byte(id), PublicKey: []byte{1},
		Name: "key", CreatedMs: f.s.clock.Now().UnixMilli()}, 10); err != nil {
		f.s.t.Fatal(err)
	}
	return id
}

// linkedIdentity links an external identity to u and returns its ID.
func (f *authzFixture) linkedIdentity(u db.User) string {
	f.s.t.Helper()
	id := f.s.id()
	if err := f.d.CreateOIDCIdentity(f.s.ctx, db.OIDCIdentity{ID: id, UserID: u.ID, ProviderID: "corp", Issuer: "https://sso.example.com",
		Subject: "sub-" + id, CreatedMs: f.s.clock.Now().UnixMilli()}); err != nil {
		f.s.t.Fatal(err)
	}
	return id
}

// totpNow is the code of the secret at the stack's clock.
func (f *authzFixture) totpNow(secret string) string {
	f.s.t.Helper()
	code, err := otptotp.GenerateCodeCustom(secret, f.s.clock.Now(), otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		f.s.t.Fatal(err)
	}
	return code
}

// registeredAPI registers an API in the store and returns its name.
func (f *authzFixture) registeredAPI() string {
	f.s.t.Helper()
	name := fmt.Sprintf("svc%d", f.next())
	if err := f.d.CreateAPI(f.s.ctx, db.API{Name: name, Version: 1, URL: "http://" + name + ".internal", Active: true,
		CreatedMs: f.s.clock.Now().UnixMilli(), UpdatedMs: f.s.clock.Now().UnixMilli()}); err != nil {
		f.s.t.Fatal(err)
	}
	return name
}

// storedClient reads the client id from the store.
func (f *authzFixture) storedClient(id string) db.Client {
	f.s.t.Helper()
	c, err := f.d.GetClient(f.s.ctx, id)
	if err != nil {
		f.s.t.Fatal(err)
	}
	return c
}

// authzOrgURL is /organizations/:id followed by the parts.
func authzOrgURL(org db.Organization, parts ...string) string {
	return strings.Join(append([]string{"/organizations", org.ID}, parts...), "/")
}

// authzUserURL is /users/:id followed by the parts.
func authzUserURL(u db.User, parts ...string) string {
	return strings.Join(append([]string{"/users", u.ID}, parts...), "/")
}

// authzSecretless is "user u through client c, without the secret".
func authzSecretless(c appClient, u db.User) as { return as{client: c, user: &u} }

// authzSetup prepares one case: the caller, the request path and the
// body (nil for none).
type authzSetup func(f *authzFixture) (who as, path string, body any)

// authzCase is one row of the table: a caller the route admits or
// refuses.
type authzCase struct {
	// route is "METHOD /path" as in accounts.Routes().
	route string
	name  string
	setup authzSetup
	// expectStatus is the answer's status; expectCode its error code,
	// when one is given.
	expectStatus int
	expectCode   string
	// check, when set, looks further at an answer.
	check func(t *testing.T, f *authzFixture, res response)
	// bug, when set, says why the service answers otherwise today: the
	// case still asserts the correct answer, and is skipped while the
	// service gives another.
	bug string
}

// authzAllowed is a case of a caller the route admits.
func authzAllowed(route, name string, status int, setup authzSetup) authzCase {
	return authzCase{route: route, name: name, setup: setup, expectStatus: status}
}

// authzForbidden is a case of a caller who sees the target but may not
// act on it: 403 FORBIDDEN.
func authzForbidden(route, name string, setup authzSetup) authzCase {
	return authzCase{route: route, name: name, setup: setup, expectStatus: http.StatusForbidden, expectCode: accounts.CodeForbidden}
}

// authzHidden is a case of a caller who may not see the target: 404
// NOT-FOUND.
func authzHidden(route, name string, setup authzSetup) authzCase {
	return authzCase{route: route, name: name, setup: setup, expectStatus: http.StatusNotFound, expectCode: accounts.CodeNotFound}
}

// authzNoUser is a case of a request without a user token to a route
// that needs one: the gateway answers 401 TOKEN-MISSING.
func authzNoUser(route, name string, setup authzSetup) authzCase {
	return authzCase{route: route, name: name, setup: setup, expectStatus: http.StatusUnauthorized, expectCode: "TOKEN-MISSING"}
}

// authzCases is the table, in the order of accounts.Routes().
func authzCases() []authzCase {
	const (
		listOrgs      = "GET /organizations"
		createOrg     = "POST /organizations"
		getOrg        = "GET /organizations/:id"
		patchOrg      = "PATCH /organizations/:id"
		deleteOrg     = "DELETE /organizations/:id"
		listUsers     = "GET /users"
		register      = "POST /users"
		getUser       = "GET /users/:id"
		patchUser     = "PATCH /users/:id"
		deleteUser    = "DELETE /users/:id"
		listUserRoles = "GET /users/:id/roles"
		addUserRole   = "POST /users/:id/roles"
		dropUserRole  = "DELETE /users/:id/roles/:roleId"
		changePw      = "POST /users/:id/change-password"
		listEmails    = "GET /users/:id/emails"
		addEmail      = "POST /users/:id/emails"
		deleteEmail   = "DELETE /users/:id/emails/:emailId"
		genVerify     = "POST /users/:id/emails/:emailId/generate-verification"
		verify        = "POST /users/:id/emails/:emailId/verify"
		verifyByLink  = "POST /email-verifications"
		recovery      = "POST /recovery"
		recoveryReset = "POST /recovery/reset"
		listClients   = "GET /organizations/:id/clients"
		createClient  = "POST /organizations/:id/clients"
		getClient     = "GET /organizations/:id/clients/:clientId"
		patchClient   = "PATCH /organizations/:id/clients/:clientId"
		deleteClient  = "DELETE /organizations/:id/clients/:clientId"
		refreshSecret = "POST /organizations/:id/clients/:clientId/refresh-secret"
		listCRoles    = "GET /organizations/:id/clients/:clientId/roles"
		addCRole      = "POST /organizations/:id/clients/:clientId/roles"
		dropCRole     = "DELETE /organizations/:id/clients/:clientId/roles/:roleId"
		listRestr     = "GET /organizations/:id/clients/:clientId/access-restrictions"
		addRestr      = "POST /organizations/:id/clients/:clientId/access-restrictions"
		dropRestr     = "DELETE /organizations/:id/clients/:clientId/access-restrictions/:restrictionId"
		userMembers   = "GET /users/:id/memberships"
		orgMembers    = "GET /organizations/:id/memberships"
		upsertMember  = "POST /organizations/:id/memberships"
		patchMember   = "PATCH /org-memberships/:id"
		deleteMember  = "DELETE /org-memberships/:id"
		acceptMember  = "POST /org-memberships/:id/accept"
		login         = "POST /sessions/login/:step"
		refresh       = "POST /sessions/refresh"
		logout        = "POST /sessions/logout"
		discharge     = "POST /discharge"
		listSessions  = "GET /sessions"
		userSessions  = "GET /users/:id/sessions"
		enrolTOTP     = "POST /users/:id/totp"
		confirmTOTP   = "POST /users/:id/totp/confirm"
		deleteTOTP    = "DELETE /users/:id/totp"
		getRCodes     = "GET /users/:id/recovery-codes"
		newRCodes     = "POST /users/:id/recovery-codes"
		resetFactors  = "DELETE /users/:id/factors"
		passkeyOpts   = "POST /users/:id/passkeys/options"
		proofOpts     = "POST /users/:id/passkeys/proof-options"
		addPasskey    = "POST /users/:id/passkeys"
		listPasskeys  = "GET /users/:id/passkeys"
		deletePasskey = "DELETE /users/:id/passkeys/:passkeyId"
		listIdents    = "GET /users/:id/identities"
		deleteIdent   = "DELETE /users/:id/identities/:identityId"
		listAPIs      = "GET /apis"
		createAPI     = "POST /apis"
		patchAPI      = "PATCH /apis/:name/:version"
		deleteAPI     = "DELETE /apis/:name/:version"
		auditEvents   = "GET /audit-events"
		openAPI       = "GET /openapi.json"
	)
	ip := func() map[string]any { return map[string]any{"type": "ip-access-restrictions", "value": "10.0.0.0/8"} }
	apiRestr := func() map[string]any { return map[string]any{"type": "api-access-restrictions", "value": "accounts"} }
	role := func(id string) map[string]any { return map[string]any{"type": "user-roles", "id": id} }
	clientRole := func(id string) map[string]any { return map[string]any{"type": "client-roles", "id": id} }
	newMember := func(u db.User, flags map[string]any) map[string]any {
		body := map[string]any{"type": "org-memberships", "user": map[string]any{"data": map[string]any{"type": "users", "id": u.ID}}}
		for k, v := range flags {
			body[k] = v
		}
		return body
	}
	// patchOwnClient is a PATCH of a fresh client of home by who.
	patchOwnClient := func(who func(f *authzFixture) as) authzSetup {
		return func(f *authzFixture) (as, string, any) {
			id := f.storeClient(f.home)
			return who(f), authzOrgURL(f.home, "clients", id), map[string]any{"type": "clients", "id": id, "name": "Renamed"}
		}
	}

	return append([]authzCase{
		// Organizations.
		{route: listOrgs, name: "a member lists their own organizations", expectStatus: 200,
			setup: func(f *authzFixture) (as, string, any) { return by(f.app, f.reader), "/organizations", nil },
			check: func(t *testing.T, f *authzFixture, res response) {
				if ids := authzIDs(res.list()); !slices.Equal(ids, []string{f.home.ID}) {
					t.Fatalf("a member of home alone listed %v: %s", ids, res.Raw)
				}
			}},
		{route: listOrgs, name: "STAFF list every organization", expectStatus: 200,
			setup: func(f *authzFixture) (as, string, any) { return by(f.internal, f.emp), "/organizations", nil },
			check: func(t *testing.T, f *authzFixture, res response) {
				if ids := authzIDs(res.list()); !slices.Contains(ids, f.home.ID) || !slices.Contains(ids, f.away.ID) {
					t.Fatalf("STAFF listed %v, want home and away among them: %s", ids, res.Raw)
				}
			}},
		authzNoUser(listOrgs, "no user", func(f *authzFixture) (as, string, any) { return anonymous(f.app), "/organizations", nil }),

		authzAllowed(createOrg, "any logged-in user", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.fresh("Founder")), "/organizations", map[string]any{"type": "organizations", "name": "New"}
		}),
		authzNoUser(createOrg, "no user", func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/organizations", map[string]any{"type": "organizations", "name": "New"}
		}),

		authzAllowed(getOrg, "member with read", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.reader), authzOrgURL(f.home), nil }),
		authzAllowed(getOrg, "STAFF: system client with its secret and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.system, f.plain), authzOrgURL(f.home), nil
		}),
		authzAllowed(getOrg, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzOrgURL(f.home), nil
		}),
		authzAllowed(getOrg, "ISC and a plain user", 200, func(f *authzFixture) (as, string, any) { return by(f.isc, f.plain), authzOrgURL(f.home), nil }),
		authzHidden(getOrg, "system client without its secret and a plain user", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.system, f.plain), authzOrgURL(f.home), nil
		}),
		authzHidden(getOrg, "internal client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.plain), authzOrgURL(f.home), nil
		}),
		authzForbidden(getOrg, "member without read", func(f *authzFixture) (as, string, any) { return by(f.app, f.editOnly), authzOrgURL(f.home), nil }),
		authzHidden(getOrg, "non-member", func(f *authzFixture) (as, string, any) { return by(f.app, f.plain), authzOrgURL(f.home), nil }),

		authzAllowed(patchOrg, "member with edit", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editor), authzOrgURL(f.home), map[string]any{"type": "organizations", "id": f.home.ID, "name": "Home"}
		}),
		authzAllowed(patchOrg, "employee through an external client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.emp), authzOrgURL(f.home), map[string]any{"name": "Home"}
		}),
		authzAllowed(patchOrg, "ISC and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzOrgURL(f.home), map[string]any{"name": "Home"}
		}),
		authzForbidden(patchOrg, "STAFF without orgRole: system client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.plain), authzOrgURL(f.home), map[string]any{"name": "Mine"}
		}),
		authzForbidden(patchOrg, "member with read only", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home), map[string]any{"name": "Mine"}
		}),
		authzHidden(patchOrg, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home), map[string]any{"name": "Mine"}
		}),
		authzHidden(patchOrg, "ISC client without its secret", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.isc, f.plain), authzOrgURL(f.home), map[string]any{"name": "Mine"}
		}),

		authzAllowed(deleteOrg, "member with delete", 200, func(f *authzFixture) (as, string, any) {
			org := f.doomedOrg()
			u, _ := f.memberOf(org, "read", "delete")
			return by(f.app, u), authzOrgURL(org), nil
		}),
		authzAllowed(deleteOrg, "sysadmin", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), authzOrgURL(f.doomedOrg()), nil }),
		authzForbidden(deleteOrg, "member with every flag but delete", func(f *authzFixture) (as, string, any) {
			org := f.doomedOrg()
			u, _ := f.memberOf(org, "read", "edit", "manage")
			return by(f.app, u), authzOrgURL(org), nil
		}),
		authzHidden(deleteOrg, "non-member", func(f *authzFixture) (as, string, any) { return by(f.app, f.plain), authzOrgURL(f.doomedOrg()), nil }),

		// Users.
		authzAllowed(listUsers, "STAFF: system client with its secret and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.system, f.plain), "/users", nil
		}),
		authzForbidden(listUsers, "system client without its secret and a plain user", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.system, f.plain), "/users", nil
		}),
		authzAllowed(listUsers, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) { return by(f.internal, f.emp), "/users", nil }),
		authzForbidden(listUsers, "internal client and a plain user", func(f *authzFixture) (as, string, any) { return by(f.internal, f.plain), "/users", nil }),
		authzForbidden(listUsers, "sysadmin through an external client", func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), "/users", nil }),

		authzAllowed(register, "anyone through a client", 201, func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/users", map[string]any{"type": "users", "name": "Newcomer", "email": fmt.Sprintf("newcomer%d@example.com", f.next())}
		}),
		{route: register, name: "nobody picks their own roles", expectStatus: 400, expectCode: accounts.CodeInvalidData,
			setup: func(f *authzFixture) (as, string, any) {
				return anonymous(f.app), "/users", map[string]any{"name": "Climber", "email": fmt.Sprintf("climber%d@example.com", f.next()), "roles": []string{"sysadmin"}}
			}},

		authzAllowed(getUser, "self", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.plain), authzUserURL(f.plain), nil }),
		authzAllowed(getUser, "self as current", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.plain), "/users/current", nil }),
		authzAllowed(getUser, "STAFF: system client with its secret and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.system, f.other), authzUserURL(f.plain), nil
		}),
		authzAllowed(getUser, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain), nil
		}),
		authzHidden(getUser, "system client without its secret and a plain user", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.system, f.other), authzUserURL(f.plain), nil
		}),
		authzHidden(getUser, "internal client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.other), authzUserURL(f.plain), nil
		}),
		authzHidden(getUser, "another user", func(f *authzFixture) (as, string, any) { return by(f.app, f.other), authzUserURL(f.plain), nil }),
		authzForbidden(getUser, "sysadmin through an external client (not STAFF)", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain), nil
		}),

		authzAllowed(patchUser, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Tess")
			return by(f.app, u), authzUserURL(u), map[string]any{"type": "users", "id": u.ID, "name": "Tess renamed"}
		}),
		authzAllowed(patchUser, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.fresh("Tess")), map[string]any{"name": "Renamed by admin"}
		}),
		authzForbidden(patchUser, "employee (STAFF, not sysadmin)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.fresh("Tess")), map[string]any{"name": "Renamed by emp"}
		}),
		authzHidden(patchUser, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Tess")), map[string]any{"name": "Renamed by other"}
		}),

		authzAllowed(deleteUser, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Gone")
			return by(f.app, u), authzUserURL(u), map[string]any{"currentPassword": testPassword}
		}),
		authzAllowed(deleteUser, "sysadmin", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), authzUserURL(f.fresh("Gone")), nil }),
		authzForbidden(deleteUser, "employee (STAFF, not sysadmin)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.fresh("Gone")), nil
		}),
		authzHidden(deleteUser, "another user", func(f *authzFixture) (as, string, any) { return by(f.app, f.other), authzUserURL(f.fresh("Gone")), nil }),

		authzAllowed(listUserRoles, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "roles"), nil
		}),
		authzAllowed(listUserRoles, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "roles"), nil
		}),
		authzHidden(listUserRoles, "system client without its secret and a plain user", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.system, f.other), authzUserURL(f.plain, "roles"), nil
		}),
		authzHidden(listUserRoles, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "roles"), nil
		}),
		authzForbidden(listUserRoles, "sysadmin through an external client (not STAFF)", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain, "roles"), nil
		}),

		authzAllowed(addUserRole, "sysadmin on another user", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.fresh("Promo"), "roles"), role(db.RoleEmployee)
		}),
		authzForbidden(addUserRole, "sysadmin on themselves", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Boss", db.RoleSysadmin)
			return by(f.app, u), authzUserURL(u, "roles"), role(db.RoleEmployee)
		}),
		authzForbidden(addUserRole, "a user on themselves", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Climber")
			return by(f.app, u), "/users/current/roles", role(db.RoleSysadmin)
		}),
		authzForbidden(addUserRole, "employee (STAFF, not sysadmin)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.fresh("Promo"), "roles"), role(db.RoleEmployee)
		}),
		authzHidden(addUserRole, "a user on another", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Promo"), "roles"), role(db.RoleEmployee)
		}),

		authzAllowed(dropUserRole, "sysadmin on another user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.fresh("Demo", db.RoleUser, db.RoleEmployee), "roles", db.RoleEmployee), nil
		}),
		authzForbidden(dropUserRole, "sysadmin on themselves", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Boss", db.RoleSysadmin, db.RoleEmployee)
			return by(f.app, u), authzUserURL(u, "roles", db.RoleEmployee), nil
		}),
		authzForbidden(dropUserRole, "a user on themselves", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Demo", db.RoleUser, db.RoleEmployee)
			return by(f.app, u), authzUserURL(u, "roles", db.RoleEmployee), nil
		}),
		authzHidden(dropUserRole, "a user on another", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Demo", db.RoleUser, db.RoleEmployee), "roles", db.RoleEmployee), nil
		}),

		authzAllowed(changePw, "self with the current password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, u), authzUserURL(u, "change-password"), map[string]any{"currentPassword": testPassword, "newPassword": "a brand new passphrase"}
		}),
		authzAllowed(changePw, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.fresh("Pat"), "change-password"), map[string]any{"newPassword": "a brand new passphrase"}
		}),
		authzForbidden(changePw, "employee (STAFF, not sysadmin)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.fresh("Pat"), "change-password"), map[string]any{"newPassword": "a brand new passphrase"}
		}),
		authzHidden(changePw, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Pat"), "change-password"), map[string]any{"newPassword": "a brand new passphrase"}
		}),

		// Emails.
		authzAllowed(listEmails, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "emails"), nil
		}),
		authzAllowed(listEmails, "STAFF: system client with its secret and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.system, f.other), authzUserURL(f.plain, "emails"), nil
		}),
		authzAllowed(listEmails, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "emails"), nil
		}),
		authzHidden(listEmails, "system client without its secret and a plain user", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.system, f.other), authzUserURL(f.plain, "emails"), nil
		}),
		authzHidden(listEmails, "internal client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.other), authzUserURL(f.plain, "emails"), nil
		}),
		authzForbidden(listEmails, "sysadmin through an external client (not STAFF)", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain, "emails"), nil
		}),

		authzAllowed(addEmail, "self", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "emails"), map[string]any{"type": "emails", "email": fmt.Sprintf("added%d@example.org", f.next()), "currentPassword": testPassword}
		}),
		authzAllowed(addEmail, "SYSINT: internal client and a sysadmin", 201, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.plain, "emails"), map[string]any{"email": fmt.Sprintf("added%d@example.org", f.next())}
		}),
		authzForbidden(addEmail, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.admin), authzUserURL(f.plain, "emails"), map[string]any{"email": fmt.Sprintf("added%d@example.org", f.next())}
		}),
		authzForbidden(addEmail, "sysadmin through an external client (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain, "emails"), map[string]any{"email": fmt.Sprintf("added%d@example.org", f.next())}
		}),
		authzForbidden(addEmail, "internal client and an employee (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "emails"), map[string]any{"email": fmt.Sprintf("added%d@example.org", f.next())}
		}),
		authzHidden(addEmail, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "emails"), map[string]any{"email": fmt.Sprintf("added%d@example.org", f.next())}
		}),

		authzAllowed(deleteEmail, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Mia")
			return by(f.app, u), authzUserURL(u, "emails", f.extraAddress(u).ID), nil
		}),
		authzAllowed(deleteEmail, "SYSINT: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Mia")
			return by(f.internal, f.admin), authzUserURL(u, "emails", f.extraAddress(u).ID), nil
		}),
		authzForbidden(deleteEmail, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Mia")
			return by(f.system, f.admin), authzUserURL(u, "emails", f.extraAddress(u).ID), nil
		}),
		authzHidden(deleteEmail, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Mia")
			return by(f.app, f.other), authzUserURL(u, "emails", f.extraAddress(u).ID), nil
		}),

		authzAllowed(genVerify, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Vic")
			return by(f.app, u), authzUserURL(u, "emails", f.extraAddress(u).ID, "generate-verification"), nil
		}),
		authzAllowed(genVerify, "SYSINT: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Vic")
			return by(f.internal, f.admin), authzUserURL(u, "emails", f.extraAddress(u).ID, "generate-verification"), nil
		}),
		authzForbidden(genVerify, "internal client and an employee (not SYSINT)", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Vic")
			return by(f.internal, f.emp), authzUserURL(u, "emails", f.extraAddress(u).ID, "generate-verification"), nil
		}),
		authzHidden(genVerify, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Vic")
			return by(f.app, f.other), authzUserURL(u, "emails", f.extraAddress(u).ID, "generate-verification"), nil
		}),

		authzAllowed(verify, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Val")
			e := f.extraAddress(u)
			return by(f.app, u), authzUserURL(u, "emails", e.ID, "verify"), map[string]any{"code": f.verificationCode(e)}
		}),
		authzAllowed(verify, "SYSINT: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Val")
			e := f.extraAddress(u)
			return by(f.internal, f.admin), authzUserURL(u, "emails", e.ID, "verify"), map[string]any{"code": f.verificationCode(e)}
		}),
		authzAllowed(verifyByLink, "anyone with the code, through a client", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Val")
			e := f.extraAddress(u)
			return anonymous(f.app), "/email-verifications", map[string]any{"emailId": e.ID, "code": f.verificationCode(e)}
		}),
		authzForbidden(verify, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Val")
			e := f.extraAddress(u)
			return by(f.system, f.admin), authzUserURL(u, "emails", e.ID, "verify"), map[string]any{"code": f.verificationCode(e)}
		}),
		authzHidden(verify, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Val")
			e := f.extraAddress(u)
			return by(f.app, f.other), authzUserURL(u, "emails", e.ID, "verify"), map[string]any{"code": f.verificationCode(e)}
		}),

		// Clients.
		authzAllowed(listClients, "member with read", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients"), nil
		}),
		authzAllowed(listClients, "ISC and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzOrgURL(f.home, "clients"), nil
		}),
		authzForbidden(listClients, "member without read", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editOnly), authzOrgURL(f.home, "clients"), nil
		}),
		authzHidden(listClients, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients"), nil
		}),
		authzHidden(listClients, "ISC client without its secret", func(f *authzFixture) (as, string, any) {
			return authzSecretless(f.isc, f.plain), authzOrgURL(f.home, "clients"), nil
		}),

		authzAllowed(createClient, "member with manage", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients"), map[string]any{"type": "clients", "name": "By the manager"}
		}),
		authzAllowed(createClient, "ISC and a plain user", 201, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzOrgURL(f.home, "clients"), map[string]any{"name": "By ISC"}
		}),
		authzAllowed(createClient, "employee through an external client", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.emp), authzOrgURL(f.home, "clients"), map[string]any{"name": "By an employee"}
		}),
		authzForbidden(createClient, "member with read only", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients"), map[string]any{"name": "By a reader"}
		}),
		authzHidden(createClient, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients"), map[string]any{"name": "By a stranger"}
		}),

		authzAllowed(getClient, "member with read", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients", f.app.ID), nil
		}),
		authzForbidden(getClient, "member without read", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editOnly), authzOrgURL(f.home, "clients", f.app.ID), nil
		}),
		authzHidden(getClient, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.app.ID), nil
		}),
		authzHidden(getClient, "another organization's client under this one's URL", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.owner), authzOrgURL(f.home, "clients", f.awayClient), nil
		}),

		authzAllowed(patchClient, "member with manage", 200, patchOwnClient(func(f *authzFixture) as { return by(f.app, f.manager) })),
		authzAllowed(patchClient, "employee through an external client", 200, patchOwnClient(func(f *authzFixture) as { return by(f.app, f.emp) })),
		authzForbidden(patchClient, "member with manage on a system client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleSystem)), map[string]any{"name": "Taken over"}
		}),
		authzForbidden(patchClient, "member with read only", patchOwnClient(func(f *authzFixture) as { return by(f.app, f.reader) })),
		authzHidden(patchClient, "non-member", patchOwnClient(func(f *authzFixture) as { return by(f.app, f.plain) })),

		authzAllowed(deleteClient, "member with manage", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home)), nil
		}),
		authzForbidden(deleteClient, "member with manage on an internal client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleInternal)), nil
		}),
		authzAllowed(deleteClient, "sysadmin on a system client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleSystem)), nil
		}),
		authzForbidden(deleteClient, "member with read and edit", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editor), authzOrgURL(f.home, "clients", f.storeClient(f.home)), nil
		}),
		authzHidden(deleteClient, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.storeClient(f.home)), nil
		}),

		authzAllowed(refreshSecret, "member with manage", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home), "refresh-secret"), nil
		}),
		authzAllowed(refreshSecret, "sysadmin on a system and internal client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleSystem, db.ClientRoleInternal), "refresh-secret"), nil
		}),
		authzAllowed(refreshSecret, "ISC on an internal client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleInternal), "refresh-secret"), nil
		}),
		authzForbidden(refreshSecret, "member with manage on a system and internal client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleSystem, db.ClientRoleInternal), "refresh-secret"), nil
		}),
		authzForbidden(refreshSecret, "the owner on a system client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.owner), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleSystem), "refresh-secret"), nil
		}),
		authzForbidden(refreshSecret, "employee, not a member, on an internal client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.emp), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleInternal), "refresh-secret"), nil
		}),
		authzForbidden(refreshSecret, "member with read only", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients", f.storeClient(f.home), "refresh-secret"), nil
		}),
		authzHidden(refreshSecret, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.storeClient(f.home), "refresh-secret"), nil
		}),

		authzAllowed(listCRoles, "SYSINT: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzOrgURL(f.home, "clients", f.app.ID, "roles"), nil
		}),
		authzForbidden(listCRoles, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.admin), authzOrgURL(f.home, "clients", f.app.ID, "roles"), nil
		}),
		authzForbidden(listCRoles, "internal client and an employee (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzOrgURL(f.home, "clients", f.app.ID, "roles"), nil
		}),
		authzForbidden(listCRoles, "the organization's owner", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.owner), authzOrgURL(f.home, "clients", f.app.ID, "roles"), nil
		}),
		authzHidden(listCRoles, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.app.ID, "roles"), nil
		}),

		authzAllowed(addCRole, "SYSINT: internal client and a sysadmin", 201, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles"), clientRole(db.ClientRoleInternal)
		}),
		authzForbidden(addCRole, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles"), clientRole(db.ClientRoleInternal)
		}),
		authzForbidden(addCRole, "member with manage", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles"), clientRole(db.ClientRoleSystem)
		}),

		authzAllowed(dropCRole, "SYSINT: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles", db.ClientRoleExternal), nil
		}),
		authzForbidden(dropCRole, "system client and a sysadmin (not SYSINT)", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles", db.ClientRoleExternal), nil
		}),
		authzForbidden(dropCRole, "the organization's owner", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.owner), authzOrgURL(f.home, "clients", f.storeClient(f.home), "roles", db.ClientRoleExternal), nil
		}),

		authzAllowed(listRestr, "member with read", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients", f.app.ID, "access-restrictions"), nil
		}),
		authzForbidden(listRestr, "member without read", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editOnly), authzOrgURL(f.home, "clients", f.app.ID, "access-restrictions"), nil
		}),
		authzHidden(listRestr, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.app.ID, "access-restrictions"), nil
		}),

		authzAllowed(addRestr, "member with manage, ip", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), ip()
		}),
		authzForbidden(addRestr, "member with read only", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), ip()
		}),
		authzHidden(addRestr, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), ip()
		}),
		authzForbidden(addRestr, "member with manage, api", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), apiRestr()
		}),
		authzAllowed(addRestr, "sysadmin, api", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), apiRestr()
		}),
		authzAllowed(addRestr, "ISC and a plain user, api", 201, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzOrgURL(f.home, "clients", f.storeClient(f.home), "access-restrictions"), apiRestr()
		}),

		authzForbidden(addRestr, "member with manage on an internal client, ip", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", f.storeClient(f.home, db.ClientRoleInternal), "access-restrictions"), ip()
		}),

		authzForbidden(dropRestr, "member with manage on a system client, ip", func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home, db.ClientRoleSystem)
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionIP, "10.0.0.0/8")), nil
		}),
		authzAllowed(dropRestr, "member with manage, ip", 200, func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionIP, "10.0.0.0/8")), nil
		}),
		authzForbidden(dropRestr, "member with read only", func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.app, f.reader), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionIP, "10.0.0.0/8")), nil
		}),
		authzHidden(dropRestr, "non-member", func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.app, f.plain), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionIP, "10.0.0.0/8")), nil
		}),
		authzForbidden(dropRestr, "member with manage, api", func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.app, f.manager), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionAPI, "accounts")), nil
		}),
		authzAllowed(dropRestr, "sysadmin, api", 200, func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.app, f.admin), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionAPI, "accounts")), nil
		}),
		authzAllowed(dropRestr, "ISC and a plain user, api", 200, func(f *authzFixture) (as, string, any) {
			c := f.storeClient(f.home)
			return by(f.isc, f.plain), authzOrgURL(f.home, "clients", c, "access-restrictions", f.restriction(c, db.RestrictionAPI, "accounts")), nil
		}),

		// Memberships.
		authzAllowed(userMembers, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzUserURL(f.reader, "memberships"), nil
		}),
		authzAllowed(userMembers, "ISC and a plain user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.isc, f.plain), authzUserURL(f.reader, "memberships"), nil
		}),
		authzAllowed(userMembers, "sysadmin through an external client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.reader, "memberships"), nil
		}),
		authzAllowed(userMembers, "employee through an internal client", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.reader, "memberships"), nil
		}),
		{route: userMembers, name: "employee through an external client", expectStatus: 200,
			setup: func(f *authzFixture) (as, string, any) {
				return by(f.app, f.emp), authzUserURL(f.reader, "memberships"), nil
			}},
		authzForbidden(userMembers, "STAFF without ISC: system client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.plain), authzUserURL(f.reader, "memberships"), nil
		}),
		authzHidden(userMembers, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.reader, "memberships"), nil
		}),

		authzAllowed(orgMembers, "member with read", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "memberships"), nil
		}),
		authzAllowed(orgMembers, "employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.emp), authzOrgURL(f.home, "memberships"), nil
		}),
		authzForbidden(orgMembers, "member without read", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.editOnly), authzOrgURL(f.home, "memberships"), nil
		}),
		authzForbidden(orgMembers, "STAFF without orgRole: system client and a plain user", func(f *authzFixture) (as, string, any) {
			return by(f.system, f.plain), authzOrgURL(f.home, "memberships"), nil
		}),
		authzHidden(orgMembers, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "memberships"), nil
		}),

		{route: upsertMember, name: "member with manage invites, granting a flag they hold", expectStatus: 201,
			setup: func(f *authzFixture) (as, string, any) {
				return by(f.app, f.manager), authzOrgURL(f.home, "memberships"), newMember(f.fresh("Joiner"), map[string]any{"read": true})
			},
			check: expectPending(true)},
		{route: upsertMember, name: "sysadmin adds directly, with every flag", expectStatus: 201,
			setup: func(f *authzFixture) (as, string, any) {
				return by(f.app, f.admin), authzOrgURL(f.home, "memberships"),
					newMember(f.fresh("Joiner"), map[string]any{"read": true, "edit": true, "manage": true, "delete": true})
			},
			check: expectPending(false)},
		{route: upsertMember, name: "ISC adds directly", expectStatus: 201,
			setup: func(f *authzFixture) (as, string, any) {
				return by(f.isc, f.plain), authzOrgURL(f.home, "memberships"), newMember(f.fresh("Joiner"), map[string]any{"read": true})
			},
			check: expectPending(false)},
		authzForbidden(upsertMember, "member with read only", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.reader), authzOrgURL(f.home, "memberships"), newMember(f.fresh("Joiner"), map[string]any{"read": true})
		}),
		authzHidden(upsertMember, "non-member", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzOrgURL(f.home, "memberships"), newMember(f.fresh("Joiner"), map[string]any{"read": true})
		}),

		authzAllowed(patchMember, "member with manage grants a flag they hold", 200, func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home)
			return by(f.app, f.manager), "/org-memberships/" + m.ID, map[string]any{"type": "org-memberships", "id": m.ID, "read": true}
		}),
		authzAllowed(patchMember, "the member lowers their own flags", 200, func(f *authzFixture) (as, string, any) {
			u, m := f.memberOf(f.home, "read", "edit")
			return by(f.app, u), "/org-memberships/" + m.ID, map[string]any{"edit": false}
		}),
		authzForbidden(patchMember, "member with read only on another's", func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home, "read")
			return by(f.app, f.reader), "/org-memberships/" + m.ID, map[string]any{"read": false}
		}),
		authzHidden(patchMember, "non-member", func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home, "read")
			return by(f.app, f.plain), "/org-memberships/" + m.ID, map[string]any{"read": false}
		}),

		authzAllowed(deleteMember, "the member", 200, func(f *authzFixture) (as, string, any) {
			u, m := f.memberOf(f.home, "read")
			return by(f.app, u), "/org-memberships/" + m.ID, nil
		}),
		authzAllowed(deleteMember, "member with delete", 200, func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home, "read")
			return by(f.app, f.deleter), "/org-memberships/" + m.ID, nil
		}),
		authzForbidden(deleteMember, "member with manage but not delete", func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home, "read")
			return by(f.app, f.manager), "/org-memberships/" + m.ID, nil
		}),
		authzHidden(deleteMember, "non-member", func(f *authzFixture) (as, string, any) {
			_, m := f.memberOf(f.home, "read")
			return by(f.app, f.plain), "/org-memberships/" + m.ID, nil
		}),

		authzAllowed(acceptMember, "the invited user", 200, func(f *authzFixture) (as, string, any) {
			u, m := f.invited(f.home, "read")
			return by(f.app, u), "/org-memberships/" + m.ID + "/accept", nil
		}),
		authzForbidden(acceptMember, "the organization's owner, for the invitee", func(f *authzFixture) (as, string, any) {
			_, m := f.invited(f.home, "read")
			return by(f.app, f.owner), "/org-memberships/" + m.ID + "/accept", nil
		}),
		authzForbidden(acceptMember, "sysadmin, for the invitee", func(f *authzFixture) (as, string, any) {
			_, m := f.invited(f.home, "read")
			return by(f.app, f.admin), "/org-memberships/" + m.ID + "/accept", nil
		}),
		authzHidden(acceptMember, "another user", func(f *authzFixture) (as, string, any) {
			_, m := f.invited(f.home, "read")
			return by(f.app, f.plain), "/org-memberships/" + m.ID + "/accept", nil
		}),

		// Sessions.
		authzAllowed(recovery, "anyone through a client", 202, func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/recovery", map[string]any{"email": fmt.Sprintf("someone%d@example.com", f.next())}
		}),
		authzAllowed(recoveryReset, "anyone with the code, through a client", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Rita")
			return anonymous(f.app), "/recovery/reset", map[string]any{"code": f.recoveryCode(u), "newPassword": "a brand new passphrase"}
		}),
		authzAllowed(login, "anyone through a client", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Lou")
			return anonymous(f.app), "/sessions/login/password", map[string]any{"t": "password-step",
				"email": strings.ToLower(u.Name) + "@example.com", "password": testPassword, "state": f.s.newState()}
		}),
		{route: login, name: "a banned user", expectStatus: 401, expectCode: accounts.CodeUserBanned,
			setup: func(f *authzFixture) (as, string, any) {
				u := f.fresh("Lou")
				if err := f.d.BanUser(f.s.ctx, u.ID, f.s.clock.Now().UnixMilli()); err != nil {
					f.s.t.Fatal(err)
				}
				return anonymous(f.app), "/sessions/login/password", map[string]any{
					"email": strings.ToLower(u.Name) + "@example.com", "password": testPassword, "state": f.s.newState()}
			}},

		authzAllowed(refresh, "the refresh token through the client that logged in", 200, func(f *authzFixture) (as, string, any) {
			_, token := f.session(f.fresh("Ray"), f.app)
			return anonymous(f.app), "/sessions/refresh", map[string]any{"t": "refresh-tokens", "token": token}
		}),
		{route: refresh, name: "the refresh token through another client", expectStatus: 401, expectCode: accounts.CodeSessionInvalidated,
			setup: func(f *authzFixture) (as, string, any) {
				_, token := f.session(f.fresh("Ray"), f.app)
				return anonymous(f.internal), "/sessions/refresh", map[string]any{"token": token}
			}},

		authzAllowed(logout, "the caller's own session", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Lee")
			id, _ := f.session(u, f.app)
			return as{client: f.app, withSecret: true, user: &u, session: id}, "/sessions/logout", nil
		}),
		authzNoUser(logout, "no user", func(f *authzFixture) (as, string, any) { return anonymous(f.app), "/sessions/logout", nil }),
		authzHidden(logout, "another user's session by ID", func(f *authzFixture) (as, string, any) {
			id, _ := f.session(f.fresh("Lee"), f.app)
			return by(f.app, f.other), "/sessions/logout", []map[string]any{{"t": "sessions", "value": id}}
		}),

		authzAllowed(discharge, "the caveat's own user and session, with the password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Sue")
			id, _ := f.session(u, f.app)
			return as{client: f.app, withSecret: true, user: &u, session: id}, "/discharge",
				map[string]any{"token": f.stepUpToken(u, id), "currentPassword": testPassword}
		}),
		authzNoUser(discharge, "no user", func(f *authzFixture) (as, string, any) {
			return anonymous(f.app), "/discharge", map[string]any{"caveatId": "c3UB", "currentPassword": testPassword}
		}),
		{route: discharge, name: "another user's caveat", expectStatus: 403, expectCode: accounts.CodeStepUpNotYours,
			setup: func(f *authzFixture) (as, string, any) {
				u := f.fresh("Sue")
				id, _ := f.session(u, f.app)
				return by(f.app, f.other), "/discharge", map[string]any{"token": f.stepUpToken(u, id), "currentPassword": testPassword}
			}},

		authzAllowed(listSessions, "SESSADM: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), "/sessions", nil
		}),
		authzForbidden(listSessions, "system client and a sysadmin", func(f *authzFixture) (as, string, any) { return by(f.system, f.admin), "/sessions", nil }),
		authzForbidden(listSessions, "sysadmin through an external client", func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), "/sessions", nil }),
		authzForbidden(listSessions, "internal client and an employee", func(f *authzFixture) (as, string, any) { return by(f.internal, f.emp), "/sessions", nil }),

		authzAllowed(userSessions, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "sessions"), nil
		}),
		authzAllowed(userSessions, "SESSADM: internal client and a sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.plain, "sessions"), nil
		}),
		authzForbidden(userSessions, "sysadmin through an external client", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain, "sessions"), nil
		}),
		authzForbidden(userSessions, "STAFF: internal client and an employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "sessions"), nil
		}),
		authzHidden(userSessions, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "sessions"), nil
		}),

		// TOTP.
		authzAllowed(enrolTOTP, "self", 201, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			return by(f.app, u), authzUserURL(u, "totp"), map[string]any{"currentPassword": testPassword}
		}),
		authzForbidden(enrolTOTP, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.fresh("Toni"), "totp"), nil
		}),
		authzHidden(enrolTOTP, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Toni"), "totp"), nil
		}),

		authzAllowed(confirmTOTP, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			secret := f.enrolledTOTP(u)
			return by(f.app, u), authzUserURL(u, "totp", "confirm"), map[string]any{"totp": f.totpNow(secret)}
		}),
		authzForbidden(confirmTOTP, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			secret := f.enrolledTOTP(u)
			return by(f.internal, f.admin), authzUserURL(u, "totp", "confirm"), map[string]any{"totp": f.totpNow(secret)}
		}),
		authzHidden(confirmTOTP, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			secret := f.enrolledTOTP(u)
			return by(f.app, f.other), authzUserURL(u, "totp", "confirm"), map[string]any{"totp": f.totpNow(secret)}
		}),

		authzAllowed(deleteTOTP, "self with the password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			f.enrolledTOTP(u)
			return by(f.app, u), authzUserURL(u, "totp"), map[string]any{"password": testPassword}
		}),
		authzForbidden(deleteTOTP, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			f.enrolledTOTP(u)
			return by(f.internal, f.admin), authzUserURL(u, "totp"), map[string]any{"password": testPassword}
		}),
		authzHidden(deleteTOTP, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Toni")
			f.enrolledTOTP(u)
			return by(f.app, f.other), authzUserURL(u, "totp"), map[string]any{"password": testPassword}
		}),

		// Recovery codes of the second factor.
		authzAllowed(getRCodes, "self", 200, func(f *authzFixture) (as, string, any) {
			u := f.confirmedTOTP(f.fresh("Rico"))
			return by(f.app, u), authzUserURL(u, "recovery-codes"), nil
		}),
		authzForbidden(getRCodes, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.confirmedTOTP(f.fresh("Rico")), "recovery-codes"), nil
		}),
		authzHidden(getRCodes, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.confirmedTOTP(f.fresh("Rico")), "recovery-codes"), nil
		}),
		authzAllowed(newRCodes, "self with the password", 201, func(f *authzFixture) (as, string, any) {
			u := f.confirmedTOTP(f.fresh("Rico"))
			return by(f.app, u), authzUserURL(u, "recovery-codes"), map[string]any{"currentPassword": testPassword}
		}),
		authzForbidden(newRCodes, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.confirmedTOTP(f.fresh("Rico")), "recovery-codes"), map[string]any{"currentPassword": testPassword}
		}),
		authzHidden(newRCodes, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.confirmedTOTP(f.fresh("Rico")), "recovery-codes"), map[string]any{"currentPassword": testPassword}
		}),
		authzAllowed(resetFactors, "sysadmin on another user", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.confirmedTOTP(f.fresh("Lost")), "factors"), nil
		}),
		authzForbidden(resetFactors, "sysadmin on themselves", func(f *authzFixture) (as, string, any) {
			u := f.confirmedTOTP(f.fresh("Boss", db.RoleSysadmin))
			return by(f.app, u), authzUserURL(u, "factors"), nil
		}),
		authzForbidden(resetFactors, "a user on themselves", func(f *authzFixture) (as, string, any) {
			u := f.confirmedTOTP(f.fresh("Lost"))
			return by(f.app, u), "/users/current/factors", nil
		}),
		authzForbidden(resetFactors, "employee (STAFF, not sysadmin)", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.confirmedTOTP(f.fresh("Lost")), "factors"), nil
		}),
		authzHidden(resetFactors, "a user on another", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.confirmedTOTP(f.fresh("Lost")), "factors"), nil
		}),

		// Passkeys.
		authzAllowed(passkeyOpts, "self with the password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, u), authzUserURL(u, "passkeys", "options"), map[string]any{"currentPassword": testPassword}
		}),
		authzForbidden(passkeyOpts, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.fresh("Pat"), "passkeys", "options"), map[string]any{"currentPassword": testPassword}
		}),
		authzHidden(passkeyOpts, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Pat"), "passkeys", "options"), map[string]any{"currentPassword": testPassword}
		}),
		authzAllowed(proofOpts, "self with a passkey", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			opts := f.s.do(by(f.app, u), "POST", authzUserURL(u, "passkeys", "options"), map[string]any{"currentPassword": testPassword}).expect(f.s.t, http.StatusOK)
			f.s.do(by(f.app, u), "POST", authzUserURL(u, "passkeys"), map[string]any{"name": "key", "credential": softRegistration(f.s.t, opts.data()["options"], "localhost", "http://localhost")}).expect(f.s.t, http.StatusCreated)
			return by(f.app, u), authzUserURL(u, "passkeys", "proof-options"), nil
		}),
		authzForbidden(proofOpts, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.fresh("Pat"), "passkeys", "proof-options"), nil
		}),
		authzHidden(proofOpts, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Pat"), "passkeys", "proof-options"), nil
		}),
		authzAllowed(addPasskey, "self answering the options", 201, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			opts := f.s.do(by(f.app, u), "POST", authzUserURL(u, "passkeys", "options"), map[string]any{"currentPassword": testPassword}).expect(f.s.t, http.StatusOK)
			return by(f.app, u), authzUserURL(u, "passkeys"), map[string]any{"name": "key", "credential": softRegistration(f.s.t, opts.data()["options"], "localhost", "http://localhost")}
		}),
		authzForbidden(addPasskey, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.admin), authzUserURL(f.fresh("Pat"), "passkeys"), map[string]any{"name": "key", "credential": map[string]any{}}
		}),
		authzHidden(addPasskey, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.fresh("Pat"), "passkeys"), map[string]any{"name": "key", "credential": map[string]any{}}
		}),
		authzAllowed(listPasskeys, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "passkeys"), nil
		}),
		authzAllowed(listPasskeys, "STAFF: internal client and an employee", 200, func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "passkeys"), nil
		}),
		authzHidden(listPasskeys, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "passkeys"), nil
		}),
		authzAllowed(deletePasskey, "self with the password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, u), authzUserURL(u, "passkeys", f.storedPasskey(u)), map[string]any{"currentPassword": testPassword}
		}),
		authzForbidden(deletePasskey, "SYSINT on another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.internal, f.admin), authzUserURL(u, "passkeys", f.storedPasskey(u)), map[string]any{"currentPassword": testPassword}
		}),
		authzHidden(deletePasskey, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, f.other), authzUserURL(u, "passkeys", f.storedPasskey(u)), map[string]any{"currentPassword": testPassword}
		}),

		// Linked external identities (federated.go).
		authzAllowed(listIdents, "self", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), authzUserURL(f.plain, "identities"), nil
		}),
		authzAllowed(listIdents, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), authzUserURL(f.plain, "identities"), nil
		}),
		authzHidden(listIdents, "another user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.other), authzUserURL(f.plain, "identities"), nil
		}),
		authzForbidden(listIdents, "STAFF: internal client and an employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), authzUserURL(f.plain, "identities"), nil
		}),
		authzAllowed(deleteIdent, "self with the password", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, u), authzUserURL(u, "identities", f.linkedIdentity(u)), map[string]any{"currentPassword": testPassword}
		}),
		authzAllowed(deleteIdent, "sysadmin without a proof", 200, func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, f.admin), authzUserURL(u, "identities", f.linkedIdentity(u)), nil
		}),
		authzForbidden(deleteIdent, "STAFF: internal client and an employee", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.internal, f.emp), authzUserURL(u, "identities", f.linkedIdentity(u)), nil
		}),
		authzHidden(deleteIdent, "another user", func(f *authzFixture) (as, string, any) {
			u := f.fresh("Pat")
			return by(f.app, f.other), authzUserURL(u, "identities", f.linkedIdentity(u)), map[string]any{"currentPassword": testPassword}
		}),

		// The API registry.
		authzAllowed(listAPIs, "sysadmin", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), "/apis", nil }),
		authzForbidden(listAPIs, "employee", func(f *authzFixture) (as, string, any) { return by(f.internal, f.emp), "/apis", nil }),
		authzForbidden(listAPIs, "ISC and a plain user", func(f *authzFixture) (as, string, any) { return by(f.isc, f.plain), "/apis", nil }),

		authzAllowed(createAPI, "sysadmin", 201, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), "/apis", map[string]any{"type": "apis", "name": fmt.Sprintf("new%d", f.next()), "version": 1, "url": "http://new.internal"}
		}),
		authzForbidden(createAPI, "employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), "/apis", map[string]any{"name": fmt.Sprintf("new%d", f.next()), "version": 1, "url": "http://new.internal"}
		}),

		authzAllowed(patchAPI, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			name := f.registeredAPI()
			return by(f.app, f.admin), "/apis/" + name + "/v1", map[string]any{"type": "apis", "id": name + "/v1", "active": false}
		}),
		authzForbidden(patchAPI, "employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), "/apis/" + f.registeredAPI() + "/v1", map[string]any{"active": false}
		}),

		authzAllowed(deleteAPI, "sysadmin", 200, func(f *authzFixture) (as, string, any) {
			return by(f.app, f.admin), "/apis/" + f.registeredAPI() + "/1", nil
		}),
		authzForbidden(deleteAPI, "employee", func(f *authzFixture) (as, string, any) {
			return by(f.internal, f.emp), "/apis/" + f.registeredAPI() + "/1", nil
		}),
		authzForbidden(deleteAPI, "plain user", func(f *authzFixture) (as, string, any) {
			return by(f.app, f.plain), "/apis/" + f.registeredAPI() + "/1", nil
		}),

		// The audit log.
		authzAllowed(auditEvents, "sysadmin", 200, func(f *authzFixture) (as, string, any) { return by(f.app, f.admin), "/audit-events", nil }),
		authzForbidden(auditEvents, "employee", func(f *authzFixture) (as, string, any) { return by(f.internal, f.emp), "/audit-events", nil }),
		authzForbidden(auditEvents, "ISC and a plain user", func(f *authzFixture) (as, string, any) { return by(f.isc, f.plain), "/audit-events", nil }),
		authzNoUser(auditEvents, "no user", func(f *authzFixture) (as, string, any) { return anonymous(f.app), "/audit-events", nil }),

		authzAllowed(openAPI, "anyone through a client", 200, func(f *authzFixture) (as, string, any) { return anonymous(f.app), "/openapi.json", nil }),
		{route: openAPI, name: "no client", expectStatus: 401, expectCode: "MISSING-BASIC-AUTH",
			setup: func(f *authzFixture) (as, string, any) { return as{}, "/openapi.json", nil }},
	}, append(oidcAuthzCases(), webhookAuthzCases()...)...)
}

// authzIDs returns the "id" members of a collection's items.
func authzIDs(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// authzRouteKey is a route's name in the table: "METHOD /path".
func authzRouteKey(r accounts.Route) string { return r.Method + " " + r.Path }

// authzPublic reports whether the route needs no token: its path, with
// each :param a *, is in accounts.PublicScope().
func authzPublic(r accounts.Route) bool {
	segments := strings.Split(r.Path, "/")
	for i, seg := range segments {
		if strings.HasPrefix(seg, ":") {
			segments[i] = "*"
		}
	}
	return slices.Contains(accounts.PublicScope()[r.Method], accounts.Prefix+strings.Join(segments, "/"))
}

// checkAuthzCoverage fails the test for a route of accounts.Routes()
// without an allowed case (2xx) or, unless it is public, a denied case
// (401, 403 or 404), and for a case whose route does not exist.
func checkAuthzCoverage(t *testing.T, cases []authzCase) {
	t.Helper()
	routes := map[string]accounts.Route{}
	for _, r := range accounts.Routes() {
		routes[authzRouteKey(r)] = r
	}
	allowed, denied := map[string]int{}, map[string]int{}
	seen := map[string]bool{}
	for _, c := range cases {
		if _, ok := routes[c.route]; !ok {
			t.Errorf("case %q names route %q, which is not in accounts.Routes()", c.name, c.route)
		}
		if key := c.route + "/" + c.name; seen[key] {
			t.Errorf("two cases named %q", key)
		} else {
			seen[key] = true
		}
		switch c.expectStatus {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
			denied[c.route]++
		default:
			if c.expectStatus >= 200 && c.expectStatus < 300 {
				allowed[c.route]++
			}
		}
	}
	for _, r := range accounts.Routes() {
		key := authzRouteKey(r)
		if allowed[key] == 0 {
			t.Errorf("route %s (who: %s) has no allowed case", key, r.Who)
		}
		if denied[key] == 0 && !authzPublic(r) {
			t.Errorf("route %s (who: %s) has no denied case", key, r.Who)
		}
	}
}

func TestAuthorizationTable(t *testing.T) {
	cases := authzCases()
	t.Run("every route has an allowed and a denied case", func(t *testing.T) { checkAuthzCoverage(t, cases) })
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newAuthzFixture(t, d)
		outer := f.s.t
		for _, c := range cases {
			t.Run(c.route+"/"+c.name, func(t *testing.T) {
				// The stack's helpers fail this case, not the whole run.
				f.s.t = t
				defer func() { f.s.t = outer }()
				who, path, body := c.setup(f)
				method, _, _ := strings.Cut(c.route, " ")
				res := f.s.do(who, method, path, body)
				if c.bug != "" {
					if res.Status != c.expectStatus || (c.expectCode != "" && res.code() != c.expectCode) {
						t.Skipf("BUG: %s (answer %d %q, want %d)", c.bug, res.Status, res.code(), c.expectStatus)
					}
					t.Logf("marked as a bug (%s) but answered as it should: remove the mark", c.bug)
				}
				if c.expectCode != "" {
					res.expect(t, c.expectStatus, c.expectCode)
				} else {
					res.expect(t, c.expectStatus)
				}
				if c.check != nil {
					c.check(t, f, res)
				}
			})
		}
	})
}

// authzAttempt is one escalation attempt: the request, and what the store
// must hold afterwards.
type authzAttempt struct {
	who          as
	method, path string
	body         any
	// expectStore fails the test unless the store is as it must be after
	// the answer.
	expectStore func(t *testing.T)
}

// authzFlagsOf returns the membership's flags as stored, as
// "read,edit,manage,delete" with the ones it lacks left out.
func (f *authzFixture) authzFlagsOf(t *testing.T, id string) string {
	t.Helper()
	m, err := f.d.GetMembership(f.s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fl := range []struct {
		name string
		on   bool
	}{{"read", m.Read}, {"edit", m.Edit}, {"manage", m.Manage}, {"delete", m.Delete}} {
		if fl.on {
			out = append(out, fl.name)
		}
	}
	return strings.Join(out, ",")
}

// expectFlags fails the test unless the membership id has the flags
// (written as authzFlagsOf writes them).
func (f *authzFixture) expectFlags(id, want string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if got := f.authzFlagsOf(t, id); got != want {
			t.Fatalf("membership flags %q, want %q", got, want)
		}
	}
}

// expectRoles fails the test unless the user has the roles.
func (f *authzFixture) expectRoles(u db.User, want ...string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		got, err := f.d.UserRoles(f.s.ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("roles %v, want %v", got, want)
		}
	}
}

// expectClient fails the test unless the client has the name and rate.
func (f *authzFixture) expectClient(id, name string, reqsPerSec int) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		c, err := f.d.GetClient(f.s.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != name || c.ReqsPerSec != reqsPerSec {
			t.Fatalf("client %q at %d requests/s, want %q at %d", c.Name, c.ReqsPerSec, name, reqsPerSec)
		}
	}
}

// expectRestrictions fails the test unless the client has exactly the
// restrictions with the IDs.
func (f *authzFixture) expectRestrictions(clientID string, want ...string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		xs, err := f.d.ListRestrictions(f.s.ctx, clientID)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, 0, len(xs))
		for _, x := range xs {
			got = append(got, x.ID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("restrictions %v, want %v", got, want)
		}
	}
}

// clientCount returns how many clients org has.
func (f *authzFixture) clientCount(t testing.TB, org db.Organization) int {
	t.Helper()
	cs, _, err := f.d.ListClients(f.s.ctx, org.ID, db.Page{Size: db.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

// expectClientCount fails the test unless org has n clients.
func (f *authzFixture) expectClientCount(org db.Organization, n int) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if got := f.clientCount(t, org); got != n {
			t.Fatalf("%d clients, want %d", got, n)
		}
	}
}

func TestNoSelfEscalation(t *testing.T) {
	membership := func(id string, flags map[string]any) map[string]any {
		body := map[string]any{"type": "org-memberships", "id": id}
		for k, v := range flags {
			body[k] = v
		}
		return body
	}
	upsert := func(u db.User, flags map[string]any) map[string]any {
		body := map[string]any{"type": "org-memberships", "user": map[string]any{"data": map[string]any{"type": "users", "id": u.ID}}}
		for k, v := range flags {
			body[k] = v
		}
		return body
	}
	tests := []struct {
		name         string
		given        func(f *authzFixture) authzAttempt
		expectStatus int
		expectCode   string
	}{
		{name: "a user adds a role to themselves", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u := f.fresh("Climber")
				return authzAttempt{who: by(f.app, u), method: "POST", path: "/users/current/roles",
					body: map[string]any{"type": "user-roles", "id": db.RoleSysadmin}, expectStore: f.expectRoles(u, db.RoleUser)}
			}},
		{name: "a user adds a role to themselves through an ISC client", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u := f.fresh("Climber")
				return authzAttempt{who: by(f.isc, u), method: "POST", path: authzUserURL(u, "roles"),
					body: map[string]any{"type": "user-roles", "id": db.RoleSysadmin}, expectStore: f.expectRoles(u, db.RoleUser)}
			}},
		{name: "a sysadmin adds a role to themselves", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u := f.fresh("Boss", db.RoleSysadmin)
				return authzAttempt{who: by(f.internal, u), method: "POST", path: "/users/current/roles",
					body: map[string]any{"type": "user-roles", "id": db.RoleEmployee}, expectStore: f.expectRoles(u, db.RoleSysadmin)}
			}},
		{name: "a manager grants themselves edit through PATCH /org-memberships/:id", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read", "manage")
				return authzAttempt{who: by(f.app, u), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"edit": true}), expectStore: f.expectFlags(m.ID, "read,manage")}
			}},
		{name: "a manager grants themselves edit through POST /organizations/:id/memberships", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read", "manage")
				return authzAttempt{who: by(f.app, u), method: "POST", path: authzOrgURL(f.home, "memberships"),
					body: upsert(u, map[string]any{"edit": true}), expectStore: f.expectFlags(m.ID, "read,manage")}
			}},
		{name: "a manager grants another member the delete flag they lack", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				_, m := f.memberOf(f.home, "read")
				return authzAttempt{who: by(f.app, f.manager), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"delete": true}), expectStore: f.expectFlags(m.ID, "read")}
			}},
		{name: "a manager grants another member delete through the upsert", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read")
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "memberships"),
					body: upsert(u, map[string]any{"delete": true}), expectStore: f.expectFlags(m.ID, "read")}
			}},
		{name: "a manager makes a newcomer a member with a flag they lack", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u := f.fresh("Joiner")
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "memberships"),
					body: upsert(u, map[string]any{"read": true, "edit": true}), expectStore: func(t *testing.T) {
						t.Helper()
						if _, err := f.d.GetUserMembership(f.s.ctx, f.home.ID, u.ID); !errors.Is(err, db.ErrNotFound) {
							t.Fatalf("membership of the newcomer: %v, want none", err)
						}
					}}
			}},
		{name: "a manager strips another member of a flag they lack", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				_, m := f.memberOf(f.home, "read", "delete")
				return authzAttempt{who: by(f.app, f.manager), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"delete": false}), expectStore: f.expectFlags(m.ID, "read,delete")}
			}},
		{name: "a reader raises their own flags", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read")
				return authzAttempt{who: by(f.app, u), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"manage": true, "delete": true}), expectStore: f.expectFlags(m.ID, "read")}
			}},
		{name: "a member lowers one flag and raises another at once", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read", "edit")
				return authzAttempt{who: by(f.app, u), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"edit": false, "manage": true}), expectStore: f.expectFlags(m.ID, "read,edit")}
			}},
		{name: "a member lowers their own flags", expectStatus: 200,
			given: func(f *authzFixture) authzAttempt {
				u, m := f.memberOf(f.home, "read", "edit", "delete")
				return authzAttempt{who: by(f.app, u), method: "PATCH", path: "/org-memberships/" + m.ID,
					body: membership(m.ID, map[string]any{"edit": false, "delete": false}), expectStore: f.expectFlags(m.ID, "read")}
			}},
		{name: "a manager of one organization reads a client of another", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				return authzAttempt{who: by(f.app, f.manager), method: "GET", path: authzOrgURL(f.away, "clients", f.awayClient)}
			}},
		{name: "a manager of one organization reads a client of another under their own URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				return authzAttempt{who: by(f.app, f.manager), method: "GET", path: authzOrgURL(f.home, "clients", f.awayClient)}
			}},
		{name: "a manager of one organization renames a client of another", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.away)
				c := f.storedClient(id)
				return authzAttempt{who: by(f.app, f.manager), method: "PATCH", path: authzOrgURL(f.away, "clients", id),
					body: map[string]any{"name": "Taken over"}, expectStore: f.expectClient(id, c.Name, 10)}
			}},
		{name: "a manager of one organization renames a client of another under their own URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.away)
				c := f.storedClient(id)
				return authzAttempt{who: by(f.app, f.manager), method: "PATCH", path: authzOrgURL(f.home, "clients", id),
					body: map[string]any{"name": "Taken over"}, expectStore: f.expectClient(id, c.Name, 10)}
			}},
		{name: "a manager refreshes the secret of another organization's client under their own URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.away)
				before := f.storedClient(id)
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "clients", id, "refresh-secret"),
					expectStore: func(t *testing.T) {
						t.Helper()
						after, err := f.d.GetClient(f.s.ctx, id)
						if err != nil || after.SecretHash != before.SecretHash {
							t.Fatalf("the secret changed (%v)", err)
						}
					}}
			}},
		{name: "a manager adds an api restriction", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.home)
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "clients", id, "access-restrictions"),
					body: map[string]any{"type": "api-access-restrictions", "value": "accounts"}, expectStore: f.expectRestrictions(id)}
			}},
		{name: "a manager gives their client the system role", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.home)
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "clients", id, "roles"),
					body: map[string]any{"type": "client-roles", "id": db.ClientRoleSystem}, expectStore: func(t *testing.T) {
						t.Helper()
						roles, err := f.d.ClientRoles(f.s.ctx, id)
						if err != nil || !slices.Equal(roles, []string{db.ClientRoleExternal}) {
							t.Fatalf("client roles %v (%v), want [external]", roles, err)
						}
					}}
			}},
		{name: "a manager deletes another client's restriction through this client's URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				mine, theirs := f.storeClient(f.home), f.storeClient(f.home)
				x := f.restriction(theirs, db.RestrictionIP, "10.0.0.0/8")
				return authzAttempt{who: by(f.app, f.manager), method: "DELETE", path: authzOrgURL(f.home, "clients", mine, "access-restrictions", x),
					expectStore: f.expectRestrictions(theirs, x)}
			}},
		{name: "a manager deletes another organization's restriction through their own client's URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				mine, theirs := f.storeClient(f.home), f.storeClient(f.away)
				x := f.restriction(theirs, db.RestrictionIP, "10.0.0.0/8")
				return authzAttempt{who: by(f.app, f.manager), method: "DELETE", path: authzOrgURL(f.home, "clients", mine, "access-restrictions", x),
					expectStore: f.expectRestrictions(theirs, x)}
			}},
		{name: "a user renames another user", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				victim := f.fresh("Victim")
				return authzAttempt{who: by(f.app, f.plain), method: "PATCH", path: authzUserURL(victim),
					body: map[string]any{"type": "users", "id": victim.ID, "name": "Owned"}, expectStore: func(t *testing.T) {
						t.Helper()
						u, err := f.d.GetUser(f.s.ctx, victim.ID)
						if err != nil || u.Name != victim.Name {
							t.Fatalf("user %q (%v), want %q", u.Name, err, victim.Name)
						}
					}}
			}},
		{name: "a user deletes another user's address", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				victim := f.fresh("Victim")
				e := f.extraAddress(victim)
				return authzAttempt{who: by(f.app, f.plain), method: "DELETE", path: authzUserURL(victim, "emails", e.ID),
					expectStore: f.expectAddress(victim, e)}
			}},
		{name: "a user deletes another user's address under their own URL", expectStatus: 404, expectCode: accounts.CodeNotFound,
			given: func(f *authzFixture) authzAttempt {
				victim := f.fresh("Victim")
				e := f.extraAddress(victim)
				return authzAttempt{who: by(f.app, f.plain), method: "DELETE", path: "/users/current/emails/" + e.ID,
					expectStore: f.expectAddress(victim, e)}
			}},
		{name: "registration with roles", expectStatus: 400, expectCode: accounts.CodeInvalidData,
			given: func(f *authzFixture) authzAttempt {
				addr := fmt.Sprintf("climber%d@example.com", f.next())
				return authzAttempt{who: anonymous(f.app), method: "POST", path: "/users",
					body: map[string]any{"name": "Climber", "email": addr, "roles": []string{db.RoleSysadmin}}, expectStore: func(t *testing.T) {
						t.Helper()
						if _, _, err := f.d.GetUserByEmail(f.s.ctx, addr); !errors.Is(err, db.ErrNotFound) {
							t.Fatalf("a refused registration left a user: %v", err)
						}
					}}
			}},
		{name: "a manager who is not STAFF sets reqsPerSec on a new client", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				n := f.clientCount(f.s.t, f.home)
				return authzAttempt{who: by(f.app, f.manager), method: "POST", path: authzOrgURL(f.home, "clients"),
					body: map[string]any{"name": "Fast", "reqsPerSec": -1}, expectStore: f.expectClientCount(f.home, n)}
			}},
		{name: "a manager who is not STAFF changes reqsPerSec", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.home)
				c := f.storedClient(id)
				return authzAttempt{who: by(f.app, f.manager), method: "PATCH", path: authzOrgURL(f.home, "clients", id),
					body: map[string]any{"name": "Faster", "reqsPerSec": 1000}, expectStore: f.expectClient(id, c.Name, 10)}
			}},
		{name: "a manager through a system client without its secret changes reqsPerSec", expectStatus: 403, expectCode: accounts.CodeForbidden,
			given: func(f *authzFixture) authzAttempt {
				id := f.storeClient(f.home)
				c := f.storedClient(id)
				return authzAttempt{who: authzSecretless(f.system, f.manager), method: "PATCH", path: authzOrgURL(f.home, "clients", id),
					body: map[string]any{"reqsPerSec": 1000}, expectStore: f.expectClient(id, c.Name, 10)}
			}},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newAuthzFixture(t, d)
		outer := f.s.t
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f.s.t = t
				defer func() { f.s.t = outer }()
				at := tt.given(f)
				res := f.s.do(at.who, at.method, at.path, at.body)
				if tt.expectCode != "" {
					res.expect(t, tt.expectStatus, tt.expectCode)
				} else {
					res.expect(t, tt.expectStatus)
				}
				if at.expectStore != nil {
					at.expectStore(t)
				}
			})
		}
	})
}

// expectAddress fails the test unless u still has the address e.
func (f *authzFixture) expectAddress(u db.User, e db.Email) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		if _, err := f.d.GetEmail(f.s.ctx, u.ID, e.ID); err != nil {
			t.Fatalf("the address is gone: %v", err)
		}
	}
}

// invited creates a user with a pending invitation to org with the
// flags.
func (f *authzFixture) invited(org db.Organization, flags ...string) (db.User, db.Membership) {
	f.s.t.Helper()
	u := f.fresh("Invitee")
	m := db.Membership{ID: f.s.id(), OrganizationID: org.ID, UserID: u.ID, CreatedMs: f.s.clock.Now().UnixMilli(), Pending: true}
	for _, fl := range flags {
		switch fl {
		case "read":
			m.Read = true
		case "manage":
			m.Manage = true
		default:
			f.s.t.Fatalf("invited: flag %q", fl)
		}
	}
	if err := f.d.AddMembership(f.s.ctx, m, 0); err != nil {
		f.s.t.Fatal(err)
	}
	return u, m
}

// expectPending checks that the answer is a membership whose pending
// is want, and that the store agrees.
func expectPending(want bool) func(t *testing.T, f *authzFixture, res response) {
	return func(t *testing.T, f *authzFixture, res response) {
		t.Helper()
		if got, _ := res.data()["pending"].(bool); got != want {
			t.Fatalf("answer pending = %v, want %v: %s", got, want, res.Raw)
		}
		id, _ := res.data()["id"].(string)
		m, err := f.d.GetMembership(f.s.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Pending != want {
			t.Fatalf("stored pending = %v, want %v", m.Pending, want)
		}
	}
}

// TestPublicScope pins the routes that need no token: the scope is
// derived from the table's routes without a rule, so a rule dropped by
// mistake from a row shows here as a new public route.
func TestPublicScope(t *testing.T) {
	got := accounts.PublicScope()
	want := map[string][]string{
		"POST": {accounts.Prefix + "/users", accounts.Prefix + "/sessions/login/*", accounts.Prefix + "/sessions/refresh",
			accounts.Prefix + "/recovery", accounts.Prefix + "/recovery/reset", accounts.Prefix + "/email-verifications"},
		"GET": {accounts.Prefix + "/openapi.json"},
	}
	// The OpenID Connect provider's endpoints, which authenticate on
	// their own.
	for method, paths := range accounts.OIDCPublicRoutes() {
		want[method] = append(want[method], paths...)
	}
	if len(got) != len(want) {
		t.Fatalf("PublicScope() = %v, want %v", got, want)
	}
	for method, paths := range want {
		g := slices.Clone(got[method])
		w := slices.Clone(paths)
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("PublicScope()[%s] = %v, want %v", method, got[method], paths)
		}
	}
	public := 0
	for _, rt := range accounts.Routes() {
		if rt.Public() {
			public++
		}
	}
	if public != 7 {
		t.Errorf("%d public routes in the table, want 7", public)
	}
}
