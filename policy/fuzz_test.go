package policy_test

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/policytest"
)

// Seed corpora live in ../testdata/fuzz/<FuzzName>/, one seed per plain
// file (not Go's corpus format).
var seedFiles = policytest.SeedFiles

// referenceCanonical is the canonical path of the README's "Canonical paths", segment by segment
// with the standard library: no empty, "." or ".." segment (also before
// a ";" parameter, raw or %3B), only visible ASCII other than "\", "?" and "#",
// valid percent-encoding that encodes no "/", ".", "\", control byte or
// DEL, and every segment decoding to valid UTF-8.
func referenceCanonical(p string) bool {
	if p == "" || p[0] != '/' || len(p) > policy.MaxPathLength {
		return false
	}
	if p == "/" {
		return true
	}
	for _, seg := range strings.Split(p[1:], "/") {
		head, _, _ := strings.Cut(seg, ";")
		for i := 0; i+2 < len(head); i++ {
			if head[i] == '%' && head[i+1] == '3' && (head[i+2] == 'b' || head[i+2] == 'B') {
				head = head[:i] // an encoded ";" starts a parameter too
				break
			}
		}
		if head == "" || head == "." || head == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; c <= 0x20 || c >= 0x7f || c == '\\' || c == '?' || c == '#' {
				return false
			}
		}
		lower := strings.ToLower(seg)
		if strings.Contains(lower, "%2f") || strings.Contains(lower, "%2e") || strings.Contains(lower, "%5c") {
			return false
		}
		dec, err := url.PathUnescape(seg)
		if err != nil || !utf8.ValidString(dec) {
			return false
		}
		for i := 0; i < len(dec); i++ {
			if dec[i] < 0x20 || dec[i] == 0x7f {
				return false
			}
		}
	}
	return true
}

// FuzzCanonicalPath: CanonicalPath never panics, what it accepts has
// the properties the README's "Canonical paths" and "Route patterns" and its doc promise, and it agrees with
// referenceCanonical.
//
// Seed file: the raw path.
func FuzzCanonicalPath(f *testing.F) {
	for _, p := range []string{
		"/", "/a", "/a/b", "//a", "/a/", "/./a", "/a/../b", "/a/%2e%2E/b", "/a%2Fb", "/a%5cb", "/a%00",
		"/a%", "/a%4", "/a%zz", "/a;x", "/..;x", "/a/%C0%AE", "/%C3%A9", "/%C3/%A9", "/a b", "/a\\b", "/a?b",
		"/a#b", "/%7F", "/%25", "/%252e", "/\xc3\xa9", "a", "",
	} {
		f.Add(p)
	}
	for _, seed := range seedFiles(f, "FuzzCanonicalPath") {
		f.Add(string(seed))
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := policy.CanonicalPath(p)
		if ref := referenceCanonical(p); (err == nil) != ref {
			t.Fatalf("CanonicalPath(%q) = %v, reference says canonical=%v", p, err, ref)
		}
		if err != nil {
			if !errors.Is(err, policy.ErrNonCanonicalPath) {
				t.Fatalf("CanonicalPath(%q) = %v, not an ErrNonCanonicalPath", p, err)
			}
			return
		}
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.Contains(p, "/./") ||
			strings.Contains(p, "/../") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..") ||
			(p != "/" && strings.HasSuffix(p, "/")) {
			t.Fatalf("accepted %q: empty or dot segment", p)
		}
		lower := strings.ToLower(p)
		for _, enc := range []string{"%2f", "%2e", "%5c"} {
			if strings.Contains(lower, enc) {
				t.Fatalf("accepted %q: holds %s", p, enc)
			}
		}
		dec, uerr := url.PathUnescape(p)
		if uerr != nil {
			t.Fatalf("accepted %q, which url.PathUnescape refuses: %v", p, uerr)
		}
		for i := 0; i < len(dec); i++ {
			if dec[i] < 0x20 || dec[i] == 0x7f {
				t.Fatalf("accepted %q, which decodes to control byte %#x", p, dec[i])
			}
		}
		if !utf8.ValidString(dec) {
			t.Fatalf("accepted %q, which decodes to invalid UTF-8 %q", p, dec)
		}
		// The decoded path has the segments of the raw one: no "/"
		// appears by decoding.
		if strings.Count(dec, "/") != strings.Count(p, "/") {
			t.Fatalf("accepted %q, whose decoding %q has other segments", p, dec)
		}
	})
}

