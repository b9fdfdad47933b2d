package ui_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

var csrfKey = bytes.Repeat([]byte{0x42}, 32)

func newCSRF(t *testing.T) *ui.CSRF {
	t.Helper()
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey})
	if err != nil {
		t.Fatalf("NewCSRF: %v", err)
	}
	return c
}

// browser is a cookie jar of one: the CSRF cookie a browser got.
type browser struct{ cookie *http.Cookie }

// load issues a token for purpose as a GET of the form's page would,
// keeping any cookie set, and returns the token.
func (b *browser) load(t *testing.T, c *ui.CSRF, purpose string) string {
	t.Helper()
	w := httptest.NewRecorder()
	tok, err := c.Issue(w, b.request(), purpose)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	for _, ck := range w.Result().Cookies() {
		if ck.Name == c.CookieName() {
			b.cookie = ck
		}
	}
	return tok
}

func (b *browser) request() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://gw.example/accounts/v1/ui/login", nil)
	if b.cookie != nil {
		r.AddCookie(&http.Cookie{Name: b.cookie.Name, Value: b.cookie.Value})
	}
	return r
}

func TestCSRFCookieAttributes(t *testing.T) {
	c := newCSRF(t)
	w := httptest.NewRecorder()
	if _, err := c.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "login"); err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Issue set %d cookies, expected 1", len(cookies))
	}
	ck := cookies[0]
	if !strings.HasPrefix(ck.Name, "__Host-") || ck.Path != "/" || ck.Domain != "" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie %+v: expected __Host-, Path=/, no Domain, Secure, HttpOnly, SameSite=Lax", ck)
	}
	if ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Errorf("cookie %+v: expected a browser-session cookie", ck)
	}
}

// TestCSRFInsecureCookie: over plain HTTP the cookie drops Secure and
// the __Host- prefix (browsers refuse such a cookie without Secure) and
// keeps everything else; tokens still need the cookie.
func TestCSRFInsecureCookie(t *testing.T) {
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{}
	tok := b.load(t, c, "login")
	ck := b.cookie
	if ck == nil || ck.Name != ui.InsecureCSRFCookie || ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v: expected %s, not Secure, HttpOnly, Path=/, no Domain, SameSite=Lax", ck, ui.InsecureCSRFCookie)
	}
	if err := c.Check(b.request(), "login", tok); err != nil {
		t.Errorf("Check with the cookie: %v", err)
	}
	if err := c.Check(httptest.NewRequest(http.MethodPost, "/", nil), "login", tok); !errors.Is(err, ui.ErrCSRFNoCookie) {
		t.Errorf("Check without the cookie = %v, expected ErrCSRFNoCookie", err)
	}
}

func TestCSRFIssueReusesCookie(t *testing.T) {
	c := newCSRF(t)
	var b browser
	first := b.load(t, c, "login")
	cookie := b.cookie
	w := httptest.NewRecorder()
	second, err := c.Issue(w, b.request(), "login")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("Issue set a new cookie though the browser had one")
	}
	if first != second || b.cookie != cookie {
		t.Errorf("the token changed for the same browser and purpose")
	}
}

func TestCSRFTwoFormsOneResponse(t *testing.T) {
	c := newCSRF(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	a, err := c.Issue(w, r, "a")
	if err != nil {
		t.Fatal(err)
	}
	bTok, err := c.Issue(w, r, "b")
	if err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("two forms on one page set %d cookies, expected 1", len(cookies))
	}
	post := httptest.NewRequest(http.MethodPost, "/", nil)
	post.AddCookie(cookies[0])
	if err := c.Check(post, "a", a); err != nil {
		t.Errorf("form a: %v", err)
	}
	if err := c.Check(post, "b", bTok); err != nil {
		t.Errorf("form b: %v", err)
	}
}

