package portal_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	otptotp "github.com/pquerna/otp/totp"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/db"
)

// The sign-in pages' paths.
const (
	loginPath  = portal.LoginPath
	codePath   = portal.Prefix + "/login/code"
	totpPath   = portal.Prefix + "/login/totp"
	signupPath = portal.Prefix + "/signup"
	verifyPath = portal.Prefix + "/verify"
	forgotPath = portal.Prefix + "/forgot"
	recoverURL = portal.Prefix + "/recover"
)

// loginCodeRE finds the login code in a login-code mail.
var loginCodeRE = regexp.MustCompile(`login code is: ([a-z2-7]{26})`)

// expectSafetyHeaders fails unless p carries every page's safety headers.
func expectSafetyHeaders(t *testing.T, name string, p *page) {
	t.Helper()
	csp := p.Header.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("%s: CSP %q", name, csp)
	}
	// A page whose address carries an emailed code sends no referrer at
	// all; the others only to the gateway's own pages.
	referrer := "same-origin"
	if u, err := url.Parse(p.URL); err == nil && u.Query().Has("code") {
		referrer = "no-referrer"
	}
	for h, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        referrer,
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
	} {
		if got := p.Header.Get(h); got != want {
			t.Errorf("%s: %s = %q, expected %q", name, h, got, want)
		}
	}
	if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, " style=") {
		t.Errorf("%s: the page has a script or an inline style", name)
	}
}

// setCookie returns the Set-Cookie of the response named name, nil if none.
func setCookie(p *page, name string) *http.Cookie {
	for _, line := range p.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

// expectSession fails unless p is a 303 to where with the session's
// cookies (a token cookie and the refresh cookie).
func expectSession(t *testing.T, name string, p *page, where string) {
	t.Helper()
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != where {
		t.Fatalf("%s: status %d, Location %q; expected 303 to %q\n%s", name, p.Status, p.Header.Get("Location"), where, p.Body)
	}
	if c := setCookie(p, "authgw-get"); c == nil || c.Value == "" {
		t.Errorf("%s: no token cookie", name)
	}
	if c := setCookie(p, "authgw-refresh"); c == nil || c.Value == "" || c.Path != "/accounts/v1" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("%s: refresh cookie %+v", name, c)
	}
}

// expectNoSession fails when p sets a session's cookies.
func expectNoSession(t *testing.T, name string, p *page) {
	t.Helper()
	if c := setCookie(p, "authgw-get"); c != nil && c.Value != "" {
		t.Errorf("%s: a token cookie was set", name)
	}
	if c := setCookie(p, "authgw-refresh"); c != nil && c.Value != "" {
		t.Errorf("%s: a refresh cookie was set", name)
	}
}

// passwordSignIn opens the sign-in page with returnTo (raw, escaped here) and
// posts email and password.
func (b *browser) passwordSignIn(returnTo, email, pw string) *page {
	b.s.t.Helper()
	target := loginPath
	if returnTo != "" {
		target += "?return_to=" + url.QueryEscape(returnTo)
	}
	p := b.get(target)
	if p.Status != http.StatusOK {
		b.s.t.Fatalf("sign-in page: status %d\n%s", p.Status, p.Body)
	}
	return b.submit(p, loginPath, map[string]string{"email": email, "password": pw})
}

// raw posts body with the content type to path as the browser (its
// cookies, no form parsing of ours).
func (b *browser) raw(path, contentType string, body io.Reader) *page {
	b.s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.s.srv.URL+path, body)
	must(b.s.t, err)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Origin", b.s.srv.URL)
	res, err := b.client.Do(req)
	must(b.s.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return &page{Status: res.StatusCode, Header: res.Header, Body: string(raw), URL: b.s.srv.URL + path}
}

// mails returns how many mails were sent so far.
func (s *stack) mails() int {
	files, _ := filepath.Glob(filepath.Join(s.mail, "*.eml"))
	return len(files)
}

