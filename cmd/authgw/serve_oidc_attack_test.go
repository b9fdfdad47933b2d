package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

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

	// An operator who takes a scope away from an app (it misbehaved)
	// takes it from the grants the app holds: a refresh does not mint
	// the scope the client may no longer ask for.
	t.Run("scope taken from the client", func(t *testing.T) {
		s := s.with(t)
		narrowed := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access", "api:demo"}})
		tok, conf := s.login(narrowed, "n-narrowed", "offline_access", "api:demo")
		r := s.admin.Do("PATCH", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients/"+narrowed.ID, s.admin.LoginWithPassword().Macaroons["PATCH"],
			map[string]any{"data": map[string]any{"type": "clients", "oidcScopes": []string{"offline_access"}}})
		if r.Status != http.StatusOK {
			t.Fatalf("PATCH oidcScopes = %d %s", r.Status, r.Body)
		}
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Hour)
		next, err := conf.TokenSource(s.ctx, &expired).Token()
		if err == nil {
			scopes, _ := next.Extra("scope").(string)
			t.Fatalf("a refresh after api:demo was taken from the client succeeded (scope %q)", scopes)
		}
		if oauthError(err) != "invalid_grant" {
			t.Errorf("refresh after the client lost a scope: %v, want invalid_grant", err)
		}
	})

	// A confidential app's refresh tokens need its secret; turning the
	// client public (a PATCH, no step-up, where rotating the secret needs
	// one) must not let a leaked refresh token work without it.
	t.Run("confidential turned public", func(t *testing.T) {
		s := s.with(t)
		flipped := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access"}})
		tok, conf := s.login(flipped, "n-flipped", "offline_access")
		r := s.admin.Do("PATCH", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients/"+flipped.ID, s.admin.LoginWithPassword().Macaroons["PATCH"],
			map[string]any{"data": map[string]any{"type": "clients", "public": true}})
		if r.Status != http.StatusOK {
			t.Fatalf("PATCH public = %d %s", r.Status, r.Body)
		}
		noSecret := *conf
		noSecret.ClientSecret = ""
		noSecret.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Hour)
		if _, err := noSecret.TokenSource(s.ctx, &expired).Token(); err == nil || oauthError(err) != "invalid_grant" {
			t.Errorf("refresh without the secret after the client was made public: %v, want invalid_grant", err)
		}
	})

	// A client's access restrictions (an IP range) are the gateway's;
	// with client_secret_post the gateway sees no client at the token
	// endpoint, so the provider must not let the secret alone through.
	t.Run("restricted client with client_secret_post", func(t *testing.T) {
		s := s.with(t)
		restricted := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
		r := s.admin.Do("POST", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients/"+restricted.ID+"/access-restrictions", s.adminPOST,
			map[string]any{"data": map[string]string{"type": "ip-access-restrictions", "value": "10.0.0.0/8"}})
		if r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("adding an IP restriction = %d %s", r.Status, r.Body)
		}
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
			conf := s.config(restricted)
			conf.Endpoint.AuthStyle = style
			pkce := oauth2.GenerateVerifier()
			loc := s.authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)), "allow")
			_, err := conf.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
			var re *oauth2.RetrieveError
			// With Basic the gateway refuses (the IP restriction), as
			// OAuth's 401 invalid_client (RFC 6749 5.2: a 401 for a
			// credential in the Authorization header); with the form,
			// the provider says invalid_client.
			if !errors.As(err, &re) || oauthError(err) != "invalid_client" ||
				(style == oauth2.AuthStyleInHeader && re.Response.StatusCode != http.StatusUnauthorized) {
				t.Errorf("code exchange from outside the client's IP range (auth style %d): %v, want a refusal", style, err)
			}
		}
	})

	// end_session with a genuine ID token of an app that is no OpenID
	// client any more (its redirect URIs removed): a 4xx, never a 500.
	t.Run("end_session for a client no longer OIDC", func(t *testing.T) {
		s := s.with(t)
		gone := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
		tok, _ := s.login(gone, "n-gone")
		hint, _ := tok.Extra("id_token").(string)
		r := s.admin.Do("PATCH", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients/"+gone.ID, s.admin.LoginWithPassword().Macaroons["PATCH"],
			map[string]any{"data": map[string]any{"type": "clients", "redirectUris": []string{}}})
		if r.Status != http.StatusOK {
			t.Fatalf("PATCH redirectUris = %d %s", r.Status, r.Body)
		}
		resp, _ := s.get("/accounts/v1/oidc/end_session?" + url.Values{"id_token_hint": {hint}}.Encode())
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("end_session with the hint of a client no longer OIDC = %d, want 4xx", resp.StatusCode)
		}
	})

	// A consent revoked while a code is on its way (60 s) takes the code
	// with it: the exchange makes no session after the revocation.
	t.Run("consent revoked before the code is exchanged", func(t *testing.T) {
		s := s.with(t)
		app := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
		conf := s.config(app)
		pkce := oauth2.GenerateVerifier()
		loc := s.authorize(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)), "allow")
		del := s.admin.LoginWithPassword().Macaroons["DELETE"]
		r := s.admin.Do("DELETE", "/accounts/v1/users/"+s.creds.UserID+"/oidc-consents/"+app.ID, del, nil)
		if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
			t.Fatalf("revoking the consent = %d %s", r.Status, r.Body)
		}
		if _, err := conf.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce)); err == nil || oauthError(err) != "invalid_grant" {
			t.Errorf("exchanging a code after its consent was revoked: %v, want invalid_grant", err)
		}
	})

	// Last: it changes the user's password. A password change ends every
	// session of the user, the apps' grants included: neither the access
	// token (userinfo) nor the refresh token outlives it.
	t.Run("password change ends the app's grant", func(t *testing.T) {
		s := s.with(t)
		tok, conf := s.login(c, "n-password", "offline_access", "api:demo")
		if !s.userinfoWorks(tok) {
			t.Fatal("userinfo refused before the password change")
		}
		r := s.admin.Do("POST", "/accounts/v1/users/current/change-password", s.adminPOST, map[string]any{"data": map[string]string{
			"currentPassword": clitest.LoginPassword, "newPassword": "another horse battery staple 42"}})
		if r.Status != http.StatusOK && r.Status != http.StatusNoContent {
			t.Fatalf("change-password = %d %s", r.Status, r.Body)
		}
		if s.userinfoWorks(tok) {
			t.Error("userinfo still answers the app's access token after a password change")
		}
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Hour)
		if _, err := conf.TokenSource(s.ctx, &expired).Token(); err == nil || oauthError(err) != "invalid_grant" {
			t.Errorf("refresh after a password change: %v, want invalid_grant", err)
		}
	})
}

