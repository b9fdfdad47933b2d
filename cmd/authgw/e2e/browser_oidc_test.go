package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/verifier/nodetest"
)

// oidcApp is an ordinary web app that signs its users in with OpenID
// Connect, written the way its library's documentation shows: go-oidc
// (discovery, ID token verification against the provider's JWKS) with
// golang.org/x/oauth2 (the code flow with PKCE). Neither is the library
// authgw's provider is built on, so a flow that works here works with a
// client that authgw's code never talked to while it was written.
type oidcApp struct {
	t        *testing.T
	url      string
	provider *oidc.Provider
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier

	mu      sync.Mutex
	pending map[string]oidcPending // by state
	token   *oauth2.Token          // the last sign-in's tokens
	idToken *oidc.IDToken
	claims  map[string]any
}

// oidcPending is what the app keeps between sending the browser to the
// provider and the browser's return: the nonce and the PKCE verifier.
type oidcPending struct{ nonce, verifier string }

// newOIDCApp listens on 127.0.0.1 and returns the app; register must
// give back the client ID and secret once the app's redirect URIs are
// known.
func newOIDCApp(t *testing.T, issuer string, scopes []string, register func(redirect, postLogout string) (id, secret string)) *oidcApp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &oidcApp{t: t, url: "http://" + ln.Addr().String(), pending: map[string]oidcPending{}}
	ctx := context.Background()
	a.provider, err = oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("discovery at %s: %v", issuer, err)
	}
	id, secret := register(a.url+"/callback", a.url+"/signed-out")
	a.conf = oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: a.provider.Endpoint(),
		RedirectURL: a.url + "/callback", Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
	a.verifier = a.provider.Verifier(&oidc.Config{ClientID: id})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>Signed out</title><p>You are signed out of the example app.")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

