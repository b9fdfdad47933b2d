package accounts_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
)

// stepUpRoutes grants every accounts route but keeps deleting a user's
// addresses and the user under a step-up of 300 s.
const stepUpRoutes = `{
  "name": "everything-step-up",
  "appliesTo": {"userRoles": ["user", "employee", "sysadmin"]},
  "expires": 900,
  "scopes": [
    {"name": "all", "routes": ["/accounts/v1/**"], "methods": ["GET", "POST", "PUT", "PATCH"]},
    {"name": "dangerous", "routes": ["/accounts/v1/users/*", "/accounts/v1/users/*/emails/*"], "methods": ["DELETE"], "stepUp": 300}
  ]
}`

// stepUpStack is a stack whose logins mint from stepUpRoutes.
func stepUpStack(t *testing.T, d *db.DB) *stack {
	p, err := policy.Parse("step-up.json", []byte(stepUpRoutes))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(p)
	if err != nil {
		t.Fatal(err)
	}
	return newStack(t, d, func(c *accounts.Config) { c.Policies = func() *policy.Set { return set } })
}

// stepUpSession is a session answer with its step-up tokens.
type stepUpSession struct {
	session
	StepUp          map[string]string `json:"stepUpMacaroons"`
	StepUpExpiresAt int64             `json:"stepUpMacaroonsExpireAt"`
}

