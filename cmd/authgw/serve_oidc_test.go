package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/oidcop"
	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// oidcRedirect is the relying party's redirect URI in the tests: a
// loopback http URI, which authgw accepts; nothing listens there, the
// browser stops at the redirect.
const oidcRedirect = "http://127.0.0.1:9/callback"

// oidcStack is authgw serve with an OIDC client, a signed-in browser and
// the relying party's view of the provider (go-oidc, golang.org/x/oauth2:
// another library than the provider's).
type oidcStack struct {
	t            *testing.T
	dir, gateway string
	extra        []string // serve's arguments
	stop         func()
	firstGateway string
	exited       <-chan int
	creds        clitest.Creds
	admin        clitest.AccountsCaller
	adminPOST    string
	browser      *http.Client
	ctx          context.Context
	provider     *oidc.Provider
}

// retry429 retries a request the gateway's per-IP budget refused (the
// tests send many requests from 127.0.0.1 in a burst).
type retry429 struct{}

func (retry429) RoundTrip(req *http.Request) (*http.Response, error) {
	for i := 0; ; i++ {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || i == 20 {
			return resp, err
		}
		resp.Body.Close()
		time.Sleep(300 * time.Millisecond)
		if req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
	}
}

// with returns the stack for a subtest.
func (s *oidcStack) with(t *testing.T) *oidcStack {
	c := *s
	c.t = t
	return &c
}

// newOIDCStack starts serve on dir (extra: more serve arguments) and
// signs a browser in through the sign-in pages' client.
func newOIDCStack(t *testing.T, extra ...string) *oidcStack {
	t.Helper()
	return newOIDCStackOn(t, "", extra...)
}

// newOIDCStackOn is newOIDCStack on the database dsn ("" for the data
// directory's SQLite file).
func newOIDCStackOn(t *testing.T, dsn string, extra ...string) *oidcStack {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	if dsn != "" {
		vars[envDatabase] = dsn
		extra = append(extra, "--database", dsn)
	}
	creds := bootstrapFor(t, vars)
	gatewayURL, _, stop, exited, _ := startServe(t, dir, extra...)
	s := &oidcStack{stop: stop, exited: exited, firstGateway: gatewayURL, t: t, dir: dir, extra: extra, gateway: gatewayURL, creds: creds, ctx: oidc.ClientContext(context.Background(), &http.Client{Transport: retry429{}})}
	s.admin = clitest.NewAccountsCaller(t, gatewayURL, creds)
	s.adminPOST = s.admin.LoginWithPassword().Macaroons["POST"]

	jar, _ := cookiejar.New(nil)
	s.browser = &http.Client{Jar: jar, Transport: retry429{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	portal := clitest.NewAccountsCaller(t, gatewayURL, clitest.Creds{ClientID: portalClientID})
	r := portal.Do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword, "state": clitest.NewState(t)}})
	if r.Status != http.StatusOK {
		t.Fatalf("browser sign-in: %d %s", r.Status, r.Body)
	}
	u, _ := url.Parse(gatewayURL)
	jar.SetCookies(u, r.Cookies)

	provider, err := oidc.NewProvider(s.ctx, gatewayURL+"/accounts/v1/oidc")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	s.provider = provider
	return s
}

