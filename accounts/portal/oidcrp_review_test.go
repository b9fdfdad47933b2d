package portal_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/oidcrp"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// An attacker's review of "Sign in with …": each test below is a way in
// that was tried against the real pages, a mockoidc provider and SQLite.

// TestRelyingPartyPreHijackByUnprovenSignUp: an attacker signs up through
// a provider that creates accounts, giving the victim's address
// unverified (email_verified false). The account holds the address as a
// never-verified registration; when the victim later proves the mailbox
// with a login code, that first proof resets the account (password, TOTP,
// sessions), and must also unlink the attacker's identity: otherwise the
// attacker signs in to the account the victim now uses.
func TestRelyingPartyPreHijackByUnprovenSignUp(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	const victim = "victim@example.com"
	attacker := &idpUser{sub: "attacker-prehijack", email: victim, verified: false}
	p := s.browser().rpSignIn(idp, provNoLink, attacker, "/demo/v1/app")
	expectSession(t, "attacker's sign-up", p, "/demo/v1/app")
	planted := s.identityOf(idp, attacker.sub)
	if planted == "" {
		t.Fatal("no account was created: the case proves nothing")
	}
	// The victim signs in with a code mailed to their address: the
	// never-verified registration is the one it opens, and is reset.
	s.browser().acctSignInByCode(victim)
	if got := s.userByEmail(victim); got != planted {
		t.Fatalf("the code opened %q, expected the planted account %q", got, planted)
	}
	if got := s.identityOf(idp, attacker.sub); got != "" {
		t.Errorf("the attacker's identity still opens the account %s after the mailbox was proved", got)
	}
	p = s.browser().rpSignIn(idp, provNoLink, attacker, "/demo/v1/app")
	expectNoSession(t, "attacker again", p)
	if p.Status != http.StatusConflict {
		t.Errorf("attacker again: status %d, expected 409: %s", p.Status, p.text())
	}
	if !strings.Contains(p.text(), "An account already uses this address") {
		t.Errorf("attacker again: %s", p.text())
	}
	var n int
	must(t, s.d.SQL().QueryRowContext(s.ctx, "SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?", planted).Scan(&n))
	if n != 0 {
		t.Errorf("%d identities left on the proved account", n)
	}
	_ = db.RoleUser
}

// rawUser is a provider user whose ID token carries extra claims as
// given, of any JSON type (over the registered ones).
type rawUser struct {
	sub   string
	extra map[string]any
	mut   func(*mockoidc.IDTokenClaims)
}

func (u *rawUser) ID() string                        { return u.sub }
func (u *rawUser) Userinfo([]string) ([]byte, error) { return []byte(`{"sub":"` + u.sub + `"}`), nil }
func (u *rawUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.mut != nil {
		u.mut(base)
	}
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	m := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	for k, v := range u.extra {
		m[k] = v
	}
	return m, nil
}

