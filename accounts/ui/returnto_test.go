package ui_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/ui"
)

const testDefault = "/accounts/v1/ui/account"

func testPolicy(t testing.TB) ui.ReturnPolicy {
	t.Helper()
	p, err := ui.NewReturnPolicy(ui.ReturnPolicyConfig{
		AllowedOrigins: []string{"https://allowed.example", "http://app.example:8080", "https://xn--bcher-kva.example", "https://[2001:db8::1]:8443"},
		Default:        testDefault,
	})
	if err != nil {
		t.Fatalf("NewReturnPolicy: %v", err)
	}
	return p
}

func TestResolveAccepts(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		name, given string
	}{
		{"root", "/"},
		{"path", "/demo/v1/hello"},
		{"path with query and fragment", "/demo/v1/hello?x=1&y=%2F#top"},
		{"encoded slash later in the path", "/a/%2F%2Fb"},
		{"colon in a path", "/https:evil"},
		{"javascript as a path segment", "/javascript:alert(1)"},
		{"allowed origin", "https://allowed.example"},
		{"allowed origin with path", "https://allowed.example/app?next=1#f"},
		{"allowed origin, default port written", "https://allowed.example:443/app"},
		{"allowed origin, empty port", "https://allowed.example:/app"},
		{"allowed origin, upper-case scheme and host", "HTTPS://ALLOWED.Example/app"},
		{"allowed origin with its port", "http://app.example:8080/x"},
		{"allowed IDN origin in its xn-- form", "https://xn--bcher-kva.example/"},
		{"allowed IPv6 origin", "https://[2001:db8::1]:8443/x"},
		{"allowed origin, query only", "https://allowed.example?x=1"},
		{"longest accepted", "/" + strings.Repeat("a", ui.MaxReturnToLen-1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Resolve(tc.given); got != tc.given {
				t.Errorf("Resolve(%q) = %q, expected it unchanged", tc.given, got)
			}
		})
	}
}

func TestResolveRefuses(t *testing.T) {
	p := testPolicy(t)
	for _, tc := range []struct {
		name, given string
	}{
		{"empty", ""},
		{"scheme-relative", "//evil.example"},
		{"scheme-relative with path", "//evil.example/x"},
		{"backslash after slash", "/\\evil.example"},
		{"backslash then slash", "\\/evil.example"},
		{"two backslashes", "\\\\evil.example"},
		{"backslash in an allowed URL", "https://allowed.example\\@evil.example"},
		{"scheme without slashes", "https:evil.example"},
		{"scheme with one slash", "https:/evil.example"},
		{"scheme with three slashes", "https:///evil.example"},
		{"userinfo naming the allowed host", "http://allowed.example@evil.example"},
		{"userinfo on the allowed host", "https://user:pw@allowed.example/"},
		{"fragment naming the allowed host", "http://evil.example#@allowed.example"},
		{"query naming the allowed host", "https://evil.example?@allowed.example"},
		{"allowed host as a subdomain", "https://allowed.example.evil.example/"},
		{"allowed host as a suffix", "https://evilallowed.example/"},
		{"trailing dot", "https://allowed.example./"},
		{"encoded scheme-relative", "%2F%2Fevil.example"},
		{"encoded second slash", "/%2Fevil.example"},
		{"encoded backslash", "/%5Cevil.example"},
		{"lower-case encoded backslash", "/%5cevil.example"},
		{"doubly encoded slash", "/%252Fevil.example"},
		{"trebly encoded backslash", "/%25255Cevil.example"},
		{"bad escape", "/%zz"},
		{"encoded host", "https://allowed%2eexample/"},
		{"tab inside", "/\t/evil.example"},
		{"newline inside", "/\n/evil.example"},
		{"carriage return inside", "/\r/evil.example"},
		{"leading space", " //evil.example"},
		{"leading NUL", "\x00//evil.example"},
		{"DEL", "/\x7f/evil.example"},
		{"encoded newline", "/%0A/evil.example"},
		{"encoded NUL", "/a%00b"},
		{"tab in a scheme", "ht\ttps://allowed.example/"},
		{"javascript", "javascript:alert(1)"},
		{"javascript upper-case", "JavaScript:alert(1)"},
		{"javascript with slashes", "javascript://allowed.example/%0Aalert(1)"},
		{"data", "data:text/html,<script>alert(1)</script>"},
		{"vbscript", "vbscript:msgbox(1)"},
		{"ftp on the allowed host", "ftp://allowed.example/"},
		{"relative without slash", "demo/v1/hello"},
		{"dot-relative", "./x"},
		{"query only", "?x=1"},
		{"fragment only", "#x"},
		{"too long", "/" + strings.Repeat("a", ui.MaxReturnToLen)},
		{"other origin", "https://evil.example/"},
		{"allowed host, other scheme", "http://allowed.example/"},
		{"allowed host, other port", "https://allowed.example:8443/"},
		{"allowed host, port with a leading zero", "http://app.example:08080/"},
		{"port out of range", "https://allowed.example:99999/"},
		{"allowed port, default written", "http://app.example/"},
		{"unicode host of the allowed IDN", "https://bücher.example/"},
		{"unicode path", "/bücher"},
		{"quote", "/a\"onmouseover=\"x"},
		{"angle brackets", "/<script>"},
		{"backtick", "/`x`"},
		{"space inside", "/a b"},
		{"fullwidth solidus", "/\uff0fevil.example"},
		{"IPv6 other port", "https://[2001:db8::1]/"},
		{"empty host", "https://:443/"},
		{"host with underscore", "https://allowed_example/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Resolve(tc.given); got != testDefault {
				t.Errorf("Resolve(%q) = %q, expected the default %q", tc.given, got, testDefault)
			}
		})
	}
}

