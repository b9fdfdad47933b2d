package verifier_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// stepUpPolicy grants GET and DELETE on the user's own routes, and
// DELETE of the user itself only after a step-up of two minutes.
const stepUpPolicy = `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [
    {"name": "own", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["GET", "DELETE"]},
    {"name": "danger", "routes": ["/accounts/v1/users/:userId"], "methods": ["DELETE"], "stepUp": 120}
  ]}`

// stepUp is a step-up token with its discharge, minted at fixedNow.
type stepUp struct {
	tokens    mint.Tokens
	token     string // the DELETE step-up token
	discharge string // bound to token
	unbound   string
}

func mintStepUp(t testing.TB, ring *mint.KeyRing, at time.Time) stepUp {
	t.Helper()
	toks := mintTokens(t, ring, stepUpPolicy)
	tok := toks.StepUp["DELETE"]
	cid, ok := mint.StepUpCaveatID(tok)
	if !ok {
		t.Fatal("no step-up caveat")
	}
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	dis, _, err := m.Discharge(cid, claim)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := mint.BindDischarge(tok, dis)
	if err != nil {
		t.Fatal(err)
	}
	return stepUp{tokens: toks, token: tok, discharge: bound, unbound: dis}
}

func deleteReq(path string) verifier.Request { return verifier.Request{Method: "DELETE", Path: path} }

func TestStepUp(t *testing.T) {
	ring := testRing(t)
	su := mintStepUp(t, ring, fixedNow)
	v := newVerifier(t, ring, nil)

	id, err := v.Verify(su.token, deleteReq(userPath("")), su.discharge)
	if err != nil || !id.StepUp || id.UserID != testSubject.UserID {
		t.Fatalf("step-up token with its bound discharge: %+v, %v", id, err)
	}
	// The ordinary token does not reach the step-up route, although its
	// routes match it ("/users/:userId/**" matches "/users/:userId").
	expectVerify(t, v, su.tokens.ByMethod["DELETE"], deleteReq(userPath("")), verifier.ErrRouteExcluded)
	// A step-up route its routes do not match either: the ordinary token
	// still says the route needs the step-up token, not "not granted".
	apart := mintTokens(t, ring, `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 600,
  "scopes": [
    {"name": "own", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["DELETE"]},
    {"name": "keys", "routes": ["/accounts/v1/keys/:userId"], "methods": ["DELETE"], "stepUp": 60}
  ]}`).ByMethod["DELETE"]
	expectVerify(t, v, apart, deleteReq("/accounts/v1/keys/"+testSubject.UserID), verifier.ErrRouteExcluded)
	expectVerify(t, v, apart, deleteReq("/accounts/v1/keys/someone"), verifier.ErrRouteNotGranted)
	if id := expectVerify(t, v, su.tokens.ByMethod["DELETE"], deleteReq(userPath("/emails/1")), nil); id.StepUp {
		t.Errorf("an ordinary token says StepUp")
	}

	var se *verifier.StepUpError
	_, err = v.Verify(su.token, deleteReq(userPath("")))
	if !errors.As(err, &se) || !errors.Is(err, verifier.ErrNoDischarge) || !errors.Is(err, verifier.ErrUnauthorized) {
		t.Fatalf("no discharge: %v, want a StepUpError", err)
	}
	if cid, _ := mint.StepUpCaveatID(su.token); string(se.CaveatID) != string(cid) || se.Location != mint.DischargePath {
		t.Errorf("StepUpError = %+v, want the caveat ID and %s", se, mint.DischargePath)
	}
	d := verifier.NewDenialError(err)
	if d.Response.Status != http.StatusUnauthorized || d.Response.Code != verifier.StepUpCode || len(d.Response.Obstructions) != 1 ||
		d.Response.Obstructions[0].Params["caveatId"] != se.EncodedCaveatID() {
		t.Errorf("denial = %+v", d.Response)
	}

	other := mintStepUp(t, ring, fixedNow)
	expired := mintStepUp(t, ring, fixedNow.Add(-2*time.Minute-verifier.DefaultSkew))
	tests := []struct {
		name       string
		discharges []string
		expectErr  error
	}{
		{"unbound discharge", []string{su.unbound}, verifier.ErrBadDischarge},
		{"discharge of another token", []string{other.discharge}, verifier.ErrBadDischarge},
		{"discharge of this caveat bound to another token", []string{rebind(t, su.unbound, other.token)}, verifier.ErrBadDischarge},
		{"expired discharge", []string{expired.discharge}, verifier.ErrBadDischarge},
		{"garbage", []string{"not a macaroon"}, verifier.ErrBadDischarge},
		{"the token as its own discharge", []string{su.token}, verifier.ErrBadDischarge},
		{"the valid one among others", []string{other.discharge, su.discharge}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(su.token, deleteReq(userPath("")), tt.discharges...)
			if tt.expectErr == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, verifier.ErrStepUpRequired) {
				t.Fatalf("error = %v, want ErrStepUpRequired", err)
			}
		})
	}
	// The expired discharge fails on its time-before, not its signature.
	if _, err := v.Verify(expired.token, deleteReq(userPath("")), expired.discharge); !errors.Is(err, verifier.ErrExpired) {
		t.Errorf("expired discharge: %v, want ErrExpired inside the StepUpError", err)
	}
	// A holder's caveat on the discharge binds as well as the token's.
	narrowed := attenuateDischarge(t, su.token, su.unbound, "routes /accounts/v1/users/someone-else")
	if _, err := v.Verify(su.token, deleteReq(userPath("")), narrowed); !errors.Is(err, verifier.ErrStepUpRequired) {
		t.Errorf("a discharge narrowed to another route was accepted: %v", err)
	}
	ok := attenuateDischarge(t, su.token, su.unbound, "method DELETE")
	if _, err := v.Verify(su.token, deleteReq(userPath("")), ok); err != nil {
		t.Errorf("a discharge narrowed to what is asked was refused: %v", err)
	}
}