// enrolTOTP turns TOTP on for u and returns its secret (base32).
func (s *stack) enrolTOTP(u db.User) string {
	s.t.Helper()
	en, err := s.totp.Enroll(u.ID, "test")
	must(s.t, err)
	must(s.t, s.d.SaveTOTPSecret(s.ctx, db.TOTPSecret{UserID: u.ID, Ciphertext: en.Ciphertext, CreatedMs: s.clock.Now().UnixMilli()}))
	must(s.t, s.d.ConfirmTOTP(s.ctx, u.ID, s.clock.Now().UnixMilli()))
	return en.Secret
}

// totpCode returns the TOTP code of secret at the stack's time.
func (s *stack) totpCode(secret string) string {
	s.t.Helper()
	code, err := otptotp.GenerateCodeCustom(secret, s.clock.Now(), otptotp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	must(s.t, err)
	return code
}

// TestSigninPagesRender: every page of a visitor without a session
// renders, with the safety headers, one h1, labelled fields with
// autocomplete tokens, a CSRF token, and no script.
func TestSigninPagesRender(t *testing.T) {
	s := newStack(t, stackOptions{})
	b := s.browser()
	for _, tc := range []struct {
		name, path, action string
		fields             map[string]string // field → autocomplete token
	}{
		{"sign in", loginPath, loginPath, map[string]string{"email": "email", "password": "current-password"}},
		{"sign up", signupPath, signupPath, map[string]string{"name": "name", "email": "email", "password": "new-password"}},
		{"forgot", forgotPath, forgotPath, map[string]string{"email": "email"}},
		{"recover", recoverURL + "?code=abcdefghijklmnopqrstuvwxyz", recoverURL, map[string]string{"newPassword": "new-password"}},
		{"verify", verifyPath + "?email=01a24b39-aa00-7000-9604-1eaf901f2bd9&code=abcdefghijklmnopqrstuvwxyz", verifyPath, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(tc.path)
			if p.Status != http.StatusOK {
				t.Fatalf("status %d\n%s", p.Status, p.Body)
			}
			expectSafetyHeaders(t, tc.name, p)
			if n := strings.Count(p.Body, "<h1"); n != 1 {
				t.Errorf("%d h1 elements", n)
			}
			f := p.form(tc.action)
			if f == nil || f.Get(ui.CSRFField) == "" {
				t.Fatalf("no form with a CSRF token posting to %s", tc.action)
			}
			for name, ac := range tc.fields {
				if !strings.Contains(p.Body, `<label class="label" for="field-`+name+`">`) {
					t.Errorf("field %s has no label", name)
				}
				if !strings.Contains(p.Body, `name="`+name+`" type=`) || !regexp.MustCompile(`name="`+name+`"[^>]*autocomplete="`+ac+`"`).MatchString(p.Body) {
					t.Errorf("field %s has no autocomplete %q", name, ac)
				}
			}
		})
	}
	t.Run("verify GET spends nothing and a bad link is the expired page", func(t *testing.T) {
		p := b.get(verifyPath + "?email=x&code=")
		if p.Status != http.StatusGone || !strings.Contains(p.text(), "This link has expired") || !strings.Contains(p.text(), "20 minutes") {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
		expectSafetyHeaders(t, "expired", p)
		p = b.get(recoverURL + "?code=%3Cscript%3E")
		if p.Status != http.StatusGone {
			t.Errorf("recover with a bad code: status %d", p.Status)
		}
	})
}

// TestSigninPassword: a password sign-in sets the session's cookies and
// sends the browser to return_to; a TOTP user goes through the TOTP page.
func TestSigninPassword(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	expectSession(t, "password", b.passwordSignIn("/demo/v1/hello?x=1", addressOf(ann.Name), testPassword), "/demo/v1/hello?x=1")

	t.Run("wrong password: error beside the field, address kept, no password echoed", func(t *testing.T) {
		p := s.browser().passwordSignIn("/demo/v1/hello", addressOf(ann.Name), "not the password at all")
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "The email address or password is wrong") {
			t.Fatalf("status %d: %s", p.Status, p.text())
		}
		if !strings.Contains(p.Body, `aria-describedby="field-password-error"`) || !strings.Contains(p.Body, `href="#field-password"`) {
			t.Errorf("the error is not tied to the password field")
		}
		if f := p.form(loginPath); f.Get("email") != addressOf(ann.Name) || f.Get("password") != "" || f.Get("return_to") != "/demo/v1/hello" {
			t.Errorf("form values %v", f)
		}
		expectNoSession(t, "wrong password", p)
	})

	t.Run("empty fields", func(t *testing.T) {
		e := s.browser()
		p := e.submit(e.get(loginPath), loginPath, map[string]string{"email": "", "password": "x", "method": "password"})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "Enter your email address") {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
	})

	t.Run("TOTP", func(t *testing.T) {
		bob := s.user("Bob Jones")
		secret := s.enrolTOTP(bob)
		b := s.browser()
		p := b.passwordSignIn("/demo/v1/x", addressOf(bob.Name), testPassword)
		if p.Status != http.StatusOK || p.form(totpPath) == nil {
			t.Fatalf("no TOTP page: status %d\n%s", p.Status, p.Body)
		}
		expectSafetyHeaders(t, "totp", p)
		expectNoSession(t, "totp page", p)
		f := p.form(totpPath)
		if f.Get("code") == "" || f.Get("state") == "" || f.Get("return_to") != "/demo/v1/x" {
			t.Errorf("TOTP form %v", f)
		}
		wrong := b.submit(p, totpPath, map[string]string{"totp": "000000"})
		if s.totpCode(secret) == "000000" {
			t.Skip("the right code is 000000")
		}
		if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The code is wrong") || wrong.form(totpPath).Get("code") != f.Get("code") {
			t.Fatalf("wrong TOTP: status %d: %s", wrong.Status, wrong.text())
		}
		expectSession(t, "totp", b.submit(wrong, totpPath, map[string]string{"totp": s.totpCode(secret)}), "/demo/v1/x")
	})
}