// TestServe_oidcStrangerAttacks: what someone with no account at the app
// can send the provider: oversized parameters are 4xx (never 500), and a
// client name is text on the consent page, which no other site may frame.
func TestServe_oidcStrangerAttacks(t *testing.T) {
	s := newOIDCStack(t)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access"},
		"name": `<img src=x onerror=alert(1)>"Evil`})
	pkce := oauth2.GenerateVerifier()

	t.Run("oversized parameters", func(t *testing.T) {
		s := s.with(t)
		base := url.Values{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {oidcRedirect},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(pkce)}, "code_challenge_method": {"S256"}}
		tests := []struct {
			name  string
			param string
			value string
		}{
			{name: "state", param: "state", value: strings.Repeat("s", 1025)},
			{name: "huge state", param: "state", value: strings.Repeat("s", 6000)},
			{name: "nonce", param: "nonce", value: strings.Repeat("n", 1025)},
			{name: "code challenge", param: "code_challenge", value: strings.Repeat("c", 129)},
			{name: "scope repeated", param: "scope", value: strings.TrimSpace(strings.Repeat("openid ", 700))},
			{name: "max_age garbage", param: "max_age", value: "-1e99"},
			{name: "redirect URI huge", param: "redirect_uri", value: oidcRedirect + "?" + strings.Repeat("r", 4000)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := url.Values{}
				for k, v := range base {
					q[k] = v
				}
				q.Set(tt.param, tt.value)
				for _, method := range []string{"GET", "POST"} {
					var req *http.Request
					if method == "GET" {
						req, _ = http.NewRequest(method, s.gateway+"/accounts/v1/oidc/authorize?"+q.Encode(), nil)
					} else {
						req, _ = http.NewRequest(method, s.gateway+"/accounts/v1/oidc/authorize", strings.NewReader(q.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					resp, err := (&http.Client{Transport: retry429{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					// Refused and shown: not sent back to the app with the
					// oversized value in the redirect's URL, never stored.
					loc, _ := resp.Location()
					if resp.StatusCode < 400 || resp.StatusCode >= 500 {
						t.Errorf("%s /authorize with an oversized %s = %d %v, want 4xx", method, tt.param, resp.StatusCode, loc)
					}
				}
			})
		}
		for _, form := range []url.Values{
			{"grant_type": {"authorization_code"}, "code": {strings.Repeat("c", 20000)}, "redirect_uri": {oidcRedirect}, "client_id": {c.ID}, "client_secret": {c.Secret}},
			{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 20000)}, "client_id": {c.ID}, "client_secret": {c.Secret}},
			{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {oidcRedirect}, "client_id": {strings.Repeat("i", 5000)}, "client_secret": {"y"}},
		} {
			resp, err := (&http.Client{Transport: retry429{}}).PostForm(s.gateway+"/accounts/v1/oidc/token", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("/token with an oversized %v = %d, want 4xx", form["grant_type"], resp.StatusCode)
			}
		}
	})

	t.Run("garbage never a 500", func(t *testing.T) {
		s := s.with(t)
		hc := &http.Client{Transport: retry429{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		tests := []struct {
			method, path, body string
		}{
			{"GET", "/accounts/v1/oidc/authorize", ""},
			{"GET", "/accounts/v1/oidc/authorize?client_id=" + c.ID + "&response_type=code&scope=openid&redirect_uri=%zz", ""},
			{"GET", "/accounts/v1/oidc/authorize?request=eyJhbGciOiJub25lIn0.e30.&client_id=" + c.ID, ""},
			{"GET", "/accounts/v1/oidc/authorize/callback?id=nope", ""},
			{"GET", "/accounts/v1/oidc/authorize/callback", ""},
			{"GET", "/accounts/v1/oidc/end_session?id_token_hint=a.b.c", ""},
			{"GET", "/accounts/v1/oidc/end_session?id_token_hint=a.b.c&client_id=" + c.ID + "&post_logout_redirect_uri=https://evil.example", ""},
			{"GET", "/accounts/v1/oidc/userinfo", ""},
			{"POST", "/accounts/v1/oidc/userinfo", "access_token=%00%ff"},
			{"POST", "/accounts/v1/oidc/token", ""},
			{"POST", "/accounts/v1/oidc/token", "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=a.b.c"},
			{"POST", "/accounts/v1/oidc/token", "grant_type=client_credentials&client_id=" + c.ID + "&client_secret=" + c.Secret},
			{"POST", "/accounts/v1/oidc/token", "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x&client_id=" + c.ID + "&client_secret=" + c.Secret},
			{"POST", "/accounts/v1/oidc/token", "grant_type=authorization_code&code=%ff&client_id=" + c.ID + "&client_secret=" + c.Secret},
			{"POST", "/accounts/v1/oidc/revoke", "token=x&client_id=" + c.ID + "&client_secret=" + c.Secret},
			{"POST", "/accounts/v1/oidc/introspect", "token=x"},
			{"GET", "/accounts/v1/oidc/device_authorization", ""},
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(tt.method, s.gateway+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("%s %s %q = %d", tt.method, tt.path, tt.body, resp.StatusCode)
			}
		}
	})

	// The callback hands the code only to the browser that started the
	// request; the check must hold for every spelling of its path the
	// provider's router would still serve.
	t.Run("callback path variants from another browser", func(t *testing.T) {
		s := s.with(t)
		conf := s.config(c)
		s.login(c, "n-variants", "offline_access") // allowed before: the consent page decides at once
		loc := s.authorizeUntilCallback(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		u, _ := url.Parse(loc)
		id := u.Query().Get("id")
		hc := &http.Client{Transport: retry429{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, p := range []string{
			"/accounts/v1/oidc/authorize/callback/", "/accounts/v1/oidc//authorize/callback", "/accounts/v1/oidc/authorize//callback",
			"/accounts/v1/oidc/authorize%2Fcallback", "/accounts/v1/oidc/authorize/%63allback", "/accounts/v1/oidc/./authorize/callback",
			"/accounts/v1/oidc/x/../authorize/callback", "/accounts/v1/OIDC/authorize/callback", "/accounts/v1/oidc/authorize/Callback",
			"/accounts/v1/oidc/authorize/callback;x",
		} {
			req, err := http.NewRequest("GET", s.gateway+p+"?id="+url.QueryEscape(id), nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if l := resp.Header.Get("Location"); strings.Contains(l, "code=") {
				t.Errorf("%s from another browser handed out a code: %d %s", p, resp.StatusCode, l)
			}
		}
		// The request was live all along: its own browser gets the code.
		if resp, _ := s.get(loc); !strings.Contains(resp.Header.Get("Location"), "code=") {
			t.Errorf("the starting browser at the callback: %d %q, want the code", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("consent page: client name escaped, no framing", func(t *testing.T) {
		s := s.with(t)
		conf := s.config(c, "offline_access")
		resp, body := s.get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
		for hops := 0; resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther; hops++ {
			loc, _ := resp.Location()
			if hops > 4 || strings.HasPrefix(loc.String(), oidcRedirect) {
				t.Fatalf("no consent page: %s", loc)
			}
			resp, body = s.get(loc.String())
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("consent page = %d", resp.StatusCode)
		}
		if strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("the client name is not escaped on the consent page")
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("the consent page may be framed: CSP %q, X-Frame-Options %q", csp, resp.Header.Get("X-Frame-Options"))
		}
	})
}
