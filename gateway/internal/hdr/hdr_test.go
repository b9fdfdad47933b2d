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
