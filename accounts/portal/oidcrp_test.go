package portal_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// The relying party's tests sign in against a separately running OpenID
// Connect provider built from a provider library (mockoidc, on a real
// port), not authgw's own, through the real sign-in pages of a stack.

// publicURL is the gateway's public URL the relying party is configured
// with; the test browser sends what goes there to the stack's server.
const publicURL = "http://gateway.invalid"

// forgery says how the test provider's token answer is tampered with.
type forgery int

const (
	forgeNone forgery = iota
	// forgeOtherKey re-signs the ID token with a key the provider does
	// not publish (same kid).
	forgeOtherKey
	// forgeAlgNone strips the signature and says alg none.
	forgeAlgNone
)

// testIdP is the test provider and what it does next.
type testIdP struct {
	m      *mockoidc.MockOIDC
	mu     sync.Mutex
	forge  forgery
	forger *rsa.PrivateKey
}

// newIdP runs a mockoidc provider on a real loopback port.
func newIdP(t *testing.T) *testIdP {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	must(t, err)
	m.CodeChallengeMethodsSupported = []string{"S256"}
	idp := &testIdP{m: m}
	idp.forger, err = rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	must(t, m.AddMiddleware(idp.tamper))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	must(t, m.Start(ln, nil))
	t.Cleanup(func() { _ = m.Shutdown() })
	return idp
}

func (idp *testIdP) setForgery(f forgery) {
	idp.mu.Lock()
	idp.forge = f
	idp.mu.Unlock()
}

// tamper rewrites the ID token of the token endpoint's answer as the
// current forgery says.
func (idp *testIdP) tamper(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		idp.mu.Lock()
		f := idp.forge
		idp.mu.Unlock()
		if f == forgeNone || r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		if tok, ok := body["id_token"].(string); ok {
			body["id_token"] = idp.forged(tok, f)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		_ = json.NewEncoder(w).Encode(body)
	})
}

func (idp *testIdP) forged(tok string, f forgery) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return tok
	}
	enc := base64.RawURLEncoding
	switch f {
	case forgeAlgNone:
		return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	case forgeHS256:
		return idp.forgedHS256(parts)
	case forgeOtherKey:
		signed := parts[0] + "." + parts[1]
		sum := sha256.Sum256([]byte(signed))
		sig, err := rsa.SignPKCS1v15(rand.Reader, idp.forger, crypto.SHA256, sum[:])
		if err != nil {
			return tok
		}
		return signed + "." + enc.EncodeToString(sig)
	}
	return tok
}

// idpUser is a user of the test provider with the claims a case needs.
type idpUser struct {
	sub, email string
	// verified is the email_verified claim as sent: true, false, "true"
	// or nil (absent).
	verified any
	name     string
	// claims changes the ID token's registered claims (aud, iss, exp,
	// nonce) before it is signed.
	claims func(*mockoidc.IDTokenClaims)
}

func (u *idpUser) ID() string { return u.sub }

func (u *idpUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.sub, "email": u.email})
}