// random returns 128 random bits in hex.
func random(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func (a *oidcApp) login(w http.ResponseWriter, r *http.Request) {
	p := oidcPending{nonce: random(a.t), verifier: oauth2.GenerateVerifier()}
	state := random(a.t)
	a.mu.Lock()
	a.pending[state] = p
	a.mu.Unlock()
	http.Redirect(w, r, a.conf.AuthCodeURL(state, oidc.Nonce(p.nonce), oauth2.S256ChallengeOption(p.verifier)), http.StatusFound)
}

func (a *oidcApp) callback(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, err error) {
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html><title>Sign-in failed</title><p id=error>%s", html.EscapeString(err.Error()))
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		fail(http.StatusBadRequest, fmt.Errorf("provider error %s: %s", e, q.Get("error_description")))
		return
	}
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if !ok {
		fail(http.StatusBadRequest, errors.New("unknown state"))
		return
	}
	tok, err := a.conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		fail(http.StatusBadGateway, fmt.Errorf("exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(r.Context(), raw)
	if err != nil {
		fail(http.StatusBadGateway, fmt.Errorf("ID token: %w", err))
		return
	}
	if idt.Nonce != p.nonce {
		fail(http.StatusBadGateway, errors.New("nonce"))
		return
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil && idt.AccessTokenHash != "" {
		fail(http.StatusBadGateway, fmt.Errorf("at_hash: %w", err))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail(http.StatusBadGateway, err)
		return
	}
	a.mu.Lock()
	a.token, a.idToken, a.claims = tok, idt, claims
	a.mu.Unlock()
	fmt.Fprintf(w, "<!doctype html><title>Example app</title><p id=who>Signed in as %s", html.EscapeString(idt.Subject))
}

// signedIn returns the last sign-in's tokens and ID token.
func (a *oidcApp) signedIn() (*oauth2.Token, *oidc.IDToken, map[string]any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token == nil {
		a.t.Fatal("the app has no sign-in")
	}
	return a.token, a.idToken, a.claims
}

// clickButton clicks the button whose text is label and waits for the
// next page.
func (b *browserSession) clickButton(label string) { b.click("button", label) }

// clickLink follows the link whose text is label and waits for the page
// it leads to (after any redirects).
func (b *browserSession) clickLink(label string) { b.click("a", label) }

// click clicks the element of tag whose text is label, as a person would,
// and waits for the next page.
func (b *browserSession) click(tag, label string) {
	b.t.Helper()
	ok := get(b, "find "+tag+" "+label, chromedp.Evaluate[bool](fmt.Sprintf(`(() => {
		const e = [...document.querySelectorAll(%q)].find(e => e.textContent.trim() === %q);
		if (!e) return false;
		document.documentElement.dataset.leaving = "1";
		e.click();
		return true;
	})()`, tag, label)))
	if !ok {
		b.t.Fatalf("no %s %q on %s:\n%.2000s", tag, label, b.location(), b.text())
	}
	b.waitNewPage("after clicking " + label)
}

// gatewayGET sends GET path to the gateway with the Authorization value.
func gatewayGET(t *testing.T, gw, path, authz string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, gw+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authz)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	return res.StatusCode, string(body)
}

// TestBrowserOIDCProvider is the README's "Use authgw as your apps'
// OpenID provider", run against authgw serve with its defaults: an app
// written with go-oidc and x/oauth2 registers as a client, and a person
// signs in to it in Chromium through authgw's own sign-in and consent
// pages. The app verifies the ID token against the JWKS, reads userinfo,
// calls the gateway with the access token (a macaroon: granted for the
// API its scopes name, refused elsewhere), refreshes, finds an old
// refresh token refused and its whole family ended, and signs the person
// out at the provider.
func TestBrowserOIDCProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	creds := bootstrapFor(t, vars)
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0"},
		vars, 20*time.Second)
	gw := p.gatewayURL
	issuer := gw + "/accounts/v1/oidc"
	f := &frontDoor{t: t, gw: gw, dir: dir}
	const ui = "/accounts/v1/ui"

	api := clitest.NewAccountsCaller(t, gw, creds)
	admin := passwordSession(t, api)
	var clientID string
	app := newOIDCApp(t, issuer, []string{"profile", "email", "offline_access", "api:demo"}, func(redirect, postLogout string) (string, string) {
		r := api.Do("POST", "/accounts/v1/organizations/"+creds.OrganizationID+"/clients", admin.Macaroons["POST"], map[string]any{"data": map[string]any{
			"type": "clients", "name": "Example app", "reqsPerSec": -1,
			"redirectUris": []string{redirect}, "postLogoutRedirectUris": []string{postLogout},
			"oidcScopes": []string{"profile", "email", "offline_access", "api:demo"},
		}})
		var out struct {
			Data struct{ ID, Secret string }
		}
		if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &out) != nil || out.Data.Secret == "" {
			t.Fatalf("registering the app: %d %s", r.Status, r.Body)
		}
		clientID = out.Data.ID
		return out.Data.ID, out.Data.Secret
	})

	// The gateway learns of the new client in the background.
	time.Sleep(1500 * time.Millisecond)

	b := newBrowserSession(t)
	b.open(app.url + "/login")
	f.expectAt(b, ui+"/login", "the app sends a stranger to authgw's sign-in page")
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "Example app", "the consent page names the app")
	b.screenshot("oidc-consent")
	expectAccessibleNames(t, b, "the consent page")
	b.phone(true)
	if !get(b, "fits a phone", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)) {
		t.Error("the consent page scrolls sideways on a phone")
	}
	b.phone(false)
	b.clickButton("Allow")
	if !strings.HasPrefix(b.location(), app.url+"/callback") || !strings.Contains(b.text(), "Signed in as "+creds.UserID) {
		t.Fatalf("after consent: at %s: %.1000s", b.location(), b.text())
	}
	tok, idt, claims := app.signedIn()
	if idt.Issuer != issuer || claims["email"] != clitest.LoginEmail || claims["email_verified"] != true {
		t.Errorf("ID token: iss %q, claims %v", idt.Issuer, claims)
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token although offline_access was granted")
	}

	// userinfo, with the access token, through go-oidc.
	ctx := context.Background()
	info, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != creds.UserID || info.Email != clitest.LoginEmail {
		t.Fatalf("userinfo: %+v, %v", info, err)
	}

	// The access token is a macaroon: the gateway grants the API the
	// scopes named (api:demo) and nothing else the user may do.
	if status, body := gatewayGET(t, gw, "/demo/v1/hello", "Bearer "+tok.AccessToken); status != http.StatusOK {
		t.Errorf("the access token on a granted route: %d %s", status, body)
	}
	if status, body := gatewayGET(t, gw, "/accounts/v1/users/current", "Bearer "+tok.AccessToken); status != http.StatusForbidden {
		t.Errorf("the access token outside its scopes: %d %s, want 403", status, body)
	}
	// The same route is granted to the user's own session: the refusal
	// is the scopes', not the policies'.
	if status, code := api.CurrentUser(admin.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("control: the user's own token on that route: %d %s", status, code)
	}

	// The app narrows its own token, with no secret: the narrowed token
	// still reaches what it names and nothing else the original reached.
	narrow := gwAttenuate(t, tok.AccessToken, "routes /demo/v1/hello")
	if status, body := gatewayGET(t, gw, "/demo/v1/hello", "Bearer "+narrow); status != http.StatusOK {
		t.Errorf("the attenuated access token on its route: %d %s", status, body)
	}
	if status, body := gatewayGET(t, gw, "/demo/v1/notes", "Bearer "+narrow); status != http.StatusForbidden {
		t.Errorf("the attenuated access token beyond its routes: %d %s, want 403", status, body)
	}
	if status, _ := gatewayGET(t, gw, "/demo/v1/notes", "Bearer "+tok.AccessToken); status != http.StatusOK {
		t.Errorf("control: the original access token on /demo/v1/notes: %d", status)
	}
	if info, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: gwAttenuate(t, tok.AccessToken, "routes /demo/v1/hello"), TokenType: "Bearer"})); err == nil {
		t.Errorf("userinfo with a token narrowed away from it answered %+v", info)
	}

	// Refresh rotates; the old refresh token used again ends the family.
	old := tok.RefreshToken
	refreshed, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
	if err != nil || refreshed.AccessToken == "" || refreshed.RefreshToken == "" || refreshed.RefreshToken == old {
		t.Fatalf("refresh: %+v, %v", refreshed, err)
	}
	if status, _ := gatewayGET(t, gw, "/demo/v1/hello", "Bearer "+refreshed.AccessToken); status != http.StatusOK {
		t.Errorf("the refreshed access token: %d", status)
	}
	time.Sleep(11 * time.Second) // past the 10 s grace for concurrent tabs
	_, err = app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: old}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("the old refresh token again: %v, want invalid_grant", err)
	}
	if _, err := app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshed.RefreshToken}).Token(); err == nil {
		t.Error("the newest refresh token still works after the old one was replayed: the family was not ended")
	}
	if !waitBearerRefused(t, gw, refreshed.AccessToken, 10*time.Second) {
		t.Error("the family's access token is still accepted after the replay")
	}

	// Sign in again (consent remembered: no consent page this time), then
	// RP-initiated logout ends the app's session at authgw.
	b.open(app.url + "/login")
	if !strings.HasPrefix(b.location(), app.url+"/callback") {
		t.Fatalf("second sign-in with consent remembered: at %s: %.1000s", b.location(), b.text())
	}
	tok, idt, _ = app.signedIn()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := app.provider.Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery has no end_session_endpoint: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	b.open(meta.EndSession + "?" + url.Values{"id_token_hint": {raw}, "client_id": {clientID},
		"post_logout_redirect_uri": {app.url + "/signed-out"}}.Encode())
	if b.location() != app.url+"/signed-out" {
		t.Fatalf("after logout: at %s: %.1000s", b.location(), b.text())
	}
	if !waitBearerRefused(t, gw, tok.AccessToken, 10*time.Second) {
		t.Error("the access token is still accepted after RP-initiated logout")
	}
	if idt.Subject != creds.UserID {
		t.Errorf("second sign-in: subject %q", idt.Subject)
	}
}