// TestRelyingPartyBadInputs: what a browser or a provider may send that
// does not hold gets a clear 4xx page, never a 500, and signs nobody in.
func TestRelyingPartyBadInputs(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	cb := portal.Prefix + "/login/oidc/" + provOpen + "/callback"
	t.Run("browser", func(t *testing.T) {
		for _, tc := range []struct {
			name, target string
			expectStatus int
		}{
			{name: "callback with no query", target: cb, expectStatus: http.StatusBadRequest},
			{name: "callback with a long state", target: cb + "?code=x&state=" + strings.Repeat("A", 5000), expectStatus: http.StatusBadRequest},
			{name: "callback with an error and no state", target: cb + "?error=access_denied", expectStatus: http.StatusBadRequest},
			{name: "callback with a state of a NUL", target: cb + "?code=x&state=%00", expectStatus: http.StatusBadRequest},
			{name: "callback with an invalid query", target: cb + "?state=%zz;code=%", expectStatus: http.StatusBadRequest},
			{name: "callback of an unknown provider", target: portal.Prefix + "/login/oidc/nosuch/callback?code=x&state=y", expectStatus: http.StatusNotFound},
			{name: "start of a provider in upper case", target: portal.Prefix + "/login/oidc/OPEN", expectStatus: http.StatusNotFound},
			{name: "start of a provider with an encoded slash", target: portal.Prefix + "/login/oidc/open%2Fx", expectStatus: http.StatusBadRequest},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := s.browser().get(tc.target)
				if p.Status != tc.expectStatus {
					t.Errorf("status %d, expected %d: %s", p.Status, tc.expectStatus, p.text())
				}
				expectNoSession(t, tc.name, p)
			})
		}
		// A return_to too long or not a URL falls back to the default: the
		// sign-in still starts (a 500 would be a crash on a stored value).
		for _, rt := range []string{"/" + strings.Repeat("a", 5000), "/\x00", "\xff\xfe"} {
			b := s.browser()
			p := b.get(portal.Prefix + "/login/oidc/" + provOpen + "?return_to=" + url.QueryEscape(rt))
			if p.Status != http.StatusFound {
				t.Errorf("start with return_to %.20q: status %d %s", rt, p.Status, p.text())
			}
		}
	})
	t.Run("provider", func(t *testing.T) {
		ann := s.user("Ann Smith")
		for _, tc := range []struct {
			name       string
			given      mockoidc.User
			expectCode int
		}{
			{name: "sub with a control character", given: &idpUser{sub: "ctl\x01sub", email: "ctl@example.com", verified: true}, expectCode: http.StatusBadRequest},
			{name: "sub too long", given: &idpUser{sub: strings.Repeat("s", 256), email: "long@example.com", verified: true}, expectCode: http.StatusBadRequest},
			{name: "email a number", given: &rawUser{sub: "num-email", extra: map[string]any{"email": 42, "email_verified": true}}, expectCode: http.StatusBadRequest},
			{name: "name an object", given: &rawUser{sub: "obj-name", extra: map[string]any{"email": "obj@example.com", "email_verified": true, "name": map[string]any{"a": 1}}},
				expectCode: http.StatusBadRequest},
			// An address registration would refuse (not one bare ASCII
			// address: it can never receive a code) is no address.
			{name: "email with a zero-width space", given: &idpUser{sub: "zwsp", email: addressOf(ann.Name) + "\u200b", verified: true}, expectCode: http.StatusForbidden},
			{name: "email not ASCII", given: &idpUser{sub: "nonascii", email: "ännchen@example.com", verified: true}, expectCode: http.StatusForbidden},
			{name: "email with a display name", given: &idpUser{sub: "display", email: "Ann <" + addressOf(ann.Name) + ">", verified: true}, expectCode: http.StatusForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := s.browser()
				idp.m.QueueUser(tc.given)
				p := b.get(b.rpAuthorize(b.rpStart(provOpen, "")))
				if p.Status != tc.expectCode {
					t.Errorf("status %d, expected %d: %s", p.Status, tc.expectCode, p.text())
				}
				expectNoSession(t, tc.name, p)
				if got := s.identityOf(idp, tc.given.ID()); got != "" {
					t.Errorf("linked to %s", got)
				}
			})
		}
	})
}

// forgeHS256 re-signs the ID token with HMAC-SHA256 keyed by the client
// secret (which the relying party knows): the key-confusion forgery.
const forgeHS256 forgery = 100

