package gateway_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/internal/hdr"
	"github.com/authgw/authgw/verifier"
)

// FuzzStripTokenCookies: whatever the Cookie header, after stripping no
// cookie that net/http (what a Go backend reads), a ";"/","-splitting
// parser, Django's parse_cookie (Python's str.strip on the latin-1
// header, as Starlette's cookie_parser too) or hdr.CookieNameFolds would
// take for a token cookie is left, and stripping twice changes nothing
// more.
func FuzzStripTokenCookies(f *testing.F) {
	for _, seed := range []string{
		"__Host-authgw-get=T; theme=dark",
		"__Host-authgw-get =T",
		"theme=dark, __Host-authgw-get=T",
		"%5F%5FHost-authgw-get=T; ..Host-authgw-post=U",
		"__HOST-AUTHGW-GET[x]=T",
		"prefs=a,b; lang=en",
		"\t__Host-authgw-delete\t=\"T\"",
		"\xa0__Host-authgw-get=T; theme=dark",
		"theme=dark;\x85__Host-authgw-put\x1f=T",
		"__Host-authgw-get\xa0=T",
		"",
	} {
		f.Add(seed)
	}
	e := newEnv(f, func(c *gateway.Config) { c.Cookies = verifier.CookieConfig{} })
	var names []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		names = append(names, strings.ToLower(verifier.CookieConfig{}.Name(m)))
	}
	ours := func(name string) bool {
		for _, n := range names {
			if hdr.CookieNameFolds(name, n) {
				return true
			}
		}
		return false
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		h := http.Header{"Cookie": {cookie}}
		e.gw.StripTokenCookies(h)
		for _, c := range (&http.Request{Header: h}).Cookies() {
			if ours(c.Name) {
				t.Fatalf("%q: net/http still reads the cookie %q in %q", cookie, c.Name, h.Values("Cookie"))
			}
		}
		for _, v := range h.Values("Cookie") {
			for _, chunk := range strings.Split(v, ";") {
				if name, _, found := strings.Cut(chunk, "="); found && ours(pythonStrip(name)) {
					t.Fatalf("%q: Django reads the cookie %q in %q", cookie, pythonStrip(name), v)
				}
			}
			for _, pair := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
				if name, _, _ := strings.Cut(pair, "="); ours(name) {
					t.Fatalf("%q: the pair %q is left in %q", cookie, pair, v)
				}
			}
		}
		again := h.Clone()
		e.gw.StripTokenCookies(again)
		if strings.Join(again.Values("Cookie"), "|") != strings.Join(h.Values("Cookie"), "|") {
			t.Fatalf("%q: stripping twice changed %q into %q", cookie, h.Values("Cookie"), again.Values("Cookie"))
		}
	})
}

// pythonStrip is Python's str.strip() on a string decoded as latin-1 (how
// WSGI and ASGI servers hand headers to Django and Starlette): it trims
// every character for which str.isspace() holds.
func pythonStrip(s string) string {
	space := func(c byte) bool {
		return c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f || c == 0x85 || c == 0xa0
	}
	for len(s) > 0 && space(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && space(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
