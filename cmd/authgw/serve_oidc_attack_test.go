package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
)

// TestServe_oidcRelyingPartyAttacks: what a relying party (a registered
// client, possibly of another organization) must not obtain beyond the
// scopes its user granted.
func TestServe_oidcRelyingPartyAttacks(t *testing.T) {
	s := newOIDCStack(t)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access", "api:demo"}})
	public := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access"}, "public": true})

	// The OIDC refresh token is the session's refresh token; presented to
	// POST /sessions/refresh with the app's own client credentials it
	// must not mint the user's ordinary, unfiltered tokens.
	t.Run("OIDC refresh token at /sessions/refresh", func(t *testing.T) {
		s := s.with(t)
		tests := []struct {
			name   string
			client oidcClient
			scopes []string
		}{
			{name: "confidential client with its secret", client: c, scopes: []string{"offline_access", "api:demo"}},
			{name: "public client", client: public, scopes: []string{"offline_access"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := s.with(t)
				tok, _ := s.login(tt.client, "n-refresh-escape", tt.scopes...)
				if tok.RefreshToken == "" {
					t.Fatal("no refresh token")
				}
				caller := clitest.NewAccountsCaller(t, s.gateway, clitest.Creds{ClientID: tt.client.ID, ClientSecret: tt.client.Secret})
				r := caller.Do("POST", "/accounts/v1/sessions/refresh", "", map[string]any{"data": map[string]string{"token": tok.RefreshToken}})
				if r.Status == http.StatusOK {
					var out struct {
						Data clitest.Session `json:"data"`
					}
					_ = json.Unmarshal(r.Body, &out)
					me := clitest.NewAccountsCaller(t, s.gateway, clitest.Creds{ClientID: tt.client.ID, ClientSecret: tt.client.Secret})
					wide := me.Do("GET", "/accounts/v1/users/current", out.Data.Macaroons["GET"], nil)
					t.Fatalf("/sessions/refresh accepted an OIDC refresh token: 200, and its GET token reads /users/current: %d", wide.Status)
				}
				if r.Status != http.StatusUnauthorized {
					t.Errorf("/sessions/refresh with an OIDC refresh token = %d %s, want 401", r.Status, r.Body)
				}
				// The app's own refresh still works: the refusal spent nothing.
				expired := *tok
				expired.Expiry = time.Now().Add(-time.Hour)
				if _, err := s.config(tt.client, tt.scopes...).TokenSource(s.ctx, &expired).Token(); err != nil {
					t.Errorf("the app's refresh after the refused attempt: %v", err)
				}
			})
		}
	})

	// api:accounts would hand an app the user's own management of their
	// account (add and verify an address, disable TOTP, remove passkeys,
	// create organizations; for staff, every organization): consent to
	// "use the accounts API as you" is account takeover. No client may
	// be allowed it, whoever registers it.
	t.Run("api:accounts", func(t *testing.T) {
		s := s.with(t)
		path := "/accounts/v1/organizations/" + s.creds.OrganizationID + "/clients"
		r := s.admin.Do("POST", path, s.adminPOST, map[string]any{"data": map[string]any{"type": "clients", "name": "Evil",
			"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"api:accounts"}}})
		if r.Status == http.StatusCreated {
			var out struct{ Data oidcClient }
			_ = json.Unmarshal(r.Body, &out)
			tok, _ := s.login(out.Data, "n-accounts", "api:accounts")
			app := clitest.NewAccountsCaller(t, s.gateway, clitest.Creds{ClientID: out.Data.ID, ClientSecret: out.Data.Secret})
			t.Fatalf("a client was allowed api:accounts; its access token reads /users/current: %d",
				app.Do("GET", "/accounts/v1/users/current", tok.AccessToken, nil).Status)
		}
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("POST a client with api:accounts = %d %s, want 400/422", r.Status, r.Body)
		}
		r = s.admin.Do("PATCH", path+"/"+c.ID, s.admin.LoginWithPassword().Macaroons["PATCH"], map[string]any{"data": map[string]any{"type": "clients",
			"oidcScopes": []string{"offline_access", "api:accounts"}}})
		if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
			t.Errorf("PATCH a client to api:accounts = %d %s, want 400/422", r.Status, r.Body)
		}
	})
}