// passwordSession logs the bootstrapped user in with the password through
// the JSON API (serve's defaults: Secure cookies, which this program does
// not keep) and returns the session's tokens.
func passwordSession(t *testing.T, api clitest.AccountsCaller) clitest.Session {
	t.Helper()
	r := api.Do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword, "state": clitest.NewState(t)}})
	var out struct{ Data clitest.Session }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.Data.Macaroons["POST"] == "" {
		t.Fatalf("password login: %d %s", r.Status, r.Body)
	}
	return out.Data
}

// waitBearerRefused polls a granted route with the access token until the
// gateway refuses it with 401 (its session revoked), within limit.
func waitBearerRefused(t *testing.T, gw, token string, limit time.Duration) bool {
	t.Helper()
	for start := time.Now(); time.Since(start) < limit; time.Sleep(20 * time.Millisecond) {
		switch status, body := gatewayGET(t, gw, "/demo/v1/hello", "Bearer "+token); status {
		case http.StatusUnauthorized:
			return true
		case http.StatusOK:
		default:
			t.Fatalf("waiting for the token to be refused: %d %s", status, body)
		}
	}
	return false
}

// oidcInteropDir holds the pinned npm openid-client and its script.
const oidcInteropDir = "../../../testdata/oidc-interop"

// openidClientStart and openidClientFinish are client.mjs's two answers.
type openidClientStart struct{ URL, Verifier, State, Nonce string }

