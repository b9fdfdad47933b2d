package oidcop

import (
	"testing"

	"github.com/authgw/authgw/db"
)

// TestClientScopeAllowed: a client may ask for openid and its
// oidcScopes, never api:accounts, even stored among them.
func TestClientScopeAllowed(t *testing.T) {
	c := &client{c: db.Client{OIDCScopes: []string{"email", "api:demo", "api:accounts"}}}
	tests := []struct {
		scope  string
		expect bool
	}{
		{"openid", true}, {"email", true}, {"api:demo", true},
		{"api:accounts", false}, {"profile", false}, {"api:other", false},
	}
	for _, tt := range tests {
		if got := c.IsScopeAllowed(tt.scope); got != tt.expect {
			t.Errorf("IsScopeAllowed(%q) = %v, want %v", tt.scope, got, tt.expect)
		}
	}
}
