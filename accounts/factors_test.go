package accounts_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestResetFactors: a sysadmin removes another user's TOTP and recovery
// codes, which ends that user's sessions; the user then logs in with the
// password alone. Nobody else may, and a sysadmin not on themselves.
func TestResetFactors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		ann, bob := s.user("Ann"), s.user("Bob")
		app := s.client(s.org("Home", admin))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		codes := s.turnOnTOTP(t, app, sess)
		// A passkey of Ann's, as a registration stores it.
		if err := d.CreateWebAuthnCredential(s.ctx, db.WebAuthnCredential{ID: s.id(), UserID: ann.ID, CredentialID: []byte("ann-key"),
			PublicKey: []byte{1}, Name: "laptop", CreatedMs: s.clock.Now().UnixMilli()}, 10); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Second)

		// Refused: another user, the user themselves, an employee, and a
		// sysadmin on themselves.
		s.do(by(app, bob), "DELETE", "/users/"+ann.ID+"/factors", nil).expect(t, http.StatusNotFound)
		s.do(by(app, ann), "DELETE", "/users/current/factors", nil).expect(t, http.StatusForbidden, accounts.CodeForbidden)
		s.do(by(app, s.user("Emp", db.RoleEmployee)), "DELETE", "/users/"+ann.ID+"/factors", nil).expect(t, http.StatusForbidden)
		s.do(by(app, admin), "DELETE", "/users/current/factors", nil).expect(t, http.StatusForbidden, accounts.CodeForbidden)
		s.do(by(app, admin), "DELETE", "/users/"+admin.ID+"/factors", nil).expect(t, http.StatusForbidden, accounts.CodeForbidden)
		if _, err := d.GetTOTPSecret(s.ctx, ann.ID); err != nil {
			t.Fatalf("a refused reset removed TOTP: %v", err)
		}

		s.do(by(app, admin), "DELETE", "/users/"+ann.ID+"/factors", nil).expect(t, http.StatusOK)
		if _, err := d.GetTOTPSecret(s.ctx, ann.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("TOTP after the reset: %v", err)
		}
		if st, err := d.GetRecoveryCodesStatus(s.ctx, ann.ID); err != nil || st.Left != 0 {
			t.Fatalf("recovery codes after the reset = %+v, %v", st, err)
		}
		if keys, err := d.ListWebAuthnCredentials(s.ctx, ann.ID); err != nil || len(keys) != 0 {
			t.Fatalf("passkeys after the reset = %+v, %v", keys, err)
		}
		if got, _ := d.GetSession(s.ctx, sess.SessionID); got.InvalidatedReason != "factors-reset" {
			t.Fatalf("session after the reset: %+v", got)
		}
		s.pollRevocations()
		s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		s.waitMail(t, "ann@example.com", "An administrator removed the second factors", 1)

		// The log names who did it to whom, and no secret.
		logs := s.logs.String()
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "second factors reset") {
				line = l
			}
		}
		if !strings.Contains(line, "admin="+admin.ID) || !strings.Contains(line, "user="+ann.ID) {
			t.Fatalf("reset log line = %q", line)
		}
		for _, c := range codes {
			if strings.Contains(logs, c) {
				t.Fatal("a recovery code is in the logs")
			}
		}

		// The password alone logs in now, and the old codes are gone.
		s.clock.Advance(time.Second)
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		// A reset of a user without factors is no error.
		s.do(by(app, admin), "DELETE", "/users/"+bob.ID+"/factors", nil).expect(t, http.StatusOK)
	})
}
