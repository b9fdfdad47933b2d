package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
)

// TestClientsOIDC shows and sets a client's OpenID Connect settings from
// the command line, with the accounts API's rules, on one database.
func TestClientsOIDC(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	var creds struct{ ClientID string }
	out := mustRun(t, invocation{args: bootstrapArgs(dsn), stdin: goodPassword + "\n"})
	if err := json.Unmarshal([]byte(out), &creds); err != nil || creds.ClientID == "" {
		t.Fatalf("bootstrap: %v %s", err, out)
	}
	id := creds.ClientID
	steps := []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectStdout []string
		expectStderr []string
	}{
		{name: "show: not an OpenID client yet", whenArgs: []string{"clients", "oidc", "--client", id, "--show"},
			expectStdout: []string{`"redirectUris": []`, `"public": false`}},
		{name: "set", whenArgs: []string{"clients", "oidc", "--client", id, "--redirect-uri", "https://app.example/cb",
			"--redirect-uri", "http://127.0.0.1:8080/cb", "--post-logout-redirect-uri", "https://app.example/", "--scope", "email", "--scope", "api:demo"},
			expectStdout: []string{`"https://app.example/cb"`, `"http://127.0.0.1:8080/cb"`, `"api:demo"`}},
		{name: "public, the lists kept", whenArgs: []string{"clients", "oidc", "--client", id, "--public"},
			expectStdout: []string{`"public": true`, `"https://app.example/cb"`}},
		{name: "http off loopback refused", whenArgs: []string{"clients", "oidc", "--client", id, "--redirect-uri", "http://app.example/cb"},
			expectCode: exitUsage, expectStderr: []string{"redirectUris", "http only on 127.0.0.1"}},
		{name: "fragment refused", whenArgs: []string{"clients", "oidc", "--client", id, "--redirect-uri", "https://app.example/cb#x"},
			expectCode: exitUsage, expectStderr: []string{"fragment"}},
		{name: "unknown scope refused", whenArgs: []string{"clients", "oidc", "--client", id, "--scope", "admin"},
			expectCode: exitUsage, expectStderr: []string{"oidcScopes"}},
		{name: "contradicting flags", whenArgs: []string{"clients", "oidc", "--client", id, "--public", "--confidential"},
			expectCode: exitUsage, expectStderr: []string{"contradict"}},
		{name: "no client", whenArgs: []string{"clients", "oidc", "--show"}, expectCode: exitUsage, expectStderr: []string{"--client is required"}},
		{name: "unknown client", whenArgs: []string{"clients", "oidc", "--client", "no-such-client"}, expectCode: exitFailure,
			expectStderr: []string{"no client no-such-client"}},
		{name: "off", whenArgs: []string{"clients", "oidc", "--client", id, "--off"}, expectStdout: []string{`"redirectUris": []`, `"api:demo"`}},
	}
	for _, st := range steps {
		r := runCLI(t, args(append(st.whenArgs, "--database", dsn)...))
		expectResult(t, r, st.expectCode, st.expectStdout, st.expectStderr)
		if t.Failed() {
			t.Fatalf("step %q failed", st.name)
		}
	}
	// What the refused steps did not write, and what the last one did.
	c, err := openDB(t, dsn).GetClient(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RedirectURIs) != 0 || len(c.PostLogoutRedirectURIs) != 0 || !c.Public || !slices.Equal(c.OIDCScopes, []string{"email", "api:demo"}) {
		t.Errorf("stored: %+v", c)
	}
}