// TestSigninCode: the second button mails a code; the code page signs in
// with it. The page is the same for an unknown address, and no mail goes.
func TestSigninCode(t *testing.T) {
	s := newStack(t, stackOptions{})
	cat := s.user("Cat Brown")
	b := s.browser()
	p := b.get(loginPath + "?return_to=%2Fdemo%2Fv1%2Fcode")
	codePage := b.submit(p, loginPath, map[string]string{"email": addressOf(cat.Name), "method": "code"})
	if codePage.Status != http.StatusOK || codePage.form(codePath) == nil {
		t.Fatalf("no code page: %d\n%s", codePage.Status, codePage.Body)
	}
	expectSafetyHeaders(t, "code", codePage)
	mail := s.mailTo(addressOf(cat.Name))
	code := s.codeIn(mail, loginCodeRE)

	unknown := s.browser()
	up := unknown.submit(unknown.get(loginPath+"?return_to=%2Fdemo%2Fv1%2Fcode"), loginPath, map[string]string{"email": "nobody@example.com", "method": "code"})
	if up.Status != codePage.Status || up.text() != codePage.text() {
		t.Errorf("unknown address: status %d, text\n%s\nknown: %d\n%s", up.Status, up.text(), codePage.Status, codePage.text())
	}

	wrong := b.submit(codePage, codePath, map[string]string{"code": "aaaaaaaaaaaaaaaaaaaaaaaaaa"})
	if wrong.Status != http.StatusUnprocessableEntity || !strings.Contains(wrong.text(), "The code is wrong") {
		t.Fatalf("wrong code: %d %s", wrong.Status, wrong.text())
	}
	expectSession(t, "code", b.submit(wrong, codePath, map[string]string{"code": " " + strings.ToUpper(code) + " "}), "/demo/v1/code")

	t.Run("no method and no password asks for a code", func(t *testing.T) {
		b := s.browser()
		p := b.submit(b.get(loginPath), loginPath, map[string]string{"email": addressOf(cat.Name)})
		if p.Status != http.StatusOK || p.form(codePath) == nil {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
	})

	t.Run("code login off", func(t *testing.T) {
		off := newStack(t, stackOptions{accounts: func(c *accounts.Config) { c.CodeLoginOff = true }})
		b := off.browser()
		p := b.submit(b.get(loginPath), loginPath, map[string]string{"email": "x@example.com", "method": "code"})
		if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.text(), "Enter your password instead") {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
	})
}

// TestSigninReturnTo: every open-redirect trick lands on the default; a
// path on the gateway and an allowed origin are kept.
func TestSigninReturnTo(t *testing.T) {
	policy, err := ui.NewReturnPolicy(ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://app.example"}, Default: "/demo/v1/home"})
	must(t, err)
	s := newStack(t, stackOptions{portal: func(c *portal.Config) { c.Return = policy }})
	ann := s.user("Ann Smith")
	for _, tc := range []struct{ name, given, expect string }{
		{"path", "/demo/v1/a?b=c", "/demo/v1/a?b=c"},
		{"allowed origin", "https://app.example/after?x=1", "https://app.example/after?x=1"},
		{"scheme-relative", "//evil.example", "/demo/v1/home"},
		{"backslash", `/\evil.example`, "/demo/v1/home"},
		{"scheme without slashes", "https:evil.example", "/demo/v1/home"},
		{"encoded slashes", "%2F%2Fevil.example", "/demo/v1/home"},
		{"encoded path", "/%2F%2Fevil.example", "/demo/v1/home"},
		{"userinfo", "http://user@evil.example", "/demo/v1/home"},
		{"userinfo on allowed", "https://app.example@evil.example/", "/demo/v1/home"},
		{"javascript", "javascript:alert(1)", "/demo/v1/home"},
		{"other origin", "https://evil.example/x", "/demo/v1/home"},
		{"allowed host, other port", "https://app.example:8443/x", "/demo/v1/home"},
		{"newline", "/demo\r\nSet-Cookie: x=1", "/demo/v1/home"},
		{"tab", "/\t/evil.example", "/demo/v1/home"},
		{"huge", "/" + strings.Repeat("a", 3000), "/demo/v1/home"},
		{"missing", "", "/demo/v1/home"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectSession(t, tc.name, s.browser().passwordSignIn(tc.given, addressOf(ann.Name), testPassword), tc.expect)
		})
	}
}

// TestSigninCSRF: a form without its token, with another browser's, or
// with another form's is refused with the form_expired page, and nothing
// happens: no session, no mail.
func TestSigninCSRF(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	victim, attacker := s.browser(), s.browser()
	vLogin := victim.get(loginPath)
	aLogin := attacker.get(loginPath)
	vSignup := victim.get(signupPath)
	good := vLogin.form(loginPath)
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"missing", ""},
		{"another browser's", aLogin.form(loginPath).Get(ui.CSRFField)},
		{"another form's", vSignup.form(signupPath).Get(ui.CSRFField)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []string{"password", "code"} {
				f := url.Values{}
				for k, v := range good {
					f[k] = v
				}
				f.Set(ui.CSRFField, tc.token)
				f.Set("email", addressOf(ann.Name))
				f.Set("password", testPassword)
				f.Set("method", m)
				if tc.token == "" {
					f.Del(ui.CSRFField)
				}
				before := s.mails()
				p := victim.do(http.MethodPost, loginPath, f)
				if p.Status != http.StatusForbidden || !strings.Contains(p.text(), "This form has expired") {
					t.Fatalf("%s: status %d: %s", m, p.Status, p.text())
				}
				expectSafetyHeaders(t, tc.name, p)
				expectNoSession(t, tc.name, p)
				time.Sleep(150 * time.Millisecond) // the API mails codes in the background
				if s.mails() != before {
					t.Errorf("%s: a mail was sent", m)
				}
			}
		})
	}
	t.Run("every form checks its token", func(t *testing.T) {
		for _, path := range []string{codePath, totpPath, signupPath, verifyPath, forgotPath, recoverURL} {
			p := victim.do(http.MethodPost, path, url.Values{"email": {addressOf(ann.Name)}, "code": {"abc"}, "state": {strings.Repeat("a", 32)}})
			if p.Status != http.StatusForbidden {
				t.Errorf("%s: status %d", path, p.Status)
			}
		}
	})
}

