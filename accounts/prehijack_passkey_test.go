package accounts_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMailboxOwnerWinsOverPasskeys: someone who registered the owner's
// address (with his own password, or through a provider that did not
// vouch for it) can add a passkey with the registration's session; a
// passkey signs in alone. The first proof of the mailbox by a login code
// must end it with the password and TOTP, or the attacker signs in to the
// account the owner now uses.
func TestMailboxOwnerWinsOverPasskeys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const (
			addr    = "owner@example.org"
			thiefPw = "the attacker's passphrase"
		)
		s := passkeyStack(t, d, "http://localhost")
		app := s.client(s.org("Home", s.user("Admin")))
		thief := s.register(t, app, "Owner", addr, thiefPw)
		opts := s.withMacaroon(app, thief, "POST", "/users/current/passkeys/options", map[string]any{"currentPassword": thiefPw}).expect(t, http.StatusOK)
		cred := softRegistration(t, opts.data()["options"], "localhost", "http://localhost")
		s.withMacaroon(app, thief, "POST", "/users/current/passkeys", map[string]any{"name": "Thief's key", "credential": cred}).expect(t, http.StatusCreated)
		s.clock.Advance(time.Second)
		owner := sessionOf(t, s.codeLogin(t, app, addr))
		if owner.UserID != thief.UserID {
			t.Fatalf("the code login opened %s, want the registration %s", owner.UserID, thief.UserID)
		}
		creds, err := d.ListWebAuthnCredentials(s.ctx, owner.UserID)
		if err != nil || len(creds) != 0 {
			t.Errorf("after the first proof the account keeps %d passkeys of whoever registered (%v)", len(creds), err)
		}
	})
}