// rebind binds an unbound discharge to another token.
func rebind(t testing.TB, unbound, token string) string {
	t.Helper()
	d, err := mint.BindDischarge(token, unbound)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// attenuateDischarge adds first-party caveats to an unbound discharge,
// as its holder may, then binds it to token.
func attenuateDischarge(t testing.TB, token, unbound string, caveats ...string) string {
	t.Helper()
	d, err := mint.AttenuateText(unbound, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return rebind(t, d, token)
}

func TestStepUpMiddleware(t *testing.T) {
	ring := testRing(t)
	su := mintStepUp(t, ring, fixedNow)
	v := newVerifier(t, ring, nil)
	h := v.HTTPMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := verifier.IdentityFrom(r.Context())
		if id.StepUp {
			w.Header().Set("X-Step-Up", "yes")
		}
	}))
	cookies := verifier.CookieConfig{}
	tests := []struct {
		name         string
		path         string
		header       string
		cookies      []*http.Cookie
		expectStatus int
		expectStepUp bool
	}{
		{"header: step-up token and discharge", userPath(""), "Macaroon " + su.token + " " + su.discharge, nil, 200, true},
		{"header: step-up token alone", userPath(""), "Macaroon " + su.token, nil, 401, false},
		{"header: ordinary token on the step-up route", userPath(""), "Macaroon " + su.tokens.ByMethod["DELETE"], nil, 403, false},
		{"header: three parts", userPath(""), "Macaroon " + su.token + " " + su.discharge + " x", nil, 401, false},
		{"cookies: all three", userPath(""), "", []*http.Cookie{
			{Name: cookies.Name("DELETE"), Value: su.tokens.ByMethod["DELETE"]},
			{Name: cookies.StepUpName("DELETE"), Value: su.token},
			{Name: cookies.DischargeName("DELETE"), Value: su.discharge}}, 200, true},
		{"cookies: ordinary route still by the ordinary token", userPath("/x"), "", []*http.Cookie{
			{Name: cookies.Name("DELETE"), Value: su.tokens.ByMethod["DELETE"]},
			{Name: cookies.StepUpName("DELETE"), Value: su.token}}, 200, false},
		{"cookies: no discharge", userPath(""), "", []*http.Cookie{
			{Name: cookies.Name("DELETE"), Value: su.tokens.ByMethod["DELETE"]},
			{Name: cookies.StepUpName("DELETE"), Value: su.token}}, 401, false},
		{"cookies: step-up token alone, route it does not grant", userPath("/x"), "", []*http.Cookie{
			{Name: cookies.StepUpName("DELETE"), Value: su.token},
			{Name: cookies.DischargeName("DELETE"), Value: su.discharge}}, 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("DELETE", "https://example.test"+tt.path, nil)
			r.Header.Set("Origin", "https://example.test")
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			for _, c := range tt.cookies {
				r.AddCookie(c)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.expectStatus || (w.Header().Get("X-Step-Up") == "yes") != tt.expectStepUp {
				t.Errorf("status %d, step-up %q; want %d, %v\n%s", w.Code, w.Header().Get("X-Step-Up"), tt.expectStatus, tt.expectStepUp, w.Body)
			}
		})
	}
}