// TestSigninEnumeration: a known address with a wrong password and an
// unknown address get the same page.
func TestSigninEnumeration(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	known := s.browser().passwordSignIn("/demo/v1/x", addressOf(ann.Name), "wrong password here")
	unknown := s.browser().passwordSignIn("/demo/v1/x", "zed.nobody@example.com", "wrong password here")
	if known.Status != unknown.Status || strings.ReplaceAll(known.text(), addressOf(ann.Name), "") != strings.ReplaceAll(unknown.text(), "zed.nobody@example.com", "") {
		t.Errorf("known: %d %s\nunknown: %d %s", known.Status, known.text(), unknown.Status, unknown.text())
	}
}

// TestSigninRegulation: repeated wrong passwords reach the "too many"
// page, which says how long to wait.
func TestSigninRegulation(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the account delays")
	}
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	for i := range 10 {
		p := b.passwordSignIn("", addressOf(ann.Name), "wrong password number x")
		if p.Status == http.StatusTooManyRequests {
			if !strings.Contains(p.text(), "Too many attempts") || !regexp.MustCompile(`Wait \d+ minutes?`).MatchString(p.text()) {
				t.Errorf("429 page: %s", p.text())
			}
			expectSafetyHeaders(t, "429", p)
			return
		}
		if p.Status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: status %d", i, p.Status)
		}
	}
	t.Fatal("no 429 after 10 wrong passwords")
}

