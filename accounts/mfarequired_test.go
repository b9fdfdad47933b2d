package accounts_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// authnOf returns the amr and auth-time caveats of a session's GET token
// ("" for one it lacks).
func authnOf(t *testing.T, sess session) (amr, authTime string) {
	t.Helper()
	m, err := mint.Decode(sess.Macaroons["GET"])
	if err != nil {
		t.Fatalf("GET token: %v", err)
	}
	for _, c := range m.Caveats() {
		name, arg, _ := strings.Cut(string(c.Id), " ")
		switch name {
		case "amr":
			amr = arg
		case "auth-time":
			authTime = arg
		}
	}
	return amr, authTime
}

// TestLoginAMR: each way of logging in writes in the tokens how (amr)
// and when (auth-time) the user authenticated, and a refresh, which is no
// new authentication, mints the same; the gateway tells a backend both.
func TestLoginAMR(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		s.user("Tom")
		tomSess := sessionOf(t, s.passwordLogin(app, "tom@example.com", testPassword))
		tomSecret, codes := s.enrolTOTP(t, app, tomSess)

		var backendSaw *requestinfo.UserClaims
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := requestinfo.FromRequest(r, s.info)
			if err != nil {
				t.Errorf("backend's request info: %v", err)
			}
			backendSaw = claims.User
			w.Write([]byte(`{}`))
		}))
		defer backend.Close()
		if err := d.CreateAPI(s.ctx, db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, CreatedMs: 1}); err != nil {
			t.Fatal(err)
		}
		s.refresh()

		tests := []struct {
			name      string
			whenLogin func(t *testing.T) session
			expectAMR string
		}{
			{name: "password", expectAMR: "pwd", whenLogin: func(t *testing.T) session {
				return sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			}},
			{name: "mailed code", expectAMR: "mail", whenLogin: func(t *testing.T) session {
				state := s.newState()
				s.step(app, "email", map[string]any{"email": "ann@example.com", "state": state}).expect(t, http.StatusOK)
				return sessionOf(t, s.step(app, "code", map[string]any{"code": s.waitCode(t, "ann@example.com"), "state": state}))
			}},
			{name: "password and TOTP", expectAMR: "pwd otp mfa", whenLogin: func(t *testing.T) session {
				flow, state := s.totpFlow(t, app, "tom@example.com")
				return sessionOf(t, s.step(app, "totp", map[string]any{"code": flow, "totp": oathtool(t, tomSecret, s.clock.Now()), "state": state}))
			}},
			{name: "mailed code and a recovery code", expectAMR: "mail otp mfa", whenLogin: func(t *testing.T) session {
				state := s.newState()
				s.step(app, "email", map[string]any{"email": "tom@example.com", "state": state}).expect(t, http.StatusOK)
				next := s.step(app, "code", map[string]any{"code": s.waitCode(t, "tom@example.com"), "state": state}).expect(t, http.StatusOK)
				return sessionOf(t, s.step(app, "totp", map[string]any{"code": next.data()["code"], "recoveryCode": codes[0], "state": state}))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s.clock.Advance(31 * time.Second) // a fresh TOTP step
				loginAt := s.clock.Now().UTC().Truncate(time.Second)
				sess := tt.whenLogin(t)
				amr, at := authnOf(t, sess)
				if amr != tt.expectAMR || at != loginAt.Format(time.RFC3339) {
					t.Fatalf("tokens say amr %q, auth-time %q; want %q, %s", amr, at, tt.expectAMR, loginAt.Format(time.RFC3339))
				}
				if got, err := d.GetSession(s.ctx, sess.SessionID); err != nil || got.AMR != tt.expectAMR {
					t.Fatalf("session row = %+v, %v; want amr %q", got, err, tt.expectAMR)
				}
				// A refresh later mints the login's values, not the refresh's.
				s.clock.Advance(2 * time.Minute)
				refreshed := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})))
				if amr2, at2 := authnOf(t, refreshed); amr2 != amr || at2 != at {
					t.Fatalf("after a refresh: amr %q, auth-time %q; want %q, %q", amr2, at2, amr, at)
				}
				// The backend reads them in X-Auth-Info.
				backendSaw = nil
				req, err := http.NewRequest("GET", s.srv.URL+"/demo/v1/x", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.SetBasicAuth(app.ID, app.Secret)
				req.Header.Set("Authorization", req.Header.Get("Authorization")+", Macaroon "+refreshed.Macaroons["GET"])
				s.raw(req).expect(t, http.StatusOK)
				if backendSaw == nil || strings.Join(backendSaw.AMR, " ") != tt.expectAMR || backendSaw.AuthTime != loginAt.Unix() ||
					backendSaw.MultiFactor() != strings.Contains(tt.expectAMR, "mfa") {
					t.Fatalf("backend saw %+v; want amr %q, auth_time %d", backendSaw, tt.expectAMR, loginAt.Unix())
				}
			})
		}
	})
}

