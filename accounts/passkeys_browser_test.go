package accounts_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/authgw/authgw/accounts/ui/uitest"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// The passkey tests make real passkeys: Debian's Chromium, headless, with
// a virtual authenticator of the DevTools protocol (the WebAuthn domain),
// runs navigator.credentials.create and .get on a page served on
// http://localhost:<port> (an IP address is no valid relying-party ID),
// with the options the service gave; the test posts the browser's answers
// to the service. So the service is proven against a browser's
// implementation of WebAuthn, not against its own library's.

// passkeyBrowser is one headless Chromium tab with a virtual
// authenticator, on a page of origin.
type passkeyBrowser struct {
	t      *testing.T
	ctx    context.Context
	auth   cdpwebauthn.AuthenticatorID
	origin string
}

// pageServer serves a blank page on http://localhost:<port>.
func pageServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><head><title>passkeys</title></head><body>passkeys</body></html>")
	}))
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func newPasskeyBrowser(t *testing.T, origin string) *passkeyBrowser {
	t.Helper()
	ctx := uitest.Chromium(t)
	b := &passkeyBrowser{t: t, ctx: ctx, origin: origin}
	if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open %s: %v", origin, err)
	}
	if _, err := chromedp.Run(ctx, cdpCall(cdpwebauthn.Enable, cdpwebauthn.EnableParams{})); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Run(ctx, cdpCall(cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{
			Protocol:                    cdpwebauthn.AuthenticatorProtocolCtap2,
			Transport:                   cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	}))
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	b.auth = res.AuthenticatorID
	return b
}

// cdpCall is a chromedp action sending one protocol command.
func cdpCall[P, R any](c cdp.Command[P, R], params P) chromedp.Action[R] {
	return func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, c, params)
	}
}

// ceremony runs navigator.credentials.create (create true) or .get with
// the options' publicKey member and returns the credential's JSON, or
// the browser's error as "error: ...".
func (b *passkeyBrowser) ceremony(create bool, options any) string {
	b.t.Helper()
	raw, err := json.Marshal(options)
	if err != nil {
		b.t.Fatal(err)
	}
	js := `(async () => {
		try {
			const o = ` + string(raw) + `.publicKey;
			const c = ` + map[bool]string{
		true:  `await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(o)})`,
		false: `await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(o)})`,
	}[create] + `;
			return JSON.stringify(c.toJSON());
		} catch (e) {
			return "error: " + e.name + ": " + e.message;
		}
	})()`
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("ceremony: %v", err)
	}
	return out
}

// answer runs a ceremony that must succeed and returns its JSON.
func (b *passkeyBrowser) answer(create bool, options any) json.RawMessage {
	b.t.Helper()
	out := b.ceremony(create, options)
	if strings.HasPrefix(out, "error: ") {
		b.t.Fatalf("the browser refused the ceremony: %s", out)
	}
	return json.RawMessage(out)
}

// credentials returns the virtual authenticator's credentials.
func (b *passkeyBrowser) credentials() []*cdpwebauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, cdpCall(cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: b.auth}))
	if err != nil {
		b.t.Fatal(err)
	}
	return res.Credentials
}

// restore puts a saved credential back in the authenticator, as a copy
// of the passkey made earlier would be: with its old counter.
func (b *passkeyBrowser) restore(c *cdpwebauthn.Credential) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, cdpCall(cdpwebauthn.ClearCredentials, cdpwebauthn.ClearCredentialsParams{AuthenticatorID: b.auth})); err != nil {
		b.t.Fatal(err)
	}
	// Only the credential's own fields, sent as a map: the generated
	// struct always sends the CMTG members, which this authenticator
	// refuses.
	addCredential := cdp.Command[map[string]any, cdp.Empty]{Method: cdpwebauthn.CommandAddCredential}
	params := map[string]any{"authenticatorId": b.auth, "credential": map[string]any{
		"credentialId": base64.StdEncoding.EncodeToString(c.CredentialID), "isResidentCredential": c.IsResidentCredential, "rpId": c.RpID,
		"privateKey": base64.StdEncoding.EncodeToString(c.PrivateKey), "userHandle": base64.StdEncoding.EncodeToString(c.UserHandle),
		"signCount": c.SignCount, "backupEligibility": c.BackupEligibility, "backupState": c.BackupState,
	}}
	if _, err := chromedp.Run(b.ctx, cdpCall(addCredential, params)); err != nil {
		b.t.Fatal(err)
	}
}