func stepUpSessionOf(t *testing.T, r response) stepUpSession {
	t.Helper()
	sessionOf(t, r)
	var out struct {
		Data stepUpSession `json:"data"`
	}
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

// withHeader calls the service as the client with the Macaroon
// authorization value given.
func (s *stack) withAuthorization(c appClient, macaroon, method, path string, body any) response {
	s.t.Helper()
	req := s.newRequest(c, method, path, body)
	req.Header.Set("Authorization", req.Header.Get("Authorization")+", Macaroon "+macaroon)
	return s.raw(req)
}

// caveatIDOf reads the caveat ID of a 401 STEP-UP-REQUIRED.
func caveatIDOf(t *testing.T, r response) string {
	t.Helper()
	r.expect(t, http.StatusUnauthorized, "STEP-UP-REQUIRED")
	e, _ := r.Body["error"].(map[string]any)
	obs, _ := e["obstructions"].([]any)
	if len(obs) != 1 {
		t.Fatalf("obstructions = %v", obs)
	}
	p, _ := obs[0].(map[string]any)["params"].(map[string]any)
	cid, _ := p["caveatId"].(string)
	if cid == "" || p["discharge"] != mint.DischargePath {
		t.Fatalf("params = %v", p)
	}
	return cid
}

// TestStepUpDischarge: the session answer carries a step-up token per
// method with step-up routes (and its cookie); a step-up route refuses it
// without a discharge, naming the caveat; the discharge endpoint answers
// a discharge only for a fresh proof of the same user in the same live
// session, and the step-up token with the bound discharge then passes.
func TestStepUpDischarge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := stepUpStack(t, d)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		res := s.passwordLogin(app, "ann@example.com", testPassword)
		sess := stepUpSessionOf(t, res)
		up := sess.StepUp["DELETE"]
		if up == "" || len(sess.StepUp) != 1 || sess.StepUpExpiresAt == 0 {
			t.Fatalf("stepUpMacaroons = %v, expires %d", sess.StepUp, sess.StepUpExpiresAt)
		}
		if _, ok := sess.Macaroons["DELETE"]; ok {
			t.Fatal("an ordinary DELETE token was minted although every DELETE route is under step-up")
		}
		var cookie *http.Cookie
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			if c.Name == "authgw-delete-stepup" {
				cookie = c
			}
		}
		if cookie == nil || cookie.Value != up || !cookie.HttpOnly || cookie.Path != "/" {
			t.Fatalf("step-up cookie = %+v", cookie)
		}

		target := "/users/current/emails/" + s.id()
		cid := caveatIDOf(t, s.withAuthorization(app, up, "DELETE", target, nil))
		post := func(body map[string]any) response {
			return s.withAuthorization(app, sess.Macaroons["POST"], "POST", "/discharge", body)
		}
		post(map[string]any{"caveatId": cid}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"caveatId": cid, "token": up, "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"caveatId": "not base64!", "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"caveatId": base64.RawURLEncoding.EncodeToString([]byte("su\x01 whatever it is")), "currentPassword": testPassword}).
			expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)
		post(map[string]any{"token": sess.Macaroons["GET"], "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)
		post(map[string]any{"caveatId": cid, "currentPassword": "a guess"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
		post(map[string]any{"caveatId": cid, "totp": "123456"}).expect(t, http.StatusForbidden, accounts.CodeTOTPInvalid)

		// A forged step-up token: its caveat is genuine, its signature not.
		forged := []byte(up)
		i := len(forged) - 5
		forged[i] = map[bool]byte{true: 'B', false: 'A'}[forged[i] == 'A']
		post(map[string]any{"token": string(forged), "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)

		// A caveat sealed by a key the ring does not hold (rotated out).
		old, err := mint.New(mint.Config{Keys: minttest.KeyRing(t, "k0", 3), ServerID: serverID, Now: s.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		oldToks, err := old.Mint([]*policy.Policy{mustPolicy(t, stepUpRoutes)}, mint.Subject{UserID: ann.ID, SessionID: sess.SessionID, ClientID: app.ID})
		if err != nil {
			t.Fatal(err)
		}
		oldCID, _ := mint.StepUpCaveatID(oldToks.StepUp["DELETE"])
		post(map[string]any{"caveatId": base64.RawURLEncoding.EncodeToString(oldCID), "currentPassword": testPassword}).
			expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)

		// The caveat ID and the password: a discharge, which the client binds.
		got := post(map[string]any{"caveatId": cid, "currentPassword": testPassword}).expect(t, http.StatusOK)
		if cc := got.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control = %q", cc)
		}
		discharge, _ := got.data()["discharge"].(string)
		if exp, _ := got.data()["expiresAt"].(float64); discharge == "" || int64(exp) != s.clock.Now().Add(300e9).Truncate(1e9).UnixMilli() {
			t.Fatalf("discharge answer = %s", got.Raw)
		}
		if _, ok := got.data()["boundDischarge"]; ok {
			t.Fatal("boundDischarge without a token")
		}
		// Unbound, the discharge does not pass.
		s.withAuthorization(app, up+" "+discharge, "DELETE", target, nil).expect(t, http.StatusUnauthorized, "STEP-UP-REQUIRED")
		bound, err := mint.BindDischarge(up, discharge)
		if err != nil {
			t.Fatal(err)
		}
		s.withAuthorization(app, up+" "+bound, "DELETE", target, nil).expect(t, http.StatusNotFound)

		// The step-up token and a TOTP-less user's password: the bound
		// discharge comes ready.
		got = post(map[string]any{"token": up, "currentPassword": testPassword}).expect(t, http.StatusOK)
		ready, _ := got.data()["boundDischarge"].(string)
		s.withAuthorization(app, up+" "+ready, "DELETE", target, nil).expect(t, http.StatusNotFound)

		// Several tokens, one proof: one discharge each, in their order.
		post(map[string]any{"tokens": []string{}, "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"tokens": []string{up, up}, "token": up, "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		post(map[string]any{"tokens": []string{up, sess.Macaroons["GET"]}, "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)
		got = post(map[string]any{"tokens": []string{up, up}, "currentPassword": testPassword}).expect(t, http.StatusOK)
		var many struct {
			Data struct {
				Discharges []struct {
					BoundDischarge string `json:"boundDischarge"`
				} `json:"discharges"`
			} `json:"data"`
		}
		if err := json.Unmarshal(got.Raw, &many); err != nil || len(many.Data.Discharges) != 2 {
			t.Fatalf("tokens answer = %s", got.Raw)
		}
		s.withAuthorization(app, up+" "+many.Data.Discharges[1].BoundDischarge, "DELETE", target, nil).expect(t, http.StatusNotFound)

		// Another session of Ann's, and another user: their caveats are
		// not hers to discharge.
		other := stepUpSessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		post(map[string]any{"token": other.StepUp["DELETE"], "currentPassword": testPassword}).expect(t, http.StatusForbidden, accounts.CodeStepUpNotYours)
		s.user("Bob")
		bob := stepUpSessionOf(t, s.passwordLogin(app, "bob@example.com", testPassword))
		post(map[string]any{"token": bob.StepUp["DELETE"], "currentPassword": testPassword}).expect(t, http.StatusForbidden, accounts.CodeStepUpNotYours)

		logs := s.logs.String()
		if !strings.Contains(logs, "step-up granted") || !strings.Contains(logs, "step-up refused") || !strings.Contains(logs, "sealed by a key no longer in the ring") {
			t.Fatalf("logs lack the step-up lines:\n%s", logs)
		}
		if strings.Contains(logs, cid) || strings.Contains(logs, testPassword) || strings.Contains(logs, discharge) {
			t.Fatal("a caveat ID, discharge or password was logged")
		}

		// After the logout, the session's caveat gets no discharge, even
		// before the gateway hears of the revocation.
		s.withAuthorization(app, sess.Macaroons["POST"], "POST", "/sessions/logout", nil).expect(t, http.StatusOK)
		post(map[string]any{"caveatId": cid, "currentPassword": testPassword}).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
	})
}

func mustPolicy(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("p.json", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
