package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db/dbtest"
)

// TestPasskeys_onlySecondFactor: a user whose only second factor is a
// passkey gets the webauthn step after the password (the password alone
// does not sign in, and the TOTP step does not take the flow code); the
// passkey ends the login. Removing the passkey brings the password-only
// login back. The owner is mailed on each add and remove.
func TestPasskeys_onlySecondFactor(t *testing.T) {
	origin := pageServer(t)
	b := newPasskeyBrowser(t, origin)
	s := passkeyStack(t, dbtest.SQLite(t), origin)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	added := registerPasskey(t, s, app, ann, b, "laptop")
	expectNotice := func(subject string) {
		t.Helper()
		for _, m := range s.mailTo(t, "ann@example.com") {
			if m.subject == subject {
				return
			}
		}
		t.Fatalf("no notice %q to Ann", subject)
	}
	expectNotice("A passkey was added to your account")

	state := s.newState()
	next := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
	flow, _ := next.data()["code"].(string)
	if next.Body["t"] != "step" || next.data()["step"] != accounts.StepWebAuthn || flow == "" {
		t.Fatalf("password step = %s, want the webauthn step with a flow code", next.Raw)
	}
	// The TOTP step does not end it: Ann has no TOTP.
	s.step(app, "totp", map[string]any{"state": state, "code": flow, "totp": "123456"}).expect(t, http.StatusUnauthorized)
	opts := s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	sess := sessionOf(t, s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": b.answer(false, opts.data()["options"])}))
	if sess.UserID != ann.ID {
		t.Fatalf("signed in as %s, want Ann", sess.UserID)
	}

	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+added["id"].(string), map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	expectNotice("A passkey was removed from your account")
	sessionOf(t, s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": s.newState()}))
}