// oidcClient is a client made through the accounts API.
type oidcClient struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// newClient creates an OIDC client with the settings.
func (s *oidcStack) newClient(settings map[string]any) oidcClient {
	s.t.Helper()
	data := map[string]any{"type": "clients", "name": "Grafana"}
	for k, v := range settings {
		data[k] = v
	}
	r := s.admin.Do("POST", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients", s.adminPOST, map[string]any{"data": data})
	if r.Status != http.StatusCreated {
		s.t.Fatalf("creating an OIDC client: %d %s", r.Status, r.Body)
	}
	var out struct{ Data oidcClient }
	if err := json.Unmarshal(r.Body, &out); err != nil {
		s.t.Fatal(err)
	}
	return out.Data
}

// config is the relying party's oauth2 configuration for c.
func (s *oidcStack) config(c oidcClient, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret, Endpoint: s.provider.Endpoint(), RedirectURL: oidcRedirect,
		Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

// get sends the browser's GET and returns the answer and its body.
func (s *oidcStack) get(target string) (*http.Response, string) {
	s.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = s.gateway + target
	}
	resp, err := s.browser.Get(target)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var (
	csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	idField   = regexp.MustCompile(`name="id" value="([^"]+)"`)
)

// authorize runs the browser from the authorization URL through the
// consent page (answering decision, "" when no page is expected) to the
// redirect to the relying party, whose URL it returns.
func (s *oidcStack) authorize(authURL, decision string) *url.URL {
	s.t.Helper()
	resp, body := s.get(authURL)
	for hops := 0; hops < 6; hops++ {
		switch {
		case resp.StatusCode == http.StatusOK && decision != "":
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:9;") &&
				!strings.HasSuffix(csp, "form-action 'self' http://127.0.0.1:9") {
				s.t.Errorf("the consent page's policy does not let its form end at the application: %q", csp)
			}
			csrf, id := csrfField.FindStringSubmatch(body), idField.FindStringSubmatch(body)
			if csrf == nil || id == nil {
				s.t.Fatalf("the consent page has no form: %s", body)
			}
			form := url.Values{"csrf_token": {csrf[1]}, "id": {id[1]}, "decision": {decision}}
			req, _ := http.NewRequest("POST", s.gateway+"/accounts/v1/ui/authorize", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.gateway)
			r, err := s.browser.Do(req)
			if err != nil {
				s.t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			resp, body = r, string(b)
			decision = ""
		case resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther:
			loc, err := resp.Location()
			if err != nil {
				s.t.Fatal(err)
			}
			if strings.HasPrefix(loc.String(), oidcRedirect) {
				return loc
			}
			resp, body = s.get(loc.String())
		default:
			s.t.Fatalf("authorization stopped at %d: %s", resp.StatusCode, body)
		}
	}
	s.t.Fatal("too many redirects")
	return nil
}

// login runs the code flow with PKCE for c and returns the tokens.
func (s *oidcStack) login(c oidcClient, nonce string, scopes ...string) (*oauth2.Token, *oauth2.Config) {
	s.t.Helper()
	conf := s.config(c, scopes...)
	pkce := oauth2.GenerateVerifier()
	state := "state-" + nonce
	loc := s.authorize(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)), "allow")
	if got := loc.Query().Get("state"); got != state {
		s.t.Fatalf("state echoed %q, want %q (%s)", got, state, loc)
	}
	code := loc.Query().Get("code")
	if code == "" {
		s.t.Fatalf("no code in %s", loc)
	}
	tok, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		s.t.Fatalf("code exchange: %v", err)
	}
	return tok, conf
}

// TestServe_oidcProvider: authgw serve as an OpenID Connect provider,
// driven by go-oidc and x/oauth2 as a relying party: discovery, the code
// flow with PKCE through the portal's consent page, the ID token checked
// against the JWKS (nonce, email), userinfo, the access token a macaroon
// authgw's verifier accepts for the granted API and refuses elsewhere,
// refresh, and RP-initiated logout.
func TestServe_oidcProvider(t *testing.T) {
	s := newOIDCStack(t)
	// With the defaults (no --public-url) the issuer is the address the
	// relying party uses, localhost included.
	local := strings.Replace(s.gateway, "127.0.0.1", "localhost", 1)
	if p, err := oidc.NewProvider(s.ctx, local+"/accounts/v1/oidc"); err != nil || p.Endpoint().TokenURL != local+"/accounts/v1/oidc/token" {
		t.Errorf("discovery at %s: %v", local, err)
	}
	testOIDCProvider(t, s)
}