// passkeyStack is a stack whose service takes passkeys from origin.
func passkeyStack(t *testing.T, d *db.DB, origin string) *stack {
	return newStack(t, d, func(c *accounts.Config) {
		c.WebAuthnRPID = "localhost"
		c.WebAuthnOrigins = []string{origin}
	})
}

// registerPasskey registers a passkey of u made in the browser b.
func registerPasskey(t *testing.T, s *stack, app appClient, u db.User, b *passkeyBrowser, name string) map[string]any {
	t.Helper()
	opts := s.do(by(app, u), "POST", "/users/"+u.ID+"/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	cred := b.answer(true, opts.data()["options"])
	return s.do(by(app, u), "POST", "/users/"+u.ID+"/passkeys", map[string]any{"name": name, "credential": cred}).expect(t, http.StatusCreated).data()
}

// passkeyLogin runs a discoverable login in the browser and returns the
// step's answer.
func passkeyLogin(t *testing.T, s *stack, app appClient, b *passkeyBrowser) (response, json.RawMessage) {
	t.Helper()
	state := s.newState()
	opts := s.step(app, "webauthn", map[string]any{"state": state}).expect(t, http.StatusOK)
	if opts.Body["t"] != "step" || opts.data()["step"] != "webauthn" {
		t.Fatalf("options = %s", opts.Raw)
	}
	assertion := b.answer(false, opts.data()["options"])
	return s.step(app, "webauthn", map[string]any{"state": state, "credential": assertion}), assertion
}

// TestPasskeys_browser registers a passkey in Chromium, lists it, signs
// in with it alone, and checks the attacks: a challenge answered twice,
// an answer from another origin, a copied passkey (counter back), and a
// removed passkey.
func TestPasskeys_browser(t *testing.T) {
	origin := pageServer(t)
	b := newPasskeyBrowser(t, origin)
	s := passkeyStack(t, dbtest.SQLite(t), origin)
	ann := s.user("Ann")
	oscar := s.user("Oscar")
	app := s.client(s.org("Home", ann))

	// Registration needs a proof of the user.
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{}).expect(t, http.StatusBadRequest)
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{"currentPassword": "wrong"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
	// Another user may not start one for Ann.
	s.do(by(app, oscar), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)

	opts := s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	pub, _ := opts.data()["options"].(map[string]any)["publicKey"].(map[string]any)
	if pub["attestation"] != nil && pub["attestation"] != "none" {
		t.Errorf("attestation = %v, want none", pub["attestation"])
	}
	if sel, _ := pub["authenticatorSelection"].(map[string]any); sel["residentKey"] != "required" || sel["userVerification"] != "preferred" {
		t.Errorf("authenticatorSelection = %v", sel)
	}
	cred := b.answer(true, opts.data()["options"])
	// Hostile bodies: no name, a name too long, a credential that is no
	// object, garbage.
	for _, body := range []map[string]any{
		{"credential": cred},
		{"name": strings.Repeat("n", 101), "credential": cred},
		{"name": "x", "credential": "not an object"},
		{"name": "x"},
		{"name": "x", "credential": cred, "extra": 1},
	} {
		if res := s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys", body); res.Status != http.StatusBadRequest {
			t.Errorf("body %v: %d %s, want 400", body, res.Status, res.Raw)
		}
	}
	// Oscar cannot finish Ann's registration (the ceremony is Ann's).
	s.do(by(app, oscar), "POST", "/users/"+oscar.ID+"/passkeys", map[string]any{"name": "stolen", "credential": cred}).expect(t, http.StatusConflict, accounts.CodePasskeyNoCeremony)
	added := s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys", map[string]any{"name": "laptop", "credential": cred}).expect(t, http.StatusCreated).data()
	if added["name"] != "laptop" || added["id"] == "" || added["publicKey"] != nil {
		t.Fatalf("added = %v", added)
	}
	// The challenge is used up: the same answer again is refused.
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys", map[string]any{"name": "again", "credential": cred}).expect(t, http.StatusConflict, accounts.CodePasskeyNoCeremony)
	// Garbage for a real ceremony is refused, and uses it up.
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys", map[string]any{"name": "junk", "credential": map[string]any{"id": "AAAA", "type": "public-key"}}).expect(t, http.StatusBadRequest, accounts.CodePasskeyInvalid)

	// Listed for Ann and staff, hidden from others.
	list := s.do(by(app, ann), "GET", "/users/"+ann.ID+"/passkeys", nil).expect(t, http.StatusOK).list()
	if len(list) != 1 || list[0]["name"] != "laptop" || list[0]["cloneWarning"] != false {
		t.Fatalf("list = %v", list)
	}
	s.do(by(app, oscar), "GET", "/users/"+ann.ID+"/passkeys", nil).expect(t, http.StatusNotFound)

	saved := b.credentials()
	if len(saved) != 1 || !saved[0].IsResidentCredential {
		t.Fatalf("authenticator credentials = %+v", saved)
	}

	// Sign in with the passkey alone.
	res, assertion := passkeyLogin(t, s, app, b)
	if sess := sessionOf(t, res); sess.UserID != ann.ID {
		t.Fatalf("signed in as %s, want %s", sess.UserID, ann.ID)
	}
	// The same assertion again: the ceremony is gone.
	state := s.newState()
	s.step(app, "webauthn", map[string]any{"state": state, "credential": assertion}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyNoCeremony)
	// The old assertion for a new challenge does not hold.
	s.step(app, "webauthn", map[string]any{"state": state}).expect(t, http.StatusOK)
	s.step(app, "webauthn", map[string]any{"state": state, "credential": assertion}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)
	// Hostile login bodies.
	s.step(app, "webauthn", map[string]any{"state": "not-a-state"}).expect(t, http.StatusBadRequest)
	s.step(app, "webauthn", map[string]any{"state": s.newState(), "credential": strings.Repeat("x", 10)}).expect(t, http.StatusBadRequest)
	s.step(app, "webauthn", map[string]any{"state": s.newState(), "credential": map[string]any{"id": "AAAA"}}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyNoCeremony)
	junkState := s.newState()
	s.step(app, "webauthn", map[string]any{"state": junkState}).expect(t, http.StatusOK)
	s.step(app, "webauthn", map[string]any{"state": junkState, "credential": map[string]any{"id": 5}}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)

	// A second login works (the counter goes up).
	res, _ = passkeyLogin(t, s, app, b)
	sessionOf(t, res)

	// A copy of the passkey as it was after registration: its counter is
	// behind. Refused, and the passkey flagged: refused from then on.
	b.restore(saved[0])
	res, _ = passkeyLogin(t, s, app, b)
	res.expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)
	list = s.do(by(app, ann), "GET", "/users/"+ann.ID+"/passkeys", nil).expect(t, http.StatusOK).list()
	if len(list) != 1 || list[0]["cloneWarning"] != true {
		t.Fatalf("after the copy: %v", list)
	}
	res, _ = passkeyLogin(t, s, app, b)
	res.expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)

	// Deleting: Oscar cannot delete Ann's passkey, even through his own
	// user path; Ann needs a proof.
	id := added["id"].(string)
	s.do(by(app, oscar), "DELETE", "/users/"+ann.ID+"/passkeys/"+id, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
	s.do(by(app, oscar), "DELETE", "/users/"+oscar.ID+"/passkeys/"+id, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+id, map[string]any{}).expect(t, http.StatusBadRequest)
	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+id, map[string]any{"currentPassword": "wrong"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
	// The refused passkeys and wrong proofs above count against Ann's
	// account like wrong passwords: it is banned now, even with the right
	// password. Wait the ban out.
	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+id, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	s.clock.Advance(time.Hour)
	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+id, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)

	// A fresh passkey, then removed: the removed one signs in no more.
	b2 := registerPasskey(t, s, app, ann, b, "phone")
	res, _ = passkeyLogin(t, s, app, b)
	sessionOf(t, res)
	s.do(by(app, ann), "DELETE", "/users/"+ann.ID+"/passkeys/"+b2["id"].(string), map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	res, _ = passkeyLogin(t, s, app, b)
	res.expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)
}