func (idp *testIdP) forgedHS256(parts []string) string {
	enc := base64.RawURLEncoding
	head, err := enc.DecodeString(parts[0])
	if err != nil {
		return strings.Join(parts, ".")
	}
	var h map[string]any
	if json.Unmarshal(head, &h) != nil {
		return strings.Join(parts, ".")
	}
	h["alg"] = "HS256"
	raw, _ := json.Marshal(h)
	signed := enc.EncodeToString(raw) + "." + parts[1]
	mac := hmac.New(sha256.New, []byte(idp.m.ClientSecret))
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// TestRelyingPartyIDTokenChecks: more of the ID token's checks than
// TestRelyingPartyRefusesForgeries: the key confusion (HS256 keyed by the
// client secret), azp naming another client, and the cases that must
// still sign in (several audiences with azp the client).
func TestRelyingPartyIDTokenChecks(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	ann := s.user("Ann Smith")
	for _, tc := range []struct {
		name      string
		forge     forgery
		extra     map[string]any
		mut       func(*mockoidc.IDTokenClaims)
		expectOK  bool
		givenProv string
	}{
		{name: "HS256 keyed by the client secret", forge: forgeHS256},
		{name: "azp another client, one audience", extra: map[string]any{"azp": "another-client"}},
		{name: "azp another client, several audiences", extra: map[string]any{"azp": "another-client"},
			mut: func(c *mockoidc.IDTokenClaims) { c.Audience = append(c.Audience, "another-client") }},
		{name: "azp the client, several audiences", extra: map[string]any{"azp": idp.m.ClientID},
			mut: func(c *mockoidc.IDTokenClaims) { c.Audience = append(c.Audience, "another-client") }, expectOK: true},
		{name: "azp the client, one audience", extra: map[string]any{"azp": idp.m.ClientID}, expectOK: true},
		{name: "not yet valid (nbf in an hour)", mut: func(c *mockoidc.IDTokenClaims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.setForgery(tc.forge)
			defer idp.setForgery(forgeNone)
			sub := "ann-" + strings.ReplaceAll(tc.name, " ", "-")
			extra := map[string]any{"email": addressOf(ann.Name), "email_verified": true}
			for k, v := range tc.extra {
				extra[k] = v
			}
			b := s.browser()
			idp.m.QueueUser(&rawUser{sub: sub, extra: extra, mut: tc.mut})
			p := b.get(b.rpAuthorize(b.rpStart(provLinking, "/demo/v1/x")))
			if tc.expectOK {
				expectSession(t, tc.name, p, "/demo/v1/x")
				return
			}
			if p.Status != http.StatusBadRequest || !strings.Contains(p.text(), "The sign-in did not work") {
				t.Errorf("status %d: %s", p.Status, p.text())
			}
			expectNoSession(t, tc.name, p)
			if got := s.identityOf(idp, sub); got != "" {
				t.Errorf("linked to %s", got)
			}
		})
	}
}

// newRPStackWith is newRPStack with the accounts service's settings
// changed by acc.
func newRPStackWith(t *testing.T, idp *testIdP, acc func(*accounts.Config)) *stack {
	t.Helper()
	cfg := idp.m.Config()
	return newStackOn(t, dbtest.SQLite(t), stackOptions{accounts: acc, rp: func(d *db.DB, pc *portal.Config) {
		rp, err := oidcrp.New(oidcrp.Config{
			Providers: []oidcrp.ProviderSettings{{ID: provOpen, Name: "Open SSO", Issuer: cfg.Issuer, ClientID: cfg.ClientID,
				ClientSecret: cfg.ClientSecret, AllowLinking: true, AllowSignUp: true}},
			PublicURL: publicURL, Flows: d, Now: pc.Now, Logger: pc.Logger,
		})
		must(t, err)
		pc.Federation = rp
	}})
}

// TestRelyingPartyNoSecondFactorBypass: a provider's sign-in is a first
// factor only: a passkey user is asked for the passkey, and where a
// second factor is required (here of every user) a linked user and a
// brand-new account are led to enrol one, with no session before.
func TestRelyingPartyNoSecondFactorBypass(t *testing.T) {
	idp := newIdP(t)
	t.Run("passkey user", func(t *testing.T) {
		s := newRPStack(t, idp)
		ann := s.user("Ann Smith")
		must(t, s.d.CreateWebAuthnCredential(s.ctx, db.WebAuthnCredential{ID: s.id(), UserID: ann.ID, Name: "Laptop",
			CredentialID: []byte("ann-credential-id"), PublicKey: []byte{1, 2, 3}, CreatedMs: s.clock.Now().UnixMilli()}, 10))
		p := s.browser().rpSignIn(idp, provLinking, &idpUser{sub: "ann-passkey", email: addressOf(ann.Name), verified: true}, "/demo/v1/x")
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `data-passkey="get"`) {
			t.Errorf("expected the passkey step, got %d: %s", p.Status, p.text())
		}
		expectNoSession(t, "passkey user", p)
	})
	t.Run("second factor required", func(t *testing.T) {
		s := newRPStackWith(t, idp, func(c *accounts.Config) { c.RequireSecondFactorRoles = []string{db.RoleUser} })
		ann := s.user("Ann Smith")
		for name, u := range map[string]*idpUser{
			"linked user": {sub: "ann-required", email: addressOf(ann.Name), verified: true},
			"new account": {sub: "new-required", email: "newcomer@example.com", verified: true},
		} {
			p := s.browser().rpSignIn(idp, provOpen, u, "/demo/v1/x")
			if p.Status != http.StatusOK || p.form(enrolPath) == nil {
				t.Errorf("%s: expected the enrolment page, got %d: %s", name, p.Status, p.text())
			}
			expectNoSession(t, name, p)
		}
	})
}