// idpClaims are the ID token's claims.
type idpClaims struct {
	*mockoidc.IDTokenClaims
	Email         string `json:"email,omitempty"`
	EmailVerified any    `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

func (u *idpUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.claims != nil {
		u.claims(base)
	}
	return &idpClaims{IDTokenClaims: base, Email: u.email, EmailVerified: u.verified, Name: u.name}, nil
}

// The test providers' IDs: what each lets a sign-in do.
const (
	provOpen    = "open"    // links by a verified address, creates accounts
	provClosed  = "closed"  // neither
	provNoLink  = "nolink"  // creates accounts, never links
	provLinking = "linking" // links, never creates
)

// newRPStack builds a stack whose sign-in page offers the test
// provider under four settings.
func newRPStack(t *testing.T, idp *testIdP) *stack {
	t.Helper()
	return newRPStackOn(t, dbtest.SQLite(t), idp)
}

// newRPStackOn is newRPStack on the store d.
func newRPStackOn(t *testing.T, d *db.DB, idp *testIdP) *stack {
	t.Helper()
	cfg := idp.m.Config()
	prov := func(id, name string, link, signUp bool) oidcrp.ProviderSettings {
		return oidcrp.ProviderSettings{ID: id, Name: name, Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			AllowLinking: link, AllowSignUp: signUp}
	}
	return newStackOn(t, d, stackOptions{rp: func(d *db.DB, pc *portal.Config) {
		rp, err := oidcrp.New(oidcrp.Config{
			Providers: []oidcrp.ProviderSettings{
				prov(provOpen, "Open SSO", true, true), prov(provClosed, "Closed SSO", false, false),
				prov(provNoLink, "NoLink SSO", false, true), prov(provLinking, "Linking SSO", true, false),
			},
			PublicURL: publicURL, Flows: d, Now: pc.Now, Logger: pc.Logger,
		})
		must(t, err)
		pc.Federation = rp
	}})
}

// local maps a URL of the public URL to the stack's server.
func (b *browser) local(target string) string {
	if rest, ok := strings.CutPrefix(target, publicURL); ok {
		return b.s.srv.URL + rest
	}
	return target
}

// rpStart opens the start page of provider with return_to rt and returns
// the provider's authorization URL it redirects to.
func (b *browser) rpStart(provider, rt string) string {
	b.s.t.Helper()
	target := portal.Prefix + "/login/oidc/" + provider
	if rt != "" {
		target += "?return_to=" + url.QueryEscape(rt)
	}
	p := b.get(target)
	if p.Status != http.StatusFound {
		b.s.t.Fatalf("start: status %d\n%s", p.Status, p.Body)
	}
	return p.Header.Get("Location")
}

// rpAuthorize opens the provider's authorization URL (the provider signs
// the queued user in at once) and returns the callback URL it sends the
// browser to, mapped to the stack.
func (b *browser) rpAuthorize(authURL string) string {
	b.s.t.Helper()
	p := b.get(authURL)
	if p.Status != http.StatusFound {
		b.s.t.Fatalf("provider: status %d\n%s", p.Status, p.Body)
	}
	return b.local(p.Header.Get("Location"))
}

// rpSignIn signs in with provider as u, returning the callback's page.
func (b *browser) rpSignIn(idp *testIdP, provider string, u *idpUser, rt string) *page {
	b.s.t.Helper()
	idp.m.QueueUser(u)
	return b.get(b.rpAuthorize(b.rpStart(provider, rt)))
}

// identityOf returns the user the test provider's subject is linked to,
// "" when none.
func (s *stack) identityOf(idp *testIdP, sub string) string {
	s.t.Helper()
	i, err := s.d.GetOIDCIdentity(s.ctx, idp.m.Issuer(), sub)
	if err != nil {
		return ""
	}
	return i.UserID
}

// userByEmail returns the ID of the user holding addr verified, "" when
// none.
func (s *stack) userByEmail(addr string) string {
	u, _, err := s.d.GetUserByEmail(s.ctx, addr)
	if err != nil {
		return ""
	}
	return u.ID
}

// holders counts the rows of the address, verified or not.
func (s *stack) holders(addr string) int {
	s.t.Helper()
	var n int
	must(s.t, s.d.SQL().QueryRowContext(s.ctx, "SELECT COUNT(*) FROM emails WHERE email = ?", addr).Scan(&n))
	return n
}

// TestRelyingPartySignInPage: the sign-in page offers each configured
// provider, with return_to carried along.
func TestRelyingPartySignInPage(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	p := s.browser().get(loginPath + "?return_to=%2Fdemo%2Fv1%2Fx")
	for _, want := range []string{"Sign in with Open SSO", "Sign in with Closed SSO", "Sign in with NoLink SSO", "Sign in with Linking SSO"} {
		if !strings.Contains(p.text(), want) {
			t.Errorf("the sign-in page lacks %q", want)
		}
	}
	if !strings.Contains(p.Body, `href="/accounts/v1/ui/login/oidc/open?return_to=%2Fdemo%2Fv1%2Fx"`) {
		t.Errorf("no start link with return_to:\n%s", p.Body)
	}
	// The start page sends the browser to the provider with PKCE S256,
	// a nonce, and the registered callback.
	authURL := s.browser().rpStart(provOpen, "/demo/v1/x")
	u, err := url.Parse(authURL)
	must(t, err)
	q := u.Query()
	for k, want := range map[string]string{"code_challenge_method": "S256", "redirect_uri": publicURL + oidcrp.CallbackPath(provOpen),
		"client_id": idp.m.ClientID, "response_type": "code"} {
		if q.Get(k) != want {
			t.Errorf("authorization URL: %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorization URL: %s = %q, want at least 256 bits", k, q.Get(k))
		}
	}
	// return_to is resolved as everywhere: never an open redirect.
	ann := s.user("Ann Smith")
	must(t, s.d.CreateOIDCIdentity(s.ctx, db.OIDCIdentity{ID: s.id(), UserID: ann.ID, ProviderID: provOpen, Issuer: idp.m.Issuer(),
		Subject: "ann-redirect", CreatedMs: s.clock.Now().UnixMilli()}))
	p = s.browser().rpSignIn(idp, provOpen, &idpUser{sub: "ann-redirect"}, "https://evil.example.com/steal")
	expectSession(t, "open redirect", p, "/")
	if p := s.browser().get(portal.Prefix + "/login/oidc/nosuch"); p.Status != http.StatusNotFound {
		t.Errorf("unknown provider: status %d", p.Status)
	}
}

// TestRelyingPartySignIn walks the linking rules, on SQLite and MariaDB:
// a first sign-in creates an account where allowed, links by a verified
// address where allowed, and otherwise refuses, creating and linking
// nothing.
func TestRelyingPartySignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) { testRelyingPartySignIn(t, d) })
}

func testRelyingPartySignIn(t *testing.T, d *db.DB) {
	idp := newIdP(t)
	s := newRPStackOn(t, d, idp)
	ann := s.user("Ann Smith")
	bob := s.user("Bob Jones")
	carol := s.user("Carol King")
	const rt = "/demo/v1/app"
	for _, tc := range []struct {
		name         string
		givenProv    string
		givenUser    *idpUser
		expectStatus int
		expectText   string
		// expectUser is the user the identity opens afterwards: an ID,
		// "new" for a new account, "" for none.
		expectUser     string
		expectVerified bool
	}{
		{name: "sign up on a first sign-in where allowed", givenProv: provOpen,
			givenUser:    &idpUser{sub: "new-1", email: "newcomer@example.com", verified: true, name: "New Comer"},
			expectStatus: http.StatusSeeOther, expectUser: "new", expectVerified: true},
		{name: "sign up with an address not verified by the provider leaves it unverified", givenProv: provNoLink,
			givenUser:    &idpUser{sub: "new-2", email: "unproven@example.com", verified: false},
			expectStatus: http.StatusSeeOther, expectUser: "new"},
		{name: "link by a verified address where linking is allowed", givenProv: provLinking,
			givenUser:    &idpUser{sub: "ann-1", email: addressOf(ann.Name), verified: true},
			expectStatus: http.StatusSeeOther, expectUser: ann.ID},
		{name: "email_verified false never links nor takes the address over", givenProv: provOpen,
			givenUser:    &idpUser{sub: "bob-1", email: addressOf(bob.Name), verified: false},
			expectStatus: http.StatusConflict, expectText: "An account already uses this address"},
		{name: "email_verified as the string \"true\" is not verified", givenProv: provOpen,
			givenUser:    &idpUser{sub: "bob-2", email: addressOf(bob.Name), verified: "true"},
			expectStatus: http.StatusConflict, expectText: "An account already uses this address"},
		{name: "linking not allowed", givenProv: provNoLink,
			givenUser:    &idpUser{sub: "carol-1", email: addressOf(carol.Name), verified: true},
			expectStatus: http.StatusConflict, expectText: "An account already uses this address"},
		{name: "no account and no sign-up", givenProv: provClosed,
			givenUser:    &idpUser{sub: "stranger-1", email: "stranger@example.com", verified: true},
			expectStatus: http.StatusForbidden, expectText: "No account for this sign-in"},
		{name: "no account, linking allowed, no sign-up", givenProv: provLinking,
			givenUser:    &idpUser{sub: "stranger-2", email: "stranger2@example.com", verified: true},
			expectStatus: http.StatusForbidden, expectText: "No account for this sign-in"},
		{name: "sign-up without an address", givenProv: provOpen,
			givenUser:    &idpUser{sub: "noaddr-1"},
			expectStatus: http.StatusForbidden, expectText: "No email address from the provider"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := s.browser()
			holdersBefore := s.holders(tc.givenUser.email)
			p := b.rpSignIn(idp, tc.givenProv, tc.givenUser, rt)
			if p.Status != tc.expectStatus {
				t.Fatalf("status %d, expected %d\n%s", p.Status, tc.expectStatus, p.text())
			}
			got := s.identityOf(idp, tc.givenUser.sub)
			switch tc.expectUser {
			case "":
				expectNoSession(t, tc.name, p)
				if !strings.Contains(p.text(), tc.expectText) {
					t.Errorf("page lacks %q: %s", tc.expectText, p.text())
				}
				if got != "" {
					t.Errorf("the identity was linked to %s", got)
				}
				if n := s.holders(tc.givenUser.email); n != holdersBefore {
					t.Errorf("the address has %d holders, was %d: an account was created", n, holdersBefore)
				}
			case "new":
				expectSession(t, tc.name, p, rt)
				if got == "" || got == ann.ID || got == bob.ID || got == carol.ID {
					t.Fatalf("identity linked to %q, expected a new account", got)
				}
				es, err := s.d.ListEmails(s.ctx, got)
				must(t, err)
				if len(es) != 1 || es[0].Email != tc.givenUser.email || (es[0].VerifiedMs != 0) != tc.expectVerified {
					t.Errorf("the new account's addresses: %+v, expected %s verified=%v", es, tc.givenUser.email, tc.expectVerified)
				}
				u, err := s.d.GetUser(s.ctx, got)
				must(t, err)
				if len(u.Roles) != 1 || u.Roles[0] != db.RoleUser {
					t.Errorf("the new account's roles: %v", u.Roles)
				}
			default:
				expectSession(t, tc.name, p, rt)
				if got != tc.expectUser {
					t.Errorf("identity linked to %q, expected %q", got, tc.expectUser)
				}
			}
		})
	}
	// The link was told to Ann by mail.
	if m := s.mailTo(addressOf(ann.Name)); !strings.Contains(m, "Linking SSO identity was linked") {
		t.Errorf("no link notice to Ann:\n%s", m)
	}
	// A linked identity signs in again to the same account, whatever
	// address the provider gives now, even where nothing is linked or
	// created any more.
	t.Run("linked identity signs in again", func(t *testing.T) {
		p := s.browser().rpSignIn(idp, provClosed, &idpUser{sub: "ann-1", email: "changed@example.com", verified: false}, rt)
		expectSession(t, "again", p, rt)
		if got := s.identityOf(idp, "ann-1"); got != ann.ID {
			t.Errorf("identity now opens %q", got)
		}
	})
}

// TestRelyingPartyRefusesForgeries: a callback whose ID token does not
// hold, or whose state or nonce is not the sign-in's, or that is
// replayed, signs nobody in and links nothing.
func TestRelyingPartyRefusesForgeries(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	ann := s.user("Ann Smith")
	annUser := func(mut func(*mockoidc.IDTokenClaims)) *idpUser {
		return &idpUser{sub: "ann-forged", email: addressOf(ann.Name), verified: true, claims: mut}
	}
	for _, tc := range []struct {
		name      string
		givenUser *idpUser
		forge     forgery
	}{
		{name: "signed by another key", givenUser: annUser(nil), forge: forgeOtherKey},
		{name: "alg none", givenUser: annUser(nil), forge: forgeAlgNone},
		{name: "wrong audience", givenUser: annUser(func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} })},
		{name: "wrong issuer", givenUser: annUser(func(c *mockoidc.IDTokenClaims) { c.Issuer = "https://evil.example.com" })},
		{name: "expired", givenUser: annUser(func(c *mockoidc.IDTokenClaims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		})},
		{name: "nonce mismatch", givenUser: annUser(func(c *mockoidc.IDTokenClaims) { c.Nonce = "not-the-nonce" })},
		{name: "no nonce", givenUser: annUser(func(c *mockoidc.IDTokenClaims) { c.Nonce = "" })},
		{name: "several audiences without azp", givenUser: annUser(func(c *mockoidc.IDTokenClaims) {
			c.Audience = append(c.Audience, "another-client")
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.setForgery(tc.forge)
			defer idp.setForgery(forgeNone)
			p := s.browser().rpSignIn(idp, provOpen, tc.givenUser, "")
			if p.Status != http.StatusBadRequest || !strings.Contains(p.text(), "The sign-in did not work") {
				t.Errorf("status %d: %s", p.Status, p.text())
			}
			expectNoSession(t, tc.name, p)
			if got := s.identityOf(idp, "ann-forged"); got != "" {
				t.Errorf("the forged identity was linked to %s", got)
			}
		})
	}

	t.Run("replayed callback", func(t *testing.T) {
		b := s.browser()
		idp.m.QueueUser(&idpUser{sub: "ann-replay", email: addressOf(ann.Name), verified: true})
		callback := b.rpAuthorize(b.rpStart(provOpen, ""))
		stateCookie := b.cookie(portal.Prefix+"/login/oidc", "authgw-oidc-state")
		if p := b.get(callback); p.Status != http.StatusSeeOther {
			t.Fatalf("first callback: %d %s", p.Status, p.text())
		}
		// Nothing of the callback is logged: not the code, the state, the
		// ID token (a JWT starts "eyJ") nor the client secret.
		cb, err := url.Parse(callback)
		must(t, err)
		logs := s.logs.String()
		if !strings.Contains(logs, "oidc") {
			t.Fatal("the stack logged nothing of the sign-ins: the check below would prove nothing")
		}
		for what, secret := range map[string]string{"code": cb.Query().Get("code"), "state": cb.Query().Get("state"), "client secret": idp.m.ClientSecret, "a JWT": "eyJ"} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Errorf("the logs hold %s", what)
			}
		}
		// The same callback again, even with the state cookie put back.
		b.setCookie(portal.Prefix+"/login/oidc", stateCookie)
		p := b.get(callback)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.text(), "expired or was already used") {
			t.Errorf("replay: status %d: %s", p.Status, p.text())
		}
		expectNoSession(t, "replay", p)
	})

	t.Run("state mismatch", func(t *testing.T) {
		b := s.browser()
		idp.m.QueueUser(&idpUser{sub: "ann-mismatch", email: addressOf(ann.Name), verified: true})
		callback := b.rpAuthorize(b.rpStart(provOpen, ""))
		u, err := url.Parse(callback)
		must(t, err)
		q := u.Query()
		q.Set("state", strings.Repeat("A", 43))
		u.RawQuery = q.Encode()
		p := b.get(u.String())
		if p.Status != http.StatusBadRequest || !strings.Contains(p.text(), "expired or was already used") {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
		expectNoSession(t, "mismatch", p)
		if got := s.identityOf(idp, "ann-mismatch"); got != "" {
			t.Errorf("linked to %s", got)
		}
	})

	t.Run("callback in another browser", func(t *testing.T) {
		idp.m.QueueUser(&idpUser{sub: "ann-planted", email: addressOf(ann.Name), verified: true})
		attacker := s.browser()
		callback := attacker.rpAuthorize(attacker.rpStart(provOpen, ""))
		p := s.browser().get(callback)
		if p.Status != http.StatusBadRequest {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
		expectNoSession(t, "planted", p)
	})

	t.Run("provider error", func(t *testing.T) {
		b := s.browser()
		authURL := b.rpStart(provOpen, "")
		u, err := url.Parse(authURL)
		must(t, err)
		p := b.get(portal.Prefix + "/login/oidc/" + provOpen + "/callback?error=access_denied&state=" + url.QueryEscape(u.Query().Get("state")))
		if p.Status != http.StatusBadRequest || !strings.Contains(p.text(), "access_denied") {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
	})

	t.Run("callback of another provider's state", func(t *testing.T) {
		b := s.browser()
		idp.m.QueueUser(&idpUser{sub: "ann-cross", email: addressOf(ann.Name), verified: true})
		callback := b.rpAuthorize(b.rpStart(provClosed, ""))
		p := b.get(strings.Replace(callback, "/oidc/"+provClosed+"/", "/oidc/"+provOpen+"/", 1))
		if p.Status != http.StatusBadRequest {
			t.Errorf("status %d: %s", p.Status, p.text())
		}
	})
}

// TestRelyingPartySecondFactor: the external sign-in is a first factor:
// a user with TOTP is asked for it, and a banned user is refused.
func TestRelyingPartySecondFactor(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	ann := s.user("Ann Smith")
	secret := s.enrolTOTP(ann)
	const rt = "/demo/v1/app"
	b := s.browser()
	p := b.rpSignIn(idp, provLinking, &idpUser{sub: "ann-totp", email: addressOf(ann.Name), verified: true}, rt)
	if p.Status != http.StatusOK || p.form(totpPath) == nil {
		t.Fatalf("expected the TOTP step, got %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "first factor", p)
	p = b.submit(p, totpPath, map[string]string{"totp": s.totpCode(secret)})
	expectSession(t, "totp", p, rt)
	// The session remembers how: the external sign-in, then TOTP.
	var amr string
	must(t, s.d.SQL().QueryRowContext(s.ctx, "SELECT amr FROM sessions WHERE user_id = ?", ann.ID).Scan(&amr))
	if amr != "fed otp mfa" {
		t.Errorf("the session's amr is %q, expected \"fed otp mfa\"", amr)
	}

	bob := s.user("Bob Jones")
	must(t, s.d.CreateOIDCIdentity(s.ctx, db.OIDCIdentity{ID: s.id(), UserID: bob.ID, ProviderID: provOpen, Issuer: idp.m.Issuer(),
		Subject: "bob-banned", CreatedMs: s.clock.Now().UnixMilli()}))
	must(t, s.d.BanUser(s.ctx, bob.ID, s.clock.Now().UnixMilli()))
	p = s.browser().rpSignIn(idp, provOpen, &idpUser{sub: "bob-banned", email: addressOf(bob.Name), verified: true}, rt)
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.text(), "This account cannot sign in") {
		t.Errorf("banned: status %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "banned", p)
}

// TestRelyingPartyProviderDown: a provider that cannot be reached does
// not stop the stack; its sign-in answers a clear page.
func TestRelyingPartyProviderDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	issuer := "http://" + ln.Addr().String() + "/oidc"
	must(t, ln.Close())
	s := newStack(t, stackOptions{rp: func(d *db.DB, pc *portal.Config) {
		rp, err := oidcrp.New(oidcrp.Config{Providers: []oidcrp.ProviderSettings{{ID: "down", Name: "Down SSO", Issuer: issuer, ClientID: "c", ClientSecret: "s"}},
			PublicURL: publicURL, Flows: d, Now: pc.Now, Logger: pc.Logger})
		must(t, err)
		pc.Federation = rp
	}})
	p := s.browser().get(portal.Prefix + "/login/oidc/down")
	if p.Status != http.StatusServiceUnavailable || !strings.Contains(p.text(), "Down SSO cannot be reached") {
		t.Errorf("status %d: %s", p.Status, p.text())
	}
	if p := s.browser().get(loginPath); p.Status != http.StatusOK || !strings.Contains(p.text(), "Sign in with Down SSO") {
		t.Errorf("sign-in page: %d", p.Status)
	}
}

// cookie returns the browser's cookie name for path, nil when none.
func (b *browser) cookie(path, name string) *http.Cookie {
	u, _ := url.Parse(b.s.srv.URL + path)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie puts c back into the browser's jar for path.
func (b *browser) setCookie(path string, c *http.Cookie) {
	if c == nil {
		b.s.t.Fatal("no cookie to put back")
	}
	u, _ := url.Parse(b.s.srv.URL + path)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: path}})
}

// TestRelyingPartySettings: the account page lists the linked identities
// and removes one after the user proves it is them (the confirm page, as
// for a passkey), with the form's CSRF token.
func TestRelyingPartySettings(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	ann := s.user("Ann Smith")
	b := s.browser()
	p := b.rpSignIn(idp, provLinking, &idpUser{sub: "ann-settings", email: addressOf(ann.Name), verified: true}, portal.SettingsPath)
	expectSession(t, "sign-in", p, portal.SettingsPath)
	ident, err := s.d.GetOIDCIdentity(s.ctx, idp.m.Issuer(), "ann-settings")
	must(t, err)

	page := b.acctSettingsPage()
	for _, want := range []string{"Sign-in providers", "Linking SSO", addressOf(ann.Name)} {
		if !strings.Contains(page.text(), want) {
			t.Errorf("the account page lacks %q", want)
		}
	}
	action := acctPath("/settings/identities/" + ident.ID + "/remove")
	if page.form(action) == nil {
		t.Fatalf("no remove form for the identity:\n%s", page.Body)
	}
	// Without the form's CSRF token: refused, nothing removed.
	if forged := b.do(http.MethodPost, action, url.Values{}); forged.Status < 400 {
		t.Errorf("a post without the CSRF token: status %d", forged.Status)
	}
	confirm := b.submit(page, action, nil)
	if confirm.Status != http.StatusOK || confirm.form(action) == nil || !strings.Contains(confirm.text(), "Confirm it is you to remove the sign-in provider") {
		t.Fatalf("confirm page: %d\n%s", confirm.Status, confirm.text())
	}
	wrong := b.submit(confirm, action, map[string]string{"password": "not my password"})
	if wrong.Status < 400 {
		t.Errorf("a wrong password: status %d", wrong.Status)
	}
	if s.identityOf(idp, "ann-settings") != ann.ID {
		t.Fatal("removed without a proof")
	}
	done := b.submit(wrong, action, map[string]string{"password": testPassword})
	if done.Status != http.StatusSeeOther || !strings.Contains(done.Header.Get("Location"), "done=identity-removed") {
		t.Fatalf("remove: %d %q\n%s", done.Status, done.Header.Get("Location"), done.text())
	}
	if got := s.identityOf(idp, "ann-settings"); got != "" {
		t.Errorf("still linked to %s", got)
	}
	after := b.follow(done)
	if !strings.Contains(after.text(), "The sign-in provider was removed.") || !strings.Contains(after.text(), "No sign-in provider is linked") {
		t.Errorf("after removal: %s", after.text())
	}
}
