package accounts_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// register signs a user up with a password and returns the session the
// registration answers.
func (s *stack) register(t testing.TB, app appClient, name, addr, pw string) session {
	t.Helper()
	return sessionOf(t, okStatus(s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": name, "email": addr, "password": pw})).expect(t, http.StatusCreated)))
}

// codeLogin logs in by a code mailed to addr and returns the answer of
// the code step; it fails the test when no code comes.
func (s *stack) codeLogin(t testing.TB, app appClient, addr string) response {
	t.Helper()
	state := s.newState()
	s.step(app, "email", map[string]any{"email": addr, "state": state}).expect(t, http.StatusOK)
	return s.step(app, "code", map[string]any{"state": state, "code": s.waitCode(t, addr)})
}

// expectNoCode checks that no login code reaches addr for an email step.
func (s *stack) expectNoCode(t testing.TB, app appClient, addr string) {
	t.Helper()
	before := len(s.mailedCodes(t, addr))
	s.step(app, "email", map[string]any{"email": addr, "state": s.newState()}).expect(t, http.StatusOK)
	time.Sleep(200 * time.Millisecond) // the background mail is done
	if n := len(s.mailedCodes(t, addr)); n != before {
		t.Fatalf("a login code went to %s", addr)
	}
}

// verifyOwn verifies the session user's only unverified address addr
// with the code mailed to it.
func (s *stack) verifyOwn(t testing.TB, app appClient, sess session, addr string) response {
	t.Helper()
	for _, e := range s.withMacaroon(app, sess, "GET", "/users/current/emails", nil).expect(t, http.StatusOK).list() {
		if strings.EqualFold(e["email"].(string), addr) && e["verifiedMs"] == nil {
			return s.withMacaroon(app, sess, "POST", "/users/current/emails/"+e["id"].(string)+"/verify", map[string]any{"code": s.lastCode(t, e["email"].(string))})
		}
	}
	t.Fatalf("no unverified %s", addr)
	return response{}
}

// TestMailboxOwnerWins: owning the mailbox wins over having typed the
// address first (account pre-hijacking and address squatting). An
// address counts for uniqueness and login only once verified; the first
// proof of a mailbox by a login code ends the password, TOTP and sessions
// set up on the account before; verifying an address ends other
// accounts' unverified holds on it.
func TestMailboxOwnerWins(t *testing.T) {
	const (
		ownerPw = "the owner's own passphrase"
		thiefPw = "the attacker's passphrase"
	)
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		thiefUser := s.user("Thief")
		app := s.client(s.org("Home", s.user("Admin")))
		t.Run("classic pre-hijack: the owner registers anyway and keeps the address", func(t *testing.T) {
			const ownerAddr = "owner1@example.org"
			thief := s.register(t, app, "Owner", ownerAddr, thiefPw)
			// The attacker's unverified address neither logs in nor blocks.
			s.passwordLogin(app, ownerAddr, thiefPw).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			s.clock.Advance(time.Second)
			owner := s.register(t, app, "Owner", ownerAddr, ownerPw)
			s.clock.Advance(time.Second)
			s.verifyOwn(t, app, owner, ownerAddr).expect(t, http.StatusOK)
			if got := sessionOf(t, s.passwordLogin(app, ownerAddr, ownerPw)); got.UserID != owner.UserID {
				t.Fatalf("the owner's login opened %s, want %s", got.UserID, owner.UserID)
			}
			s.passwordLogin(app, ownerAddr, thiefPw).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			if es, err := d.ListEmails(s.ctx, thief.UserID); err != nil || len(es) != 0 {
				t.Fatalf("the attacker's account still holds %v (%v)", es, err)
			}
		})
		t.Run("pre-hijack by code: the first proof of the mailbox ends the attacker's password, TOTP and sessions", func(t *testing.T) {
			const ownerAddr = "owner2@example.org"
			thief := s.register(t, app, "Owner", ownerAddr, thiefPw)
			en := s.withMacaroon(app, thief, "POST", "/users/current/totp", map[string]any{"currentPassword": thiefPw}).expect(t, http.StatusCreated)
			secret, _ := en.data()["secret"].(string)
			s.withMacaroon(app, thief, "POST", "/users/current/totp/confirm", map[string]any{"totp": totpAt(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
			s.clock.Advance(time.Second)

			// The owner logs in by code: no TOTP step (the attacker's is
			// gone), and the account is the owner's alone.
			owner := sessionOf(t, s.codeLogin(t, app, ownerAddr))
			if owner.UserID != thief.UserID {
				t.Fatalf("the code login opened %s, want the registration %s", owner.UserID, thief.UserID)
			}
			s.passwordLogin(app, ownerAddr, thiefPw).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": thief.Refresh})).expect(t, http.StatusUnauthorized)
			if u, err := d.GetUser(s.ctx, owner.UserID); err != nil || u.PasswordHash != "" || u.TOTPEnabled {
				t.Fatalf("after the first proof: %+v, %v", u, err)
			}
			s.withMacaroon(app, owner, "GET", "/users/current", nil).expect(t, http.StatusOK)
			// Now verified, the address opens the account by code as usual,
			// without resetting it again.
			s.clock.Advance(time.Second)
			sessionOf(t, s.codeLogin(t, app, ownerAddr))
			s.withMacaroon(app, owner, "GET", "/users/current", nil).expect(t, http.StatusOK)
		})
		t.Run("squatting: an unverified address added to another account blocks nothing and opens nothing", func(t *testing.T) {
			const ownerAddr = "owner3@example.org"
			thief := sessionOf(t, s.passwordLogin(app, "thief@example.com", testPassword))
			s.withMacaroon(app, thief, "POST", "/users/current/emails", map[string]any{"email": ownerAddr, "currentPassword": testPassword}).expect(t, http.StatusCreated)
			s.expectNoCode(t, app, ownerAddr)
			s.clock.Advance(time.Second)
			owner := s.register(t, app, "Owner", ownerAddr, ownerPw)
			s.clock.Advance(time.Second)
			// The owner's code login lands in the owner's registration.
			if got := sessionOf(t, s.codeLogin(t, app, ownerAddr)); got.UserID != owner.UserID {
				t.Fatalf("the owner's code login opened %s, want %s", got.UserID, owner.UserID)
			}
			es, err := d.ListEmails(s.ctx, thiefUser.ID)
			if err != nil || len(es) != 1 || es[0].Email != "thief@example.com" {
				t.Fatalf("the squatter's addresses: %v, %v", es, err)
			}
		})
		t.Run("a verified address is taken: registration and adding it answer 409", func(t *testing.T) {
			s.user("Ann")
			bob := s.user("Bob")
			s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": "Ann 2", "email": "ann@example.com", "password": ownerPw})).
				expect(t, http.StatusConflict, accounts.CodeDuplicateEmail)
			s.do(by(app, bob), "POST", "/users/current/emails", map[string]any{"email": "ann@example.com", "currentPassword": testPassword}).
				expect(t, http.StatusConflict, accounts.CodeDuplicateEmail)
		})
	})
}

// TestAddressCase: an address is one identity whatever its case; what
// the user typed is kept for display.
func TestAddressCase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		bob := s.user("Bob")
		app := s.client(s.org("Home", ann))
		tests := []struct {
			name         string
			when         func() response
			expectStatus int
			expectCode   string
		}{
			{name: "register the address in another case", when: func() response {
				return s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": "Ann 2", "email": "ANN@example.com", "password": "another long passphrase"}))
			}, expectStatus: 409, expectCode: accounts.CodeDuplicateEmail},
			{name: "add it in another case to another account", when: func() response {
				return s.do(by(app, bob), "POST", "/users/current/emails", map[string]any{"email": "Ann@Example.com", "currentPassword": testPassword})
			}, expectStatus: 409, expectCode: accounts.CodeDuplicateEmail},
			{name: "add it in another case to one's own account", when: func() response {
				return s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": "aNN@example.com", "currentPassword": testPassword})
			}, expectStatus: 409, expectCode: accounts.CodeDuplicateEmail},
			{name: "log in with the address in another case", when: func() response {
				return s.passwordLogin(app, "ANN@EXAMPLE.COM", testPassword)
			}, expectStatus: 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.when().expect(t, tt.expectStatus, tt.expectCode)
			})
		}
		t.Run("display keeps what the user typed", func(t *testing.T) {
			res := s.do(by(app, bob), "POST", "/users/current/emails", map[string]any{"email": "Bob.Work@Example.org", "currentPassword": testPassword}).expect(t, http.StatusCreated)
			if res.data()["email"] != "Bob.Work@example.org" {
				t.Fatalf("stored as %v", res.data()["email"])
			}
		})
	})
}

// TestAddressCaseBuysNoGuesses: the password step counts failures by the
// address's key, so writing it in other cases buys no more guesses.
func TestAddressCaseBuysNoGuesses(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	for _, addr := range []string{"ann@example.com", "Ann@example.com", "aNn@example.com", "anN@example.com", "ANn@example.com"} {
		s.passwordLogin(app, addr, "a wrong guess").expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
	}
	s.passwordLogin(app, "ANN@example.com", testPassword).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
}
