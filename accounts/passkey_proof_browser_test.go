package accounts_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/policy"
)

// passkeyStepUpStack is a stack taking passkeys from origin whose logins
// mint from stepUpRoutes (DELETE under a step-up).
func passkeyStepUpStack(t *testing.T, d *db.DB, origin string) *stack {
	p, err := policy.Parse("step-up.json", []byte(stepUpRoutes))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(p)
	if err != nil {
		t.Fatal(err)
	}
	return newStack(t, d, func(c *accounts.Config) {
		c.WebAuthnRPID = "localhost"
		c.WebAuthnOrigins = []string{origin}
		c.Policies = func() *policy.Set { return set }
	})
}

// credentialOf returns the ID of u's credential in the authenticator.
func credentialOf(t *testing.T, b *passkeyBrowser, u db.User) []byte {
	t.Helper()
	for _, c := range b.credentials() {
		if string(c.UserHandle) == u.ID {
			return c.CredentialID
		}
	}
	t.Fatalf("%s's credential is not in the authenticator", u.Name)
	return nil
}

// withAllowed returns the options o with allowCredentials set to the
// one credential id: the browser answers the challenge with it.
func withAllowed(o any, id []byte) any {
	raw, _ := json.Marshal(o)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	out["publicKey"].(map[string]any)["allowCredentials"] = []any{map[string]any{"type": "public-key", "id": base64.RawURLEncoding.EncodeToString(id)}}
	return out
}

// TestPasskeyProof_browser: a passkey made in Chromium proves the user
// afresh, on POST /discharge (a step-up) and on another route that asks
// for a proof (turning TOTP on); the assertion holds once, only for
// the challenge of the same user and session, only with the user's own
// passkey, and a copied passkey (counter back) is refused and flagged.
//
// It runs on SQLite and MariaDB (the proof's ceremony key is the longest
// the store keeps), each with a browser of its own.
func TestPasskeyProof_browser(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *db.DB{"SQLite": dbtest.SQLite, "MariaDB": dbtest.MariaDB} {
		t.Run(name, func(t *testing.T) { testPasskeyProof(t, open(t)) })
	}
}