// TestRelyingPartyAccountsGone: an identity of a deleted user opens
// nothing; a banned user's address links nothing; the
// sign-in ends the session the browser held before (no session mix-up).
func TestRelyingPartyAccountsGone(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	bob := s.user("Bob Jones")
	must(t, s.d.CreateOIDCIdentity(s.ctx, db.OIDCIdentity{ID: s.id(), UserID: bob.ID, ProviderID: provClosed, Issuer: idp.m.Issuer(),
		Subject: "bob-deleted", CreatedMs: s.clock.Now().UnixMilli()}))
	now := s.clock.Now().UnixMilli()
	must(t, s.d.DeleteUser(s.ctx, bob.ID, db.Revoking{AtMs: now, ExpiresMs: now + 900_000}))
	p := s.browser().rpSignIn(idp, provClosed, &idpUser{sub: "bob-deleted", email: addressOf(bob.Name), verified: true}, "")
	if p.Status != http.StatusForbidden || !strings.Contains(p.text(), "No account for this sign-in") {
		t.Errorf("deleted user: status %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "deleted user", p)

	// A banned user's verified address links nothing.
	dan := s.user("Dan Banned")
	must(t, s.d.BanUser(s.ctx, dan.ID, s.clock.Now().UnixMilli()))
	p = s.browser().rpSignIn(idp, provLinking, &idpUser{sub: "dan-banned", email: addressOf(dan.Name), verified: true}, "")
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.text(), "This account cannot sign in") {
		t.Errorf("banned by address: status %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "banned by address", p)
	if got := s.identityOf(idp, "dan-banned"); got != "" {
		t.Errorf("linked to the banned user %s", got)
	}

	ann := s.user("Ann Smith")
	carol := s.user("Carol King")
	b := s.browser()
	before := b.acctSignIn(carol)
	if before.Refresh == "" {
		t.Fatal("no refresh token: the check below would prove nothing")
	}
	p = b.rpSignIn(idp, provLinking, &idpUser{sub: "ann-switch", email: addressOf(ann.Name), verified: true}, "/demo/v1/x")
	expectSession(t, "ann", p, "/demo/v1/x")
	if s.acctRefreshWorks(before.Refresh) {
		t.Error("the session the browser held before the external sign-in still refreshes")
	}
}

// TestRelyingPartySignUpQuotaAndLogs: accounts created on first sign-ins
// count against the registration quota of the source, as POST /users
// does, so a stranger with many identities at a provider cannot
// mass-create accounts; and the logs of sign-ups, links and refusals hold
// no address, nonce, state, code, PKCE value or token.
func TestRelyingPartySignUpQuotaAndLogs(t *testing.T) {
	idp := newIdP(t)
	s := newRPStackWith(t, idp, func(c *accounts.Config) { c.RegistrationsPerSource = 2 })
	ann := s.user("Ann Smith")
	var secrets []string
	signIn := func(u *idpUser) *page {
		b := s.browser()
		idp.m.QueueUser(u)
		authURL := b.rpStart(provOpen, "/demo/v1/x")
		au, err := url.Parse(authURL)
		must(t, err)
		cb := b.rpAuthorize(authURL)
		cu, err := url.Parse(cb)
		must(t, err)
		secrets = append(secrets, au.Query().Get("nonce"), au.Query().Get("state"), au.Query().Get("code_challenge"), cu.Query().Get("code"))
		return b.get(cb)
	}
	for i, addr := range []string{"mass-1@example.com", "mass-2@example.com"} {
		p := signIn(&idpUser{sub: "mass-" + string(rune('a'+i)), email: addr, verified: true})
		expectSession(t, addr, p, "/demo/v1/x")
	}
	p := signIn(&idpUser{sub: "mass-c", email: "mass-3@example.com", verified: false})
	if p.Status != http.StatusTooManyRequests {
		t.Errorf("third sign-up from one source: status %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "third sign-up", p)
	if got := s.identityOf(idp, "mass-c"); got != "" || s.holders("mass-3@example.com") != 0 {
		t.Errorf("the third account was created (identity of %q)", got)
	}
	// An existing account still signs in (linking creates no account).
	expectSession(t, "link", signIn(&idpUser{sub: "ann-quota", email: addressOf(ann.Name), verified: true}), "/demo/v1/x")
	signIn(&idpUser{sub: "ann-quota-2", email: addressOf(ann.Name), verified: false}) // refused: 409

	logs := s.logs.String()
	if !strings.Contains(logs, "external") {
		t.Fatal("nothing of the sign-ins was logged: the check below would prove nothing")
	}
	for _, v := range append(secrets, "mass-1@example.com", "mass-2@example.com", "mass-3@example.com", addressOf(ann.Name), idp.m.ClientSecret, "eyJ") {
		if v != "" && strings.Contains(logs, v) {
			t.Errorf("the logs hold %q", v)
		}
	}
}

// TestRelyingPartyNameFromProvider: a new account's display name from
// the provider obeys the rule of registration (no control character,
// C1 and line separators included): one that does not is not used.
func TestRelyingPartyNameFromProvider(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	for i, tc := range []struct{ given, expect string }{
		{given: "  Dee Lane  ", expect: "Dee Lane"},
		{given: "Dee\u0085Lane", expect: ""},
		{given: "Dee\u2028Lane", expect: ""},
		{given: "Dee\x1bLane", expect: ""},
		{given: strings.Repeat("d", 101), expect: ""},
	} {
		sub := "name-" + string(rune('a'+i))
		p := s.browser().rpSignIn(idp, provOpen, &idpUser{sub: sub, email: sub + "@example.com", verified: true, name: tc.given}, "/demo/v1/x")
		expectSession(t, tc.given, p, "/demo/v1/x")
		u, err := s.d.GetUser(s.ctx, s.identityOf(idp, sub))
		must(t, err)
		if u.Name != tc.expect {
			t.Errorf("name %q became %q, expected %q", tc.given, u.Name, tc.expect)
		}
	}
}

// TestRelyingPartyCodeInjection: a code the provider issued to another
// sign-in (stolen from another browser, or from the attacker's own other
// flow) pasted into a callback with this browser's state is refused: the
// PKCE verifier and the nonce are the other sign-in's.
func TestRelyingPartyCodeInjection(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	ann := s.user("Ann Smith")
	victim := s.browser()
	idp.m.QueueUser(&idpUser{sub: "ann-injected", email: addressOf(ann.Name), verified: true})
	stolen, err := url.Parse(victim.rpAuthorize(victim.rpStart(provLinking, "")))
	must(t, err)
	attacker := s.browser()
	idp.m.QueueUser(&idpUser{sub: "attacker-own", email: "attacker@example.com", verified: true})
	own, err := url.Parse(attacker.rpAuthorize(attacker.rpStart(provLinking, "")))
	must(t, err)
	q := own.Query()
	q.Set("code", stolen.Query().Get("code"))
	own.RawQuery = q.Encode()
	p := attacker.get(own.String())
	if p.Status != http.StatusBadRequest {
		t.Errorf("injected code: status %d: %s", p.Status, p.text())
	}
	expectNoSession(t, "injected code", p)
	if got := s.identityOf(idp, "ann-injected"); got != "" {
		t.Errorf("linked to %s", got)
	}
}

// TestRelyingPartyLastSignInMethod: a user whose account a provider
// created (no password) removes the identity, their only way in so far,
// proving it with a login code mailed to the address the provider
// vouched for: the mailbox still opens the account afterwards, so the
// removal locks nobody out.
func TestRelyingPartyLastSignInMethod(t *testing.T) {
	idp := newIdP(t)
	s := newRPStack(t, idp)
	const addr = "fed.only@example.com"
	b := s.browser()
	expectSession(t, "sign-up", b.rpSignIn(idp, provOpen, &idpUser{sub: "fed-only", email: addr, verified: true}, "/demo/v1/x"), "/demo/v1/x")
	owner := s.identityOf(idp, "fed-only")
	ident, err := s.d.GetOIDCIdentity(s.ctx, idp.m.Issuer(), "fed-only")
	must(t, err)
	state := strings.Repeat("ef", 16)
	if status, env := b.acctAPI(http.MethodPost, "/sessions/login/email", map[string]any{"email": addr, "state": state}); status != http.StatusOK {
		t.Fatalf("email step: %d %v", status, env)
	}
	first := s.mailTo(addr)
	code := s.codeIn(first, acctLoginCodeRE)
	if status, env := b.sameOriginAPI(http.MethodDelete, "/users/current/identities/"+ident.ID, map[string]any{}); status != http.StatusBadRequest {
		t.Errorf("removal without a proof: %d %v", status, env)
	}
	if status, env := b.sameOriginAPI(http.MethodDelete, "/users/current/identities/"+ident.ID, map[string]any{"loginState": state, "loginCode": code}); status != http.StatusOK {
		t.Fatalf("removal with a login code: %d %v", status, env)
	}
	if got := s.identityOf(idp, "fed-only"); got != "" {
		t.Fatalf("still linked to %s", got)
	}
	// The mailbox opens the account again.
	c := s.browser()
	state2 := strings.Repeat("ab", 16)
	if status, env := c.acctAPI(http.MethodPost, "/sessions/login/email", map[string]any{"email": addr, "state": state2}); status != http.StatusOK {
		t.Fatalf("email step: %d %v", status, env)
	}
	code2 := s.newCodeTo(addr, code)
	si := c.acctAdopt(c.acctAPI(http.MethodPost, "/sessions/login/code", map[string]any{"code": code2, "state": state2}))
	sess, err := s.d.GetSession(s.ctx, si.SessionID)
	must(t, err)
	if sess.UserID != owner {
		t.Errorf("the code opened %q, expected %q", sess.UserID, owner)
	}
}

// sameOriginAPI calls the JSON API with the browser's cookies, as a page
// of the gateway's own origin does (the Origin header of an unsafe
// method carried by cookie).
func (b *browser) sameOriginAPI(method, path string, data any) (int, map[string]any) {
	b.s.t.Helper()
	raw, err := json.Marshal(map[string]any{"data": data})
	must(b.s.t, err)
	req, err := http.NewRequest(method, b.s.srv.URL+"/accounts/v1"+path, bytes.NewReader(raw))
	must(b.s.t, err)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", b.s.srv.URL)
	res, err := b.client.Do(req)
	must(b.s.t, err)
	defer res.Body.Close()
	var env map[string]any
	body, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(body, &env)
	return res.StatusCode, env
}

// newCodeTo waits (up to 5 s) for a login code mailed to addr other than
// old, whatever order the mails' files sort in (the stack's clock may
// give them one time).
func (s *stack) newCodeTo(addr, old string) string {
	s.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(s.mail, "*.eml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil || !bytes.Contains(b, []byte("To: "+addr)) {
				continue
			}
			if m := acctLoginCodeRE.FindStringSubmatch(string(b)); m != nil && m[1] != old {
				return m[1]
			}
		}
	}
	s.t.Fatalf("no new login code to %s", addr)
	return ""
}
