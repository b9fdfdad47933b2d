package main

import (
	"slices"
	"testing"
)

// TestServe_forwardAuthSettings: a bad --forward-auth-dialect,
// --forward-auth-callers or --gateway-hosts (flag or environment) stops serve with a usage
// error naming the setting.
func TestServe_forwardAuthSettings(t *testing.T) {
	tests := []struct {
		name       string
		givenVars  map[string]string
		whenArgs   []string
		expectLine string
	}{
		{name: "unknown dialect", whenArgs: []string{"serve", "--forward-auth-dialect", "envoy"}, expectLine: "authgw: serve: --forward-auth-dialect:"},
		{name: "callers not CIDRs", whenArgs: []string{"serve", "--forward-auth-callers", "10.0.0.0/99"}, expectLine: "authgw: serve: --forward-auth-callers:"},
		{name: "callers: a short IPv4-mapped prefix", whenArgs: []string{"serve", "--forward-auth-callers", "::ffff:10.0.0.0/95"}, expectLine: "authgw: serve: --forward-auth-callers: the IPv4-mapped prefix"},
		{name: "trusted proxies: a short IPv4-mapped prefix", givenVars: map[string]string{"AUTHGW_TRUSTED_PROXIES": "10.0.0.0/8, ::ffff:0:0/64"},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: AUTHGW_TRUSTED_PROXIES: the IPv4-mapped prefix"},
		{name: "gateway hosts: a port", whenArgs: []string{"serve", "--gateway-hosts", "gw.example.com:8080"}, expectLine: "authgw: serve: --gateway-hosts:"},
		{name: "gateway hosts: * and a name", givenVars: map[string]string{"AUTHGW_GATEWAY_HOSTS": "*, gw.example.com"},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: AUTHGW_GATEWAY_HOSTS: * serves every host"},
		{name: "dialect from the environment", givenVars: map[string]string{"AUTHGW_FORWARD_AUTH_DIALECT": "apache"},
			whenArgs: []string{"serve"}, expectLine: "authgw: serve: AUTHGW_FORWARD_AUTH_DIALECT:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{envDataDir: t.TempDir()}
			for k, v := range tt.givenVars {
				vars[k] = v
			}
			r := runCLI(t, invocation{args: tt.whenArgs, vars: vars})
			expectResult(t, r, exitUsage, nil, []string{tt.expectLine})
		})
	}
}

// TestParsePrefixes: --trusted-proxies and --forward-auth-callers. Peers
// are compared unmapped, so IPv4-mapped entries are read as IPv4.
func TestParsePrefixes(t *testing.T) {
	for _, tt := range []struct {
		given     string
		expect    []string
		expectErr bool
	}{
		{given: "10.0.0.0/8, 192.0.2.7", expect: []string{"10.0.0.0/8", "192.0.2.7/32"}},
		{given: "10.1.2.3/8,::1", expect: []string{"10.0.0.0/8", "::1/128"}},
		{given: "::ffff:10.0.0.0/104", expect: []string{"10.0.0.0/8"}},
		{given: "::ffff:192.0.2.7/128", expect: []string{"192.0.2.7/32"}},
		{given: "::ffff:192.0.2.7", expect: []string{"192.0.2.7/32"}},
		{given: "::ffff:0:0/96", expect: []string{"0.0.0.0/0"}},
		{given: "::ffff:10.0.0.0/95", expectErr: true},
		{given: "10.0.0.0/99", expectErr: true},
	} {
		got, err := parsePrefixes(tt.given)
		var gotS []string
		for _, p := range got {
			gotS = append(gotS, p.String())
		}
		if (err != nil) != tt.expectErr || !tt.expectErr && !slices.Equal(gotS, tt.expect) {
			t.Errorf("parsePrefixes(%q) = %q, %v; want %q, error %v", tt.given, gotS, err, tt.expect, tt.expectErr)
		}
	}
}
