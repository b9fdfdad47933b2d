package ui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

// browserRead applies what a WHATWG URL parser does to an http(s) URL
// before Go's net/url would see the same string: strip leading and
// trailing C0 controls and spaces, drop every tab and newline, read "\"
// as "/".
func browserRead(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, s)
	return s
}

// FuzzResolve checks that whatever return_to it is given, Resolve
// answers the default, the input itself when it is a path starting with
// exactly one "/", or the input itself when it is an URL on an allowed
// origin; and that a browser resolving the answer against a gateway page
// lands on the gateway's origin or an allowed one.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"/", "/demo/v1/hello?x=1#y", "//evil.example", "/\\evil.example", "\\/evil.example",
		"https:evil.example", "https:/evil.example", "https:///evil.example",
		"http://allowed.example@evil.example", "http://evil.example#@allowed.example",
		"%2F%2Fevil.example", "/%5Cevil.example", "/%252F/evil", "/\t/evil.example", "\x00/x",
		"javascript:alert(1)", "data:text/html,x", "https://allowed.example/x",
		"HTTPS://ALLOWED.EXAMPLE:443/", "http://app.example:8080/", "https://[2001:db8::1]:8443/",
		"https://bücher.example/", "https://allowed.example\\@evil.example",
	} {
		f.Add(s)
	}
	p := testPolicy(f)
	base, err := url.Parse("https://gw.example/accounts/v1/ui/login?return_to=x")
	if err != nil {
		f.Fatal(err)
	}
	allowed := map[string]bool{
		"https://gw.example":            true,
		"https://allowed.example":       true,
		"http://app.example:8080":       true,
		"https://xn--bcher-kva.example": true,
		"https://[2001:db8::1]:8443":    true,
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := p.Resolve(raw)
		if got == testDefault {
			return
		}
		if got != raw {
			t.Fatalf("Resolve(%q) = %q: neither the default nor the input", raw, got)
		}
		if browserRead(got) != got {
			t.Fatalf("Resolve(%q) = %q, which a browser reads differently from net/url", raw, got)
		}
		if strings.HasPrefix(got, "/") {
			if len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
				t.Fatalf("Resolve(%q) = %q: a scheme-relative URL", raw, got)
			}
		} else if i := strings.Index(got, ":"); i < 0 || !strings.HasPrefix(got[i:], "://") {
			t.Fatalf("Resolve(%q) = %q: neither a path nor scheme://", raw, got)
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("Resolve(%q) = %q, which net/url cannot parse: %v", raw, got, err)
		}
		u := base.ResolveReference(ref)
		if u.User != nil {
			t.Fatalf("Resolve(%q) = %q carries user information", raw, got)
		}
		host := strings.ToLower(u.Host)
		host = strings.TrimSuffix(host, ":")
		switch {
		case u.Scheme == "https":
			host = strings.TrimSuffix(host, ":443")
		case u.Scheme == "http":
			host = strings.TrimSuffix(host, ":80")
		}
		if o := u.Scheme + "://" + host; !allowed[o] {
			t.Fatalf("Resolve(%q) = %q, which a browser on the gateway resolves to origin %q", raw, got, o)
		}
	})
}

// FuzzCSRFCheck checks that no token but the one issued to a browser
// for a purpose passes Check with that browser's cookie, and that Check
// never panics on what a form sends.
func FuzzCSRFCheck(f *testing.F) {
	c, err := ui.NewCSRF(ui.CSRFConfig{Key: csrfKey})
	if err != nil {
		f.Fatal(err)
	}
	w := httptest.NewRecorder()
	issued, err := c.Issue(w, httptest.NewRequest(http.MethodGet, "/", nil), "login")
	if err != nil {
		f.Fatal(err)
	}
	cookie := w.Result().Cookies()[0]
	f.Add("login", issued)
	f.Add("login", issued[:len(issued)-1]+"A")
	f.Add("other", issued)
	f.Add("", "")
	f.Add("login\x00", issued)
	f.Fuzz(func(t *testing.T, purpose, token string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		err := c.Check(r, purpose, token)
		if ok := purpose == "login" && token == issued; ok != (err == nil) {
			t.Fatalf("Check(%q, %q) = %v", purpose, token, err)
		}
	})
}
