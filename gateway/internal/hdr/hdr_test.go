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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hdr.CookieNameFolds(tt.givenName, target); got != tt.expect {
				t.Errorf("CookieNameFolds(%q) = %v, want %v", tt.givenName, got, tt.expect)
			}
		})
	}
}
