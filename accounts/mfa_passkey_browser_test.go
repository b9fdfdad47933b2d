package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestPasskeyAMR_browser: with Chromium's virtual authenticator, a
// passkey alone signs in as two factors ("hwk mfa": the authenticator
// verified its user), and a passkey after the password as "pwd hwk mfa";
// a user of whom a second factor is required and who has a passkey (no
// TOTP) is asked for it after the password, and the password alone ends
// nothing.
func TestPasskeyAMR_browser(t *testing.T) {
	origin := pageServer(t)
	b := newPasskeyBrowser(t, origin)
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) {
		c.WebAuthnRPID = "localhost"
		c.WebAuthnOrigins = []string{origin}
		c.RequireSecondFactorRoles = []string{db.RoleEmployee}
	})
	ann := s.user("Ann", db.RoleUser, db.RoleEmployee)
	app := s.client(s.org("Home", ann))
	registerPasskey(t, s, app, ann, b, "laptop")

	res, _ := passkeyLogin(t, s, app, b)
	if amr, at := authnOf(t, sessionOf(t, res)); amr != "hwk mfa" || at == "" {
		t.Fatalf("passkey alone: amr %q, auth-time %q", amr, at)
	}

	state := s.newState()
	next := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
	flow, _ := next.data()["code"].(string)
	if next.data()["step"] != accounts.StepWebAuthn || flow == "" {
		t.Fatalf("password of a user who must use a passkey = %s", next.Raw)
	}
	opts := s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	assertion := b.answer(false, opts.data()["options"])
	sess := sessionOf(t, s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": assertion}))
	if amr, _ := authnOf(t, sess); amr != "pwd hwk mfa" {
		t.Fatalf("password and passkey: amr %q", amr)
	}
}
