package portal_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/portal"
)

// passkeyStack is a stack with passkeys on (relying party localhost).
func passkeyStack(t *testing.T) *stack {
	return newStack(t, stackOptions{
		accounts: func(c *accounts.Config) {
			c.WebAuthnRPID = "localhost"
			c.WebAuthnOrigins = []string{"http://localhost"}
		},
		portal: func(c *portal.Config) { c.PasskeyRPID = "localhost" },
	})
}

var scriptTag = regexp.MustCompile(`<script src="(/accounts/v1/ui/assets/passkeys\.[0-9a-f]{12}\.js)" defer></script>`)

// TestPasskeyPages_script: only the pages that offer passkeys load the
// script, from the gateway (no inline script: the CSP stays
// default-src 'self'); without passkeys no page carries a script. The
// passkey parts are hidden until the script shows them.
func TestPasskeyPages_script(t *testing.T) {
	plain := newStack(t, stackOptions{}).browser()
	if p := plain.get(portal.LoginPath); p.Status != http.StatusOK || strings.Contains(p.Body, "<script") || strings.Contains(p.Body, "passkey") {
		t.Fatalf("the sign-in page without passkeys: %d, script or passkey in it:\n%s", p.Status, p.Body)
	}

	s := passkeyStack(t)
	b := s.browser()
	p := b.get(portal.LoginPath)
	m := scriptTag.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil || strings.Count(p.Body, "<script") != 1 {
		t.Fatalf("the sign-in page with passkeys loads no script (or more than one):\n%s", p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP = %q", csp)
	}
	if !regexp.MustCompile(`<div class="passkey" data-passkey-part="localhost" hidden>`).MatchString(p.Body) {
		t.Errorf("the passkey form is not hidden until the script shows it:\n%s", p.Body)
	}
	js := b.get(m[1])
	if js.Status != http.StatusOK || !strings.HasPrefix(js.Header.Get("Content-Type"), "text/javascript") || !strings.Contains(js.Body, "navigator.credentials") {
		t.Fatalf("the script: %d %q", js.Status, js.Header.Get("Content-Type"))
	}
	if b.get(strings.Replace(m[1], "passkeys.", "passkeyz.", 1)).Status != http.StatusNotFound {
		t.Error("another asset name is served")
	}
}

// TestPasskeyPages_options: the script's call for the options of a
// passkey sign-in: JSON {"publicKey"} bound to the state, behind the
// form's CSRF token; bad input is a 4xx with words to show.
func TestPasskeyPages_options(t *testing.T) {
	s := passkeyStack(t)
	b := s.browser()
	login := b.get(portal.LoginPath)
	f := login.form(portal.Prefix + "/login/passkey")
	if f == nil || f.Get("state") == "" || f.Get("csrf_token") == "" {
		t.Fatalf("no passkey form with a state and CSRF token:\n%s", login.Body)
	}
	post := func(form url.Values) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.srv.URL+portal.Prefix+"/login/passkey/options", strings.NewReader(form.Encode()))
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
	status, out := post(f)
	pk, _ := out["publicKey"].(map[string]any)
	if status != http.StatusOK || pk["challenge"] == nil || pk["rpId"] != "localhost" {
		t.Fatalf("options = %d %v", status, out)
	}
	bad := url.Values{}
	for k, v := range f {
		bad[k] = v
	}
	bad.Set("state", "not-a-state")
	if status, out := post(bad); status != http.StatusBadRequest || out["error"] == "" {
		t.Errorf("a bad state: %d %v", status, out)
	}
	bad.Set("state", f.Get("state"))
	bad.Set("code", "no-such-flow-code")
	if status, out := post(bad); status != http.StatusUnauthorized || out["error"] == nil {
		t.Errorf("a wrong flow code: %d %v", status, out)
	}
	bad.Del("code")
	bad.Set("csrf_token", "forged")
	if status, _ := post(bad); status != http.StatusForbidden {
		t.Errorf("a forged CSRF token: %d", status)
	}
}

// TestPasskeyPages_refusedAnswer: an answer that is no passkey's shows
// the sign-in page again, with the error beside the passkey button
// (announced), not a 500.
func TestPasskeyPages_refusedAnswer(t *testing.T) {
	s := passkeyStack(t)
	b := s.browser()
	login := b.get(portal.LoginPath)
	for _, cred := range []string{"", "not json", `{"id":"AAAA","type":"public-key"}`, "[1]"} {
		p := b.submit(login, portal.Prefix+"/login/passkey", map[string]string{"credential": cred})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, `role="alert"`) {
			t.Errorf("credential %q: %d\n%s", cred, p.Status, p.Body)
		}
	}
	p := b.submit(login, portal.Prefix+"/login/passkey", map[string]string{"credential": `{"id":"AAAA","type":"public-key"}`})
	if !strings.Contains(p.text(), "The passkey was not accepted") {
		t.Errorf("the refusal does not say what happened:\n%s", p.text())
	}
}

// TestPasskeyPages_settings: the account page lists passkeys (none yet)
// and adds one after the name and a proof of the user: the confirm page
// first, then the page that creates it with the API's options.
func TestPasskeyPages_settings(t *testing.T) {
	s := passkeyStack(t)
	ann := s.user("Ann")
	b := s.browser()
	b.acctSignIn(ann)
	settings := b.acctSettingsPage()
	if !strings.Contains(settings.text(), "You have no passkeys") || !scriptTag.MatchString(settings.Body) {
		t.Fatalf("the account page has no passkeys section or no script:\n%s", settings.text())
	}
	add := portal.Prefix + "/settings/passkeys"
	if p := b.submit(settings, add, map[string]string{"passkeyName": "  "}); p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "Enter a name for the passkey") {
		t.Fatalf("no name: %d\n%s", p.Status, p.text())
	}
	if p := b.submit(settings, add, map[string]string{"passkeyName": strings.Repeat("n", 101)}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a long name: %d", p.Status)
	}
	confirm := b.submit(settings, add, map[string]string{"passkeyName": "Laptop"})
	if confirm.Status != http.StatusOK || !strings.Contains(confirm.text(), "Confirm it is you to add a passkey") {
		t.Fatalf("the confirm page: %d\n%s", confirm.Status, confirm.text())
	}
	if p := b.submit(confirm, add, map[string]string{"password": "wrong"}); p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password: %d", p.Status)
	}
	create := b.submit(confirm, add, map[string]string{"password": testPassword})
	if create.Status != http.StatusOK || !strings.Contains(create.text(), "Create your passkey") || !strings.Contains(create.Body, `data-options="{&#34;publicKey&#34;:`) {
		t.Fatalf("the create page: %d\n%s", create.Status, create.Body)
	}
	// A made-up answer is refused with words, and nothing is added.
	p := b.submit(create, portal.Prefix+"/settings/passkeys/finish", map[string]string{"credential": `{"id":"AAAA","type":"public-key"}`})
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "The passkey could not be added") {
		t.Fatalf("a made-up answer: %d\n%s", p.Status, p.text())
	}
	if !strings.Contains(b.acctSettingsPage().text(), "You have no passkeys") {
		t.Fatal("a passkey was listed after a refused answer")
	}
}
