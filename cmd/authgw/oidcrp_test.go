package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestOIDCProvidersSetting reads the external providers from the flag (a
// file) or the environment (a file or the JSON itself); bad settings are
// a usage error naming the setting and the field, never the secret.
func TestOIDCProvidersSetting(t *testing.T) {
	const secret = "TOPSECRET-do-not-print"
	good := `{"providers": [
	  {"id": "corp", "name": "Example Corp", "issuer": "https://sso.example.com/realms/staff", "clientId": "authgw", "clientSecret": "` + secret + `", "allowLinking": true},
	  {"id": "google", "name": "Google", "issuer": "https://accounts.google.com", "clientId": "g", "clientSecretFile": "SECRETFILE", "allowSignUp": true}]}`
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "google.secret")
	if err := os.WriteFile(secretFile, []byte("google-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good = strings.Replace(good, "SECRETFILE", secretFile, 1)
	file := filepath.Join(dir, "providers.json")
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name        string
		givenFlags  []string
		givenVars   map[string]string
		expectIDs   []string
		expectErrIn []string
	}{
		{name: "unset"},
		{name: "a file from the flag", givenFlags: []string{"--oidc-providers", file}, expectIDs: []string{"corp", "google"}},
		{name: "the JSON in the environment", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": good}, expectIDs: []string{"corp", "google"}},
		{name: "a file in the environment", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": file}, expectIDs: []string{"corp", "google"}},
		{name: "not JSON", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"clientSecret": "` + secret + `"`},
			expectErrIn: []string{"AUTHGW_OIDC_PROVIDERS:"}},
		{name: "unknown field", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "x", "clientSecret": "` + secret + `", "secret": "s"}]}`},
			expectErrIn: []string{"AUTHGW_OIDC_PROVIDERS:", `"secret"`}},
		{name: "http issuer", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "x", "issuer": "http://sso.example.com", "clientId": "c", "clientSecret": "` + secret + `"}]}`},
			expectErrIn: []string{"AUTHGW_OIDC_PROVIDERS:", `provider "x": issuer`}},
		{name: "no secret", givenFlags: []string{"--oidc-providers", writeConfig(t, `{"providers": [{"id": "x", "issuer": "https://sso.example.com", "clientId": "c"}]}`)},
			expectErrIn: []string{"--oidc-providers:", `provider "x": clientSecret`}},
		{name: "secret file unreadable", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "x", "issuer": "https://sso.example.com", "clientId": "c", "clientSecretFile": "/nonexistent/s"}]}`},
			expectErrIn: []string{`provider "x": clientSecretFile cannot be read`}},
		{name: "same id twice", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "x", "issuer": "https://a.example.com", "clientId": "c", "clientSecret": "` + secret + `"}, {"id": "x", "issuer": "https://b.example.com", "clientId": "c", "clientSecret": "` + secret + `"}]}`},
			expectErrIn: []string{`provider "x" is named twice`}},
		{name: "bad id", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "Bad ID", "issuer": "https://a.example.com", "clientId": "c", "clientSecret": "` + secret + `"}]}`},
			expectErrIn: []string{`: id must be`}},
		{name: "no openid scope", givenVars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "x", "issuer": "https://a.example.com", "clientId": "c", "clientSecret": "` + secret + `", "scopes": ["email"]}]}`},
			expectErrIn: []string{`scopes must include "openid"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s serveCommand
			fs := newFlagSet("test")
			s.define(fs, oidcProvidersSetting, "")
			if _, err := parseInterspersed(fs, tt.givenFlags); err != nil {
				t.Fatal(err)
			}
			got, err := s.resolveOIDCProviders(testCLI(tt.givenVars))
			if len(tt.expectErrIn) > 0 {
				if _, ok := errors.AsType[*usageError](err); !ok {
					t.Fatalf("error %v, expected a usage error", err)
				}
				for _, want := range tt.expectErrIn {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error prints the secret: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range got {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tt.expectIDs) {
				t.Errorf("providers %v, expected %v", ids, tt.expectIDs)
			}
			if len(got) == 2 && (got[0].ClientSecret != secret || got[1].ClientSecret != "google-secret" || !got[0].AllowLinking || got[0].AllowSignUp ||
				!slices.Equal(got[1].Scopes, []string{"openid", "email", "profile"})) {
				t.Errorf("settings read wrong: linking %v signUp %v scopes %v", got[0].AllowLinking, got[0].AllowSignUp, got[1].Scopes)
			}
		})
	}
	if !slices.Contains(configKeys, oidcProvidersSetting) {
		t.Error("the config file does not take oidc-providers")
	}
}
