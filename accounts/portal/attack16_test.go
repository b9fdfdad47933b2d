package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/policy"
)

// TestAttackStepUpRemovalWithoutStepUpCookie: someone who stole a
// browser's cookies (or a browser that lost one) sends the account page's
// "Remove address" form without the DELETE step-up cookie. The page calls
// the API in-process with the page's own claims, so the gateway's step-up
// never sees the removal: the page itself must notice that the user's
// policies keep that route under a step-up, and remove nothing without the
// fresh proof. Dropping a cookie is all it takes, so a page that asks the
// proof only of a browser holding the step-up cookie asks it of nobody who
// matters.
func TestAttackStepUpRemovalWithoutStepUpCookie(t *testing.T) {
	pol, err := policy.Parse("step-up.json", []byte(stepUpPolicyJSON))
	must(t, err)
	set, err := policy.NewSet(pol)
	must(t, err)
	s := newStack(t, stackOptions{accounts: func(c *accounts.Config) { c.Policies = func() *policy.Set { return set } }})
	ann := s.user("Ann")
	b := s.browser()
	b.acctSignIn(ann)
	if b.acctCookie("/", "authgw-delete-stepup") == nil {
		t.Fatal("no DELETE step-up cookie after the sign-in")
	}
	extra := db.Email{ID: s.id(), UserID: ann.ID, Email: "ann.old@example.org", CreatedMs: s.clock.Now().UnixMilli()}
	must(t, s.d.AddEmail(s.ctx, extra))
	settings := b.acctSettingsPage()

	// The thief's jar: every cookie but the step-up ones.
	u, _ := url.Parse(s.srv.URL + "/")
	b.client.Jar.SetCookies(u, []*http.Cookie{
		{Name: "authgw-delete-stepup", Value: "", Path: "/", MaxAge: -1},
		{Name: "authgw-get-stepup", Value: "", Path: "/", MaxAge: -1},
	})
	if b.acctCookie("/", "authgw-delete-stepup") != nil {
		t.Fatal("the step-up cookie is still in the jar")
	}
	removeAction := acctPath("/settings/emails/" + extra.ID + "/remove")
	p := b.submit(settings, removeAction, nil)
	if _, err := s.d.GetEmail(s.ctx, ann.ID, extra.ID); err != nil {
		t.Fatalf("the address was removed with no proof, the step-up cookie dropped (answer %d %q): %v", p.Status, p.Header.Get("Location"), err)
	}
	if p.Status >= 500 {
		t.Fatalf("the removal without the step-up cookie: %d\n%s", p.Status, p.Body)
	}
	if p.Status == http.StatusSeeOther && !strings.HasPrefix(p.Header.Get("Location"), portal.LoginPath) {
		t.Fatalf("the removal without the step-up cookie went to %q, want the sign-in page", p.Header.Get("Location"))
	}

	// A fresh sign-in mends the browser: the proof is asked, and works.
	b.acctSignIn(ann)
	settings = b.acctSettingsPage()
	ask := b.submit(settings, removeAction, nil)
	if ask.Status != http.StatusOK || !strings.Contains(ask.text(), "Confirm it is you to remove the address") {
		t.Fatalf("remove after a fresh sign-in: %d\n%s", ask.Status, ask.Body)
	}
	gone := b.submit(ask, removeAction, map[string]string{"password": testPassword})
	if gone.Status != http.StatusSeeOther {
		t.Fatalf("remove with the password: %d\n%s", gone.Status, gone.Body)
	}
	if _, err := s.d.GetEmail(s.ctx, ann.ID, extra.ID); err == nil {
		t.Fatal("the address is still there after the proof")
	}
}

// TestAttackRemovalWithoutStepUpPolicy: where no policy keeps removing an
// address under a step-up, the page removes it as before, with no proof
// and no step-up cookie (the fix above must not lock everyone out).
func TestAttackRemovalWithoutStepUpPolicy(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann")
	b := s.browser()
	b.acctSignIn(ann)
	if b.acctCookie("/", "-stepup") != nil {
		t.Fatal("a step-up cookie without a step-up policy")
	}
	extra := db.Email{ID: s.id(), UserID: ann.ID, Email: "ann.old@example.org", CreatedMs: s.clock.Now().UnixMilli()}
	must(t, s.d.AddEmail(s.ctx, extra))
	p := b.submit(b.acctSettingsPage(), acctPath("/settings/emails/"+extra.ID+"/remove"), nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("remove without a step-up policy: %d\n%s", p.Status, p.Body)
	}
	if _, err := s.d.GetEmail(s.ctx, ann.ID, extra.ID); err == nil {
		t.Fatal("the address is still there")
	}
}

// TestAttackStepUpPageSpellings: a page under a step-up (the password
// page, GET, in stepUpPolicyJSON) is not reached with the ordinary GET
// token through another spelling of its path or through HEAD (which
// reads GET's cookie): each is refused or sent to the re-authentication
// or sign-in page, never answered 200. With the discharge it opens (the
// control).
func TestAttackStepUpPageSpellings(t *testing.T) {
	pol, err := policy.Parse("step-up.json", []byte(stepUpPolicyJSON))
	must(t, err)
	set, err := policy.NewSet(pol)
	must(t, err)
	s := newStack(t, stackOptions{accounts: func(c *accounts.Config) { c.Policies = func() *policy.Set { return set } }})
	ann := s.user("Ann")
	b := s.browser()
	b.acctSignIn(ann)
	target := acctPath("/settings/password")
	for _, spelling := range []string{
		target, target + "/", acctPath("/settings/%70assword"), acctPath("/settings/passwor%64"), acctPath("/settings/./password"),
		acctPath("/settings//password"), acctPath("/x/../settings/password"), target + "?x=1", target + ";x", acctPath("/Settings/password"),
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			p := b.do(method, spelling, nil)
			if p.Status == http.StatusOK || p.Status >= 500 {
				t.Errorf("%s %s without a discharge: %d", method, spelling, p.Status)
			}
		}
	}
	// The control: with the discharge, the page opens.
	ask := b.follow(b.get(target))
	done := b.submit(ask, portal.StepUpPath, map[string]string{"password": testPassword})
	if done.Status != http.StatusSeeOther {
		t.Fatalf("the step-up: %d\n%s", done.Status, done.Body)
	}
	if p := b.get(target); p.Status != http.StatusOK {
		t.Fatalf("the password page with the discharge: %d", p.Status)
	}
	if p := b.do(http.MethodHead, target, nil); p.Status != http.StatusOK {
		t.Fatalf("HEAD the password page with the discharge: %d", p.Status)
	}
}