// TestSigninHostileBodies: bodies no browser sends are 4xx, never 5xx.
func TestSigninHostileBodies(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.user("Ann Smith")
	b := s.browser()
	login := b.get(loginPath)
	f := login.form(loginPath)
	enc := func(extra string) string { return f.Encode() + extra }
	for _, tc := range []struct {
		name, path, ctype, body string
	}{
		{"JSON", loginPath, "application/json", `{"email":"ann.smith@example.com"}`},
		{"multipart", loginPath, "multipart/form-data; boundary=x", "--x--"},
		{"no content type", loginPath, "", enc("&email=a%40b.c")},
		{"1 MB", loginPath, "application/x-www-form-urlencoded", enc("&email=" + strings.Repeat("a", 1<<20))},
		{"invalid UTF-8", loginPath, "application/x-www-form-urlencoded", enc("&email=%ff%fe%40example.com&password=%c3%28xxxxxxxx")},
		{"repeated field", loginPath, "application/x-www-form-urlencoded", enc("&email=a%40example.com&email=b%40example.com&password=x")},
		{"repeated state", loginPath, "application/x-www-form-urlencoded", enc("&state=" + strings.Repeat("b", 32) + "&email=a%40example.com&password=x")},
		{"huge return_to", loginPath, "application/x-www-form-urlencoded", strings.Replace(enc("&email=a%40example.com&password=x"), "return_to=", "return_to=%2F"+strings.Repeat("a", 12000), 1)},
		{"bad state at code", codePath, "application/x-www-form-urlencoded", "code=abc&state=zz"},
		{"bad escape", loginPath, "application/x-www-form-urlencoded", enc("&email=%zz")},
		{"NUL", loginPath, "application/x-www-form-urlencoded", enc("&email=a%00%40example.com&password=x%00y")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.raw(tc.path, tc.ctype, strings.NewReader(tc.body))
			if p.Status < 400 || p.Status >= 500 {
				t.Errorf("status %d\n%s", p.Status, p.Body)
			}
		})
	}
	t.Run("huge return_to on GET", func(t *testing.T) {
		p := b.get(loginPath + "?return_to=%2F" + strings.Repeat("a", 6000))
		if p.Status >= 500 {
			t.Fatalf("status %d", p.Status)
		}
		if p.Status == http.StatusOK && p.form(loginPath).Get("return_to") != "/" {
			t.Errorf("return_to kept: %d bytes", len(p.form(loginPath).Get("return_to")))
		}
	})
}

