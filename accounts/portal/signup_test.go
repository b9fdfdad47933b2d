package portal_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
)

// testPublicURL is the gateway's origin in the mails' links; the tests
// open the links' paths on the stack.
const testPublicURL = "http://gateway.test"

// withPublicURL sets the accounts service's public URL, so that mails
// carry links to the pages.
func withPublicURL(c *accounts.Config) { c.PublicURL = testPublicURL }

// linkIn returns the path and query of the first link to path in mail
// (decoded from quoted-printable), failing the test when there is none.
func (s *stack) linkIn(mail, path string) string {
	s.t.Helper()
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(mail)))
	must(s.t, err)
	m := regexp.MustCompile(regexp.QuoteMeta(testPublicURL+path) + `\?\S+`).FindString(string(decoded))
	if m == "" {
		s.t.Fatalf("no link to %s in:\n%s", path, decoded)
	}
	return strings.TrimPrefix(m, testPublicURL)
}

// TestSignupAndVerify: sign-up makes the account and its session and
// says to check the mail; the mailed link shows a button and spends
// nothing until it is pressed; the address is then verified, once.
func TestSignupAndVerify(t *testing.T) {
	s := newStack(t, stackOptions{accounts: withPublicURL})
	b := s.browser()
	form := b.get(signupPath + "?return_to=%2Fdemo%2Fv1%2Fwelcome")
	expectSafetyHeaders(t, "sign-up", form)
	done := b.submit(form, signupPath, map[string]string{"name": "Dee Green", "email": "dee@example.com", "password": "a long and unusual passphrase"})
	if done.Status != http.StatusOK || !strings.Contains(done.text(), "Check your email") || !strings.Contains(done.text(), "20 minutes") {
		t.Fatalf("status %d: %s", done.Status, done.text())
	}
	expectSafetyHeaders(t, "sign-up done", done)
	if !strings.Contains(done.text(), "verify") {
		t.Errorf("the page does not say to verify the address: %s", done.text())
	}
	// The browser is not signed in, and the session the API made for the
	// registration is ended.
	expectNoSession(t, "sign-up", done)
	if sessions, err := s.d.ListUserSessions(s.ctx, userByAddress(t, s, "dee@example.com")); err != nil || len(sessions) != 1 || sessions[0].InvalidatedMs == 0 {
		t.Errorf("the sign-up's session: %+v, %v; expected one, ended", sessions, err)
	}
	if !strings.Contains(done.Body, `href="/accounts/v1/ui/login?return_to=%2Fdemo%2Fv1%2Fwelcome"`) {
		t.Errorf("no link to sign in with return_to:\n%s", done.Body)
	}

	link := s.linkIn(s.mailTo("dee@example.com"), "/accounts/v1/ui/verify")
	scanner := s.browser()
	for range 2 { // a mail scanner's prefetch spends nothing
		p := scanner.get(link)
		if p.Status != http.StatusOK || p.form(verifyPath) == nil {
			t.Fatalf("verify link: status %d\n%s", p.Status, p.Body)
		}
	}
	page := s.browser()
	vp := page.get(link)
	expectSafetyHeaders(t, "verify", vp)
	if !strings.Contains(vp.text(), "Verify my address") {
		t.Errorf("no button: %s", vp.text())
	}
	ok := page.submit(vp, verifyPath, nil)
	if ok.Status != http.StatusOK || !strings.Contains(ok.text(), "Your email address is verified") {
		t.Fatalf("verify: status %d: %s", ok.Status, ok.text())
	}
	again := page.submit(vp, verifyPath, nil)
	if again.Status != http.StatusGone || !strings.Contains(again.text(), "This link has expired") {
		t.Errorf("verify twice: status %d: %s", again.Status, again.text())
	}
	wrong := page.submit(vp, verifyPath, map[string]string{"code": "aaaaaaaaaaaaaaaaaaaaaaaaaa"})
	if wrong.Status != http.StatusGone {
		t.Errorf("wrong code: status %d", wrong.Status)
	}
}

// TestSignupRefusals: the API's obstructions are shown beside their
// fields, with what was typed kept (never the password).
func TestSignupRefusals(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	for _, tc := range []struct {
		name, field, expect string
		given               map[string]string
		status              int
	}{
		{"weak password", "password", "Choose a stronger password", map[string]string{"name": "Eve Long", "email": "eve@example.com", "password": "password"}, http.StatusUnprocessableEntity},
		{"taken address", "email", "exists already", map[string]string{"name": "Ann Again", "email": addressOf(ann.Name), "password": "a long and unusual passphrase"}, http.StatusConflict},
		{"not an address", "email", "like name@example.com", map[string]string{"name": "Fay", "email": "fay at example", "password": "a long and unusual passphrase"}, http.StatusUnprocessableEntity},
		{"no name", "name", "Enter your name", map[string]string{"name": "", "email": "gus@example.com", "password": "a long and unusual passphrase"}, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			p := b.submit(b.get(signupPath), signupPath, tc.given)
			if p.Status != tc.status || !strings.Contains(p.text(), tc.expect) {
				t.Fatalf("status %d: %s", p.Status, p.text())
			}
			if !strings.Contains(p.Body, `aria-describedby="`) || !strings.Contains(p.Body, `id="field-`+tc.field+`-error"`) {
				t.Errorf("the error is not beside %s", tc.field)
			}
			f := p.form(signupPath)
			if f.Get("password") != "" || f.Get("email") != tc.given["email"] || f.Get("name") != tc.given["name"] {
				t.Errorf("form values %v", f)
			}
			expectNoSession(t, tc.name, p)
		})
	}
}