// referenceMatch is the matching of the README's "Route patterns" written plainly: split both on
// "/", decode each path segment with url.PathUnescape, compare segment
// by segment.
func referenceMatch(route, path string) bool {
	if route == "/" {
		return path == "/"
	}
	rsegs := strings.Split(route[1:], "/")
	var psegs []string
	if path != "/" {
		psegs = strings.Split(path[1:], "/")
	}
	for i, r := range rsegs {
		if r == "**" && i == len(rsegs)-1 {
			return true
		}
		if i >= len(psegs) {
			return false
		}
		p, err := url.PathUnescape(psegs[i])
		if err != nil {
			return false
		}
		switch {
		case r == "*":
			if p == "" {
				return false
			}
		case strings.HasSuffix(r, "*"):
			prefix := strings.TrimSuffix(r, "*")
			if !strings.HasPrefix(p, prefix) || len(p) == len(prefix) {
				return false
			}
		default:
			if p != r {
				return false
			}
		}
	}
	return len(psegs) == len(rsegs)
}

// fuzzOrgParam matches an organization parameter of a token route.
var fuzzOrgParam = regexp.MustCompile(`:orgId(Read|Edit|Manage|Delete)?`)

// FuzzMatchRoute: ParseRoutes and Routes.Match never panic, ParseRoutes
// accepts exactly what ValidRoute does, and for a valid route and a
// canonical path Match agrees with referenceMatch.
//
// Seed file: the route, a newline, the path.
func FuzzMatchRoute(f *testing.F) {
	for _, rp := range [][2]string{
		{"/users/42/**", "/users/42"}, {"/users/42/**", "/users/42/a/b"}, {"/users/42/**", "/users/420"},
		{"/users/42/**", "/users/42-admin"}, {"/users/42/**", "/users/4%32"}, {"/users/*", "/users/42"},
		{"/users/*", "/users"}, {"/files/42_*", "/files/42_x"}, {"/files/42_*", "/files/42_"},
		{"/files/42_*", "/files/42%5Fx"}, {"/**", "/"}, {"/", "/"}, {"/*", "/"}, {"/a", "/"},
		{"/Users/42", "/users/42"}, {"/a/**", "/a;x"}, {"/a*/b", "/ab/b"},
		{"/o/:orgIdRead/**", "/o/org-a/x"}, {"/o/:orgId_*", "/o/org-a_x"}, {"/o/x-:orgIdEdit", "/o/x-%6Frg-a"},
		{"/o/:orgId/p/:orgIdDelete", "/o/org-a/p/org-a"}, {"/o/:orgId", "/o/org-a.b"},
	} {
		f.Add(rp[0], rp[1])
	}
	for _, seed := range seedFiles(f, "FuzzMatchRoute") {
		route, path, _ := strings.Cut(string(seed), "\n")
		f.Add(route, path)
	}
	f.Fuzz(func(t *testing.T, route, path string) {
		// Match's result means something only for a canonical path, but
		// it must not panic on anything.
		var got bool
		compiled, err := policy.ParseRoutes(route)
		if (err == nil) != policy.ValidRoute(route) && !strings.Contains(route, " ") {
			t.Fatalf("ParseRoutes(%q) error %v, ValidRoute %v", route, err, policy.ValidRoute(route))
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Match(%q, %q) panics: %v", route, path, r)
				}
			}()
			got = compiled.Match(path)
			compiled.MatchOrgs(path, policy.OrgGrants{"org-a:remd"})
		}()
		if err != nil {
			if got {
				t.Fatalf("the zero Routes (from %q) matched %q", route, path)
			}
			return
		}
		if !policy.ValidRoute(route) || policy.CanonicalPath(path) != nil {
			return
		}
		if strings.Contains(route, ":") {
			// An organization parameter matches nothing without
			// memberships, a public route set refuses it, and with
			// org-a granted every flag it matches as the route with
			// org-a written in (the old expansion).
			if got {
				t.Fatalf("Match(%q, %q) matched an organization parameter without memberships", route, path)
			}
			if _, err := policy.NewRoutes(route); err == nil {
				t.Fatalf("NewRoutes(%q) accepts an organization parameter", route)
			}
			expanded := fuzzOrgParam.ReplaceAllLiteralString(route, "org-a")
			want := referenceMatch(expanded, path)
			if compiled.MatchOrgs(path, policy.OrgGrants{"org-a:remd"}) != want {
				t.Fatalf("MatchOrgs(%q, %q, org-a) = %v, reference on %q %v", route, path, !want, expanded, want)
			}
			return
		}
		if want := referenceMatch(route, path); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference %v", route, path, got, want)
		}
		twice, err := policy.ParseRoutes(route + " " + route)
		if err != nil || twice.Match(path) != got {
			t.Fatalf("ParseRoutes(%q twice) = %v, %v; once = %v", route, twice.Match(path), err, got)
		}
		set, err := policy.NewRoutes(route)
		if err != nil {
			t.Fatalf("ValidRoute(%q) but NewRoutes: %v", route, err)
		}
		if set.Match(path) != got {
			t.Fatalf("NewRoutes(%q).Match disagrees with ParseRoutes", path)
		}
	})
}
