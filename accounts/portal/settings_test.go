package portal_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
)

// TestSettingsPage: the signed-in account page, with the safety headers
// and no script; / leads to it; without a session it is refused.
func TestSettingsPage(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	b.acctSignIn(ann)
	p := b.acctSettingsPage()
	csp := p.Header.Get("Content-Security-Policy")
	if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") || p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: CSP %q, Cache-Control %q", csp, p.Header.Get("Cache-Control"))
	}
	text := p.text()
	for _, want := range []string{"Ann Smith", "ann.smith@example.com", "Verified", "This device", "Sign out everywhere", "Set up two-step verification"} {
		if !strings.Contains(text+p.Body, want) {
			t.Errorf("the page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(strings.ToLower(p.Body), "<script") || strings.Contains(p.Body, "style=") {
		t.Error("the page has a script or a style attribute")
	}
	if n := strings.Count(p.Body, "<h1"); n != 1 {
		t.Errorf("%d h1", n)
	}
	home := b.get(portal.Prefix)
	if home.Status != http.StatusSeeOther || home.Header.Get("Location") != acctPath("/settings") {
		t.Errorf("GET %s: %d %q", portal.Prefix, home.Status, home.Header.Get("Location"))
	}
	// With the slash (which the gateway refuses as a path with an empty
	// segment), the portal itself answers the same.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, acctPath("/"), nil)
	s.portal.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != acctPath("/settings") {
		t.Errorf("GET /: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	anon := s.browser().get(acctPath("/settings"))
	if anon.Status == http.StatusOK || anon.Status >= 500 {
		t.Errorf("without a session: %d", anon.Status)
	}
}

// TestChangeName: the name form, then the one-time notice.
func TestChangeName(t *testing.T) {
	s := newStack(t, stackOptions{})
	b := s.browser()
	b.acctSignIn(s.user("Ann Smith"))
	res := b.submit(b.acctSettingsPage(), acctPath("/settings/name"), map[string]string{"name": "Ann Jones"})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("name: %d\n%s", res.Status, res.Body)
	}
	p := b.follow(res)
	if !strings.Contains(p.text(), "Your name was changed") || p.form(acctPath("/settings/name")).Get("name") != "Ann Jones" {
		t.Errorf("after the change:\n%s", p.text())
	}
	empty := b.submit(b.acctSettingsPage(), acctPath("/settings/name"), map[string]string{"name": "  "})
	if empty.Status != http.StatusUnprocessableEntity || !strings.Contains(empty.text(), "Enter your name") || !strings.Contains(empty.Body, `aria-invalid="true"`) {
		t.Errorf("empty name: %d\n%s", empty.Status, empty.text())
	}
	// A notice is only one of the fixed list.
	if p := b.get(acctPath("/settings?done=%3Cb%3Ehacked")); strings.Contains(p.Body, "hacked") {
		t.Error("free text from the query reached the page")
	}
}

var (
	acctCodeRE      = regexp.MustCompile(`(?m)^\s*([a-z2-7]{20,40})\s*$`)
	acctLoginCodeRE = regexp.MustCompile(`login code is: ([a-z2-7]{20,40})`)
)

var acctFormAction = regexp.MustCompile(`action="(/accounts/v1/ui/settings/[^"]+)"`)

// acctActions returns the form actions of the page that end in suffix.
func acctActions(p *page, suffix string) []string {
	var out []string
	for _, m := range acctFormAction.FindAllStringSubmatch(p.Body, -1) {
		if strings.HasSuffix(m[1], suffix) {
			out = append(out, m[1])
		}
	}
	return out
}

// TestAddresses: add (with the password), verify with the mailed code,
// resend, remove; the only address cannot be removed.
func TestAddresses(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	b.acctSignIn(ann)

	confirm := b.submit(b.acctSettingsPage(), acctPath("/settings/emails"), map[string]string{"email": "ann.work@example.org"})
	if confirm.Status != http.StatusOK || confirm.form(acctPath("/settings/emails")) == nil || !strings.Contains(confirm.Body, `autocomplete="current-password"`) {
		t.Fatalf("add without proof: %d\n%s", confirm.Status, confirm.text())
	}
	wrong := b.submit(confirm, acctPath("/settings/emails"), map[string]string{"password": "not my password"})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The password is not right") {
		t.Fatalf("wrong password: %d\n%s", wrong.Status, wrong.text())
	}
	added := b.submit(wrong, acctPath("/settings/emails"), map[string]string{"password": testPassword})
	if added.Status != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", added.Status, added.text())
	}
	p := b.follow(added)
	if !strings.Contains(p.text(), "ann.work@example.org Not verified") {
		t.Fatalf("the new address:\n%s", p.text())
	}
	code := s.codeIn(s.mailTo("ann.work@example.org"), acctCodeRE)
	verify, resend := acctActions(p, "/verify"), acctActions(p, "/resend")
	if len(verify) != 1 || len(resend) != 1 {
		t.Fatalf("verify %q, resend %q", verify, resend)
	}
	bad := b.submit(p, verify[0], map[string]string{"code": "aaaaaaaaaaaaaaaaaaaaaaaaaa"})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.text(), "The code is not right") || !strings.Contains(bad.Body, `aria-invalid="true"`) {
		t.Fatalf("wrong code: %d\n%s", bad.Status, bad.text())
	}
	// Resend: a new code; the old one no longer works. (The mail files
	// are named by the stack's clock.)
	s.clock.Advance(time.Second)
	sent := b.submit(bad, resend[0], nil)
	if sent.Status != http.StatusSeeOther || !strings.Contains(b.follow(sent).text(), "We sent a new code") {
		t.Fatalf("resend: %d\n%s", sent.Status, sent.text())
	}
	code2 := s.codeIn(s.mailTo("ann.work@example.org"), acctCodeRE)
	if code2 == code {
		t.Fatal("resend sent the same code")
	}
	if old := b.submit(b.acctSettingsPage(), verify[0], map[string]string{"code": code}); old.Status != http.StatusUnprocessableEntity {
		t.Fatalf("the replaced code: %d", old.Status)
	}
	ok := b.submit(b.acctSettingsPage(), verify[0], map[string]string{"code": code2})
	if ok.Status != http.StatusSeeOther || !strings.Contains(b.follow(ok).text(), "The address is verified") {
		t.Fatalf("verify: %d\n%s", ok.Status, ok.text())
	}

	// Remove the first address; the last one is refused.
	p = b.acctSettingsPage()
	removes := acctActions(p, "/remove")
	if len(removes) != 2 {
		t.Fatalf("%d remove forms", len(removes))
	}
	gone := b.submit(p, removes[0], nil)
	if gone.Status != http.StatusSeeOther {
		t.Fatalf("remove: %d\n%s", gone.Status, gone.text())
	}
	if txt := b.follow(gone).text(); !strings.Contains(txt, "The address was removed") || strings.Count(txt, "Remove address") != 1 {
		t.Fatalf("after removing:\n%s", txt)
	}
	last := b.submit(b.acctSettingsPage(), acctActions(b.acctSettingsPage(), "/remove")[0], nil)
	if last.Status != http.StatusUnprocessableEntity || !strings.Contains(last.text(), "You cannot remove your only address") {
		t.Fatalf("remove the last: %d\n%s", last.Status, last.text())
	}
	acctCheckLogs(t, s, testPassword, code, code2, "ann.work@example.org", "ann.smith@example.com")
}