// TestForgotAndRecover: the forgot page says the same for known and
// unknown addresses; the mailed link sets a new password (refusing a weak
// one beside its field, the code kept), ends every session, and works
// once; the new password signs in, the old does not.
func TestForgotAndRecover(t *testing.T) {
	s := newStack(t, stackOptions{accounts: withPublicURL})
	ann := s.user("Ann Smith")
	old := s.browser()
	expectSession(t, "before", old.passwordSignIn("", addressOf(ann.Name), testPassword), "/")

	known, unknown := s.browser(), s.browser()
	kp := known.submit(known.get(forgotPath), forgotPath, map[string]string{"email": addressOf(ann.Name)})
	up := unknown.submit(unknown.get(forgotPath), forgotPath, map[string]string{"email": "nobody.here@example.com"})
	if kp.Status != http.StatusOK || kp.Status != up.Status || kp.text() != up.text() {
		t.Fatalf("known: %d %s\nunknown: %d %s", kp.Status, kp.text(), up.Status, up.text())
	}
	if !strings.Contains(kp.text(), "20 minutes") {
		t.Errorf("the lifetime is not said in words: %s", kp.text())
	}
	expectSafetyHeaders(t, "forgot", kp)

	link := s.linkIn(s.mailTo(addressOf(ann.Name)), "/accounts/v1/ui/recover")
	b := s.browser()
	form := b.get(link)
	if form.Status != http.StatusOK || form.form(recoverURL) == nil {
		t.Fatalf("recover page: %d\n%s", form.Status, form.Body)
	}
	expectSafetyHeaders(t, "recover", form)
	weak := b.submit(form, recoverURL, map[string]string{"newPassword": "password"})
	if weak.Status != http.StatusUnprocessableEntity || !strings.Contains(weak.text(), "Choose a stronger password") ||
		weak.form(recoverURL).Get("code") != form.form(recoverURL).Get("code") {
		t.Fatalf("weak password: %d %s", weak.Status, weak.text())
	}
	const newPassword = "an entirely new passphrase"
	done := b.submit(weak, recoverURL, map[string]string{"newPassword": newPassword})
	if done.Status != http.StatusOK || !strings.Contains(done.text(), "Your password is changed") || !strings.Contains(done.text(), "signed out everywhere") {
		t.Fatalf("reset: %d %s", done.Status, done.text())
	}
	expectNoSession(t, "reset", done)
	if !strings.Contains(done.Body, `href="/accounts/v1/ui/login"`) {
		t.Errorf("no link to sign in")
	}

	again := b.submit(form, recoverURL, map[string]string{"newPassword": "yet another new passphrase"})
	if again.Status != http.StatusGone || !strings.Contains(again.text(), "20 minutes") {
		t.Errorf("the link worked twice: %d %s", again.Status, again.text())
	}
	// The old browser's session is over: its refresh cookie no longer
	// signs it in silently.
	if p := old.get(loginPath); p.Status != http.StatusOK || p.form(loginPath) == nil {
		t.Errorf("the old session still refreshes: status %d", p.Status)
	}
	if p := s.browser().passwordSignIn("", addressOf(ann.Name), testPassword); p.Status != http.StatusUnprocessableEntity {
		t.Errorf("the old password still works: %d", p.Status)
	}
	expectSession(t, "new password", s.browser().passwordSignIn("", addressOf(ann.Name), newPassword), "/")

	t.Run("a TOTP user is still asked for TOTP", func(t *testing.T) {
		bob := s.user("Bob Jones")
		s.enrolTOTP(bob)
		b := s.browser()
		b.submit(b.get(forgotPath), forgotPath, map[string]string{"email": addressOf(bob.Name)})
		link := s.linkIn(s.mailTo(addressOf(bob.Name)), "/accounts/v1/ui/recover")
		b.submit(b.get(link), recoverURL, map[string]string{"newPassword": newPassword})
		p := s.browser().passwordSignIn("", addressOf(bob.Name), newPassword)
		if p.Status != http.StatusOK || p.form(totpPath) == nil {
			t.Errorf("no TOTP page: %d %s", p.Status, p.text())
		}
	})
}

// userByAddress returns the ID of the user of addr.
func userByAddress(t *testing.T, s *stack, addr string) string {
	t.Helper()
	hs, err := s.d.ListUnprovenHolders(s.ctx, addr)
	must(t, err)
	if len(hs) != 1 {
		t.Fatalf("%d accounts hold %s", len(hs), addr)
	}
	return hs[0].User.ID
}