// TestServe_oidcProviderTwoInstances: two authgw serve instances on one
// MariaDB database share the provider's state: the browser authorizes at
// A, the relying party exchanges the code and calls userinfo at B, and
// the whole flow of TestServe_oidcProvider runs on MariaDB.
func TestServe_oidcProviderTwoInstances(t *testing.T) {
	s := newOIDCStackOn(t, dbtest.MariaDBDSN(t))
	urlB, _, _, _, _ := startServe(t, s.dir, s.extra...)
	providerB, err := oidc.NewProvider(s.ctx, urlB+"/accounts/v1/oidc")
	if err != nil {
		t.Fatal(err)
	}
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"email"}})
	confA := s.config(c, "email")
	pkce := oauth2.GenerateVerifier()
	loc := s.authorize(confA.AuthCodeURL("two", oauth2.S256ChallengeOption(pkce), oidc.Nonce("n-two")), "allow")
	confB := *confA
	confB.Endpoint = providerB.Endpoint()
	tok, err := confB.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("the code of A exchanged at B: %v", err)
	}
	idToken, err := providerB.Verifier(&oidc.Config{ClientID: c.ID}).Verify(s.ctx, tok.Extra("id_token").(string))
	if err != nil || idToken.Nonce != "n-two" || idToken.Subject != s.creds.UserID {
		t.Fatalf("B's ID token: %v %+v", err, idToken)
	}
	if _, err := providerB.UserInfo(s.ctx, oauth2.StaticTokenSource(tok)); err != nil {
		t.Errorf("userinfo at B: %v", err)
	}
	if _, err := confB.Exchange(s.ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_grant" {
		t.Errorf("the code again at B: %v, want invalid_grant", err)
	}
	testOIDCProvider(t, s)
}

// testOIDCProvider is TestServe_oidcProvider on the stack s.
func testOIDCProvider(t *testing.T, s *oidcStack) {
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "postLogoutRedirectUris": []string{"http://127.0.0.1:9/bye"},
		"oidcScopes": []string{"profile", "email", "offline_access", "api:demo"}})

	tok, conf := s.login(c, "n-0123456789", "profile", "email", "offline_access", "api:demo")
	rawID, _ := tok.Extra("id_token").(string)
	idToken, err := s.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(s.ctx, rawID)
	if err != nil {
		t.Fatalf("the ID token does not verify against the JWKS: %v", err)
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified bool     `json:"email_verified"`
		Name          string   `json:"name"`
		AMR           []string `json:"amr"`
	}
	if err := idToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idToken.Subject != s.creds.UserID || idToken.Nonce != "n-0123456789" || claims.Email != clitest.LoginEmail || !claims.EmailVerified || claims.Name != "Ada" {
		t.Errorf("ID token: sub %q nonce %q claims %+v; want the user, the nonce, the verified address and the name", idToken.Subject, idToken.Nonce, claims)
	}
	if err := idToken.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Error("offline_access granted no refresh token")
	}
	var macaroons map[string]string
	if m, ok := tok.Extra("macaroons").(map[string]any); ok {
		macaroons = map[string]string{}
		for k, v := range m {
			macaroons[k], _ = v.(string)
		}
	}
	if macaroons["GET"] != tok.AccessToken {
		t.Errorf("macaroons.GET is not the access token: %v", macaroons)
	}

	info, err := s.provider.UserInfo(s.ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if info.Subject != s.creds.UserID || info.Email != clitest.LoginEmail {
		t.Errorf("userinfo: sub %q email %q", info.Subject, info.Email)
	}

	// The access token is an authgw macaroon, for the routes api:demo
	// grants only.
	keys, err := mint.LoadKeyRing(filepath.Join(s.dir, keysFile))
	if err != nil {
		t.Fatal(err)
	}
	serverID := strings.TrimSpace(readFile(t, filepath.Join(s.dir, serverIDFile)))
	v, err := verifier.New(verifier.Config{ServerID: serverID, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		whenPath   string
		expectGood bool
	}{
		{"granted api", "/demo/v1/notes", true},
		{"userinfo", "/accounts/v1/oidc/userinfo", true},
		{"accounts API not granted", "/accounts/v1/users/current", false},
		{"other api", "/other/v1/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(tok.AccessToken, verifier.Request{Method: "GET", Path: tt.whenPath, ClientID: c.ID})
			if (err == nil) != tt.expectGood {
				t.Errorf("Verify(GET %s) = %v, want good %v", tt.whenPath, err, tt.expectGood)
			}
		})
	}

	// Refresh: a new access token, the refresh token rotated.
	next, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.AccessToken == "" || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Errorf("refresh: access %t, refresh rotated %t", next.AccessToken != "", next.RefreshToken != tok.RefreshToken)
	}
	if _, err := s.provider.Verifier(&oidc.Config{ClientID: c.ID}).Verify(s.ctx, next.Extra("id_token").(string)); err != nil {
		t.Errorf("the refreshed ID token: %v", err)
	}

	// RP-initiated logout ends the client's sessions of the user.
	endURL := s.gateway + "/accounts/v1/oidc/end_session?" + url.Values{"id_token_hint": {rawID},
		"post_logout_redirect_uri": {"http://127.0.0.1:9/bye"}, "state": {"s1"}}.Encode()
	resp, body := s.get(endURL)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "http://127.0.0.1:9/bye") {
		t.Fatalf("end_session: %d Location %q %s", resp.StatusCode, loc, body)
	}
	if _, err := s.provider.UserInfo(s.ctx, oauth2.StaticTokenSource(next)); err == nil {
		t.Error("userinfo still answers after end_session")
	}
	if _, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil {
		t.Error("refresh still works after end_session")
	}
}