// TestPasskeys_wrongOrigin checks that a passkey made on another origin
// (the same relying-party ID, another port: the browser allows it) is
// refused by the service, which takes only its configured origins.
func TestPasskeys_wrongOrigin(t *testing.T) {
	good, evil := pageServer(t), pageServer(t)
	b := newPasskeyBrowser(t, evil)
	s := passkeyStack(t, dbtest.SQLite(t), good)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	opts := s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	cred := b.answer(true, opts.data()["options"])
	s.do(by(app, ann), "POST", "/users/"+ann.ID+"/passkeys", map[string]any{"name": "evil", "credential": cred}).expect(t, http.StatusBadRequest, accounts.CodePasskeyInvalid)
	if list := s.do(by(app, ann), "GET", "/users/"+ann.ID+"/passkeys", nil).expect(t, http.StatusOK).list(); len(list) != 0 {
		t.Fatalf("list = %v", list)
	}
}

// enableTOTP turns TOTP on for u and returns its secret.
func enableTOTP(t *testing.T, s *stack, app appClient, u db.User) string {
	t.Helper()
	en := s.do(by(app, u), "POST", "/users/"+u.ID+"/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
	secret, _ := en.data()["secret"].(string)
	s.do(by(app, u), "POST", "/users/"+u.ID+"/totp/confirm", map[string]any{"totp": oathtool(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
	return secret
}

// TestPasskeys_secondFactor signs in with the password, then a passkey in
// place of the TOTP code; and checks that a passkey of another user does
// not answer a user's second factor, and that the flow code binds the
// ceremony.
func TestPasskeys_secondFactor(t *testing.T) {
	origin := pageServer(t)
	b := newPasskeyBrowser(t, origin)
	s := passkeyStack(t, dbtest.SQLite(t), origin)
	ann, oscar := s.user("Ann"), s.user("Oscar")
	app := s.client(s.org("Home", ann))
	registerPasskey(t, s, app, ann, b, "ann's")
	registerPasskey(t, s, app, oscar, b, "oscar's")
	enableTOTP(t, s, app, ann)
	enableTOTP(t, s, app, oscar)

	first := func(email string) (state, flow string) {
		state = s.newState()
		next := s.step(app, "password", map[string]any{"email": email, "password": testPassword, "state": state}).expect(t, http.StatusOK)
		flow, _ = next.data()["code"].(string)
		if next.data()["step"] != "totp" || flow == "" {
			t.Fatalf("password step = %s", next.Raw)
		}
		return state, flow
	}

	// Ann: password, then her passkey.
	state, flow := first("ann@example.com")
	// The flow code is bound to its state.
	s.step(app, "webauthn", map[string]any{"state": s.newState(), "code": flow}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
	opts := s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	pub := opts.data()["options"].(map[string]any)["publicKey"].(map[string]any)
	if allow, _ := pub["allowCredentials"].([]any); len(allow) != 1 {
		t.Fatalf("allowCredentials = %v, want Ann's one passkey", pub["allowCredentials"])
	}
	assertion := b.answer(false, opts.data()["options"])
	// Without the flow code the ceremony (bound to Ann) is not answered,
	// and it is used up.
	s.step(app, "webauthn", map[string]any{"state": state, "credential": assertion}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyNoCeremony)
	opts = s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	assertion = b.answer(false, opts.data()["options"])
	sess := sessionOf(t, s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": assertion}))
	if sess.UserID != ann.ID {
		t.Fatalf("signed in as %s, want Ann", sess.UserID)
	}
	// The flow code is used up.
	s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)

	// Oscar's second factor answered with Ann's passkey: the browser is
	// told to use Ann's credential for Oscar's challenge.
	var annCred []byte
	for _, c := range b.credentials() {
		if string(c.UserHandle) == ann.ID {
			annCred = c.CredentialID
		}
	}
	if annCred == nil {
		t.Fatal("Ann's credential is not in the authenticator")
	}
	state, flow = first("oscar@example.com")
	opts = s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	o := opts.data()["options"].(map[string]any)
	o["publicKey"].(map[string]any)["allowCredentials"] = []any{map[string]any{"type": "public-key", "id": base64.RawURLEncoding.EncodeToString(annCred)}}
	forged := b.answer(false, o)
	s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": forged}).expect(t, http.StatusUnauthorized, accounts.CodePasskeyInvalid)
	// Oscar's own passkey still works with a new ceremony.
	opts = s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	if sess := sessionOf(t, s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": b.answer(false, opts.data()["options"])})); sess.UserID != oscar.ID {
		t.Fatalf("signed in as %s, want Oscar", sess.UserID)
	}
}
