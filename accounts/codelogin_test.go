package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db/dbtest"
)

// TestCodeLoginOff: with Config.CodeLoginOff the email and code steps
// answer 403 CODE-LOGIN-OFF, the same for an address with an account and
// one without, and mail nothing; the password step still logs in.
func TestCodeLoginOff(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.CodeLoginOff = true })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	state := s.newState()

	known := s.step(app, "email", map[string]any{"email": "ann@example.com", "state": state}).
		expect(t, http.StatusForbidden, accounts.CodeCodeLoginOff)
	unknown := s.step(app, "email", map[string]any{"email": "nobody@example.com", "state": state}).
		expect(t, http.StatusForbidden, accounts.CodeCodeLoginOff)
	if string(known.Raw) != string(unknown.Raw) {
		t.Fatalf("email step answers differ:\n%s\n%s", known.Raw, unknown.Raw)
	}
	s.step(app, "code", map[string]any{"code": "12345678", "state": state}).
		expect(t, http.StatusForbidden, accounts.CodeCodeLoginOff)
	s.svc.Close() // waits for background mail, if any was started
	if codes := s.mailedCodes(t, "ann@example.com"); len(codes) != 0 {
		t.Fatalf("codes mailed with code login off: %v", codes)
	}
	sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
}