type openidClientFinish struct {
	Sub, Aud, Email, UserinfoSub, TokenType, AccessToken string
	Refreshed                                            bool
	RefreshedAccessToken                                 string
	CodeReplayError, RefreshAfterCodeReplayError         string
}

// TestOIDCOpenIDClient runs the certified npm openid-client, as the app of
// a public client (no secret, PKCE alone), against authgw serve: the
// person signs in and consents in Chromium; openid-client checks state,
// the ID token against the JWKS, nonce and userinfo's subject, refreshes,
// and uses the code a second time, which authgw refuses and answers by
// ending what the code issued: the refreshed tokens stop working too.
func TestOIDCOpenIDClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	node, _ := nodetest.Setup(t, oidcInteropDir, "openid-client", "client.mjs", "package-lock.json")
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	creds := bootstrapFor(t, vars)
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0"},
		vars, 20*time.Second)
	gw := p.gatewayURL
	issuer := gw + "/accounts/v1/oidc"
	const ui = "/accounts/v1/ui"
	f := &frontDoor{t: t, gw: gw, dir: dir}

	// The app's redirect URI: a page that only says the browser is back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	back := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>Back at the app</title><p>Back at the app.")
	})}
	go back.Serve(ln)
	t.Cleanup(func() { back.Close() })
	redirect := "http://" + ln.Addr().String() + "/callback"

	api := clitest.NewAccountsCaller(t, gw, creds)
	admin := passwordSession(t, api)
	r := api.Do("POST", "/accounts/v1/organizations/"+creds.OrganizationID+"/clients", admin.Macaroons["POST"], map[string]any{"data": map[string]any{
		"type": "clients", "name": "Single-page app", "reqsPerSec": -1, "public": true,
		"redirectUris": []string{redirect}, "oidcScopes": []string{"email", "offline_access", "api:demo"},
	}})
	var out struct{ Data struct{ ID string } }
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &out) != nil || out.Data.ID == "" {
		t.Fatalf("registering the public client: %d %s", r.Status, r.Body)
	}
	time.Sleep(1500 * time.Millisecond) // the gateway's snapshot

	var start openidClientStart
	nodetest.Run(t, node, oidcInteropDir, "client.mjs", map[string]string{"step": "start", "issuer": issuer, "clientId": out.Data.ID,
		"redirectUri": redirect, "scope": "openid email offline_access api:demo"}, &start, 30*time.Second)
	b := newBrowserSession(t)
	b.open(start.URL)
	f.expectAt(b, ui+"/login", "openid-client's authorization URL leads to the sign-in page")
	b.submit(ui+"/login", map[string]string{"email": clitest.LoginEmail, "password": clitest.LoginPassword})
	f.expectText(b, "Single-page app", "the consent page names the app")
	b.clickButton("Allow")
	callback := b.location()
	if !strings.HasPrefix(callback, redirect+"?") {
		t.Fatalf("after consent: at %s: %.1000s", callback, b.text())
	}

	var fin openidClientFinish
	nodetest.Run(t, node, oidcInteropDir, "client.mjs", map[string]string{"step": "finish", "issuer": issuer, "clientId": out.Data.ID,
		"callback": callback, "verifier": start.Verifier, "state": start.State, "nonce": start.Nonce}, &fin, 30*time.Second)
	if fin.Sub != creds.UserID || fin.UserinfoSub != creds.UserID || fin.Aud != out.Data.ID || fin.Email != clitest.LoginEmail {
		t.Errorf("openid-client read %+v", fin)
	}
	if !strings.EqualFold(fin.TokenType, "bearer") || !fin.Refreshed {
		t.Errorf("token type %q, refreshed %v", fin.TokenType, fin.Refreshed)
	}
	if fin.CodeReplayError != "invalid_grant" || fin.RefreshAfterCodeReplayError != "invalid_grant" {
		t.Errorf("code used again: %q; the refresh token after that: %q; want invalid_grant for both", fin.CodeReplayError, fin.RefreshAfterCodeReplayError)
	}
	if !waitBearerRefused(t, gw, fin.RefreshedAccessToken, 10*time.Second) {
		t.Error("the tokens the code issued still work after the code was used again")
	}
}

