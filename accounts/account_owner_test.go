package accounts_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestSelfDeletionNeedsProof: a stolen token alone does not delete the
// account: the user deleting themselves proves who they are again, like
// every change to what protects the account, and the verified addresses
// are told. A sysadmin deleting another user sends no proof.
func TestSelfDeletionNeedsProof(t *testing.T) {
	tests := []struct {
		name         string
		whenBody     any
		expectStatus int
		expectCode   string
	}{
		{name: "no body", whenBody: nil, expectStatus: http.StatusUnsupportedMediaType, expectCode: accounts.CodeUnsupportedType},
		{name: "no proof", whenBody: map[string]any{}, expectStatus: http.StatusBadRequest, expectCode: accounts.CodeInvalidData},
		{name: "a wrong password", whenBody: map[string]any{"currentPassword": "a guess"}, expectStatus: http.StatusForbidden, expectCode: accounts.CodeIncorrectPassword},
		{name: "a TOTP code while TOTP is off", whenBody: map[string]any{"totp": "123456"}, expectStatus: http.StatusForbidden, expectCode: accounts.CodeTOTPInvalid},
		{name: "an unknown field", whenBody: map[string]any{"currentPassword": testPassword, "force": true}, expectStatus: http.StatusBadRequest, expectCode: accounts.CodeInvalidData},
		{name: "the password", whenBody: map[string]any{"currentPassword": testPassword}, expectStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, dbtest.SQLite(t), nil)
			ann := s.user("Ann")
			app := s.client(s.org("Home", ann))
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			s.withMacaroon(app, sess, "DELETE", "/users/current", tt.whenBody).expect(t, tt.expectStatus, tt.expectCode)
			_, err := s.d.GetUser(s.ctx, ann.ID)
			if deleted := err != nil; deleted != (tt.expectStatus == http.StatusOK) {
				t.Fatalf("deleted = %v (%v), want %v", deleted, err, tt.expectStatus == http.StatusOK)
			}
			noticed := false
			for _, m := range s.mailTo(t, "ann@example.com") {
				noticed = noticed || m.subject == "Your account was deleted"
			}
			if noticed != (tt.expectStatus == http.StatusOK) {
				t.Fatalf("notice sent = %v", noticed)
			}
		})
	}
	t.Run("a sysadmin deletes another user without a proof", func(t *testing.T) {
		s := newStack(t, dbtest.SQLite(t), nil)
		admin := s.user("Root", db.RoleSysadmin)
		ann := s.user("Ann")
		app := s.client(s.org("Home", admin))
		s.do(by(app, admin), "DELETE", "/users/"+ann.ID, nil).expect(t, http.StatusOK)
		if _, err := s.d.GetUser(s.ctx, ann.ID); err == nil {
			t.Fatal("the user still exists")
		}
	})
}

// TestStrangersDoNotUseUpOwnersMails: registrations of an address by
// strangers neither refuse the owner's own registration nor the
// verification code the owner then asks for; they are never refused
// over the mail limits, and their mails are bounded per address and
// source (review finding 5).
func TestStrangersDoNotUseUpOwnersMails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const addr = "newcomer@example.org"
		s := newStack(t, d, nil)
		app := s.client(s.org("Home", s.user("Ann")))
		for i := range accounts.DefaultMailsPerAddress + 2 {
			s.clock.Advance(time.Second)
			s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": fmt.Sprintf("Stranger %d", i), "email": addr})).expect(t, http.StatusCreated)
		}
		if n := len(s.mailTo(t, addr)); n > 2 {
			t.Fatalf("%d mails from one source's registrations of one address, want at most 2", n)
		}
		s.clock.Advance(time.Second)
		owner := s.register(t, app, "Newcomer", addr, "the owner's own passphrase")
		s.clock.Advance(time.Second)
		for _, e := range s.withMacaroon(app, owner, "GET", "/users/current/emails", nil).expect(t, http.StatusOK).list() {
			before := len(s.mailTo(t, addr))
			s.withMacaroon(app, owner, "POST", "/users/current/emails/"+e["id"].(string)+"/generate-verification", nil).expect(t, http.StatusOK)
			if len(s.mailTo(t, addr)) != before+1 {
				t.Fatal("no verification mail for the owner")
			}
		}
		s.verifyOwn(t, app, owner, addr).expect(t, http.StatusOK)
	})
}