// acctCheckLogs fails when the stack's logs hold any of the secrets.
func acctCheckLogs(t *testing.T, s *stack, secrets ...string) {
	t.Helper()
	logs := s.logs.String()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("the logs hold %q", sec)
		}
	}
}

// TestChangePassword: errors on the fields, then the change signs the
// browser out everywhere.
func TestChangePassword(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	si := b.acctSignIn(ann)
	form := b.get(acctPath("/settings/password"))
	if form.Status != http.StatusOK || !strings.Contains(form.Body, `autocomplete="new-password"`) || !strings.Contains(form.Body, `autocomplete="current-password"`) {
		t.Fatalf("password page: %d", form.Status)
	}
	const newPassword = "violet kettle orbit seventeen"
	wrong := b.submit(form, acctPath("/settings/password"), map[string]string{"currentPassword": "wrong one", "newPassword": newPassword})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The current password is not right") ||
		!strings.Contains(wrong.Body, `href="#field-currentPassword"`) {
		t.Fatalf("wrong current: %d\n%s", wrong.Status, wrong.text())
	}
	weak := b.submit(wrong, acctPath("/settings/password"), map[string]string{"currentPassword": testPassword, "newPassword": "short"})
	if weak.Status != http.StatusUnprocessableEntity || !strings.Contains(weak.Body, `href="#field-newPassword"`) {
		t.Fatalf("weak: %d\n%s", weak.Status, weak.text())
	}
	done := b.submit(weak, acctPath("/settings/password"), map[string]string{"currentPassword": testPassword, "newPassword": newPassword})
	if done.Status != http.StatusOK || !strings.Contains(done.text(), "Your password was changed") {
		t.Fatalf("change: %d\n%s", done.Status, done.text())
	}
	if s.acctRefreshWorks(si.Refresh) {
		t.Error("the session lives on after the change")
	}
	s.browser().acctSignInWith("ann.smith@example.com", newPassword)
	acctCheckLogs(t, s, testPassword, newPassword)
}

