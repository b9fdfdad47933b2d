package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
)

const enrolPath = portal.Prefix + "/login/totp-enrol"

// TestSigninEnrolsRequiredFactor: a user of whom a second factor is
// required and who has none is led, after the password, through TOTP
// set-up (QR code, key, first code) before the sign-in ends; the
// recovery codes are shown once, with the way on to return_to. Until the
// code is right there is no session. The next sign-in asks for the code.
func TestSigninEnrolsRequiredFactor(t *testing.T) {
	s := newStack(t, stackOptions{accounts: func(c *accounts.Config) { c.RequireSecondFactorRoles = []string{db.RoleUser} }})
	ann := s.user("Ann Smith")
	b := s.browser()
	p := b.passwordSignIn("/demo/v1/x", addressOf(ann.Name), testPassword)
	f := p.form(enrolPath)
	if p.Status != http.StatusOK || f == nil || !strings.Contains(p.Body, "<svg") {
		t.Fatalf("no enrolment page: status %d\n%s", p.Status, p.Body)
	}
	expectSafetyHeaders(t, "enrol", p)
	expectNoSession(t, "enrol page", p)
	if n := strings.Count(p.Body, "<h1"); n != 1 || !strings.Contains(p.Body, `<label class="label" for="field-totp">`) ||
		!strings.Contains(p.Body, `autocomplete="one-time-code"`) {
		t.Errorf("the page has %d h1, or the code field no label or autocomplete", n)
	}
	u, err := url.Parse(f.Get("uri"))
	if err != nil || f.Get("code") == "" || f.Get("state") == "" || f.Get("return_to") != "/demo/v1/x" {
		t.Fatalf("enrolment form %v", f)
	}
	secret := u.Query().Get("secret")
	if secret == "" || !strings.Contains(strings.ReplaceAll(p.text(), " ", ""), secret) {
		t.Fatalf("the key %q is not shown to type in", secret)
	}

	empty := b.submit(p, enrolPath, map[string]string{"totp": ""})
	if empty.Status != http.StatusUnprocessableEntity || !strings.Contains(empty.text(), "Enter the code from the app") {
		t.Fatalf("no code: status %d: %s", empty.Status, empty.text())
	}
	if s.totpCode(secret) == "000000" {
		t.Skip("the right code is 000000")
	}
	wrong := b.submit(empty, enrolPath, map[string]string{"totp": "000000"})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The code is not right") || wrong.form(enrolPath).Get("uri") != f.Get("uri") {
		t.Fatalf("wrong code: status %d: %s", wrong.Status, wrong.text())
	}
	expectNoSession(t, "wrong code", wrong)
	// A key of the visitor's choosing is no key of the account's.
	forged := wrong.form(enrolPath)
	forged.Set("uri", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP")
	forged.Set("totp", s.totpCode("JBSWY3DPEHPK3PXP"))
	if p := b.do(http.MethodPost, enrolPath, forged); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a forged key's code: status %d: %s", p.Status, p.text())
	}

	done := b.submit(wrong, enrolPath, map[string]string{"totp": s.totpCode(secret)})
	if done.Status != http.StatusOK || strings.Count(done.Body, "<li><code>") != 10 || !strings.Contains(done.Body, `href="/demo/v1/x"`) {
		t.Fatalf("after the code: status %d\n%s", done.Status, done.Body)
	}
	expectSafetyHeaders(t, "recovery codes", done)
	if c := setCookie(done, "authgw-get"); c == nil || c.Value == "" {
		t.Error("no token cookie after the enrolment")
	}
	if c := setCookie(done, "authgw-refresh"); c == nil || c.Value == "" {
		t.Error("no refresh cookie after the enrolment")
	}

	// The factor cannot be turned off while it is required.
	s.clock.Advance(time.Second)
	off := b.get(acctPath("/settings/totp/remove"))
	kept := b.submit(off, acctPath("/settings/totp/remove"), map[string]string{"password": testPassword})
	if kept.Status != http.StatusSeeOther || !strings.Contains(b.follow(kept).text(), "Two-step verification is still on") {
		t.Fatalf("remove a required factor: %d\n%s", kept.Status, kept.text())
	}
	if u, err := s.d.GetUser(s.ctx, ann.ID); err != nil || !u.TOTPEnabled {
		t.Fatalf("TOTP after the refused removal: %+v, %v", u, err)
	}

	s.clock.Advance(31 * time.Second)
	next := s.browser().passwordSignIn("/demo/v1/x", addressOf(ann.Name), testPassword)
	if next.Status != http.StatusOK || next.form(totpPath) == nil {
		t.Fatalf("next sign-in: no TOTP page: status %d\n%s", next.Status, next.Body)
	}
}