// readFile returns the file's contents; it fails the test when it cannot.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oauthError returns the OAuth error code of a failed token request.
func oauthError(err error) string {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		return re.ErrorCode
	}
	return ""
}

// code runs the browser to a code for c with the extra authorization
// parameters, and returns it.
func (s *oidcStack) code(conf *oauth2.Config, opts ...oauth2.AuthCodeOption) string {
	s.t.Helper()
	loc := s.authorize(conf.AuthCodeURL("st", opts...), "allow")
	code := loc.Query().Get("code")
	if code == "" {
		s.t.Fatalf("no code: %s", loc)
	}
	return code
}

// userinfoWorks reports whether the access token still reaches userinfo.
func (s *oidcStack) userinfoWorks(tok *oauth2.Token) bool {
	_, err := s.provider.UserInfo(s.ctx, oauth2.StaticTokenSource(tok))
	return err == nil
}

// TestServe_oidcRefusals: every safety point of the provider refuses
// with its OAuth error and never a 500.
func TestServe_oidcRefusals(t *testing.T) {
	s := newOIDCStack(t)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"email", "offline_access", "api:demo"}})
	other := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"offline_access"}})
	public := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "public": true})
	conf := s.config(c, "offline_access")
	pkce := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeOption(pkce)

	t.Run("authorization requests shown as errors, never redirected", func(t *testing.T) {
		s := s.with(t)
		base := url.Values{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {oidcRedirect},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(pkce)}, "code_challenge_method": {"S256"}}
		tests := []struct {
			name        string
			givenParams map[string]string
			expectError string
		}{
			{name: "redirect URI prefix", givenParams: map[string]string{"redirect_uri": "http://127.0.0.1:9/callbac"}, expectError: "invalid_request"},
			{name: "redirect URI extra path", givenParams: map[string]string{"redirect_uri": "http://127.0.0.1:9/callback/x"}, expectError: "invalid_request"},
			{name: "redirect URI other port", givenParams: map[string]string{"redirect_uri": "http://127.0.0.1:10/callback"}, expectError: "invalid_request"},
			{name: "redirect URI trailing slash", givenParams: map[string]string{"redirect_uri": "http://127.0.0.1:9/callback/"}, expectError: "invalid_request"},
			{name: "PKCE plain", givenParams: map[string]string{"code_challenge_method": "plain"}, expectError: "invalid_request"},
			{name: "scope not allowed", givenParams: map[string]string{"scope": "openid profile"}, expectError: "invalid_scope"},
			{name: "no openid", givenParams: map[string]string{"scope": "email"}, expectError: "invalid_scope"},
			{name: "public client without PKCE", givenParams: map[string]string{"client_id": public.ID, "code_challenge": "", "code_challenge_method": ""}, expectError: "invalid_request"},
			{name: "unknown client", givenParams: map[string]string{"client_id": "nope"}, expectError: "invalid_client"},
			{name: "client without redirect URIs", givenParams: map[string]string{"client_id": s.creds.ClientID}, expectError: "invalid_client"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := url.Values{}
				for k, v := range base {
					q[k] = v
				}
				for k, v := range tt.givenParams {
					if v == "" {
						q.Del(k)
					} else {
						q.Set(k, v)
					}
				}
				resp, body := s.get("/accounts/v1/oidc/authorize?" + q.Encode())
				if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, tt.expectError) || resp.Header.Get("Location") != "" {
					t.Errorf("authorize = %d Location %q %s, want a 4xx %s shown here", resp.StatusCode, resp.Header.Get("Location"), body, tt.expectError)
				}
			})
		}
	})

	t.Run("PKCE verifier missing or wrong", func(t *testing.T) {
		s := s.with(t)
		for name, opts := range map[string][]oauth2.AuthCodeOption{"missing": nil, "wrong": {oauth2.VerifierOption(oauth2.GenerateVerifier())}} {
			code := s.code(conf, challenge)
			if _, err := conf.Exchange(s.ctx, code, opts...); oauthError(err) != "invalid_grant" {
				t.Errorf("%s verifier: %v, want invalid_grant", name, err)
			}
		}
	})

	t.Run("code reused revokes the first grant", func(t *testing.T) {
		s := s.with(t)
		code := s.code(conf, challenge)
		first, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		if !s.userinfoWorks(first) {
			t.Fatal("the first grant's token does not work")
		}
		if _, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_grant" {
			t.Errorf("second exchange: %v, want invalid_grant", err)
		}
		if s.userinfoWorks(first) {
			t.Error("the first grant's access token still works after the code's reuse")
		}
		if _, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("the first grant's refresh token: %v, want invalid_grant", err)
		}
	})

	t.Run("code raced", func(t *testing.T) {
		s := s.with(t)
		// Several exchanges of one code at once: whichever wins, its
		// grant is revoked, since the code was used more than once.
		code := s.code(conf, challenge)
		const n = 4
		toks := make(chan *oauth2.Token, n)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tok, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); err == nil {
					toks <- tok
				}
			}()
		}
		wg.Wait()
		close(toks)
		won := 0
		for tok := range toks {
			won++
			if s.userinfoWorks(tok) {
				t.Error("a grant of a code exchanged several times still works")
			}
		}
		if won > 1 {
			t.Errorf("%d exchanges of one code succeeded", won)
		}
	})

	t.Run("code expired", func(t *testing.T) {
		s := s.with(t)
		code := s.code(conf, challenge)
		d, err := db.Open(s.ctx, "sqlite:"+filepath.Join(s.dir, databaseFile))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.SQL().ExecContext(s.ctx, "UPDATE oidc_auth_requests SET code_expires_ms = 1 WHERE code_hash IS NOT NULL AND used_ms = 0"); err != nil {
			t.Fatal(err)
		}
		if _, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_grant" {
			t.Errorf("expired code: %v, want invalid_grant", err)
		}
	})

	t.Run("code of another client", func(t *testing.T) {
		s := s.with(t)
		code := s.code(conf, challenge)
		if _, err := s.config(other).Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_grant" {
			t.Errorf("another client's code: %v, want invalid_grant", err)
		}
		if _, err := conf.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Errorf("the code after another client tried it: %v, want it still good", err)
		}
	})

	t.Run("refresh tokens", func(t *testing.T) {
		s := s.with(t)
		tok, err := conf.Exchange(s.ctx, s.code(conf, challenge), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		otherConf := s.config(other, "offline_access")
		if _, err := otherConf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("another client's refresh token: %v, want invalid_grant", err)
		}
		// A normal session of the same client is no OIDC grant.
		normal := clitest.NewAccountsCaller(t, s.gateway, clitest.Creds{ClientID: c.ID, ClientSecret: c.Secret}).LoginWithPassword()
		if _, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: normal.Refresh}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("a normal session's refresh token: %v, want invalid_grant", err)
		}
		next, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		// Past the refresh grace (10 s), the spent token is a replay: the
		// grant is revoked.
		time.Sleep(accounts.DefaultRefreshGrace + time.Second)
		if _, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("replayed refresh token: %v, want invalid_grant", err)
		}
		if s.userinfoWorks(next) {
			t.Error("the grant's newest access token still works after the replay")
		}
		if _, err := conf.TokenSource(s.ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
			t.Errorf("the newest refresh token after the replay: %v, want invalid_grant", err)
		}
	})

	t.Run("client authentication", func(t *testing.T) {
		s := s.with(t)
		code := s.code(conf, challenge)
		wrong := *conf
		wrong.ClientSecret = "not-the-secret"
		wrong.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := wrong.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_client" {
			t.Errorf("wrong secret (client_secret_post): %v, want invalid_client", err)
		}
		wrong.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		if _, err := wrong.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_client" {
			t.Errorf("wrong secret (client_secret_basic, judged by the gateway): %v, want invalid_client", err)
		}
		unknown := wrong
		unknown.ClientID = "no-such-client"
		if _, err := unknown.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); oauthError(err) != "invalid_client" {
			t.Errorf("unknown client (client_secret_basic): %v, want invalid_client", err)
		}
		post := *conf
		post.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := post.Exchange(s.ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Errorf("the right secret by client_secret_post after wrong ones: %v", err)
		}
	})

	t.Run("public client with PKCE", func(t *testing.T) {
		s := s.with(t)
		pub := s.config(public)
		pub.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		if _, err := pub.Exchange(s.ctx, s.code(pub, challenge), oauth2.VerifierOption(pkce)); err != nil {
			t.Errorf("public client: %v", err)
		}
	})

	t.Run("end_session refusals", func(t *testing.T) {
		s := s.with(t)
		tok, err := conf.Exchange(s.ctx, s.code(conf, challenge), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		hint := tok.Extra("id_token").(string)
		for name, q := range map[string]url.Values{
			"no id_token_hint":            {"post_logout_redirect_uri": {oidcRedirect}},
			"unregistered redirect":       {"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/"}},
			"forged id_token_hint":        {"id_token_hint": {hint[:len(hint)-4] + "AAAA"}},
			"registered redirect of none": {"id_token_hint": {hint}, "post_logout_redirect_uri": {oidcRedirect}},
		} {
			resp, body := s.get("/accounts/v1/oidc/end_session?" + q.Encode())
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d Location %q %s, want a 4xx without a redirect", name, resp.StatusCode, resp.Header.Get("Location"), body)
			}
		}
		if !s.userinfoWorks(tok) {
			t.Error("a refused end_session ended the session")
		}
	})

	t.Run("deleted client", func(t *testing.T) {
		s := s.with(t)
		gone := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
		// Deleting a client needs a step-up (the example policies).
		cred := s.admin.StepUp(s.admin.LoginWithPassword(), "DELETE")
		r := s.admin.Do("DELETE", "/accounts/v1/organizations/"+s.creds.OrganizationID+"/clients/"+gone.ID, cred, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("deleting the client: %d %s", r.Status, r.Body)
		}
		resp, body := s.get(s.config(gone).AuthCodeURL("st", challenge))
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, "invalid_client") {
			t.Errorf("authorize for a deleted client: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("consent denied", func(t *testing.T) {
		s := s.with(t)
		fresh := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
		loc := s.authorize(s.config(fresh).AuthCodeURL("st-deny", challenge), "deny")
		if loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-deny" || loc.Query().Get("code") != "" {
			t.Errorf("deny: %s, want error=access_denied with the state", loc)
		}
	})
}

