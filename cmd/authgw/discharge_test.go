package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// stepUpPolicySrc grants POST on the user and the discharge endpoint, and
// DELETE of the user after a two-minute step-up.
const stepUpPolicySrc = `{"name": "p", "appliesTo": {"userRoles": ["user"]}, "expires": 900,
  "scopes": [
    {"name": "own", "routes": ["/accounts/v1/users/:userId/**"], "methods": ["POST", "DELETE"]},
    {"name": "discharge", "routes": ["/accounts/v1/discharge"], "methods": ["POST"]},
    {"name": "danger", "routes": ["/accounts/v1/users/:userId"], "methods": ["DELETE"], "stepUp": 120}
  ]}`

// stepUpFixture is a key ring file and a login's tokens with a step-up
// token, minted at fixedNow, with a discharge of it.
type stepUpFixture struct {
	// client and clientSecret, when set, are the credentials the
	// stand-in service asks for besides the token.
	client, clientSecret string
	keys                 string
	ring                 *mint.KeyRing
	tokens               mint.Tokens
	stepUp               string
	unbound              string
	bound                string
	expiresAt            time.Time
}

// newStepUpFixture mints for user and session with the ring in keys, or
// with a new ring when keys is "".
func newStepUpFixture(t *testing.T, user, session, keys string) stepUpFixture {
	t.Helper()
	if keys == "" {
		keys = writeRing(t, t.TempDir(), "k1", "")
	}
	f := stepUpFixture{keys: keys}
	ring, err := mint.LoadKeyRing(f.keys)
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring
	p, err := policy.Parse("stepup.json", []byte(stepUpPolicySrc))
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: ring, ServerID: testServerID, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	if f.tokens, err = m.Mint([]*policy.Policy{p}, mint.Subject{UserID: user, SessionID: session, Roles: []string{"user"}}); err != nil {
		t.Fatal(err)
	}
	f.stepUp = f.tokens.StepUp["DELETE"]
	cid, _ := mint.StepUpCaveatID(f.stepUp)
	claim, err := mint.OpenStepUp(ring, cid)
	if err != nil {
		t.Fatal(err)
	}
	if f.unbound, f.expiresAt, err = m.Discharge(cid, claim); err != nil {
		t.Fatal(err)
	}
	if f.bound, err = mint.BindDischarge(f.stepUp, f.unbound); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestInspect_stepUp(t *testing.T) {
	f := newStepUpFixture(t, testUser, testSession, "")
	other := newStepUpFixture(t, testUser, testSession, f.keys) // another login: another caveat
	cid, _ := mint.StepUpCaveatID(f.stepUp)
	cidText := base64.RawURLEncoding.EncodeToString(cid)
	otherRing := writeRing(t, t.TempDir(), "k1", "")
	tests := []struct {
		name         string
		when         invocation
		expectCode   int
		expectStdout []string
	}{
		{"step-up token, no ring", args("inspect", f.stepUp), 0, []string{
			"third-party caveat:\n", "  location:  " + mint.DischargePath + "\n", "  caveat ID: " + cidText + "\n",
			`  sealed:    for the accounts service (it names key "k1")`, "signature: not checked"}},
		{"step-up token, its ring", args("inspect", f.stepUp, "--keys", f.keys), 0, []string{
			"opens with the key ring: user " + testUser + ", session " + testSession + ", discharges live 120s\n", `signature: valid (key "k1")`}},
		{"step-up token, another ring", args("inspect", f.stepUp, "--keys", otherRing), 1, []string{
			"DOES NOT open with the key ring", "signature: INVALID"}},
		{"discharge alone", args("inspect", f.unbound), 0, []string{
			"discharge:\n", "  caveat ID: " + cidText + "\n", "    time-before " + f.expiresAt.Format(mint.TimeFormat) + "\n",
			"  expires:   " + f.expiresAt.Format(mint.TimeFormat) + " (in 2m0s)\n"}},
		{"bound discharge with its token, no ring", args("inspect", f.stepUp, "--discharge", f.bound), 0, []string{
			"  of token:  yes", "  bound:     not checked"}},
		{"bound discharge with its token and ring", args("inspect", f.stepUp, "--discharge", f.bound, "--keys", f.keys), 0, []string{
			"  of token:  yes", `  bound:     yes (macaroon.v2 verifies the token with it, key "k1")`}},
		{"unbound discharge with its token and ring", args("inspect", f.stepUp, "--discharge", f.unbound, "--keys", f.keys), 1, []string{
			"  of token:  yes", "  bound:     NO"}},
		{"discharge bound to another token", args("inspect", f.stepUp, "--discharge", mustBind(t, other.stepUp, f.unbound), "--keys", f.keys), 1, []string{
			"  bound:     NO"}},
		{"another login's discharge", args("inspect", f.stepUp, "--discharge", other.bound), 1, []string{
			"  of token:  NO (it discharges another caveat)"}},
		{"discharge from standard input", invocation{args: []string{"inspect", f.stepUp, "--discharge", "-", "--keys", f.keys}, stdin: f.bound}, 0, []string{
			"  bound:     yes"}},
		{"discharge with a caveat describing the user", args("inspect", mustAttenuate(t, f.unbound, "user "+testUser)), 1, []string{
			"problem:   caveat 2: user describes a token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.when)
			expectResult(t, r, tt.expectCode, tt.expectStdout, nil)
		})
	}
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, args("inspect", "--json", f.stepUp, "--discharge", f.bound, "--keys", f.keys))
		expectResult(t, r, 0, nil, nil)
		var in inspection
		if err := json.Unmarshal([]byte(r.stdout), &in); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		tp, d := in.ThirdParty, in.Discharge
		if tp == nil || tp.Location != mint.DischargePath || tp.CaveatID != cidText || tp.Sealed != verdictValid || tp.UserID != testUser || tp.WindowSeconds != 120 {
			t.Errorf("thirdParty = %+v", tp)
		}
		if d == nil || d.CaveatID != cidText || d.OfToken != verdictMatch || d.Bound != verdictValid || d.Expires == nil || !d.Expires.Equal(f.expiresAt) {
			t.Errorf("discharge = %+v", d)
		}
	})
	t.Run("a discharge as TOKEN with --discharge is a usage error", func(t *testing.T) {
		expectResult(t, runCLI(t, args("inspect", f.bound, "--discharge", f.bound)), exitUsage, nil, []string{"TOKEN is a discharge"})
	})
}