// TestCodeLoginAmongRegistrations: an attacker registers the owner's
// address first; the owner registers it too, works with the
// registration's session (creates an organization), and logs in by code
// later. The code step never picks an account by age: it lists both
// registrations, the owner picks theirs, the address is verified there
// and the attacker's account loses it (review finding 6).
func TestCodeLoginAmongRegistrations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const addr = "owner@example.org"
		s := newStack(t, d, nil)
		app := s.client(s.org("Home", s.user("Admin")))
		thief := s.register(t, app, "Owner", addr, "the attacker's passphrase")
		s.clock.Advance(time.Minute)
		owner := s.register(t, app, "Owner", addr, "the owner's own passphrase")
		s.withMacaroon(app, owner, "POST", "/organizations", map[string]any{"type": "organizations", "name": "Owner's work"}).expect(t, http.StatusCreated)
		s.clock.Advance(time.Minute)

		state := s.newState()
		s.step(app, "email", map[string]any{"email": addr, "state": state}).expect(t, http.StatusOK)
		code := s.waitCode(t, addr)
		choice := s.step(app, "code", map[string]any{"state": state, "code": code}).expect(t, http.StatusOK)
		if choice.Body["t"] != "step" || choice.data()["step"] != "code" {
			t.Fatalf("the code step chose by itself: %s", choice.Raw)
		}
		accs, _ := choice.data()["accounts"].([]any)
		if len(accs) != 2 || accs[0].(map[string]any)["id"] != owner.UserID || accs[1].(map[string]any)["id"] != thief.UserID {
			t.Fatalf("accounts listed (newest first): %s", choice.Raw)
		}
		for _, a := range accs {
			if len(a.(map[string]any)) != 3 { // id, name, createdMs: nothing else
				t.Fatalf("an account lists more than its id, name and creation time: %v", a)
			}
		}
		s.step(app, "code", map[string]any{"state": state, "code": code, "account": "not-a-candidate"}).expect(t, http.StatusConflict, accounts.CodeAccountNotCandidate)
		s.step(app, "code", map[string]any{"state": s.newState(), "code": code, "account": owner.UserID}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
		got := sessionOf(t, s.step(app, "code", map[string]any{"state": state, "code": code, "account": owner.UserID}))
		if got.UserID != owner.UserID {
			t.Fatalf("the code opened %s, want the owner's %s", got.UserID, owner.UserID)
		}
		s.step(app, "code", map[string]any{"state": state, "code": code, "account": owner.UserID}).expect(t, http.StatusUnauthorized)
		if es, err := d.ListEmails(s.ctx, thief.UserID); err != nil || len(es) != 0 {
			t.Fatalf("the attacker's account still holds %v (%v)", es, err)
		}
		if es, err := d.ListEmails(s.ctx, owner.UserID); err != nil || len(es) != 1 || es[0].VerifiedMs == 0 {
			t.Fatalf("the owner's address: %v (%v)", es, err)
		}
		// The owner's work is where it was.
		if ms, err := d.ListUserMemberships(s.ctx, owner.UserID); err != nil || len(ms) != 1 {
			t.Fatalf("the owner's memberships: %v (%v)", ms, err)
		}
		// The address now opens the owner's account directly.
		s.clock.Advance(time.Second)
		if again := sessionOf(t, s.codeLogin(t, app, addr)); again.UserID != owner.UserID {
			t.Fatalf("the next code login opened %s", again.UserID)
		}
	})
}

// TestRegistrationsPerSource: one source registers a bounded number of
// accounts, whatever their addresses, so strangers cannot pile up
// accounts on an address nobody verified; the window passes.
func TestRegistrationsPerSource(t *testing.T) {
	const limit = 3
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.RegistrationsPerSource = limit })
	app := s.client(s.org("Home", s.user("Ann")))
	register := func(i int) response {
		return s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": "Squatter", "email": fmt.Sprintf("s%d@example.org", i)}))
	}
	for i := range limit {
		register(i).expect(t, http.StatusCreated)
	}
	res := register(limit).expect(t, http.StatusTooManyRequests, accounts.CodeTooManyRegistrations)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	s.clock.Advance(accounts.DefaultMailWindow + time.Second)
	register(limit+1).expect(t, http.StatusCreated)
}

// TestCodeLoginAccountMustMatch: when one registration holds the address,
// an "account" naming another is refused and the code is not used up.
func TestCodeLoginAccountMustMatch(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	app := s.client(s.org("Home", s.user("Admin")))
	only := s.register(t, app, "Only", "only@example.org", "the only passphrase")
	state := s.newState()
	s.step(app, "email", map[string]any{"email": "only@example.org", "state": state}).expect(t, http.StatusOK)
	code := s.waitCode(t, "only@example.org")
	s.step(app, "code", map[string]any{"state": state, "code": code, "account": "someone-else"}).expect(t, http.StatusConflict, accounts.CodeAccountNotCandidate)
	if got := sessionOf(t, s.step(app, "code", map[string]any{"state": state, "code": code, "account": only.UserID})); got.UserID != only.UserID {
		t.Fatalf("opened %s", got.UserID)
	}
}