// TestServe_oidcKeyRotation: a key put in front of --oidc-keys (authgw
// oidc-keygen --add) signs the ID tokens after a restart, and the old
// key stays in the JWKS, so an ID token it signed still verifies.
func TestServe_oidcKeyRotation(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "oidc-keys.pem")
	mustRun(t, invocation{args: []string{"oidc-keygen", "--out", keyFile}})
	s := newOIDCStack(t, "--oidc-keys", keyFile)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
	oldTok, _ := s.login(c, "n-old")
	oldID := oldTok.Extra("id_token").(string)

	s.stop()
	<-s.exited
	mustRun(t, invocation{args: []string{"oidc-keygen", "--add", keyFile, "--out", keyFile}})
	keys, err := oidcop.ParseKeys([]byte(readFile(t, keyFile)))
	if err != nil || len(keys) != 2 {
		t.Fatalf("the rotated key file: %d keys, %v", len(keys), err)
	}
	gatewayURL, _, _, _, _ := startServe(t, s.dir, s.extra...)
	s.gateway = gatewayURL
	// The browser's cookies move to the new address (another port).
	oldURL, _ := url.Parse(s.firstGateway)
	newURL, _ := url.Parse(gatewayURL)
	s.browser.Jar.SetCookies(newURL, s.browser.Jar.Cookies(oldURL))
	if s.provider, err = oidc.NewProvider(s.ctx, gatewayURL+"/accounts/v1/oidc"); err != nil {
		t.Fatal(err)
	}
	verifier := s.provider.Verifier(&oidc.Config{ClientID: c.ID, SkipIssuerCheck: true})
	if _, err := verifier.Verify(s.ctx, oldID); err != nil {
		t.Errorf("an ID token of the old key after the rotation: %v", err)
	}
	newTok, _ := s.login(c, "n-new")
	newID := newTok.Extra("id_token").(string)
	if _, err := verifier.Verify(s.ctx, newID); err != nil {
		t.Errorf("an ID token of the new key: %v", err)
	}
	if jwsKid(t, newID) == jwsKid(t, oldID) {
		t.Errorf("the new ID token is signed with the old key (kid %s)", jwsKid(t, newID))
	}
}

