package main

import "testing"

// TestServe_forwardAuthSettings: a bad --forward-auth-dialect or
// --forward-auth-callers (flag or environment) stops serve with a usage
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