func testPasskeyProof(t *testing.T, d *db.DB) {
	origin := pageServer(t)
	b := newPasskeyBrowser(t, origin)
	s := passkeyStepUpStack(t, d, origin)
	ann, oscar, nopk := s.user("Ann"), s.user("Oscar"), s.user("Nina")
	app := s.client(s.org("Home", ann))
	registerPasskey(t, s, app, ann, b, "ann's")
	saved := b.credentials()
	registerPasskey(t, s, app, oscar, b, "oscar's")
	annCred, oscarCred := credentialOf(t, b, ann), credentialOf(t, b, oscar)

	// Ann signs in: her password, then her passkey as the second factor.
	state := s.newState()
	first := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
	flow, _ := first.data()["code"].(string)
	o := s.step(app, "webauthn", map[string]any{"state": state, "code": flow}).expect(t, http.StatusOK)
	sess := stepUpSessionOf(t, s.step(app, "webauthn", map[string]any{"state": state, "code": flow, "credential": b.answer(false, o.data()["options"])}))
	up := sess.StepUp["DELETE"]
	if up == "" {
		t.Fatalf("no DELETE step-up token: %v", sess.StepUp)
	}
	post := func(path string, body any) response {
		return s.withAuthorization(app, sess.Macaroons["POST"], "POST", path, body)
	}
	proofOptions := func() any {
		t.Helper()
		o := post("/users/current/passkeys/proof-options", nil).expect(t, http.StatusOK)
		return o.data()["options"]
	}

	// The options: Ann's passkey only, the user verified.
	opts := proofOptions()
	pub := opts.(map[string]any)["publicKey"].(map[string]any)
	if allow, _ := pub["allowCredentials"].([]any); len(allow) != 1 || allow[0].(map[string]any)["id"] != base64.RawURLEncoding.EncodeToString(annCred) {
		t.Fatalf("allowCredentials = %v, want Ann's one passkey", pub["allowCredentials"])
	}
	if pub["userVerification"] != "required" {
		t.Fatalf("userVerification = %v, want required", pub["userVerification"])
	}
	// A step-up discharged with the passkey.
	assertion := b.answer(false, opts)
	dis := post("/discharge", map[string]any{"token": up, "passkey": assertion}).expect(t, http.StatusOK).data()
	if dis["boundDischarge"] == "" || dis["boundDischarge"] == nil {
		t.Fatalf("discharge = %v", dis)
	}
	// The same assertion again: the challenge was used.
	post("/discharge", map[string]any{"token": up, "passkey": assertion}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)

	// Another route asking for a proof: turning TOTP on.
	opts = proofOptions()
	post("/users/current/totp", map[string]any{"passkey": b.answer(false, opts)}).expect(t, http.StatusCreated)

	// Oscar's passkey answering Ann's challenge.
	opts = proofOptions()
	post("/discharge", map[string]any{"token": up, "passkey": b.answer(false, withAllowed(opts, oscarCred))}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)

	// A ceremony of Oscar's, answered by Oscar's passkey, sent by Ann
	// (whose own challenge is another).
	proofOptions()
	oscarOpts := s.do(by(app, oscar), "POST", "/users/current/passkeys/proof-options", nil).expect(t, http.StatusOK).data()["options"]
	post("/discharge", map[string]any{"token": up, "passkey": b.answer(false, oscarOpts)}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)
	// Ann's passkey for Oscar's challenge, sent by Ann: refused too.
	oscarOpts = s.do(by(app, oscar), "POST", "/users/current/passkeys/proof-options", nil).expect(t, http.StatusOK).data()["options"]
	post("/discharge", map[string]any{"token": up, "passkey": b.answer(false, withAllowed(oscarOpts, annCred))}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)

	// The challenge of another session of Ann's.
	other := s.do(by(app, ann), "POST", "/users/current/passkeys/proof-options", nil).expect(t, http.StatusOK).data()["options"]
	post("/discharge", map[string]any{"token": up, "passkey": b.answer(false, other)}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)

	// The refusals count against Ann's account as wrong passwords do:
	// it is banned by now (or after a few more).
	res := post("/discharge", map[string]any{"token": up, "passkey": map[string]any{"id": "AAAA"}})
	for i := 0; i < 20 && res.Status == http.StatusForbidden; i++ {
		res = post("/discharge", map[string]any{"token": up, "passkey": map[string]any{"id": "AAAA"}})
	}
	res.expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	s.clock.Advance(time.Hour)

	// Ann's tokens of that session have expired meanwhile: the rest goes
	// through a route that asks a proof without a step-up (turning TOTP
	// on), with tokens of another session.
	annAs := as{client: app, withSecret: true, user: &ann, session: s.id()}
	totp := func(proof any) response {
		return s.do(annAs, "POST", "/users/current/totp", map[string]any{"passkey": proof})
	}
	// No options asked at all, and garbage.
	totp(map[string]any{"id": "AAAA"}).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)
	totp("not an object").expect(t, http.StatusBadRequest)
	s.clock.Advance(time.Hour)

	// A copy of Ann's passkey as it was when made: its counter is behind.
	// Refused, and the passkey flagged.
	b.restore(saved[0])
	opts = s.do(annAs, "POST", "/users/current/passkeys/proof-options", nil).expect(t, http.StatusOK).data()["options"]
	totp(b.answer(false, opts)).expect(t, http.StatusForbidden, accounts.CodePasskeyInvalid)
	list := s.do(by(app, ann), "GET", "/users/"+ann.ID+"/passkeys", nil).expect(t, http.StatusOK).list()
	if len(list) != 1 || list[0]["cloneWarning"] != true {
		t.Fatalf("after the copy: %v", list)
	}

	// Who may ask: only the user, for themselves, with a passkey.
	s.do(by(app, oscar), "POST", "/users/"+ann.ID+"/passkeys/proof-options", nil).expect(t, http.StatusNotFound)
	s.do(by(app, nopk), "POST", "/users/current/passkeys/proof-options", nil).expect(t, http.StatusConflict, accounts.CodePasskeyNoCeremony)
}