func mustBind(t *testing.T, token, discharge string) string {
	t.Helper()
	b, err := mint.BindDischarge(token, discharge)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAttenuate(t *testing.T, tok string, caveats ...string) string {
	t.Helper()
	out, err := mint.AttenuateText(tok, caveats...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dischargeService is an HTTP server speaking the discharge endpoint's
// documented contract with the real mint and verifier: the caller's POST
// token of the step-up token's session in the Authorization header, a
// JSON body with the step-up token and a fresh proof, and the answer
// {"t":"single","data":{"discharge","boundDischarge","expiresAt"}}. It
// stands in for the accounts service until its endpoint is merged.
func dischargeService(t *testing.T, f stepUpFixture, password, totp string, omitBound bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	v, err := verifier.New(verifier.Config{ServerID: testServerID, Keys: f.ring, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mint.New(mint.Config{Keys: f.ring, ServerID: testServerID, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	refuse := func(w http.ResponseWriter, status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"t": "error", "error": map[string]any{"status": status, "code": code, "title": http.StatusText(status), "detail": "refused: " + code, "obstructions": []any{}}})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != mint.DischargePath {
			refuse(w, http.StatusNotFound, "NOT-FOUND")
			return
		}
		cred, found, ok := verifier.MacaroonCredential(r.Header.Values("Authorization"))
		if !found || !ok {
			refuse(w, http.StatusUnauthorized, "TOKEN-MISSING")
			return
		}
		id, err := v.Verify(cred, verifier.Request{Method: "POST", Path: mint.DischargePath})
		if err != nil {
			refuse(w, http.StatusUnauthorized, "TOKEN-INVALID")
			return
		}
		if f.client != "" {
			if id, secret, ok := basicOf(r); !ok || id != f.client || secret != f.clientSecret {
				refuse(w, http.StatusUnauthorized, "CLIENT-INVALID")
				return
			}
		}
		var envelope struct {
			Data *struct {
				Token, CurrentPassword, TOTP string
			}
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if dec.Decode(&envelope) != nil || envelope.Data == nil {
			refuse(w, http.StatusBadRequest, "BODY-INVALID")
			return
		}
		body := *envelope.Data
		cid, ok := mint.StepUpCaveatID(body.Token)
		if !ok {
			refuse(w, http.StatusBadRequest, "CAVEAT-INVALID")
			return
		}
		claim, err := mint.OpenStepUp(f.ring, cid)
		if err != nil || claim.UserID != id.UserID || claim.SessionID != id.SessionID {
			refuse(w, http.StatusForbidden, "CAVEAT-NOT-YOURS")
			return
		}
		if (body.CurrentPassword == "" || body.CurrentPassword != password) && (body.TOTP == "" || body.TOTP != totp) {
			refuse(w, http.StatusForbidden, "PROOF-INVALID")
			return
		}
		d, exp, err := m.Discharge(cid, claim)
		if err != nil {
			refuse(w, http.StatusInternalServerError, "INTERNAL")
			return
		}
		data := map[string]any{"discharge": d, "expiresAt": exp.UnixMilli()}
		if !omitBound {
			data["boundDischarge"], _ = mint.BindDischarge(body.Token, d)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"t": "single", "data": data})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestDischarge(t *testing.T) {
	f := newStepUpFixture(t, testUser, testSession, "")
	other := newStepUpFixture(t, "u2", "s2", f.keys)
	foreign := newStepUpFixture(t, testUser, testSession, "") // another key ring
	srv, calls := dischargeService(t, f, "correct horse", "123456", false)
	unboundSrv, _ := dischargeService(t, f, "correct horse", "123456", true)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongPw := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrongPw, []byte("battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "post")
	if err := os.WriteFile(tokenFile, []byte(f.tokens.ByMethod["POST"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	post := f.tokens.ByMethod["POST"]
	v, err := verifier.New(verifier.Config{ServerID: testServerID, Keys: f.ring, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	// The printed discharge must let the step-up token through.
	expectWorks := func(t *testing.T, bound string) {
		t.Helper()
		id, err := v.Verify(f.stepUp, verifier.Request{Method: "DELETE", Path: "/accounts/v1/users/" + testUser}, bound)
		if err != nil || !id.StepUp {
			t.Fatalf("the printed discharge does not pass: %+v, %v", id, err)
		}
	}
	tests := []struct {
		name         string
		when         invocation
		expectCode   int
		expectStderr string
		works        bool
	}{
		{"password from a file", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--password-file", pwFile), 0, "", true},
		{"password from standard input, token from a file", invocation{args: []string{"discharge", "--url", srv.URL + "/", "--token-file", tokenFile, "--step-up", f.stepUp, "--password-file", "-"}, stdin: "correct horse\r\n"}, 0, "", true},
		{"TOTP code", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "123456"), 0, "", true},
		{"step-up token from standard input", invocation{args: []string{"discharge", "--url", srv.URL, "--token", post, "--step-up", "-", "--totp", "123456"}, stdin: f.stepUp + "\n"}, 0, "", true},
		{"the service binds nothing: bound here", args("discharge", "--url", unboundSrv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "123456"), 0, "", true},
		{"wrong password", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--password-file", wrongPw), 1, "authgw: discharge: the service refused: 403 PROOF-INVALID: refused: PROOF-INVALID\n", false},
		{"wrong TOTP code", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "654321"), 1, "403 PROOF-INVALID", false},
		{"another user's step-up token", args("discharge", "--url", srv.URL, "--token", post, "--step-up", other.stepUp, "--totp", "123456"), 1, "403 CAVEAT-NOT-YOURS", false},
		{"the caller is another user", args("discharge", "--url", srv.URL, "--token", other.tokens.ByMethod["POST"], "--step-up", f.stepUp, "--totp", "123456"), 1, "403 CAVEAT-NOT-YOURS", false},
		{"the caller's token is of another key ring", args("discharge", "--url", srv.URL, "--token", foreign.tokens.ByMethod["POST"], "--step-up", f.stepUp, "--totp", "123456"), 1, "401 TOKEN-INVALID", false},
		{"the caller sends the DELETE token", args("discharge", "--url", srv.URL, "--token", f.tokens.ByMethod["DELETE"], "--step-up", f.stepUp, "--totp", "123456"), 1, "401 TOKEN-INVALID", false},
		{"not a step-up token", args("discharge", "--url", srv.URL, "--token", post, "--step-up", post, "--totp", "123456"), 1, "not a step-up token", false},
		{"no proof", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp), 2, "one of --password-file and --totp", false},
		{"two proofs", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "123456", "--password-file", pwFile), 2, "one of --password-file and --totp", false},
		{"malformed TOTP code", args("discharge", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "12ab56"), 2, "--totp wants", false},
		{"no caller token", args("discharge", "--url", srv.URL, "--step-up", f.stepUp, "--totp", "123456"), 2, "--token and --token-file", false},
		{"no URL", args("discharge", "--token", post, "--step-up", f.stepUp, "--totp", "123456"), 2, "missing --url", false},
		{"plain http to another host", args("discharge", "--url", "http://auth.example.com", "--token", post, "--step-up", f.stepUp, "--totp", "123456"), 2, "plain http sends the password in the clear", false},
		{"both from standard input", args("discharge", "--url", srv.URL, "--token", post, "--step-up", "-", "--password-file", "-"), 2, "only one of --step-up, --password-file and --client-secret-file", false},
		{"nothing listening", args("discharge", "--url", "http://127.0.0.1:1", "--token", post, "--step-up", f.stepUp, "--totp", "123456"), 1, "POST http://127.0.0.1:1" + mint.DischargePath, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.when)
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if strings.Contains(r.stderr, "correct horse") || strings.Contains(r.stderr, "battery") || strings.Contains(r.stderr, post) {
				t.Errorf("stderr holds a secret: %q", r.stderr)
			}
			if !tt.works {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				return
			}
			bound := strings.TrimSpace(r.stdout)
			if strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("stdout = %q, want the bound discharge on one line", r.stdout)
			}
			expectWorks(t, bound)
		})
	}
	t.Run("json", func(t *testing.T) {
		r := runCLI(t, args("discharge", "--json", "--url", srv.URL, "--token", post, "--step-up", f.stepUp, "--totp", "123456"))
		expectResult(t, r, 0, nil, nil)
		var out dischargeOutput
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		cid, _ := mint.StepUpCaveatID(f.stepUp)
		if out.CaveatID != base64.RawURLEncoding.EncodeToString(cid) || !out.ExpiresAt.Equal(fixedNow.Add(2*time.Minute)) || out.Discharge == "" {
			t.Errorf("output %+v", out)
		}
		expectWorks(t, out.BoundDischarge)
	})
	if calls.Load() == 0 {
		t.Error("the service was never called")
	}
}

// TestDischarge_badAnswers: an answer that is not the documented one, or
// whose discharge is of another caveat or bound elsewhere, exits 1.
func TestDischarge_badAnswers(t *testing.T) {
	f := newStepUpFixture(t, testUser, testSession, "")
	other := newStepUpFixture(t, testUser, testSession, f.keys)
	tests := []struct {
		name         string
		answer       string
		status       int
		expectStderr string
	}{
		{"not JSON", "<html>", 200, "not a JSON envelope"},
		{"no data", `{"t":"single"}`, 200, `not {"t":"single","data":{"discharge":...}}`},
		{"a discharge of another caveat", `{"t":"single","data":{"discharge":"` + other.unbound + `"}}`, 200, "of another caveat"},
		{"bound to another token", `{"t":"single","data":{"discharge":"` + f.unbound + `","boundDischarge":"` + mustBind(t, other.stepUp, f.unbound) + `"}}`, 200, "not the discharge bound to the step-up token"},
		{"an error without envelope", `oops`, 502, "not a JSON envelope"},
		{"an error envelope", `{"t":"error","error":{"status":429,"code":"TOO-MANY","detail":"slow down"}}`, 429, "429 TOO-MANY: slow down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.answer))
			}))
			defer srv.Close()
			r := runCLI(t, args("discharge", "--url", srv.URL, "--token", f.tokens.ByMethod["POST"], "--step-up", f.stepUp, "--totp", "123456"))
			expectResult(t, r, 1, nil, []string{tt.expectStderr})
		})
	}
}

// basicOf reads the Basic credential of an "Authorization: Basic ...,
// Macaroon ..." header.
func basicOf(r *http.Request) (id, secret string, ok bool) {
	for _, part := range strings.Split(r.Header.Get("Authorization"), ",") {
		scheme, value, _ := strings.Cut(strings.TrimSpace(part), " ")
		if scheme != "Basic" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return "", "", false
		}
		id, secret, ok = strings.Cut(string(raw), ":")
		return id, secret, ok
	}
	return "", "", false
}

// TestDischarge_clientCredentials: with --client and its secret, the
// request carries "Basic ..., Macaroon ..."; a service that asks for them
// refuses a request without.
func TestDischarge_clientCredentials(t *testing.T) {
	f := newStepUpFixture(t, testUser, testSession, "")
	f.client, f.clientSecret = "c1", "s3cret-of-c1"
	srv, _ := dischargeService(t, f, "pw", "123456", false)
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(f.clientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"discharge", "--url", srv.URL, "--token", f.tokens.ByMethod["POST"], "--step-up", f.stepUp, "--totp", "123456"}
	r := runCLI(t, args(append(base, "--client", "c1", "--client-secret-file", secretFile)...))
	expectResult(t, r, 0, nil, nil)
	r = runCLI(t, invocation{args: append(base, "--client", "c1", "--client-secret-file", "-"), stdin: f.clientSecret + "\n"})
	expectResult(t, r, 0, nil, nil)
	r = runCLI(t, args(base...))
	expectResult(t, r, 1, nil, []string{"401 CLIENT-INVALID"})
	r = runCLI(t, args(append(base, "--client", "c1")...))
	expectResult(t, r, 2, nil, []string{"--client and --client-secret-file go together"})
	if strings.Contains(r.stderr, f.clientSecret) {
		t.Errorf("stderr holds the secret")
	}
}