func TestResolveZeroPolicy(t *testing.T) {
	var p ui.ReturnPolicy
	if got := p.Resolve("https://allowed.example/"); got != "/" {
		t.Errorf("zero policy Resolve(absolute) = %q, expected \"/\"", got)
	}
	if got := p.Resolve("/x"); got != "/x" {
		t.Errorf("zero policy Resolve(\"/x\") = %q, expected \"/x\"", got)
	}
}

func TestNewReturnPolicyRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given ui.ReturnPolicyConfig
	}{
		{"origin with a path", ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://a.example/x"}}},
		{"origin with a trailing slash", ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://a.example/"}}},
		{"origin with userinfo", ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://u@a.example"}}},
		{"origin without scheme", ui.ReturnPolicyConfig{AllowedOrigins: []string{"a.example"}}},
		{"origin with another scheme", ui.ReturnPolicyConfig{AllowedOrigins: []string{"ftp://a.example"}}},
		{"unicode origin", ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://bücher.example"}}},
		{"wildcard origin", ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://*.example"}}},
		{"default off-site", ui.ReturnPolicyConfig{Default: "https://evil.example/"}},
		{"default scheme-relative", ui.ReturnPolicyConfig{Default: "//evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ui.NewReturnPolicy(tc.given)
			if !errors.Is(err, ui.ErrInvalidReturnPolicy) {
				t.Errorf("NewReturnPolicy = %v, expected ErrInvalidReturnPolicy", err)
			}
		})
	}
}

func TestReturnPolicyDefaults(t *testing.T) {
	p, err := ui.NewReturnPolicy(ui.ReturnPolicyConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Default(); got != "/" {
		t.Errorf("Default() = %q, expected \"/\"", got)
	}
	p, err = ui.NewReturnPolicy(ui.ReturnPolicyConfig{AllowedOrigins: []string{"https://a.example"}, Default: "https://a.example/home"})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Resolve("//evil.example"); got != "https://a.example/home" {
		t.Errorf("Resolve = %q, expected the allowed-origin default", got)
	}
}
