package portal_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

// acctCSRFFor makes the CSRF token of purpose for the browser, as the pages
// would (the stack's key): a page that issued a token it should not.
func (b *browser) acctCSRFFor(purpose string) string {
	b.s.t.Helper()
	csrf, err := ui.NewCSRF(ui.CSRFConfig{Key: bytes.Repeat([]byte{7}, 32), Insecure: true})
	must(b.s.t, err)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if c := b.acctCookie("/", ui.InsecureCSRFCookie); c != nil {
		req.AddCookie(c)
	} else {
		b.s.t.Fatal("the browser has no CSRF cookie")
	}
	tok, err := csrf.Issue(httptest.NewRecorder(), req, purpose)
	must(b.s.t, err)
	return tok
}

func (s *stack) acctNameOf(id string) string {
	u, err := s.d.GetUser(s.ctx, id)
	must(s.t, err)
	return u.Name
}

// TestSettingsCSRF: a token of another session, another browser or
// another form is refused with the 403 page, and nothing changes.
func TestSettingsCSRF(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	b.acctSignIn(ann)
	old := b.acctSettingsPage()

	refused := func(name string, p *page) {
		t.Helper()
		if p.Status != http.StatusForbidden || !strings.Contains(p.text(), "This form has expired") {
			t.Errorf("%s: %d\n%s", name, p.Status, p.text())
		}
		if s.acctNameOf(ann.ID) != "Ann Smith" {
			t.Fatalf("%s: the name changed", name)
		}
	}
	// Another form's token.
	f := old.form(acctPath("/settings/name"))
	f.Set(ui.CSRFField, old.form(acctPath("/settings/emails")).Get(ui.CSRFField))
	f.Set("name", "Mallory")
	refused("another form's token", b.do(http.MethodPost, acctPath("/settings/name"), f))
	// No token.
	f.Del(ui.CSRFField)
	refused("no token", b.do(http.MethodPost, acctPath("/settings/name"), f))
	// Another browser's page, posted by this browser's session.
	other := s.browser()
	other.acctSignIn(ann)
	refused("another browser's token", b.submit(other.acctSettingsPage(), acctPath("/settings/name"), map[string]string{"name": "Mallory"}))
	// The same browser, after signing in again: the old page's token
	// was for the session that ended.
	b.acctSignIn(ann)
	refused("another session's token", b.submit(old, acctPath("/settings/name"), map[string]string{"name": "Mallory"}))
	// A token for one address does not remove another.
	s2 := b.acctSettingsPage()
	f = s2.form(acctActions(s2, "/remove")[0])
	if f == nil {
		t.Fatal("no remove form")
	}
	if p := b.do(http.MethodPost, acctPath("/settings/emails/00000000-0000-7000-8000-000000000000/remove"), f); p.Status != http.StatusForbidden {
		t.Errorf("a token for another address: %d", p.Status)
	}
}

// TestOtherUsersResources: IDs of another user's address or session in
// a page's path are refused by the API (shown as a 404 page), even with
// a CSRF token the page would issue; never a 500.
func TestOtherUsersResources(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann, bob := s.user("Ann Smith"), s.user("Bob Jones")
	annSess := s.browser().acctSignIn(ann)
	b := s.browser()
	bobSess := b.acctSignIn(bob)
	b.acctSettingsPage() // the CSRF cookie
	emails, err := s.d.ListEmails(s.ctx, ann.ID)
	must(t, err)
	annEmail := emails[0].ID
	purposeOf := func(form, id string) string { return form + ":" + bobSess.SessionID + ":" + id }

	cases := []struct{ path, purpose string }{
		{"/settings/emails/" + annEmail + "/remove", purposeOf("settings-email-remove", annEmail)},
		{"/settings/emails/" + annEmail + "/resend", purposeOf("settings-email-resend", annEmail)},
		{"/settings/emails/" + annEmail + "/verify", purposeOf("settings-email-verify", annEmail)},
		{"/settings/sessions/" + annSess.SessionID + "/revoke", purposeOf("settings-session-revoke", annSess.SessionID)},
	}
	for _, c := range cases {
		form := url.Values{ui.CSRFField: {b.acctCSRFFor(c.purpose)}, "code": {"abc"}, "password": {testPassword}}
		p := b.do(http.MethodPost, acctPath(c.path), form)
		if p.Status != http.StatusNotFound {
			t.Errorf("%s: %d\n%s", c.path, p.Status, p.text())
		}
	}
	if got, _ := s.d.ListEmails(s.ctx, ann.ID); len(got) != 1 {
		t.Error("Ann's address was removed")
	}
	if !s.acctSessionLive(annSess) {
		t.Error("Ann's session was ended")
	}
	// IDs that would change the API's path: 404 before any call.
	for _, id := range []string{"..", "x%3Fy", "x%2Fy", "%00", strings.Repeat("a", 100)} {
		p := b.do(http.MethodPost, acctPath("/settings/emails/"+id+"/remove"), url.Values{ui.CSRFField: {"x"}})
		if p.Status < 400 || p.Status >= 500 {
			t.Errorf("id %q: %d", id, p.Status)
		}
	}
}

// TestSettingsHostileBodies: bodies that are not the forms: 4xx, never
// 5xx, nothing changes.
func TestSettingsHostileBodies(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	b.acctSignIn(ann)
	p := b.acctSettingsPage()
	good := p.form(acctPath("/settings/name"))
	post := func(path, contentType, body string) int {
		req, err := http.NewRequest(http.MethodPost, s.srv.URL+acctPath(path), strings.NewReader(body))
		must(t, err)
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", s.srv.URL)
		res, err := b.client.Do(req)
		must(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	form := "application/x-www-form-urlencoded"
	withName := func(name string) string {
		v := url.Values{}
		for k, vs := range good {
			v[k] = vs
		}
		v.Set("name", name)
		return v.Encode()
	}
	for name, c := range map[string]struct{ path, ct, body string }{
		"json":           {"/settings/name", "application/json", `{"name":"x"}`},
		"multipart":      {"/settings/name", "multipart/form-data; boundary=x", "--x--"},
		"oversized":      {"/settings/name", form, withName(strings.Repeat("a", 20<<10))},
		"long name":      {"/settings/name", form, withName(strings.Repeat("a", 1000))},
		"control":        {"/settings/name", form, withName("Ann\x00Smith")},
		"not utf-8":      {"/settings/name", form, withName("\xff\xfe")},
		"bad escape":     {"/settings/name", form, "name=%zz&" + ui.CSRFField + "=x"},
		"hostile uri":    {"/settings/totp/confirm", form, "uri=javascript:alert(1)&code=123456"},
		"many fields":    {"/settings/password", form, strings.Repeat("a=b&", 3000)},
		"revoke-all":     {"/settings/sessions/revoke-all", form, "password=x"},
		"logout no csrf": {"/logout", form, "x=y"},
	} {
		if st := post(c.path, c.ct, c.body); st < 400 || st >= 500 {
			t.Errorf("%s: %d", name, st)
		}
	}
	if s.acctNameOf(ann.ID) != "Ann Smith" {
		t.Errorf("the name changed to %q", s.acctNameOf(ann.ID))
	}
}