// jwsKid returns the kid of a JWS's header.
func jwsKid(t *testing.T, jws string) string {
	t.Helper()
	head, _, _ := strings.Cut(jws, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestServe_oidcConsents: the consent is remembered (the second
// authorization skips the page), listed by the API and on the account
// page's apps, and revoked there: the app's tokens stop working and the
// next authorization asks again.
func TestServe_oidcConsents(t *testing.T) {
	s := newOIDCStack(t)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}, "oidcScopes": []string{"email"}})
	tok, conf := s.login(c, "n-1", "email")
	// Remembered: no page the second time (authorize fails on a page
	// when no decision is given).
	s.authorize(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "")

	var list struct {
		Data []struct {
			ClientID string   `json:"clientId"`
			Scopes   []string `json:"scopes"`
		}
	}
	adminSession := s.admin.LoginWithPassword()
	r := s.admin.Do("GET", "/accounts/v1/users/current/oidc-consents", adminSession.Macaroons["GET"], nil)
	if err := json.Unmarshal(r.Body, &list); r.Status != http.StatusOK || err != nil || len(list.Data) != 1 || list.Data[0].ClientID != c.ID {
		t.Fatalf("GET oidc-consents = %d %s", r.Status, r.Body)
	}

	resp, body := s.get("/accounts/v1/ui/settings/apps")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Grafana") {
		t.Fatalf("the apps page: %d %s", resp.StatusCode, body)
	}
	csrf := regexp.MustCompile(`action="[^"]*/revoke">\s*<input type="hidden" name="csrf_token" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatalf("no revoke form: %s", body)
	}
	req, _ := http.NewRequest("POST", s.gateway+"/accounts/v1/ui/settings/apps/"+c.ID+"/revoke",
		strings.NewReader(url.Values{"csrf_token": {csrf[1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.gateway)
	res, err := s.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if s.userinfoWorks(tok) {
		t.Error("the app's token still works after its consent was revoked")
	}
	// The next authorization shows the consent page again.
	s.login(c, "n-2", "email")
}

// TestServe_oidcOtherBrowser: a request is decided only by the browser
// that started it. Someone who starts a request and gets a signed-in
// victim to open its consent page (even for an app the victim allowed
// before, where no page is shown) cannot have it approved, so the
// callback never hands them a code for the victim.
func TestServe_oidcOtherBrowser(t *testing.T) {
	s := newOIDCStack(t)
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
	s.login(c, "n-1") // the victim allowed the app before
	conf := s.config(c)

	// The attacker's browser starts a request: no session, its own jar.
	jar, _ := cookiejar.New(nil)
	attacker := &http.Client{Jar: jar, Transport: retry429{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := attacker.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	consent := resp.Header.Get("Location")
	if !strings.HasPrefix(consent, "/accounts/v1/ui/authorize?id=") {
		t.Fatalf("authorize sent the browser to %q", consent)
	}
	id := strings.TrimPrefix(consent, "/accounts/v1/ui/authorize?id=")

	// The victim's browser opens the consent page: refused, no redirect
	// to the application.
	r, body := s.get(consent)
	if r.StatusCode < 400 || r.StatusCode >= 500 || r.Header.Get("Location") != "" {
		t.Errorf("the victim's browser on another browser's request: %d Location %q, want a 4xx page", r.StatusCode, r.Header.Get("Location"))
	}
	_ = body
	// Even approved by its own browser, a request's callback gives
	// another browser nothing.
	loc := s.authorizeUntilCallback(conf.AuthCodeURL("st2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	resp, err = attacker.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := resp.Header.Get("Location"); resp.StatusCode != http.StatusForbidden || strings.Contains(l, "code=") {
		t.Errorf("another browser at the callback: %d Location %q, want 403", resp.StatusCode, l)
	}
	// The callback gives the attacker nothing.
	resp, err = attacker.Get(s.gateway + "/accounts/v1/oidc/authorize/callback?id=" + id)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "code=") {
		t.Errorf("the callback handed out a code: %s", loc)
	}
}

// authorizeUntilCallback runs the browser from the authorization URL of
// an app it allowed before to the redirect to the provider's callback,
// and returns the callback's URL without following it.
func (s *oidcStack) authorizeUntilCallback(authURL string) string {
	s.t.Helper()
	resp, _ := s.get(authURL)
	for hops := 0; hops < 4; hops++ {
		loc, err := resp.Location()
		if err != nil {
			s.t.Fatalf("no redirect: %d", resp.StatusCode)
		}
		if strings.Contains(loc.Path, "/authorize/callback") {
			return loc.String()
		}
		resp, _ = s.get(loc.String())
	}
	s.t.Fatal("no redirect to the callback")
	return ""
}

// TestServe_oidcUserinfoAfterKeyReload: userinfo verifies access tokens
// with the key ring as reloaded, like the gateway: a token minted with a
// key added to the ring works at once, and a token of a key removed from
// it is refused.
func TestServe_oidcUserinfoAfterKeyReload(t *testing.T) {
	s := newOIDCStack(t, "--reload-interval", "0")
	c := s.newClient(map[string]any{"redirectUris": []string{oidcRedirect}})
	old, _ := s.login(c, "n-old")
	if !s.userinfoWorks(old) {
		t.Fatal("userinfo with the first token")
	}
	hangup := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	keys := filepath.Join(s.dir, keysFile)
	mustRun(t, invocation{args: []string{"keygen", "--id", "k2", "--add", keys, "--out", keys}})
	hangup()
	var fresh *oauth2.Token
	waitFor(t, "an access token minted with the added key", func() bool {
		fresh, _ = s.login(c, "n-fresh")
		return tokenKeyID(t, fresh.AccessToken) == "k2"
	})
	if !s.userinfoWorks(fresh) {
		t.Error("userinfo refuses a token of the key added to the ring")
	}
	// Retire the first key: its token is refused.
	b, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || len(raw.Keys) != 2 {
		t.Fatalf("the ring after keygen --add: %v", err)
	}
	raw.Keys = raw.Keys[:1]
	if b, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, b, 0o600); err != nil {
		t.Fatal(err)
	}
	hangup()
	waitFor(t, "userinfo refusing the retired key's token", func() bool { return !s.userinfoWorks(old) })
	if !s.userinfoWorks(fresh) {
		t.Error("userinfo refuses the remaining key's token")
	}
}