func TestCSRFCheck(t *testing.T) {
	c := newCSRF(t)
	var victim, attacker browser
	victimToken := victim.load(t, c, "login")
	attackerToken := attacker.load(t, c, "login")
	otherKey, err := ui.NewCSRF(ui.CSRFConfig{Key: bytes.Repeat([]byte{0x43}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var other browser
	otherKeyToken := other.load(t, otherKey, "login")

	tampered := []byte(victimToken)
	tampered[3] ^= 1
	for _, tc := range []struct {
		name         string
		givenRequest *http.Request
		givenPurpose string
		givenToken   string
		expectErr    error
	}{
		{"own token", victim.request(), "login", victimToken, nil},
		{"no cookie", (&browser{}).request(), "login", victimToken, ui.ErrCSRFNoCookie},
		{"no token", victim.request(), "login", "", ui.ErrCSRFNoToken},
		{"foreign cookie: attacker's token in the victim's browser", victim.request(), "login", attackerToken, ui.ErrCSRFMismatch},
		{"replay across browsers: victim's token in another browser", attacker.request(), "login", victimToken, ui.ErrCSRFMismatch},
		{"wrong purpose", victim.request(), "change-password", victimToken, ui.ErrCSRFMismatch},
		{"tampered", victim.request(), "login", string(tampered), ui.ErrCSRFMismatch},
		{"truncated", victim.request(), "login", victimToken[:len(victimToken)-1], ui.ErrCSRFMismatch},
		{"extended", victim.request(), "login", victimToken + "A", ui.ErrCSRFMismatch},
		{"the cookie value as token", victim.request(), "login", victim.cookie.Value, ui.ErrCSRFMismatch},
		{"made with another key", other.request(), "login", otherKeyToken, ui.ErrCSRFMismatch},
		{"malformed cookie", withCookie(c.CookieName(), "not-base64!"), "login", victimToken, ui.ErrCSRFNoCookie},
		{"short cookie", withCookie(c.CookieName(), "AAAA"), "login", victimToken, ui.ErrCSRFNoCookie},
		{"two cookies of the name", withCookies(victim.cookie, attacker.cookie), "login", victimToken, ui.ErrCSRFNoCookie},
		{"invalid purpose", victim.request(), "", victimToken, ui.ErrInvalidCSRFConfig},
		{"purpose with NUL", victim.request(), "login\x00", victimToken, ui.ErrInvalidCSRFConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Check(tc.givenRequest, tc.givenPurpose, tc.givenToken)
			if tc.expectErr == nil {
				if err != nil {
					t.Fatalf("Check = %v, expected nil", err)
				}
				return
			}
			if !errors.Is(err, tc.expectErr) {
				t.Fatalf("Check = %v, expected %v", err, tc.expectErr)
			}
			if tc.expectErr != ui.ErrInvalidCSRFConfig && !errors.Is(err, ui.ErrCSRF) {
				t.Errorf("Check = %v, expected it to wrap ErrCSRF", err)
			}
		})
	}
}

func TestCSRFPurposesDoNotCollide(t *testing.T) {
	// Purpose and cookie value are separated by a NUL that neither may
	// contain, so "a"+"\x00b…" cannot be read as "a\x00b"+"…".
	c := newCSRF(t)
	var b browser
	if b.load(t, c, "ab") == b.load(t, c, "a") {
		t.Errorf("purposes \"ab\" and \"a\" share a token")
	}
}

func withCookie(name, value string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.AddCookie(&http.Cookie{Name: name, Value: value})
	return r
}

func withCookies(cks ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	for _, ck := range cks {
		r.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	return r
}

func TestCSRFIssueReplacesMalformedCookie(t *testing.T) {
	c := newCSRF(t)
	w := httptest.NewRecorder()
	tok, err := c.Issue(w, withCookie(c.CookieName(), "junk"), "login")
	if err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Issue set %d cookies over a malformed one, expected 1", len(cookies))
	}
	if err := c.Check(withCookies(cookies[0]), "login", tok); err != nil {
		t.Errorf("Check with the new cookie: %v", err)
	}
}

func TestCSRFIssueRandomFailure(t *testing.T) {
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey, Rand: io.LimitReader(nil, 0)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := c.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "login"); err == nil {
		t.Fatal("Issue with a failing random source succeeded")
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("Issue set a cookie though it failed")
	}
}

func TestCSRFInjectedRandomness(t *testing.T) {
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := c.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "login"); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Result().Cookies()[0].Value, "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"; got != want {
		t.Errorf("cookie value %q, expected %q from the injected source", got, want)
	}
}

func TestNewCSRFRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given ui.CSRFConfig
	}{
		{"no key", ui.CSRFConfig{}},
		{"short key", ui.CSRFConfig{Key: make([]byte, 31)}},
		{"cookie without __Host-", ui.CSRFConfig{Key: csrfKey, CookieName: "csrf"}},
		{"cookie name with a space", ui.CSRFConfig{Key: csrfKey, CookieName: "__Host-a b"}},
		{"SameSite=None", ui.CSRFConfig{Key: csrfKey, SameSite: http.SameSiteNoneMode}},
		{"insecure with __Host-", ui.CSRFConfig{Key: csrfKey, Insecure: true, CookieName: "__Host-csrf"}},
		{"insecure with __Secure-", ui.CSRFConfig{Key: csrfKey, Insecure: true, CookieName: "__Secure-csrf"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ui.NewCSRF(tc.given); !errors.Is(err, ui.ErrInvalidCSRFConfig) {
				t.Errorf("NewCSRF = %v, expected ErrInvalidCSRFConfig", err)
			}
		})
	}
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey, SameSite: http.SameSiteStrictMode})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if _, err := c.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "x"); err != nil {
		t.Fatal(err)
	}
	if got := w.Result().Cookies()[0].SameSite; got != http.SameSiteStrictMode {
		t.Errorf("SameSite %v, expected Strict as configured", got)
	}
}
