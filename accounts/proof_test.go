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

// TestAccountChangesNeedProof: a stolen token alone cannot change what
// protects the account: adding an address, enrolling TOTP, turning it
// off and changing the password each need a fresh proof of the user in
// the request, checked like a login's.
func TestAccountChangesNeedProof(t *testing.T) {
	tests := []struct {
		name         string
		whenMethod   string
		whenPath     string
		whenBody     map[string]any
		expectStatus int
		expectCode   string
	}{
		{name: "add an address without a proof", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody: map[string]any{"type": "emails", "email": "thief@evil.example"}, expectStatus: 400, expectCode: accounts.CodeInvalidData},
		{name: "add an address with a wrong password", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody: map[string]any{"type": "emails", "email": "thief@evil.example", "currentPassword": "a guess"}, expectStatus: 403, expectCode: accounts.CodeIncorrectPassword},
		{name: "add an address with a wrong TOTP code (TOTP off)", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody: map[string]any{"type": "emails", "email": "thief@evil.example", "totp": "123456"}, expectStatus: 403, expectCode: accounts.CodeTOTPInvalid},
		{name: "add an address with a made-up login code", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody:     map[string]any{"type": "emails", "email": "thief@evil.example", "loginState": strings.Repeat("a", 32), "loginCode": strings.Repeat("b", 26)},
			expectStatus: 403, expectCode: accounts.CodeCodeInvalid},
		{name: "a login code without its state", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody: map[string]any{"type": "emails", "email": "thief@evil.example", "loginCode": strings.Repeat("b", 26)}, expectStatus: 400, expectCode: accounts.CodeInvalidData},
		{name: "enrol TOTP without a proof", whenMethod: "POST", whenPath: "/users/current/totp",
			whenBody: map[string]any{}, expectStatus: 400, expectCode: accounts.CodeInvalidData},
		{name: "enrol TOTP with a wrong password", whenMethod: "POST", whenPath: "/users/current/totp",
			whenBody: map[string]any{"currentPassword": "a guess"}, expectStatus: 403, expectCode: accounts.CodeIncorrectPassword},
		{name: "change the password without a proof", whenMethod: "POST", whenPath: "/users/current/change-password",
			whenBody: map[string]any{"newPassword": "the thief's own passphrase"}, expectStatus: 400, expectCode: accounts.CodeInvalidData},
		{name: "add an address with the password", whenMethod: "POST", whenPath: "/users/current/emails",
			whenBody: map[string]any{"type": "emails", "email": "second@example.org", "currentPassword": testPassword}, expectStatus: 201},
		{name: "enrol TOTP with the password", whenMethod: "POST", whenPath: "/users/current/totp",
			whenBody: map[string]any{"currentPassword": testPassword}, expectStatus: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, dbtest.SQLite(t), nil)
			ann := s.user("Ann")
			app := s.client(s.org("Home", ann))
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			s.withMacaroon(app, sess, tt.whenMethod, tt.whenPath, tt.whenBody).expect(t, tt.expectStatus, tt.expectCode)
			es, err := s.d.ListEmails(s.ctx, ann.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				if e.Email == "thief@evil.example" {
					t.Fatal("the thief's address was added")
				}
			}
			if _, err := s.d.GetTOTPSecret(s.ctx, ann.ID); (err == nil) != (tt.expectStatus == 201 && strings.HasSuffix(tt.whenPath, "/totp")) {
				t.Fatalf("TOTP secret stored: %v", err)
			}
		})
	}
}

