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

// stepUpPolicyJSON is policyJSON with the password page and removing an
// address under a step-up of 300 s: a browser holds a GET and a DELETE
// step-up token.
const stepUpPolicyJSON = `{
  "name": "everything-step-up",
  "appliesTo": {"userRoles": ["user", "employee", "sysadmin"]},
  "expires": 900,
  "bindClient": true,
  "scopes": [
    {"name": "all", "routes": ["/accounts/v1/**", "/demo/v1/**"], "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
    {"name": "password page", "routes": ["/accounts/v1/ui/settings/password"], "methods": ["GET"], "stepUp": 300},
    {"name": "remove an address", "routes": ["/accounts/v1/users/*/emails/*"], "methods": ["DELETE"], "stepUp": 300}
  ]
}`

// TestStepUpPage: a page under a step-up sends the browser to the
// re-authentication page (by the gateway); a wrong password says so and
// sets nothing; the right one sets a discharge cookie for every step-up
// token the browser holds, expiring with it, and returns to the page,
// which then opens. Sign-out clears them.
func TestStepUpPage(t *testing.T) {
	pol, err := policy.Parse("step-up.json", []byte(stepUpPolicyJSON))
	must(t, err)
	set, err := policy.NewSet(pol)
	must(t, err)
	s := newStack(t, stackOptions{accounts: func(c *accounts.Config) { c.Policies = func() *policy.Set { return set } }})
	ann := s.user("Ann")
	b := s.browser()
	b.acctSignIn(ann)
	for _, name := range []string{"authgw-get-stepup", "authgw-delete-stepup"} {
		if b.acctCookie("/", name) == nil {
			t.Fatalf("no %s cookie after the sign-in", name)
		}
	}

	target := acctPath("/settings/password")
	p := b.get(target)
	want := portal.StepUpPath + "?return_to=" + url.QueryEscape(target)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
		t.Fatalf("the password page without a discharge: %d %q, want 303 %q", p.Status, p.Header.Get("Location"), want)
	}
	p = b.follow(p)
	if p.Status != http.StatusOK || p.form(portal.StepUpPath) == nil || !strings.Contains(p.text(), "Confirm it is you to continue") {
		t.Fatalf("the step-up page: %d\n%s", p.Status, p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy = %q", csp)
	}

	// A wrong password: the page says so, and no discharge is set.
	wrong := b.submit(p, portal.StepUpPath, map[string]string{"password": "a guess"})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The password is not right") {
		t.Fatalf("a wrong password: %d\n%s", wrong.Status, wrong.Body)
	}
	if b.acctCookie("/", "-discharge") != nil {
		t.Fatal("a discharge cookie after a wrong password")
	}
	// A form without its CSRF token is refused.
	if forged := b.do(http.MethodPost, portal.StepUpPath, url.Values{"password": {testPassword}}); forged.Status < 400 || forged.Status >= 500 {
		t.Fatalf("a form without CSRF: %d", forged.Status)
	}

	// The password: one discharge per step-up token, then back.
	done := b.submit(wrong, portal.StepUpPath, map[string]string{"password": testPassword})
	if done.Status != http.StatusSeeOther || done.Header.Get("Location") != target {
		t.Fatalf("the right password: %d %q\n%s", done.Status, done.Header.Get("Location"), done.Body)
	}
	set2 := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: done.Header}).Cookies() {
		set2[c.Name] = c
	}
	for _, name := range []string{"authgw-get-discharge", "authgw-delete-discharge"} {
		c := set2[name]
		if c == nil || c.Value == "" || !c.HttpOnly || c.Path != "/" || c.Expires.Sub(s.clock.Now()) > 300e9 || c.Expires.Before(s.clock.Now()) {
			t.Fatalf("%s = %+v", name, c)
		}
	}
	if p := b.get(target); p.Status != http.StatusOK {
		t.Fatalf("the password page with the discharge: %d\n%s", p.Status, p.Body)
	}

	// The JSON API takes the browser's DELETE step-up and discharge
	// cookies as well: removing a missing address is a 404 of the
	// service, not a 401 of the gateway.
	req, err := http.NewRequest(http.MethodDelete, s.srv.URL+"/accounts/v1/users/current/emails/"+s.id(), nil)
	must(t, err)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Origin", s.srv.URL)
	res, err := b.client.Do(req)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("DELETE an address with the discharge cookie: %d", res.StatusCode)
	}

	// The page that removes an address calls the API in-process with the
	// page's claims: it asks the proof the route's step-up would, even of
	// a browser that holds a discharge, and removes nothing without it.
	extra := db.Email{ID: s.id(), UserID: ann.ID, Email: "ann.old@example.org", CreatedMs: s.clock.Now().UnixMilli()}
	must(t, s.d.AddEmail(s.ctx, extra))
	removeAction := acctPath("/settings/emails/" + extra.ID + "/remove")
	settings := b.acctSettingsPage()
	ask := b.submit(settings, removeAction, nil)
	if ask.Status != http.StatusOK || !strings.Contains(ask.text(), "Confirm it is you to remove the address") {
		t.Fatalf("remove an address: %d\n%s", ask.Status, ask.Body)
	}
	if bad := b.submit(ask, removeAction, map[string]string{"password": "a guess"}); bad.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(bad.text(), "The password is not right") {
		t.Fatalf("remove with a wrong password: %d\n%s", bad.Status, bad.Body)
	}
	if _, err := s.d.GetEmail(s.ctx, ann.ID, extra.ID); err != nil {
		t.Fatalf("the address went without a proof: %v", err)
	}
	gone := b.submit(ask, removeAction, map[string]string{"password": testPassword})
	if gone.Status != http.StatusSeeOther || !strings.Contains(b.follow(gone).text(), "The address was removed") {
		t.Fatalf("remove with the password: %d\n%s", gone.Status, gone.Body)
	}
	if _, err := s.d.GetEmail(s.ctx, ann.ID, extra.ID); err == nil {
		t.Fatal("the address is still there")
	}
}
