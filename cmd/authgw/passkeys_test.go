package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestWebAuthnConfig: the passkey settings derived from the public URL
// when unset, and taken as given when set.
func TestWebAuthnConfig(t *testing.T) {
	tests := []struct {
		name          string
		given         webauthnSettings
		publicURL     string
		expectRPID    string
		expectOrigins []string
		expectOff     bool
	}{
		{name: "serve's default: loopback IP gives localhost", publicURL: "http://127.0.0.1:6546", expectRPID: "localhost", expectOrigins: []string{"http://localhost:6546"}},
		{name: "IPv6 loopback", publicURL: "http://[::1]:6546", expectRPID: "localhost", expectOrigins: []string{"http://localhost:6546"}},
		{name: "localhost", publicURL: "http://localhost:6546", expectRPID: "localhost", expectOrigins: []string{"http://localhost:6546"}},
		{name: "https host", publicURL: "https://auth.example.com", expectRPID: "auth.example.com", expectOrigins: []string{"https://auth.example.com"}},
		{name: "another IP address", publicURL: "http://192.0.2.7:6546", expectOff: true},
		{name: "plain http on a name", publicURL: "http://auth.example.com", expectOff: true},
		{name: "off", given: webauthnSettings{off: true}, publicURL: "https://auth.example.com", expectOff: true},
		{name: "RP ID above the host", given: webauthnSettings{rpID: "example.com"}, publicURL: "https://auth.example.com", expectRPID: "example.com", expectOrigins: []string{"https://auth.example.com"}},
		{name: "both given", given: webauthnSettings{rpID: "example.com", origins: []string{"https://a.example.com", "https://b.example.com"}}, publicURL: "http://192.0.2.7:6546",
			expectRPID: "example.com", expectOrigins: []string{"https://a.example.com", "https://b.example.com"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rpID, origins, off, err := webauthnConfig(tc.given, tc.publicURL)
			if err != nil {
				t.Fatal(err)
			}
			if (off != "") != tc.expectOff || rpID != tc.expectRPID || !slices.Equal(origins, tc.expectOrigins) {
				t.Fatalf("got %q %q off %q, want %q %q off %v", rpID, origins, off, tc.expectRPID, tc.expectOrigins, tc.expectOff)
			}
		})
	}
}

// TestServe_badPasskeySettings: a passkey setting browsers could not use
// stops serve with exit 2 naming it, before anything is written.
func TestServe_badPasskeySettings(t *testing.T) {
	tests := []struct {
		name         string
		whenArgs     []string
		expectNaming string
	}{
		{name: "RP ID with a scheme", whenArgs: []string{"--webauthn-rp-id", "https://example.com"}, expectNaming: "--webauthn-rp-id"},
		{name: "RP ID an IP address", whenArgs: []string{"--webauthn-rp-id", "127.0.0.1"}, expectNaming: "--webauthn-rp-id"},
		{name: "RP ID with a port", whenArgs: []string{"--webauthn-rp-id", "example.com:443"}, expectNaming: "--webauthn-rp-id"},
		{name: "RP ID not the public URL's", whenArgs: []string{"--webauthn-rp-id", "example.com", "--public-url", "https://auth.example.org"}, expectNaming: "--webauthn-rp-id"},
		{name: "RP ID for a plain http public URL", whenArgs: []string{"--webauthn-rp-id", "example.com", "--public-url", "http://auth.example.com"}, expectNaming: "--webauthn-origins"},
		{name: "origin not an origin", whenArgs: []string{"--webauthn-rp-id", "example.com", "--webauthn-origins", "auth.example.com"}, expectNaming: "--webauthn-origins"},
		{name: "origin off the RP ID", whenArgs: []string{"--webauthn-rp-id", "example.com", "--webauthn-origins", "https://evil.example"}, expectNaming: "--webauthn-origins"},
		{name: "origin over plain http", whenArgs: []string{"--webauthn-rp-id", "example.com", "--webauthn-origins", "http://auth.example.com"}, expectNaming: "--webauthn-origins"},
		{name: "origins off the default RP ID", whenArgs: []string{"--webauthn-origins", "https://auth.example.com"}, expectNaming: "--webauthn-origins"},
		{name: "origins with passkeys off", whenArgs: []string{"--webauthn-rp-id", "off", "--webauthn-origins", "https://auth.example.com"}, expectNaming: "--webauthn-origins"},
		{name: "origins without an RP ID on an IP", whenArgs: []string{"--public-url", "https://192.0.2.7", "--webauthn-origins", "https://auth.example.com"}, expectNaming: "--webauthn-origins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			r := runCLI(t, invocation{args: append([]string{"serve", "--demo-listen", "off"}, tc.whenArgs...), vars: map[string]string{envDataDir: dir}})
			expectResult(t, r, exitUsage, nil, []string{"authgw: serve: " + tc.expectNaming + ": "})
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the data directory was created (%v)", err)
			}
		})
	}
	// The environment variable is read too, and named.
	dir := filepath.Join(t.TempDir(), "data")
	r := runCLI(t, invocation{args: []string{"serve", "--demo-listen", "off"}, vars: map[string]string{envDataDir: dir, "AUTHGW_WEBAUTHN_RP_ID": "1.2.3.4"}})
	expectResult(t, r, exitUsage, nil, []string{"authgw: serve: AUTHGW_WEBAUTHN_RP_ID: "})
}

// TestServe_passkeysDefault: serve on its default loopback address turns
// passkeys on for localhost on its port (a browser opening
// http://localhost:PORT can use them); --webauthn-rp-id off turns them
// off (503).
func TestServe_passkeysDefault(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, stop, exited, _ := startServe(t, dir)
	a := clitest.NewAccountsCaller(t, gatewayURL, creds)
	res := a.Do("POST", "/accounts/v1/sessions/login/webauthn", "", map[string]any{"data": map[string]string{"state": clitest.NewState(t)}})
	var out struct {
		Data struct {
			Options struct {
				PublicKey struct {
					RPID string `json:"rpId"`
				} `json:"publicKey"`
			} `json:"options"`
		} `json:"data"`
	}
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &out) != nil || out.Data.Options.PublicKey.RPID != "localhost" {
		t.Fatalf("webauthn options = %d %s, want 200 with rpId localhost", res.Status, res.Body)
	}
	stop()
	<-exited

	gatewayURL, _, _, _, _ = startServe(t, dir, "--webauthn-rp-id", "off")
	a = clitest.NewAccountsCaller(t, gatewayURL, creds)
	res = a.Do("POST", "/accounts/v1/sessions/login/webauthn", "", map[string]any{"data": map[string]string{"state": clitest.NewState(t)}})
	if res.Status != http.StatusServiceUnavailable || !strings.Contains(string(res.Body), `"SERVICE-UNAVAILABLE"`) {
		t.Fatalf("with passkeys off: %d %s, want 503", res.Status, res.Body)
	}
}