// TestLoginCodeOnlyToVerified: a login code goes only to a verified
// address, so an address added to an account (by a thief with a token,
// or by a sysadmin) opens nothing until its owner proves it. The email
// step answers the same either way.
func TestLoginCodeOnlyToVerified(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		s.unverifiedAddress(t, ann, "thief@evil.example")

		answers := map[string]string{}
		for _, addr := range []string{"thief@evil.example", "ann@example.com", "nobody@example.com"} {
			res := s.step(app, "email", map[string]any{"email": addr, "state": s.newState()}).expect(t, http.StatusOK)
			answers[addr] = string(res.Raw[:strings.Index(string(res.Raw), `"state"`)])
		}
		if answers["thief@evil.example"] != answers["ann@example.com"] || answers["nobody@example.com"] != answers["ann@example.com"] {
			t.Fatalf("the email step's answers differ: %v", answers)
		}
		s.waitCode(t, "ann@example.com")
		time.Sleep(200 * time.Millisecond) // the background mails are done
		if got := s.mailTo(t, "thief@evil.example"); len(got) != 0 {
			t.Fatalf("%d messages to the unverified address: %+v", len(got), got)
		}
	})
}

// TestOwnerNotified: the owner is told on their verified addresses when
// an address is added, TOTP turned on or off, or the password changed;
// never on an unverified address.
func TestOwnerNotified(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	s.unverifiedAddress(t, ann, "pending@example.org")
	app := s.client(s.org("Home", ann))
	sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	expectNotice := func(t *testing.T, subject string) {
		t.Helper()
		for _, m := range s.mailTo(t, "ann@example.com") {
			if m.subject == subject {
				return
			}
		}
		t.Fatalf("no notice %q to the verified address", subject)
	}

	s.withMacaroon(app, sess, "POST", "/users/current/emails", map[string]any{"email": "new@example.org", "currentPassword": testPassword}).expect(t, http.StatusCreated)
	expectNotice(t, "An email address was added to your account")
	s.clock.Advance(time.Second)
	secret := s.enrolTOTPFor(t, app, sess, true)
	expectNotice(t, "Two-factor authentication was turned on")
	s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"totp": totpAt(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
	expectNotice(t, "Two-factor authentication was turned off")
	s.withMacaroon(app, sess, "POST", "/users/current/change-password", map[string]any{"currentPassword": testPassword, "newPassword": "a brand new passphrase"}).expect(t, http.StatusOK)
	expectNotice(t, "Your password was changed")
	for _, m := range s.mailTo(t, "pending@example.org") {
		t.Errorf("a notice to an unverified address: %q", m.subject)
	}
	for _, m := range s.mailTo(t, "new@example.org") {
		if m.subject != "Verify your email address" {
			t.Errorf("the new address got %q", m.subject)
		}
	}
}

// TestPasswordlessProof: a user without a password proves themselves with
// a login code mailed to a verified address (loginState, loginCode); the
// code works once and only for its user.
func TestPasswordlessProof(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	bob := s.user("Bob")
	if err := s.d.SetPasswordHash(s.ctx, ann.ID, "", s.clock.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	app := s.client(s.org("Home", ann))
	loginByCode := func(addr string) (session, string, string) {
		t.Helper()
		state := s.newState()
		s.step(app, "email", map[string]any{"email": addr, "state": state}).expect(t, http.StatusOK)
		sess := sessionOf(t, s.step(app, "code", map[string]any{"state": state, "code": s.waitCode(t, addr)}))
		s.clock.Advance(time.Second)
		state = s.newState()
		s.step(app, "email", map[string]any{"email": addr, "state": state}).expect(t, http.StatusOK)
		return sess, state, s.waitCode(t, addr)
	}
	sess, state, code := loginByCode("ann@example.com")
	_, bobState, bobCode := loginByCode("bob@example.com")
	add := func(addr, state, code string) response {
		return s.withMacaroon(app, sess, "POST", "/users/current/emails", map[string]any{"email": addr, "loginState": state, "loginCode": code})
	}
	add("a@example.org", state, "").expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
	add("a@example.org", bobState, bobCode).expect(t, http.StatusForbidden, accounts.CodeCodeInvalid)
	add("a@example.org", s.newState(), code).expect(t, http.StatusForbidden, accounts.CodeCodeInvalid)
	add("a@example.org", state, code).expect(t, http.StatusCreated)
	add("b@example.org", state, code).expect(t, http.StatusForbidden, accounts.CodeCodeInvalid)
	_ = bob
}
