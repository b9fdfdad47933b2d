package main

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// TestServeHelp (issue 12, point 17): --help prints serve's usage text
// alone, not the flag package's list of flags before it.
func TestServeHelp(t *testing.T) {
	// The flag package writes to the process's standard error unless
	// told otherwise: catch that too.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = pw
	r := runCLI(t, invocation{args: []string{"serve", "--help"}})
	os.Stderr = saved
	pw.Close()
	raw, _ := io.ReadAll(pr)
	expectResult(t, r, exitOK, []string{"Usage: authgw serve"}, nil)
	all := r.stdout + r.stderr + string(raw)
	if !strings.HasPrefix(r.stdout, "Usage: authgw serve") || strings.Contains(all, "Usage of serve") || strings.Contains(all, "-admin-listen value") {
		t.Errorf("serve --help printed the flag package's list:\nstdout %q\nstderr %q\nprocess stderr %q", r.stdout, r.stderr, raw)
	}
}

// TestServeBadSettingsWriteNothing (issue 12, point 17): every bad
// setting stops serve with exit 2 and one line that names the setting in
// plain words, before anything is written: no data directory, key ring,
// server ID or policies.
func TestServeBadSettingsWriteNothing(t *testing.T) {
	// Template overrides that cannot be used: one that does not parse,
	// one that names no template of the pages.
	brokenTemplates, strayTemplate := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenTemplates, "login.html"), []byte("{{define \"content\"}}\n{{if}}{{end}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(strayTemplate, "logn.html"), []byte("{{define \"content\"}}{{end}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		whenArgs     []string
		expectNaming string
	}{
		{name: "redis URL", whenArgs: []string{"--redis", "bogus://x"}, expectNaming: "--redis"},
		{name: "database DSN", whenArgs: []string{"--database", "mysql:bad@@"}, expectNaming: "--database"},
		{name: "database scheme", whenArgs: []string{"--database", "postgres:x"}, expectNaming: "--database"},
		{name: "origin without scheme", whenArgs: []string{"--allowed-origins", "app.example.com"}, expectNaming: "--allowed-origins"},
		{name: "origin with a path", whenArgs: []string{"--allowed-origins", "https://app.example.com/x"}, expectNaming: "--allowed-origins"},
		{name: "cookie-secure", whenArgs: []string{"--cookie-secure", "maybe"}, expectNaming: "--cookie-secure"},
		{name: "CIDR length", whenArgs: []string{"--trusted-proxies", "10.0.0.0/33"}, expectNaming: "--trusted-proxies"},
		{name: "CIDR address", whenArgs: []string{"--trusted-proxies", "10.0.0.x/8"}, expectNaming: "--trusted-proxies"},
		{name: "proxy address", whenArgs: []string{"--trusted-proxies", "proxy.local"}, expectNaming: "--trusted-proxies"},
		{name: "listen", whenArgs: []string{"--listen", "6546"}, expectNaming: "--listen"},
		{name: "server ID", whenArgs: []string{"--server-id", "a/b"}, expectNaming: "--server-id"},
		{name: "product name on two lines", whenArgs: []string{"--product-name", "Acme\nBcc: x@y.z"}, expectNaming: "--product-name"},
		{name: "public URL with a path", whenArgs: []string{"--public-url", "https://auth.example.com/x"}, expectNaming: "--public-url"},
		{name: "public URL without a scheme", whenArgs: []string{"--public-url", "auth.example.com"}, expectNaming: "--public-url"},
		{name: "logo URL over http", whenArgs: []string{"--logo-url", "http://cdn.example.com/logo.png"}, expectNaming: "--logo-url"},
		{name: "logo URL as script", whenArgs: []string{"--logo-url", "javascript:alert(1)"}, expectNaming: "--logo-url"},
		{name: "accent colour with CSS", whenArgs: []string{"--accent-colour", "red;background:url(x)"}, expectNaming: "--accent-colour"},
		{name: "template that does not parse", whenArgs: []string{"--ui-templates", brokenTemplates}, expectNaming: "--ui-templates"},
		{name: "template of no page", whenArgs: []string{"--ui-templates", strayTemplate}, expectNaming: "--ui-templates"},
		{name: "missing template directory", whenArgs: []string{"--ui-templates", "/nonexistent/authgw-templates"}, expectNaming: "--ui-templates"},
		{name: "return-to default off the gateway", whenArgs: []string{"--return-to-default", "https://evil.example/"}, expectNaming: "--return-to-default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			r := runCLI(t, invocation{args: append([]string{"serve", "--demo-listen", "off"}, tc.whenArgs...), vars: map[string]string{envDataDir: dir}})
			expectResult(t, r, exitUsage, nil, []string{"authgw: serve: " + tc.expectNaming + ": "})
			for _, internal := range []string{"strconv.", "netip.", "Parse", "url.", "verifier:", "gateway:"} {
				if strings.Contains(r.stderr, internal) {
					t.Errorf("the error shows Go internals (%s): %q", internal, r.stderr)
				}
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(dir)
				t.Errorf("the data directory was created (%v) holding %v", err, entries)
			}
		})
	}
}

