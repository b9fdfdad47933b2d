package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// errorCode is the code of an accounts service or gateway error answer.
func errorCode(r clitest.Reply) string {
	var out struct{ Error struct{ Code string } }
	_ = json.Unmarshal(r.Body, &out)
	return out.Error.Code
}

// TestAdminCLI_againstServe runs the admin commands beside a running
// authgw serve on the same data directory and checks their effects
// where they matter, at the gateway: a banned user's refresh token and
// tokens stop working at once; after rotate-secret the new secret works
// and the old one is refused, once the gateway reloads its snapshot
// (without Redis, at its next refresh).
func TestAdminCLI_againstServe(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	creds := bootstrapFor(t, vars)
	gatewayURL, _, _, _, _ := startServe(t, dir)
	system := clitest.NewAccountsCaller(t, gatewayURL, creds)

	// Bob registers with a password: the answer is his first session.
	r := system.Do("POST", "/accounts/v1/users", "", map[string]any{"data": map[string]any{
		"type": "users", "name": "Bob", "email": "bob@example.com", "password": clitest.LoginPassword}})
	var reg struct{ Data clitest.Session }
	if err := json.Unmarshal(r.Body, &reg); err != nil || r.Status != http.StatusCreated || reg.Data.Refresh == "" {
		t.Fatalf("registration = %d %s", r.Status, r.Body)
	}
	bob := reg.Data
	if status, code := system.CurrentUser(bob.Macaroons["GET"]); status != http.StatusOK {
		t.Fatalf("Bob's token before the ban = %d %s", status, code)
	}

	mustRun(t, invocation{args: []string{"users", "ban", bob.UserID}, vars: vars, now: time.Now()})
	if status, code := system.CurrentUser(bob.Macaroons["GET"]); status != http.StatusUnauthorized {
		t.Errorf("Bob's token after the ban = %d %s, want 401", status, code)
	}
	refresh := system.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"t": "refresh-tokens", "token": bob.Refresh}})
	if refresh.Status != http.StatusUnauthorized {
		t.Errorf("Bob's refresh after the ban = %d %s, want 401", refresh.Status, refresh.Body)
	}

	out := mustRun(t, invocation{args: []string{"clients", "rotate-secret", "--client", creds.ClientID, "--json"}, vars: vars, now: time.Now()})
	var rotated createdClient
	if err := json.Unmarshal([]byte(out), &rotated); err != nil || rotated.Secret == "" {
		t.Fatalf("rotate-secret: %v %q", err, out)
	}
	renewed := clitest.NewAccountsCaller(t, gatewayURL, clitest.Creds{ClientID: creds.ClientID, ClientSecret: rotated.Secret})
	// A known client with the right secret and no token: 401 TOKEN-MISSING.
	deadline := time.Now().Add(15 * time.Second)
	for {
		newCode := errorCode(renewed.Do("GET", "/accounts/v1/users/current", "", nil))
		oldCode := errorCode(system.Do("GET", "/accounts/v1/users/current", "", nil))
		if newCode == "TOKEN-MISSING" && oldCode != "TOKEN-MISSING" {
			t.Logf("the old secret answers %s", oldCode)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after rotate-secret: the new secret answers %s, the old one %s", newCode, oldCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