// TestSilentRefresh: a browser whose tokens expired but whose refresh
// cookie is live goes from the sign-in page straight to return_to with
// new cookies; once a minute at most, so no loop; without a refresh
// cookie, or with a dead one, the page shows.
func TestSilentRefresh(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	first := b.passwordSignIn("/demo/v1/x", addressOf(ann.Name), testPassword)
	expectSession(t, "sign-in", first, "/demo/v1/x")
	oldToken := setCookie(first, "authgw-get").Value
	oldRefresh := setCookie(first, "authgw-refresh").Value

	s.clock.Advance(20 * time.Minute) // the tokens have expired
	base, _ := url.Parse(s.srv.URL + "/")
	// The expired token cookie still rides along, as a browser would keep
	// it if its clock disagreed.
	b.client.Jar.SetCookies(base, []*http.Cookie{{Name: "authgw-get", Value: oldToken, Path: "/"}})

	p := b.get(loginPath + "?return_to=%2Fdemo%2Fv1%2Fback")
	expectSession(t, "silent refresh", p, "/demo/v1/back")
	expectSafetyHeaders(t, "silent refresh", p)
	if setCookie(p, "authgw-get").Value == oldToken || setCookie(p, "authgw-refresh").Value == oldRefresh {
		t.Errorf("the cookies were not renewed")
	}

	t.Run("at most once a minute", func(t *testing.T) {
		again := b.get(loginPath + "?return_to=%2Fdemo%2Fv1%2Fback")
		if again.Status != http.StatusOK || again.form(loginPath) == nil {
			t.Errorf("second visit within a minute: status %d", again.Status)
		}
	})

	t.Run("without a refresh cookie", func(t *testing.T) {
		p := s.browser().get(loginPath + "?return_to=%2Fdemo%2Fv1%2Fback")
		if p.Status != http.StatusOK || p.form(loginPath) == nil {
			t.Errorf("status %d", p.Status)
		}
	})

	t.Run("with a dead refresh cookie", func(t *testing.T) {
		d := s.browser()
		d.client.Jar.SetCookies(base, []*http.Cookie{{Name: "authgw-refresh", Value: "bm90LWEtcmVhbC1yZWZyZXNoLXRva2Vu", Path: "/accounts/v1"}})
		p := d.get(loginPath)
		if p.Status != http.StatusOK || p.form(loginPath) == nil {
			t.Errorf("status %d", p.Status)
		}
		expectNoSession(t, "dead refresh", p)
		// The marker holds for a minute: the refresh is not retried.
		if p2 := d.get(loginPath); p2.Status != http.StatusOK {
			t.Errorf("second visit: status %d", p2.Status)
		}
	})

	t.Run("a redirect loop is not possible", func(t *testing.T) {
		l := s.browser()
		expectSession(t, "sign-in", l.passwordSignIn("", addressOf(ann.Name), testPassword), "/")
		// return_to is the sign-in page itself: at most one 303, then the
		// page.
		target := loginPath + "?return_to=" + url.QueryEscape(loginPath)
		first := l.get(target)
		// A live session goes straight on, without a page.
		expectSession(t, "live session", first, loginPath)
		p := l.follow(first)
		if p.Status != http.StatusOK || p.form(loginPath) == nil {
			t.Errorf("status %d after following", p.Status)
		}
	})
}