// TestWithoutPassword: a user who signs in by mailed codes proves it is
// them with a mailed code: adding an address, then setting a first
// password.
func TestWithoutPassword(t *testing.T) {
	s := newStack(t, stackOptions{})
	u, err := s.d.CreateUser(s.ctx, db.NewUser{
		User:  db.User{ID: s.id(), Name: "Dee Code", CreatedMs: s.clock.Now().UnixMilli()},
		Email: db.Email{ID: s.id(), Email: "dee.code@example.com", VerifiedMs: s.clock.Now().UnixMilli()},
		Roles: []string{db.RoleUser},
	})
	must(t, err)
	b := s.browser()
	b.acctSignInByCode("dee.code@example.com")
	s.clock.Advance(time.Second)
	prev := s.mailTo("dee.code@example.com")

	confirm := b.submit(b.acctSettingsPage(), acctPath("/settings/emails"), map[string]string{"email": "dee.work@example.org"})
	mailForm := acctPath("/settings/emails?proof=mail")
	if confirm.Status != http.StatusOK || confirm.form(mailForm) == nil {
		t.Fatalf("confirm page: %d\n%s", confirm.Status, confirm.Body)
	}
	asked := b.submit(confirm, mailForm, nil)
	if asked.Status != http.StatusOK || !strings.Contains(asked.text(), "We sent a code to dee.code@example.com") {
		t.Fatalf("mail a code: %d\n%s", asked.Status, asked.text())
	}
	prev = s.acctNewMailTo("dee.code@example.com", prev)
	code := s.codeIn(prev, acctLoginCodeRE)
	wrong := b.submit(asked, acctPath("/settings/emails"), map[string]string{"emailCode": "zzzzzzzzzzzzzzzzzzzzzzzzzz"})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.Body, `aria-invalid="true"`) {
		t.Fatalf("a wrong mailed code: %d\n%s", wrong.Status, wrong.text())
	}
	added := b.submit(wrong, acctPath("/settings/emails"), map[string]string{"emailCode": code})
	if added.Status != http.StatusSeeOther {
		t.Fatalf("add with the mailed code: %d\n%s", added.Status, added.text())
	}
	if emails, _ := s.d.ListEmails(s.ctx, u.ID); len(emails) != 2 {
		t.Fatalf("%d addresses", len(emails))
	}

	// A first password, with a mailed code.
	s.clock.Advance(time.Second)
	prev = s.mailTo("dee.code@example.com") // the notice of the added address
	pw := b.get(acctPath("/settings/password"))
	sent := b.submit(pw, acctPath("/settings/password?proof=mail"), nil)
	if sent.Status != http.StatusOK || sent.form(acctPath("/settings/password")).Get("loginState") == "" {
		t.Fatalf("mail a code for the password: %d\n%s", sent.Status, sent.text())
	}
	code2 := s.codeIn(s.acctNewMailTo("dee.code@example.com", prev), acctLoginCodeRE)
	const first = "lantern copper meadow ninety"
	done := b.submit(sent, acctPath("/settings/password"), map[string]string{"emailCode": code2, "newPassword": first})
	if done.Status != http.StatusOK || !strings.Contains(done.text(), "Your password was changed") {
		t.Fatalf("first password: %d\n%s", done.Status, done.text())
	}
	s.browser().acctSignInWith("dee.code@example.com", first)
	acctCheckLogs(t, s, code, code2, first, "dee.work@example.org", "dee.code@example.com")
}