// TestExampleMemberPolicyAllowsCurrent (issue 12, point 17): the README's
// examples name the caller as "current" (POST /users/current/totp ...);
// the shipped member policy must grant those routes, as it grants
// /users/<own ID>/..., and no one else's.
func TestExampleMemberPolicyAllowsCurrent(t *testing.T) {
	data, err := examplePolicies.ReadFile("examples/member.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("member.json", data)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: "srv"})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "u1", SessionID: "s1", ClientID: "c1", Roles: []string{"user"}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{ServerID: "srv", Keys: ring, MemoSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		expectAllow  bool
	}{
		{"POST", "/accounts/v1/users/current/totp", true},
		{"POST", "/accounts/v1/users/current/totp/confirm", true},
		{"DELETE", "/accounts/v1/users/current/totp", true},
		{"POST", "/accounts/v1/users/current/change-password", true},
		{"POST", "/accounts/v1/users/current/emails", true},
		{"POST", "/accounts/v1/users/current/emails/e1/verify", true},
		{"POST", "/accounts/v1/users/current/emails/e1/generate-verification", true},
		{"DELETE", "/accounts/v1/users/current/totp/x", false},
		{"POST", "/accounts/v1/users/u1/totp", true},
		{"POST", "/accounts/v1/users/u2/totp", false},
		{"DELETE", "/accounts/v1/users/u2/totp", false},
		{"POST", "/accounts/v1/users/current/roles", false},
	}
	for _, tc := range tests {
		_, err := v.Verify(toks.ByMethod[tc.method], verifier.Request{Method: tc.method, Path: tc.path, ClientID: "c1"})
		if (err == nil) != tc.expectAllow {
			t.Errorf("%s %s with the member's token: %v, want allowed %v", tc.method, tc.path, err, tc.expectAllow)
		}
	}
	// Closing the account and removing an address are under a step-up:
	// the ordinary token never reaches them, the step-up token does, with
	// a discharge.
	for _, path := range []string{"/accounts/v1/users/current/emails/e1", "/accounts/v1/users/u1/emails/e1", "/accounts/v1/users/current", "/accounts/v1/users/u1"} {
		req := verifier.Request{Method: "DELETE", Path: path, ClientID: "c1"}
		if _, err := v.Verify(toks.ByMethod["DELETE"], req); !errors.Is(err, verifier.ErrForbidden) {
			t.Errorf("DELETE %s with the member's ordinary token: %v, want refused", path, err)
		}
		if _, err := v.Verify(toks.StepUp["DELETE"], req); !errors.Is(err, verifier.ErrStepUpRequired) {
			t.Errorf("DELETE %s with the member's step-up token: %v, want ErrStepUpRequired", path, err)
		}
	}
	if _, err := v.Verify(toks.StepUp["DELETE"], verifier.Request{Method: "DELETE", Path: "/accounts/v1/users/u2/emails/e1", ClientID: "c1"}); !errors.Is(err, verifier.ErrForbidden) {
		t.Errorf("another user's address with the member's step-up token: %v, want ErrForbidden", err)
	}
}