// TestSigninLogs: no password, code or full address reaches the logs.
func TestSigninLogs(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	s.browser().passwordSignIn("", addressOf(ann.Name), "a wrong password 123")
	s.browser().passwordSignIn("", addressOf(ann.Name), testPassword)
	s.browser().passwordSignIn("", "zed.unknown@example.com", "another wrong one 456")
	c := s.browser()
	cp := c.submit(c.get(loginPath), loginPath, map[string]string{"email": addressOf(ann.Name), "method": "code"})
	code := s.codeIn(s.mailTo(addressOf(ann.Name)), loginCodeRE)
	c.submit(cp, codePath, map[string]string{"code": code})
	c.submit(c.get(forgotPath), forgotPath, map[string]string{"email": addressOf(ann.Name)})
	c.get(verifyPath + "?email=abc&code=secretcodevalue")
	c.get(recoverURL + "?code=anothersecretcode")
	logs := s.logs.String()
	for _, secret := range []string{testPassword, "a wrong password 123", "another wrong one 456", code, addressOf(ann.Name), "zed.unknown@example.com", "secretcodevalue", "anothersecretcode"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the logs hold %q", secret)
		}
	}
	if os.Getenv("PORTAL_SHOW_LOGS") != "" {
		t.Log(logs)
	}
}

// TestSigninUnavailable: an API answer of 5xx, or one that is no
// envelope, shows the "unavailable" page (503), never a 500.
func TestSigninUnavailable(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"5xx", `{"t":"error","error":{"status":503,"code":"SERVICE-UNAVAILABLE"}}`},
		{"not an envelope", `<html>oops`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackOptions{portal: func(c *portal.Config) {
				api := c.API
				c.API = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if strings.HasPrefix(r.URL.Path, "/accounts/v1/sessions/login/") || r.URL.Path == "/accounts/v1/recovery" {
						w.Header().Set("Content-Type", "application/json")
						w.WriteHeader(http.StatusServiceUnavailable)
						_, _ = io.WriteString(w, tc.body)
						return
					}
					api.ServeHTTP(w, r)
				})
			}})
			b := s.browser()
			for _, p := range []*page{
				b.passwordSignIn("", "ann@example.com", "whatever password"),
				b.submit(b.get(loginPath), loginPath, map[string]string{"email": "ann@example.com", "method": "code"}),
				b.submit(b.get(forgotPath), forgotPath, map[string]string{"email": "ann@example.com"}),
			} {
				if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.text(), "problem with the service") {
					t.Errorf("status %d: %s", p.Status, p.text())
				}
				expectSafetyHeaders(t, "unavailable", p)
			}
		})
	}
}

// TestSigninEndsHeldSession: signing in again in a browser that holds a
// session ends that session once the new one exists.
func TestSigninEndsHeldSession(t *testing.T) {
	s := newStack(t, stackOptions{})
	ann := s.user("Ann Smith")
	b := s.browser()
	form := b.get(loginPath)
	first := b.submit(form, loginPath, map[string]string{"email": addressOf(ann.Name), "password": testPassword})
	expectSession(t, "first", first, "/")
	oldRefresh := setCookie(first, "authgw-refresh").Value
	// The same form again, with the first session's refresh cookie.
	expectSession(t, "second", b.submit(form, loginPath, map[string]string{"email": addressOf(ann.Name), "password": testPassword}), "/")

	other := s.browser()
	base, _ := url.Parse(s.srv.URL + "/")
	other.client.Jar.SetCookies(base, []*http.Cookie{{Name: "authgw-refresh", Value: oldRefresh, Path: "/accounts/v1"}})
	if p := other.get(loginPath); p.Status != http.StatusOK || p.form(loginPath) == nil {
		t.Errorf("the first session still refreshes: status %d", p.Status)
	}
}