// enrolTOTP turns TOTP on for the session's user and returns its secret
// and recovery codes.
func (s *stack) enrolTOTP(t *testing.T, app appClient, sess session) (secret string, codes []string) {
	t.Helper()
	en := s.withMacaroon(app, sess, "POST", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
	secret, _ = en.data()["secret"].(string)
	res := s.withMacaroon(app, sess, "POST", "/users/current/totp/confirm", map[string]any{"totp": oathtool(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
	rc, _ := res.data()["recoveryCodes"].(map[string]any)
	return secret, recoveryCodesOf(t, rc)
}

// enrolInLogin runs the totp-enrol step of a login whose first factor
// answered it: it asks for the secret, checks a wrong code is refused,
// and confirms with the app's code; it returns the session answer.
func (s *stack) enrolInLogin(t *testing.T, app appClient, next response, state string) (response, string) {
	t.Helper()
	flow, _ := next.data()["code"].(string)
	if next.data()["step"] != accounts.StepTOTPEnrol || flow == "" {
		t.Fatalf("first factor of a user who must enrol = %s", next.Raw)
	}
	// One factor cannot finish the login: the flow code alone shows the
	// secret, and the other second steps refuse it (no TOTP yet).
	shown := s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": flow, "state": state}).expect(t, http.StatusOK)
	secret, _ := shown.data()["secret"].(string)
	if shown.Body["t"] != "step" || secret == "" || shown.data()["code"] != flow || !strings.HasPrefix(shown.data()["uri"].(string), "otpauth://totp/") ||
		!strings.HasPrefix(shown.data()["qr"].(string), "data:image/png;base64,") {
		t.Fatalf("enrolment step = %s", shown.Raw)
	}
	s.step(app, "totp", map[string]any{"code": flow, "totp": oathtool(t, secret, s.clock.Now()), "state": state}).expect(t, http.StatusUnauthorized)
	s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": flow, "totp": "000000", "state": state}).expect(t, http.StatusUnauthorized, accounts.CodeTOTPInvalid)
	s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": flow, "totp": oathtool(t, secret, s.clock.Now()), "state": s.newState()}).
		expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
	s.clock.Advance(30 * time.Second) // the totp step above used the current step
	return s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": flow, "totp": oathtool(t, secret, s.clock.Now()), "state": state}), secret
}

// TestSecondFactorRequiredByRole: a user with a role that must have a
// second factor, and none, is led through TOTP enrolment at the next
// login, which ends only with a confirmed code (and the recovery codes);
// later logins need the factor, and it cannot be removed while it is
// the last. A user without the role logs in with one factor.
func TestSecondFactorRequiredByRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, func(c *accounts.Config) { c.RequireSecondFactorRoles = []string{db.RoleEmployee} })
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleUser, db.RoleEmployee)
		app := s.client(s.org("Home", admin))
		s.user("Ann")
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))

		state := s.newState()
		next := s.step(app, "password", map[string]any{"email": "emp@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
		res, secret := s.enrolInLogin(t, app, next, state)
		sess := sessionOf(t, res)
		rc, _ := res.data()["recoveryCodes"].(map[string]any)
		codes := recoveryCodesOf(t, rc)
		if amr, _ := authnOf(t, sess); amr != "pwd otp mfa" {
			t.Fatalf("enrolled login's amr = %q", amr)
		}
		s.waitMail(t, "emp@example.com", "(TOTP) was turned on", 1)
		// The flow code is spent.
		s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": next.data()["code"], "state": state}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)

		// Now the ordinary totp step, with the factor or a recovery code.
		s.clock.Advance(30 * time.Second)
		flow, state2 := s.totpFlow(t, app, "emp@example.com")
		// Its flow code cannot enrol another app over the one in use.
		s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": flow, "state": state2}).expect(t, http.StatusConflict, accounts.CodeTOTPEnabled)
		sessionOf(t, s.step(app, "totp", map[string]any{"code": flow, "totp": oathtool(t, secret, s.clock.Now()), "state": state2}))
		sessionOf(t, s.recoveryLogin(t, app, "emp@example.com", codes[0]))

		// The last second factor stays while it is required.
		s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"password": testPassword}).
			expect(t, http.StatusConflict, accounts.CodeSecondFactorRequired)
		if u, err := d.GetUser(s.ctx, emp.ID); err != nil || !u.TOTPEnabled {
			t.Fatalf("TOTP after a refused removal: %+v, %v", u, err)
		}
		// The sysadmin's reset still removes it: the next login enrols again.
		s.do(by(app, admin), "DELETE", "/users/"+emp.ID+"/factors", nil).expect(t, http.StatusOK)
		s.clock.Advance(30 * time.Second)
		state3 := s.newState()
		s.step(app, "email", map[string]any{"email": "emp@example.com", "state": state3}).expect(t, http.StatusOK)
		next3 := s.step(app, "code", map[string]any{"code": s.waitCode(t, "emp@example.com"), "state": state3}).expect(t, http.StatusOK)
		res3, _ := s.enrolInLogin(t, app, next3, state3)
		if amr, _ := authnOf(t, sessionOf(t, res3)); amr != "mail otp mfa" {
			t.Fatalf("enrolled code login's amr = %q", amr)
		}
	})
}

