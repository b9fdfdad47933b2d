package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestAttackPages attacks the browser pages of a running authgw serve as
// an outsider with a browser of their own would: forms without their
// CSRF token or with another browser's or another form's, open redirects
// through return_to, telling known from unknown addresses, and hostile
// form bodies. No answer may be a 5xx, and no page may send a browser a
// Basic challenge.
func TestAttackPages(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	s := newPlainServe(t)
	base := "http://" + s.addr
	t.Run("CSRF", func(t *testing.T) { pagesCSRF(t, base) })
	t.Run("open redirect", func(t *testing.T) { pagesOpenRedirect(t, base) })
	t.Run("enumeration", func(t *testing.T) { pagesEnumeration(t, base) })
	t.Run("hostile bodies", func(t *testing.T) { pagesHostileBodies(t, base) })
}

// pageVisitor is a browser as far as the pages can tell: a cookie jar,
// Accept text/html, no redirects followed.
type pageVisitor struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPageVisitor(t *testing.T, base string) *pageVisitor {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pageVisitor{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type pageReply struct {
	status int
	header http.Header
	body   string
}

// pagePace spaces the suite's requests: every visitor comes from
// 127.0.0.1, and the pages are unidentified requests, limited to 10 a
// second per IP by default; the suite keeps under that rather than
// measuring the limit (package gateway tests it).
var pagePace = struct {
	sync.Mutex
	last time.Time
}{}

// pageInterval is the least time between two requests of the suite.
const pageInterval = 120 * time.Millisecond

// send sends method path with body of contentType (none when "") and
// checks what every answer of the pages must hold.
func (v *pageVisitor) send(method, path, contentType string, body []byte) pageReply {
	v.t.Helper()
	pagePace.Lock()
	if wait := pageInterval - time.Since(pagePace.last); wait > 0 {
		time.Sleep(wait)
	}
	pagePace.last = time.Now()
	pagePace.Unlock()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, v.base+path, rd)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Origin", v.base)
	}
	res, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := pageReply{status: res.StatusCode, header: res.Header, body: string(raw)}
	if r.status >= 500 {
		v.t.Errorf("%s %s: %d, a page never answers a 5xx:\n%.300s", method, path, r.status, r.body)
	}
	if strings.Contains(strings.ToLower(res.Header.Get("WWW-Authenticate")), "basic") {
		v.t.Errorf("%s %s: a browser was sent a Basic challenge", method, path)
	}
	return r
}

func (v *pageVisitor) get(path string) pageReply { return v.send(http.MethodGet, path, "", nil) }

func (v *pageVisitor) post(path string, form url.Values) pageReply {
	return v.send(http.MethodPost, path, "application/x-www-form-urlencoded", []byte(form.Encode()))
}

var pageHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// form opens path and returns the hidden inputs of its form posting to
// action (the CSRF token, the login state, return_to).
func (v *pageVisitor) form(path, action string) url.Values {
	v.t.Helper()
	r := v.get(path)
	i := strings.Index(r.body, fmt.Sprintf(`action="%s"`, action))
	if r.status != http.StatusOK || i < 0 {
		v.t.Fatalf("GET %s: %d, no form posting to %s:\n%.500s", path, r.status, action, r.body)
	}
	end := strings.Index(r.body[i:], "</form>")
	f := url.Values{}
	for _, m := range pageHidden.FindAllStringSubmatch(r.body[i:i+end], -1) {
		f.Set(m[1], unescapeHTML(m[2]))
	}
	return f
}

func unescapeHTML(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// sessionCookie reports whether the visitor holds a token cookie.
func (v *pageVisitor) sessionCookie() bool {
	u, _ := url.Parse(v.base + "/demo/v1/")
	for _, c := range v.c.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "authgw-") && c.Name != "authgw-csrf" {
			return true
		}
	}
	return false
}

// pagesCSRF: a form without its token, with another browser's, or with
// another form's is refused with 403 and does nothing.
func pagesCSRF(t *testing.T, base string) {
	creds := url.Values{"email": {clitest.LoginEmail}, "password": {clitest.LoginPassword}}
	with := func(f url.Values) url.Values {
		for k, v := range creds {
			f[k] = v
		}
		return f
	}
	victim, attacker := newPageVisitor(t, base), newPageVisitor(t, base)
	victimForm := victim.form("/accounts/v1/ui/login", "/accounts/v1/ui/login")
	attackerForm := attacker.form("/accounts/v1/ui/login", "/accounts/v1/ui/login")
	signupForm := victim.form("/accounts/v1/ui/signup", "/accounts/v1/ui/signup")

	noToken := with(url.Values{"state": victimForm["state"]})
	foreign := with(url.Values{"state": victimForm["state"], "csrf_token": attackerForm["csrf_token"]})
	otherForm := with(url.Values{"state": victimForm["state"], "csrf_token": signupForm["csrf_token"]})
	for name, f := range map[string]url.Values{"no token": noToken, "another browser's token": foreign, "another form's token": otherForm} {
		r := victim.post("/accounts/v1/ui/login", f)
		if r.status != http.StatusForbidden {
			t.Errorf("sign-in with %s: %d, expected 403", name, r.status)
		}
		if victim.sessionCookie() {
			t.Fatalf("sign-in with %s set a session cookie", name)
		}
	}
	// The attacker's own cookie and token work for the attacker only.
	if r := attacker.post("/accounts/v1/ui/login", with(attackerForm)); r.status != http.StatusSeeOther {
		t.Errorf("sign-in with the browser's own token: %d, expected 303", r.status)
	}
}

