package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// TestServe_oidcProviders runs authgw serve with two external providers:
// one a separately running mockoidc provider, one that is down. serve
// starts all the same; the sign-in page offers both; the one that is
// down answers a clear 503 page; a first sign-in with the other creates
// the account and signs it in, through the real gateway.
func TestServe_oidcProviders(t *testing.T) {
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downIssuer := "http://" + ln.Addr().String() + "/oidc"
	ln.Close()
	cfg := m.Config()
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.json")
	if err := os.WriteFile(providers, fmt.Appendf(nil, `{"providers": [
	  {"id": "mock", "name": "Mock SSO", "issuer": %q, "clientId": %q, "clientSecret": %q, "allowSignUp": true},
	  {"id": "down", "name": "Down SSO", "issuer": %q, "clientId": "c", "clientSecret": "s"}]}`,
		cfg.Issuer, cfg.ClientID, cfg.ClientSecret, downIssuer), 0o600); err != nil {
		t.Fatal(err)
	}
	gatewayURL, _, _, _, _ := startServe(t, dir, "--oidc-providers", providers)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept", "text/html")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	if res, body := get(gatewayURL + "/accounts/v1/ui/login"); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, "Sign in with Mock SSO") || !strings.Contains(body, "Sign in with Down SSO") {
		t.Fatalf("sign-in page: %d\n%s", res.StatusCode, body)
	}
	if res, body := get(gatewayURL + "/accounts/v1/ui/login/oidc/down"); res.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, "Down SSO cannot be reached") {
		t.Errorf("the provider that is down: %d\n%s", res.StatusCode, body)
	}

	m.QueueUser(&mockoidc.MockUser{Subject: "mock-1", Email: "mock.user@example.com", EmailVerified: true})
	res, _ := get(gatewayURL + "/accounts/v1/ui/login/oidc/mock?return_to=%2Faccounts%2Fv1%2Fui%2Fsettings")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", res.StatusCode)
	}
	authURL, _ := url.Parse(res.Header.Get("Location"))
	if got, want := authURL.Query().Get("redirect_uri"), gatewayURL+"/accounts/v1/ui/login/oidc/mock/callback"; got != want {
		t.Errorf("redirect_uri %q, want %q", got, want)
	}
	res, _ = get(authURL.String())
	if res.StatusCode != http.StatusFound {
		t.Fatalf("provider: %d", res.StatusCode)
	}
	res, body := get(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/accounts/v1/ui/settings" {
		t.Fatalf("callback: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
	if res, body := get(gatewayURL + "/accounts/v1/ui/settings"); res.StatusCode != http.StatusOK ||
		!strings.Contains(body, "mock.user@example.com") || !strings.Contains(body, "Mock SSO") {
		t.Errorf("the new account's page: %d\n%s", res.StatusCode, body)
	}
}

// TestServe_oidcProvidersBad: bad provider settings stop serve with exit
// status 2 and one line naming the setting, never the secret.
func TestServe_oidcProvidersBad(t *testing.T) {
	const secret = "TOPSECRET-never-printed"
	r := runCLI(t, invocation{args: []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"},
		vars: map[string]string{"AUTHGW_OIDC_PROVIDERS": `{"providers": [{"id": "corp", "issuer": "http://sso.example.com", "clientId": "c", "clientSecret": "` + secret + `"}]}`}})
	expectResult(t, r, exitUsage, nil, []string{"AUTHGW_OIDC_PROVIDERS:", `provider "corp": issuer`})
	if strings.Contains(r.stderr+r.stdout, secret) {
		t.Errorf("the secret was printed: %q %q", r.stdout, r.stderr)
	}
}