// TestSecondFactorRequiredByOrganization: who may manage an organization
// may require a second factor of its members (nobody else may set it);
// a member's session goes on, and the member's next login enrols; a
// member with a passkey is asked for it. Lifting the requirement lets
// the factor go.
func TestSecondFactorRequiredByOrganization(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := passkeyStack(t, d, "http://localhost")
		owner, bob, cy := s.user("Owner"), s.user("Bob"), s.user("Cy")
		org := s.org("Strict", owner)
		s.member(org, bob, "read", "edit")
		s.member(org, cy, "read")
		app := s.client(s.org("Home", owner))
		bobSess := sessionOf(t, s.passwordLogin(app, "bob@example.com", testPassword))
		// A passkey of Cy's, as a registration stores it.
		cyKey := s.id()
		if err := d.CreateWebAuthnCredential(s.ctx, db.WebAuthnCredential{ID: cyKey, UserID: cy.ID, CredentialID: []byte("cy-key"),
			PublicKey: []byte{1}, Name: "laptop", CreatedMs: s.clock.Now().UnixMilli()}, 10); err != nil {
			t.Fatal(err)
		}

		// Bob may edit but not manage: the flag is refused, whatever its value.
		for _, v := range []bool{true, false} {
			s.do(by(app, bob), "PATCH", "/organizations/"+org.ID, map[string]any{"requireSecondFactor": v}).expect(t, http.StatusForbidden, accounts.CodeForbidden)
		}
		s.do(by(app, owner), "PATCH", "/organizations/"+org.ID, map[string]any{"requireSecondFactor": "yes"}).expect(t, http.StatusBadRequest)
		got := s.do(by(app, owner), "PATCH", "/organizations/"+org.ID, map[string]any{"requireSecondFactor": true}).expect(t, http.StatusOK)
		if got.data()["requireSecondFactor"] != true || got.data()["name"] != "Strict" {
			t.Fatalf("PATCH answer = %s", got.Raw)
		}
		if o := s.do(by(app, bob), "GET", "/organizations/"+org.ID, nil).expect(t, http.StatusOK); o.data()["requireSecondFactor"] != true {
			t.Fatalf("GET = %s", o.Raw)
		}

		// Bob's session goes on; his next login enrols.
		s.withMacaroon(app, bobSess, "GET", "/users/current", nil).expect(t, http.StatusOK)
		state := s.newState()
		next := s.step(app, "password", map[string]any{"email": "bob@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
		sessionOf(t, okIfSession(s.enrolInLogin(t, app, next, state)))

		// Cy has a passkey: the login asks for it, with a flow code that
		// opens Cy's passkey options.
		state = s.newState()
		cyNext := s.step(app, "password", map[string]any{"email": "cy@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
		if cyNext.data()["step"] != accounts.StepWebAuthn || cyNext.data()["code"] == "" {
			t.Fatalf("first factor of a member with a passkey = %s", cyNext.Raw)
		}
		s.step(app, accounts.StepWebAuthn, map[string]any{"code": cyNext.data()["code"], "state": state}).expect(t, http.StatusOK)
		// Whoever knows Cy's password cannot swap the passkey for an app
		// of their own with that flow code.
		s.step(app, accounts.StepTOTPEnrol, map[string]any{"code": cyNext.data()["code"], "state": state}).
			expect(t, http.StatusConflict, accounts.CodeEnrolNotAllowed)
		if _, err := d.GetTOTPSecret(s.ctx, cy.ID); err == nil {
			t.Fatal("a TOTP secret was stored for a user with a passkey")
		}
		// Cy's only passkey cannot go while it is required; it can after.
		s.do(by(app, cy), "DELETE", "/users/current/passkeys/"+cyKey, map[string]any{"currentPassword": testPassword}).
			expect(t, http.StatusConflict, accounts.CodeSecondFactorRequired)
		s.do(by(app, cy), "DELETE", "/users/current/passkeys/"+s.id(), map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
		s.do(by(app, owner), "PATCH", "/organizations/"+org.ID, map[string]any{"requireSecondFactor": false}).expect(t, http.StatusOK)
		s.do(by(app, cy), "DELETE", "/users/current/passkeys/"+cyKey, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
		sessionOf(t, s.passwordLogin(app, "cy@example.com", testPassword))
	})
}

// okIfSession drops enrolInLogin's secret.
func okIfSession(r response, _ string) response { return r }

// TestRequireSecondFactorRolesChecked: a role name that cannot be one is
// a configuration error; a good one is not.
func TestRequireSecondFactorRolesChecked(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	notifier, err := notify.NewFile(notify.FileConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(s.policy)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		givenRoles []string
		expectOK   bool
	}{
		{givenRoles: []string{"employee", "sysadmin"}, expectOK: true},
		{givenRoles: []string{""}},
		{givenRoles: []string{"a b"}},
		{givenRoles: []string{"-"}},
	} {
		svc, err := accounts.New(accounts.Config{Store: s.d, Notifier: notifier, Minter: s.minter,
			Policies: func() *policy.Set { return set }, RequireSecondFactorRoles: tt.givenRoles})
		if (err == nil) != tt.expectOK {
			t.Errorf("roles %q: error %v", tt.givenRoles, err)
		}
		if svc != nil {
			svc.Close()
		}
	}
}

// TestRefreshOfSessionFromBeforeAMR: a session from before amr was kept
// (as migration 0015 leaves it: amr unknown, auth time = creation)
// refreshes into tokens without an amr caveat, never into a guess.
func TestRefreshOfSessionFromBeforeAMR(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		if _, err := d.SQL().ExecContext(s.ctx, "UPDATE sessions SET amr = '' WHERE id = ?", sess.SessionID); err != nil {
			t.Fatal(err)
		}
		created := s.clock.Now().UTC().Truncate(time.Second).Format(time.RFC3339)
		s.clock.Advance(time.Minute)
		refreshed := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})))
		if amr, at := authnOf(t, refreshed); amr != "" || at != created {
			t.Fatalf("refresh of an old session: amr %q, auth-time %q; want none, %s", amr, at, created)
		}
		s.withMacaroon(app, refreshed, "GET", "/users/current", nil).expect(t, http.StatusOK)
	})
}
