package portal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSessions: two browsers; the list shows both, this one marked;
// revoking the other (with the password) ends it; signing out
// everywhere ends every session.
func TestSessions(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	phone, laptop := s.browser(), s.browser()
	onPhone := phone.acctSignIn(ann)
	s.clock.Advance(time.Minute)
	onLaptop := laptop.acctSignIn(ann)

	p := laptop.acctSettingsPage()
	revokes := acctActions(p, "/revoke")
	if len(revokes) != 2 || strings.Count(p.text(), "This device") != 1 || !strings.Contains(p.text(), "This sign-in page") {
		t.Fatalf("the sessions:\n%s", p.text())
	}
	other := acctPath("/settings/sessions/" + onPhone.SessionID + "/revoke")
	if !strings.Contains(p.Body, `action="`+other+`"`) {
		t.Fatalf("no revoke form for the other session")
	}
	ask := laptop.submit(p, other, nil)
	if ask.Status != http.StatusOK || ask.form(other) == nil || !strings.Contains(ask.Body, `autocomplete="current-password"`) {
		t.Fatalf("revoke without proof: %d\n%s", ask.Status, ask.text())
	}
	if !s.acctSessionLive(onPhone) {
		t.Fatal("asking for the proof ended the session")
	}
	done := laptop.submit(ask, other, map[string]string{"password": testPassword})
	if done.Status != http.StatusSeeOther || !strings.Contains(laptop.follow(done).text(), "The session was signed out") {
		t.Fatalf("revoke: %d\n%s", done.Status, done.text())
	}
	if s.acctRefreshWorks(onPhone.Refresh) {
		t.Error("the revoked session still refreshes")
	}
	// (The stack's gateway is not fed the revocations, so the phone's
	// token lives on there until it expires; the session does not.)

	// A third session, then sign out everywhere.
	third := s.browser().acctSignIn(ann)
	p = laptop.acctSettingsPage()
	ask = laptop.submit(p, acctPath("/settings/sessions/revoke-all"), nil)
	if ask.Status != http.StatusOK {
		t.Fatalf("revoke all without proof: %d\n%s", ask.Status, ask.text())
	}
	all := laptop.submit(ask, acctPath("/settings/sessions/revoke-all"), map[string]string{"password": testPassword})
	if all.Status != http.StatusOK || !strings.Contains(all.text(), "You are signed out everywhere") {
		t.Fatalf("revoke all: %d\n%s", all.Status, all.text())
	}
	if !acctClearsCookies(all.Header) {
		t.Errorf("sign out everywhere did not clear the cookies: %q", all.Header.Values("Set-Cookie"))
	}
	for _, si := range []acctSession{onLaptop, third} {
		if s.acctRefreshWorks(si.Refresh) {
			t.Errorf("session %s still refreshes", si.SessionID)
		}
	}
	acctCheckLogs(t, s, testPassword, onPhone.Refresh, onLaptop.Refresh)
}

// acctSessionLive checks that the session still refreshes, without
// spending its refresh token: it asks the store.
func (s *stack) acctSessionLive(si acctSession) bool {
	sess, err := s.d.GetSession(s.ctx, si.SessionID)
	return err == nil && sess.Live(s.clock.Now().UnixMilli())
}

// acctClearsCookies reports whether the header expires the refresh cookie
// and a token cookie.
func acctClearsCookies(h http.Header) bool {
	refresh, token := false, false
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.MaxAge < 0 && strings.HasSuffix(c.Name, "refresh") {
			refresh = true
		}
		if c.MaxAge < 0 && strings.HasSuffix(c.Name, "-get") {
			token = true
		}
	}
	return refresh && token
}

// TestSignOut: the sign-out button ends the session and clears the
// cookies, even once the token has expired.
func TestSignOut(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	si := b.acctSignIn(ann)
	p := b.acctSettingsPage()
	if p.form(acctPath("/logout")) == nil {
		t.Fatal("no sign-out form on the account page")
	}
	s.clock.Advance(16 * time.Minute)
	if b.get(acctPath("/settings")).Status == http.StatusOK {
		t.Fatal("the expired token still opens the account page")
	}
	out := b.submit(p, acctPath("/logout"), nil)
	if out.Status != http.StatusOK || !strings.Contains(out.text(), "You are signed out") {
		t.Fatalf("sign out: %d\n%s", out.Status, out.text())
	}
	if !acctClearsCookies(out.Header) {
		t.Errorf("sign out did not clear the cookies: %q", out.Header.Values("Set-Cookie"))
	}
	if s.acctSessionLive(si) || s.acctRefreshWorks(si.Refresh) {
		t.Error("the session lives on after sign-out")
	}
	if b.acctCookie("/accounts/v1/ui/logout", "refresh") != nil {
		t.Error("the browser kept its refresh cookie")
	}

	// Signing out again, without a session: the same page, no error.
	again := b.submit(p, acctPath("/logout"), nil)
	if again.Status != http.StatusOK {
		t.Errorf("a second sign-out: %d", again.Status)
	}

	// A return_to the policy accepts is where the browser goes; another
	// one falls back.
	b2 := s.browser()
	b2.acctSignIn(ann)
	p2 := b2.acctSettingsPage()
	f := p2.form(acctPath("/logout"))
	f.Set("return_to", "/demo/v1/hello")
	if res := b2.do(http.MethodPost, acctPath("/logout"), f); res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/demo/v1/hello" {
		t.Errorf("return_to: %d %q", res.Status, res.Header.Get("Location"))
	}
	b3 := s.browser()
	b3.acctSignIn(ann)
	f = b3.acctSettingsPage().form(acctPath("/logout"))
	f.Set("return_to", "//evil.example/")
	if res := b3.do(http.MethodPost, acctPath("/logout"), f); res.Status != http.StatusSeeOther || strings.Contains(res.Header.Get("Location"), "evil") {
		t.Errorf("hostile return_to: %d %q", res.Status, res.Header.Get("Location"))
	}
}
