package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/authgw/authgw/policy"
)

// hundredRoutes is a routes caveat of 100 concrete patterns of the
// shapes policies use: literal, "*", prefix "abc*" and trailing "**".
func hundredRoutes() (routes string, prefixes []string) {
	var rs []string
	for i := 0; i < 100; i++ {
		var r string
		switch i % 4 {
		case 0:
			r = fmt.Sprintf("/svc%d/v1/users/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/**", i)
		case 1:
			r = fmt.Sprintf("/svc%d/v1/items/*/detail", i)
		case 2:
			r = fmt.Sprintf("/svc%d/v1/notes/u42_*/*", i)
		default:
			r = fmt.Sprintf("/svc%d/v1/orgs/org-%d/reports", i, i)
		}
		rs = append(rs, r)
		prefixes = append(prefixes, r[:strings.IndexByte(r[1:], '/')+1])
	}
	return strings.Join(rs, " "), prefixes
}

// BenchmarkMatchRoutes matches a path against 100 patterns, where the
// last pattern is the one that matches (the worst case) and where none
// does, beside a baseline of 100 plain strings.HasPrefix tests.
func BenchmarkMatchRoutes(b *testing.B) {
	routes, prefixes := hundredRoutes()
	hit := "/svc99/v1/orgs/org-99/reports"
	miss := "/other/v1/orgs/org-99/reports"
	b.Run("baseline-100-HasPrefix", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for _, p := range prefixes {
				if strings.HasPrefix(miss, p) {
					n++
				}
			}
			if n != 0 {
				b.Fatal("baseline matched")
			}
		}
	})
	b.Run("checked-100-hit-last", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := policy.ParseRoutes(routes)
			if err != nil || !r.Match(hit) {
				b.Fatal("no match", err)
			}
		}
	})
	compiled, err := policy.ParseRoutes(routes)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("precompiled-100-hit-last", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !compiled.Match(hit) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("precompiled-100-miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if compiled.Match(miss) {
				b.Fatal("match")
			}
		}
	})
}

// BenchmarkCanonicalPath checks a typical 6-segment path with one escape.
func BenchmarkCanonicalPath(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := policy.CanonicalPath("/accounts/v1/users/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/emails/a%40b"); err != nil {
			b.Fatal(err)
		}
	}
}