// pagesOpenRedirect: after signing in, a return_to leading off the
// gateway in any spelling lands on the default page instead.
func pagesOpenRedirect(t *testing.T, base string) {
	for _, target := range []string{
		"//evil.example/x", `/\evil.example`, "https:evil.example", "%2F%2Fevil.example", "/%2F%2Fevil.example",
		"http://user@evil.example", "http://127.0.0.1@evil.example/", "https://evil.example", "javascript:alert(1)",
		"data:text/html,hi", "/\t/evil.example", "\n//evil.example", "///evil.example", " //evil.example", "http:/\\evil.example",
		"/accounts/v1/ui/settings\r\nLocation: https://evil.example",
	} {
		v := newPageVisitor(t, base)
		f := v.form("/accounts/v1/ui/login?return_to="+url.QueryEscape(target), "/accounts/v1/ui/login")
		f.Set("email", clitest.LoginEmail)
		f.Set("password", clitest.LoginPassword)
		r := v.post("/accounts/v1/ui/login", f)
		loc := r.header.Get("Location")
		if r.status != http.StatusSeeOther {
			t.Errorf("return_to %q: sign-in answered %d, expected 303", target, r.status)
			continue
		}
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, `/\`) || strings.ContainsAny(loc, "\r\n\t\\") {
			t.Errorf("return_to %q: sent to %q, off the gateway", target, loc)
		}
	}
}

// pagesEnumeration: forgot-password and a wrong password answer a known
// and an unknown address alike (the page, its status and its words).
func pagesEnumeration(t *testing.T, base string) {
	normalize := regexp.MustCompile(`value="[^"]*"`)
	answer := func(path, action string, fields url.Values) (int, string) {
		v := newPageVisitor(t, base)
		f := v.form(path, action)
		for k, vs := range fields {
			f[k] = vs
		}
		r := v.post(action, f)
		return r.status, normalize.ReplaceAllString(r.body, `value=""`)
	}
	for _, tc := range []struct{ path, action, field string }{
		{"/accounts/v1/ui/forgot", "/accounts/v1/ui/forgot", ""},
		{"/accounts/v1/ui/login", "/accounts/v1/ui/login", "wrong password"},
	} {
		fields := func(addr string) url.Values {
			f := url.Values{"email": {addr}}
			if tc.field != "" {
				f.Set("password", "not the password at all")
			}
			return f
		}
		ks, kb := answer(tc.path, tc.action, fields(clitest.LoginEmail))
		us, ub := answer(tc.path, tc.action, fields("nobody-here@example.com"))
		kb = strings.ReplaceAll(kb, clitest.LoginEmail, "ADDR")
		ub = strings.ReplaceAll(ub, "nobody-here@example.com", "ADDR")
		if ks != us || kb != ub {
			t.Errorf("%s: a known address answers %d, an unknown one %d; the pages differ: %v", tc.action, ks, us, kb != ub)
		}
	}
}

// pagesHostileBodies: bodies no form sends are refused with a 4xx and
// never a 5xx, on every form of the pages.
func pagesHostileBodies(t *testing.T, base string) {
	v := newPageVisitor(t, base)
	form := v.form("/accounts/v1/ui/login", "/accounts/v1/ui/login")
	token := form.Get("csrf_token")
	huge := strings.Repeat("a", 1<<20)
	bodies := []struct {
		name, contentType string
		body              []byte
	}{
		{"1 MiB field", "application/x-www-form-urlencoded", []byte("csrf_token=" + token + "&email=" + huge)},
		{"JSON", "application/json", []byte(`{"email":"a@example.com"}`)},
		{"multipart", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na\r\n--x--\r\n")},
		{"invalid UTF-8", "application/x-www-form-urlencoded", []byte("csrf_token=" + token + "&email=%ff%fe&password=%c0%af")},
		{"NUL bytes", "application/x-www-form-urlencoded", []byte("csrf_token=" + token + "&email=a%00b@example.com&password=x%00y")},
		{"repeated fields", "application/x-www-form-urlencoded", []byte("csrf_token=" + token + "&csrf_token=x&email=a@example.com&email=b@example.com")},
		{"broken escapes", "application/x-www-form-urlencoded", []byte("csrf_token=%zz&email=%")},
		{"huge return_to", "application/x-www-form-urlencoded", []byte("csrf_token=" + token + "&return_to=/" + strings.Repeat("x", 10000))},
		{"no content type", "", []byte("email=a@example.com")},
	}
	for _, path := range []string{"/accounts/v1/ui/login", "/accounts/v1/ui/login/code", "/accounts/v1/ui/login/totp",
		"/accounts/v1/ui/signup", "/accounts/v1/ui/forgot", "/accounts/v1/ui/recover", "/accounts/v1/ui/verify", "/accounts/v1/ui/logout"} {
		for _, b := range bodies {
			r := v.send(http.MethodPost, path, b.contentType, b.body)
			if r.status < 400 && r.status != http.StatusOK && r.status != http.StatusSeeOther {
				t.Errorf("POST %s with %s: %d", path, b.name, r.status)
			}
		}
	}
}
