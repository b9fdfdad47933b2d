package portal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
)

// An attacker's review of "Sign in with …": each test below is a way in
// that was tried against the real pages, a mockoidc provider and SQLite.

// TestRelyingPartyPreHijackByUnprovenSignUp: an attacker signs up through
// a provider that creates accounts, giving the victim's address
// unverified (email_verified false). The account holds the address as a
// never-verified registration; when the victim later proves the mailbox
// with a login code, that first proof resets the account (password, TOTP,
// sessions), and must also unlink the attacker's identity: otherwise the
// attacker signs in to the account the victim now uses.
func TestRelyingPartyPreHijackByUnprovenSignUp(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	const victim = "victim@example.com"
	attacker := &idpUser{sub: "attacker-prehijack", email: victim, verified: false}
	p := s.browser().rpSignIn(idp, provNoLink, attacker, "/demo/v1/app")
	expectSession(t, "attacker's sign-up", p, "/demo/v1/app")
	planted := s.identityOf(idp, attacker.sub)
	if planted == "" {
		t.Fatal("no account was created: the case proves nothing")
	}
	// The victim signs in with a code mailed to their address: the
	// never-verified registration is the one it opens, and is reset.
	s.browser().acctSignInByCode(victim)
	if got := s.userByEmail(victim); got != planted {
		t.Fatalf("the code opened %q, expected the planted account %q", got, planted)
	}
	if got := s.identityOf(idp, attacker.sub); got != "" {
		t.Errorf("the attacker's identity still opens the account %s after the mailbox was proved", got)
	}
	p = s.browser().rpSignIn(idp, provNoLink, attacker, "/demo/v1/app")
	expectNoSession(t, "attacker again", p)
	if p.Status != http.StatusConflict {
		t.Errorf("attacker again: status %d, expected 409: %s", p.Status, p.text())
	}
	if !strings.Contains(p.text(), "An account already uses this address") {
		t.Errorf("attacker again: %s", p.text())
	}
	var n int
	must(t, s.d.SQL().QueryRowContext(s.ctx, "SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?", planted).Scan(&n))
	if n != 0 {
		t.Errorf("%d identities left on the proved account", n)
	}
	_ = db.RoleUser
}
