package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestServe_codeLoginOff: --code-login false turns the email and code
// steps off (403 CODE-LOGIN-OFF, the same for every address, no mail);
// the password step still logs in.
func TestServe_codeLoginOff(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, _ := startServe(t, dir, "--code-login", "false")
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)
	var bodies []string
	for _, email := range []string{clitest.LoginEmail, "nobody@example.com"} {
		r := a.Do("POST", "/accounts/v1/sessions/login/email", "", map[string]any{
			"data": map[string]string{"email": email, "state": clitest.NewState(t)}})
		if r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), `"CODE-LOGIN-OFF"`) {
			t.Fatalf("email step for %s = %d %s, want 403 CODE-LOGIN-OFF", email, r.Status, r.Body)
		}
		bodies = append(bodies, string(r.Body))
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("the answers differ:\n%s\n%s", bodies[0], bodies[1])
	}
	if s := a.LoginWithPassword(); s.UserID != creds.UserID {
		t.Fatalf("password login: user %q, want %q", s.UserID, creds.UserID)
	}
	time.Sleep(100 * time.Millisecond) // past the email step's mail delay
	if entries, _ := os.ReadDir(filepath.Join(dir, mailDir)); len(entries) != 0 {
		t.Fatalf("%d messages mailed with code login off", len(entries))
	}
}
