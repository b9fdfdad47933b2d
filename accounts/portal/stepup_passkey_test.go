package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/policy"
)

// TestStepUpPage_passkey: the step-up page offers "Use a passkey" to a
// user with a passkey (the one script, no inline script, the CSP
// unchanged), not to one without; the script's call for the options
// (the form's own action with ?proof=passkey) answers a proof's options
// behind the form's CSRF token; an answer that does not hold says so
// beside the passkey button and sets no discharge. (The passkey itself,
// accepted, is Chromium's: cmd/authgw/e2e's TestBrowserPasskeys.)
func TestStepUpPage_passkey(t *testing.T) {
	pol, err := policy.Parse("step-up.json", []byte(stepUpPolicyJSON))
	must(t, err)
	set, err := policy.NewSet(pol)
	must(t, err)
	s := newStack(t, stackOptions{
		accounts: func(c *accounts.Config) {
			c.WebAuthnRPID = "localhost"
			c.WebAuthnOrigins = []string{"http://localhost"}
			c.Policies = func() *policy.Set { return set }
		},
		portal: func(c *portal.Config) { c.PasskeyRPID = "localhost" },
	})
	ann, bob := s.user("Ann"), s.user("Bob")

	// Bob has no passkey: none offered.
	bb := s.browser()
	bb.acctSignIn(bob)
	if p := bb.follow(bb.get(acctPath("/settings/password"))); p.Status != http.StatusOK || strings.Contains(p.Body, "data-passkey") || strings.Contains(p.Body, "<script") {
		t.Fatalf("the step-up page of a user without a passkey: %d\n%s", p.Status, p.Body)
	}

	b := s.browser()
	b.acctSignIn(ann)
	// Ann's passkey, added after her sign-in (else it would be her second
	// step), as the store keeps one: its key is never used, the answers
	// below do not hold anyway.
	must(t, s.d.CreateWebAuthnCredential(s.ctx, db.WebAuthnCredential{ID: s.id(), UserID: ann.ID, Name: "Laptop",
		CredentialID: []byte("ann-credential-id"), PublicKey: []byte{1, 2, 3}, CreatedMs: s.clock.Now().UnixMilli()}, 10))
	target := acctPath("/settings/password")
	p := b.follow(b.get(target))
	action := portal.StepUpPath
	optionsURL := action + "?proof=passkey"
	if p.Status != http.StatusOK || !strings.Contains(p.text(), "Use a passkey") ||
		!strings.Contains(p.Body, `data-passkey="get" data-options-url="`+optionsURL+`"`) {
		t.Fatalf("the step-up page of a user with a passkey: %d\n%s", p.Status, p.Body)
	}
	if !scriptTag.MatchString(p.Body) || strings.Count(p.Body, "<script") != 1 {
		t.Fatalf("the step-up page with a passkey loads no script, or more than one:\n%s", p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}

	// The script's call: the form's fields to its own action with the
	// query.
	f := p.form(action)
	post := func(form url.Values) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.srv.URL+optionsURL, strings.NewReader(form.Encode()))
		must(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.srv.URL)
		res, err := b.client.Do(req)
		must(t, err)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return res.StatusCode, out
	}
	status, out := post(url.Values{"csrf_token": {f.Get("csrf_token")}, "return_to": {target}})
	pk, _ := out["publicKey"].(map[string]any)
	allow, _ := pk["allowCredentials"].([]any)
	if status != http.StatusOK || pk["challenge"] == nil || pk["userVerification"] != "required" || len(allow) != 1 {
		t.Fatalf("options = %d %v", status, out)
	}
	if status, _ := post(url.Values{"csrf_token": {"forged"}, "return_to": {target}}); status != http.StatusForbidden {
		t.Errorf("options with a forged CSRF token: %d", status)
	}

	// Answers that do not hold: the page again, the error beside the
	// passkey button, no discharge.
	for _, cred := range []string{`{"id":"AAAA","type":"public-key"}`, "not json", "[1]"} {
		bad := b.submit(p, action, map[string]string{"credential": cred})
		if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.text(), "The passkey was not accepted") || !strings.Contains(bad.Body, `role="alert" data-passkey-status`) {
			t.Fatalf("credential %q: %d\n%s", cred, bad.Status, bad.text())
		}
		if b.acctCookie("/", "-discharge") != nil {
			t.Fatal("a discharge cookie after a refused passkey")
		}
	}
	// The password still passes the page.
	if done := b.submit(p, action, map[string]string{"password": testPassword, "credential": ""}); done.Status != http.StatusSeeOther {
		t.Fatalf("the password after refused passkeys: %d\n%s", done.Status, done.text())
	}
}
