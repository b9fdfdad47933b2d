package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestServe_requireSecondFactor: --require-second-factor sysadmin leads
// the bootstrapped sysadmin, who has no second factor, to the totp-enrol
// step after the password: the password alone no longer signs in.
func TestServe_requireSecondFactor(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, _ := startServe(t, dir, "--require-second-factor", "employee, sysadmin")
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)
	state := clitest.NewState(t)
	r := a.Do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword, "state": state}})
	var out struct {
		T    string `json:"t"`
		Data struct {
			Step string `json:"step"`
			Code string `json:"code"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || r.Status != http.StatusOK || out.T != "step" || out.Data.Step != "totp-enrol" || out.Data.Code == "" {
		t.Fatalf("password step = %d %s, want the totp-enrol step", r.Status, r.Body)
	}
	r = a.Do("POST", "/accounts/v1/sessions/login/totp-enrol", "", map[string]any{"data": map[string]string{"code": out.Data.Code, "state": state}})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"otpauth://totp/`) {
		t.Fatalf("totp-enrol step = %d %s, want the secret", r.Status, r.Body)
	}
}

func TestParseRoleList(t *testing.T) {
	tests := []struct {
		given     string
		expect    string
		expectErr bool
	}{
		{given: "employee,sysadmin", expect: "employee sysadmin"},
		{given: " employee , ,sysadmin ", expect: "employee sysadmin"},
		{given: "", expect: ""},
		{given: "emp loyee", expectErr: true},
		{given: "-", expectErr: true},
		{given: strings.Repeat("a", 65), expectErr: true},
	}
	for _, tt := range tests {
		got, err := parseRoleList(tt.given)
		if (err != nil) != tt.expectErr || strings.Join(got, " ") != tt.expect {
			t.Errorf("parseRoleList(%q) = %q, %v", tt.given, got, err)
		}
	}
}