// TestBrowserSignInWith is the README's "Sign in with …", run in Chromium
// against authgw serve with --oidc-providers naming a separately running
// OpenID provider built from a provider library (mockoidc, on a port of
// its own): the sign-in page offers it, a first sign-in links the
// bootstrapped user's account by its verified address (the provider says
// email_verified), the account page lists the link, and a provider that
// says email_verified false links nothing.
func TestBrowserSignInWith(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	cfg := m.Config()
	dir := t.TempDir()
	providers := filepath.Join(dir, "providers.json")
	if err := os.WriteFile(providers, fmt.Appendf(nil, `{"providers": [{"id": "corp", "name": "Example Corp",
	  "issuer": %q, "clientId": %q, "clientSecret": %q, "allowLinking": true}]}`, cfg.Issuer, cfg.ClientID, cfg.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{envDataDir: dir}
	bootstrapFor(t, vars)
	p := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0",
		"--oidc-providers", providers}, vars, 20*time.Second)
	gw := p.gatewayURL
	f := &frontDoor{t: t, gw: gw, dir: dir}
	const ui = "/accounts/v1/ui"

	// A provider that does not vouch for the address links nothing.
	m.QueueUser(&mockoidc.MockUser{Subject: "corp-unverified", Email: clitest.LoginEmail, EmailVerified: false})
	b := newBrowserSession(t)
	b.open(gw + ui + "/login")
	b.clickLink("Sign in with Example Corp")
	if strings.HasSuffix(b.location(), ui+"/settings") {
		t.Fatalf("a provider saying email_verified false opened the account: at %s", b.location())
	}
	f.expectText(b, "account", "the refusal of an unverified address")

	// One that does links the account with that verified address.
	m.QueueUser(&mockoidc.MockUser{Subject: "corp-ada", Email: clitest.LoginEmail, EmailVerified: true})
	b.open(gw + ui + "/login")
	f.expectText(b, "Sign in with Example Corp", "the sign-in page offers the provider")
	b.screenshot("signin-with")
	expectAccessibleNames(t, b, "the sign-in page with a provider")
	b.clickLink("Sign in with Example Corp")
	f.expectAt(b, ui+"/settings", "after signing in with the provider")
	f.expectText(b, "Example Corp", "the linked provider on the account page")
}
