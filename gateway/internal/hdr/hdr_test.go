package hdr_test

import (
	"testing"

	"github.com/authgw/authgw/gateway/internal/hdr"
)

func TestFoldedPrefix(t *testing.T) {
	tests := []struct {
		givenName   string
		givenPrefix string
		givenWhole  bool
		expect      bool
	}{
		{"X-Auth-Info", "x-auth-info", false, true},
		{"x_AUTH-info_Signed", "x-auth-info", false, true},
		{"X-Auth-Inf", "x-auth-info", false, false},
		{"X\rAuth-Info", "x-auth-info", false, false}, // only "_" stands for "-"
		{"X-Auth-Info", "x-auth-info", true, true},
		{"X-Auth-Info-Signed", "x-auth-info", true, false},
		{"Authorization", "authorization", true, true},
		{"Authorization2", "authorization", true, false},
		{"", "", true, true},
		{"a", "", false, true},
		{"\xff-Auth-Info", "x-auth-info", false, false},
		{"@-auth-info", "x-auth-info", false, false},
	}
	for _, tt := range tests {
		if got := hdr.FoldedPrefix(tt.givenName, tt.givenPrefix, tt.givenWhole); got != tt.expect {
			t.Errorf("FoldedPrefix(%q, %q, %v) = %v, want %v", tt.givenName, tt.givenPrefix, tt.givenWhole, got, tt.expect)
		}
	}
}

func TestCookieNameFolds(t *testing.T) {
	const target = "__host-authgw-get"
	tests := []struct {
		name      string
		givenName string
		expect    bool
	}{
		{"exact", "__Host-authgw-get", true},
		{"space before =", "__Host-authgw-get ", true},
		{"spaces and tabs around", " \t__Host-authgw-get\t ", true},
		{"other case (ASP.NET Core)", "__HOST-AUTHGW-GET", true},
		{"percent-encoded (PHP, Rack)", "%5F%5FHost%2Dauthgw-get", true},
		{"plus for underscore (PHP: + is a space, a space is _)", "++Host-authgw-get", true},
		{"dots for underscores (PHP)", "..Host-authgw-get", true},
		{"inner space for underscore (PHP)", " _ Host-authgw-get", true},
		{"array element (PHP)", "__Host-authgw-get[x]", true},
		{"array (PHP)", "__Host-authgw-get[]", true},
		{"longer name", "__Host-authgw-getx", false},
		{"shorter name", "__Host-authgw-ge", false},
		{"another method", "__Host-authgw-post", false},
		{"bad escape kept as is", "%5G_Host-authgw-get", false},
		{"empty", "", false},
		{"no-break space before (Django, Starlette, jshttp/cookie)", "\xa0__Host-authgw-get", true},
		{"next line before (Python str.strip)", "\x85__Host-authgw-get", true},
		{"no-break space after", "__Host-authgw-get\xa0", true},
		{"separators and DEL around", "\x1c\x1f__Host-authgw-get\x7f", true},
		{"UTF-8 no-break space around", "\xc2\xa0__Host-authgw-get\xc2\xa0", true},
		{"escaped spaces before (PHP skips them after decoding)", "%20%20__Host-authgw-get", true},
		{"escaped no-break space around", "%A0__Host-authgw-get%C2%A0", true},
		{"vertical tab and form feed around", "\v\f__Host-authgw-get\r", true},
		{"trimmed bytes then an array", "__Host-authgw-get\xa0[x]", true},
		{"no-break space inside", "__Host-authgw\xa0get", false},
		{"non-ASCII letter after", "__Host-authgw-get\xa0x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hdr.CookieNameFolds(tt.givenName, target); got != tt.expect {
				t.Errorf("CookieNameFolds(%q) = %v, want %v", tt.givenName, got, tt.expect)
			}
		})
	}
}

func TestQueryKeyFolds(t *testing.T) {
	tests := []struct {
		name     string
		givenKey string
		target   string
		expect   bool
	}{
		{"exact", "_method", "_method", true},
		{"other case", "_METHOD", "_method", true},
		{"percent-encoded", "%5Fmethod", "_method", true},
		{"dot for underscore (PHP)", ".method", "_method", true},
		{"plus for underscore (PHP)", "+method", "_method", true},
		{"array (PHP, qs)", "_method[]", "_method", true},
		{"header name as a key", "X-HTTP-Method-Override", "x-http-method-override", true},
		{"longer", "_methods", "_method", false},
		{"without underscore", "method", "_method", false},
		{"another key", "q", "_method", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hdr.QueryKeyFolds(tt.givenKey, tt.target); got != tt.expect {
				t.Errorf("QueryKeyFolds(%q, %q) = %v, want %v", tt.givenKey, tt.target, got, tt.expect)
			}
		})
	}
}
