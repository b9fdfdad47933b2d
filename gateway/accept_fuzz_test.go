package gateway_test

import (
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway"
)

// FuzzPrefersHTML: whatever the Accept header, prefersHTML answers
// without panicking, the same for the header split over two lines at a
// comma, and never calls a header that lists no text/html, text/* or
// */* range a browser.
func FuzzPrefersHTML(f *testing.F) {
	for _, seed := range []string{
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"*/*",
		"application/json",
		"text/html;q=0.5, application/json",
		"text/*;q=1.000",
		"text/html;q=1.5",
		"text/html;level=1;q=0.9",
		";;,,/",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := gateway.PrefersHTML([]string{accept})
		if i := strings.IndexByte(accept, ','); i >= 0 {
			if split := gateway.PrefersHTML([]string{accept[:i], accept[i+1:]}); split != got {
				t.Errorf("%q is %v, split at its first comma %v", accept, got, split)
			}
		}
		lower := strings.ToLower(accept)
		if got && !strings.Contains(lower, "text/") && !strings.Contains(lower, "*/*") {
			t.Errorf("%q is no browser's, yet PrefersHTML says so", accept)
		}
	})
}
