package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/mint"
)

// TestAttackIssue16 attacks step-up as `authgw serve` ships it (the example
// policies keep removing an address under a step-up of 5 minutes), as
// someone holding a stolen token of the member Pat but not her password:
//
//   - the ordinary DELETE token, or the step-up token alone, sent to the
//     removal through every spelling of its path (current or the ID,
//     trailing slash, percent-encoding, dot segments, empty segments,
//     upper case, a query, the absolute form), by method override, and
//     through forward-auth on the admin listener;
//   - a discharge of another session of the same user, sent as issued
//     and bound by the thief to the other session's step-up token;
//   - the refused attempts must remove nothing, and serve's log must
//     hold no token, discharge, caveat ID or password.
//
// A control removes the address with a genuine bound discharge, so the
// test fails if the route cannot be reached at all.
func TestAttackIssue16(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	s := &attackSuite{dir: dir}
	s.creds = bootstrapFor(t, map[string]string{envDataDir: dir})
	s.system = attackClient{s.creds.ClientID, s.creds.ClientSecret}.basic()
	proc := startServeProcess(t, "serve", []string{"serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--cookie-secure", "false",
		"--forward-auth-callers", "127.0.0.1/32", "--demo-listen", "off"},
		map[string]string{envDataDir: dir}, 20*time.Second)
	adminURL := proc.adminURL
	s.addr = strings.TrimPrefix(proc.gatewayURL, "http://")
	s.admin = attackSessionFrom(t, s.login(t, attackFromMain, clitest.LoginEmail, clitest.LoginPassword, clitest.NewState(t)), http.StatusOK)
	pat := s.register(t, attackFromMain, "Pat", "pat@example.com")
	// The registration's session: log in for one with amr, as a thief
	// would have stolen.
	pat = attackSessionFrom(t, s.login(t, attackFromMain, "pat@example.com", attackPassword, clitest.NewState(t)), http.StatusOK)
	if pat.StepUp["DELETE"] == "" {
		t.Fatalf("no DELETE step-up token for a member: %v", pat.StepUp)
	}
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/users/current/emails", s.auth(pat, "POST"),
		`{"data":{"type":"emails","email":"pat.old@example.com","currentPassword":"`+attackPassword+`"}}`)
	email := attackDataString(t, r, http.StatusCreated, "id")
	stillThere := func(what string) {
		t.Helper()
		r := s.call(t, attackFromMain, "GET", "/accounts/v1/users/current/emails", s.auth(pat, "GET"), "")
		if r.Status != http.StatusOK || !strings.Contains(string(r.Body), email) {
			t.Fatalf("%s: the address is gone (%d %s)", what, r.Status, r.Body)
		}
	}

	id := pat.UserID
	pctID := "%" + strings.ToUpper(hexByte(id[0])) + id[1:]
	paths := []string{
		"/accounts/v1/users/current/emails/" + email,
		"/accounts/v1/users/" + id + "/emails/" + email,
		"/accounts/v1/users/current/emails/" + email + "/",
		"/accounts/v1/users/%63urrent/emails/" + email,
		"/accounts/v1/users/" + pctID + "/emails/" + email,
		"/accounts/v1/users/current/emails/%" + strings.ToUpper(hexByte(email[0])) + email[1:],
		"/accounts/v1/users/current/./emails/" + email,
		"/accounts/v1/users/current/x/../emails/" + email,
		"/accounts/v1//users/current/emails/" + email,
		"/accounts/v1/users/current/emails//" + email,
		"/accounts/v1/Users/current/emails/" + email,
		"/accounts/v1/users/current/emails/" + email + "?x=1",
		"/accounts/v1/users/current/emails/" + email + ";x",
		"/accounts/v1/users/current/emails/" + email + "%3Bx",
		"http://" + s.addr + "/accounts/v1/users/current/emails/" + email,
	}
	tokens := map[string]string{
		"the ordinary DELETE token": s.auth(pat, "DELETE"),
		"the step-up token alone":   s.system + ", Macaroon " + pat.StepUp["DELETE"],
		"the POST token":            s.auth(pat, "POST"),
	}
	for what, authz := range tokens {
		for _, p := range paths {
			r := s.call(t, attackFromMain, "DELETE", p, authz, "")
			if r.Status < 400 || r.Status >= 500 {
				t.Errorf("DELETE %s with %s: %d %s, want a 4xx", p, what, r.Status, r.Body)
			}
		}
	}
	// Method override: a POST (whose token reaches the emails routes)
	// that asks to be taken as a DELETE.
	for _, h := range []string{"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"} {
		r := s.send(t, attackReq{method: "POST", target: "/accounts/v1/users/current/emails/" + email,
			header: []string{"Authorization", s.auth(pat, "POST"), h, "DELETE", "Content-Type", "application/json"}, body: []byte(`{"data":{}}`)})
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("POST with %s: DELETE: %d %s", h, r.Status, r.Body)
		}
	}
	stillThere("path variants")

	// Forward-auth answers for another proxy: the same refusal.
	fa := func(authz, uri string) int {
		req, err := http.NewRequest(http.MethodGet, adminURL+"/forward-auth", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", authz)
		req.Header.Set("X-Original-Method", "DELETE")
		req.Header.Set("X-Original-URI", uri)
		req.Header.Set("X-Forwarded-Host", s.addr)
		req.Header.Set("X-Forwarded-Proto", "http")
		req.Header.Set("X-Forwarded-For", "127.0.0.1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for what, authz := range tokens {
		for _, p := range paths[:3] {
			if code := fa(authz, p); code < 400 || code >= 500 {
				t.Errorf("forward-auth DELETE %s with %s: %d", p, what, code)
			}
		}
	}

	// A second session of Pat (her phone, say) and its discharge.
	other := attackSessionFrom(t, s.login(t, attackFromMain, "pat@example.com", attackPassword, clitest.NewState(t)), http.StatusOK)
	r = s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", s.auth(other, "POST"),
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": other.StepUp["DELETE"], "currentPassword": attackPassword}})))
	otherBound := attackDataString(t, r, http.StatusOK, "boundDischarge")
	otherRaw := attackDataString(t, r, http.StatusOK, "discharge")
	rebound, err := mint.BindDischarge(pat.StepUp["DELETE"], otherRaw)
	if err != nil {
		t.Fatal(err)
	}
	for what, d := range map[string]string{"as issued": otherBound, "bound to this session's token": rebound, "unbound": otherRaw} {
		r := s.call(t, attackFromMain, "DELETE", paths[0], s.system+", Macaroon "+pat.StepUp["DELETE"]+" "+d, "")
		if r.Status < 400 || r.Status >= 500 {
			t.Errorf("another session's discharge %s: %d %s", what, r.Status, r.Body)
		}
	}
	// The other session's step-up token asked for with this session's
	// token: not this session's caveat.
	r = s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", s.auth(pat, "POST"),
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": other.StepUp["DELETE"], "currentPassword": attackPassword}})))
	attackExpectRefusal(t, "a discharge of another session's caveat", r, http.StatusForbidden, "STEP-UP-NOT-YOURS")
	// The sysadmin, with their own password, for Pat's caveat.
	r = s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", s.auth(s.admin, "POST"),
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": pat.StepUp["DELETE"], "currentPassword": clitest.LoginPassword}})))
	attackExpectRefusal(t, "a discharge of another user's caveat", r, http.StatusForbidden, "STEP-UP-NOT-YOURS")
	stillThere("another session's discharge")

	// The control: this session's own discharge removes the address.
	r = s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", s.auth(pat, "POST"),
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": pat.StepUp["DELETE"], "currentPassword": attackPassword}})))
	bound := attackDataString(t, r, http.StatusOK, "boundDischarge")
	raw := attackDataString(t, r, http.StatusOK, "discharge")
	// Forward-auth answers it too (so its refusals above were refusals
	// of the tokens, not of the caller).
	if code := fa(s.system+", Macaroon "+pat.StepUp["DELETE"]+" "+bound, paths[0]); code != http.StatusOK {
		t.Errorf("forward-auth with this session's discharge: %d", code)
	}
	if r := s.call(t, attackFromMain, "DELETE", paths[0], s.system+", Macaroon "+pat.StepUp["DELETE"]+" "+bound, ""); r.Status != http.StatusOK {
		t.Fatalf("the removal with this session's discharge: %d %s", r.Status, r.Body)
	}

	// Nothing secret in serve's log.
	text := proc.stdout.String() + proc.stderr.String()
	cid, _ := mint.StepUpCaveatID(pat.StepUp["DELETE"])
	for what, secret := range map[string]string{
		"a password": attackPassword, "the admin's password": clitest.LoginPassword, "a step-up token": pat.StepUp["DELETE"],
		"a discharge": raw, "a bound discharge": bound, "another discharge": otherRaw, "a DELETE token": pat.Macaroons["DELETE"],
		"a refresh token": pat.Refresh, "the caveat ID": base64.RawURLEncoding.EncodeToString(cid),
	} {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("serve's log holds %s", what)
		}
	}
	if !strings.Contains(text, "step-up granted") {
		t.Errorf("serve's log lacks the grants:\n%s", text)
	}
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

// TestAttackIssue16FactorReset: the sysadmin's reset of a user's second
// factors (DELETE /users/:id/factors) is the most dangerous of the
// account routes: with it, a stolen sysadmin token strips any user's TOTP
// and passkeys, and the user's password or mailbox alone then opens the
// account. As serve ships its example policies, it must be reachable (it
// is the documented recovery path) and only behind a step-up: the
// sysadmin's ordinary DELETE token and the step-up token alone are
// refused and the victim's session lives on; with a discharge of the
// sysadmin's own fresh proof it works.
func TestAttackIssue16FactorReset(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no serve process")
	}
	dir := t.TempDir()
	s := &attackSuite{dir: dir}
	s.creds = bootstrapFor(t, map[string]string{envDataDir: dir})
	s.system = attackClient{s.creds.ClientID, s.creds.ClientSecret}.basic()
	gatewayURL, _, _, _, _ := startServe(t, dir, "--demo-listen", "off")
	s.addr = strings.TrimPrefix(gatewayURL, "http://")
	s.admin = attackSessionFrom(t, s.login(t, attackFromMain, clitest.LoginEmail, clitest.LoginPassword, clitest.NewState(t)), http.StatusOK)
	pat := s.register(t, attackFromMain, "Pat", "pat@example.com")
	pat = attackSessionFrom(t, s.login(t, attackFromMain, "pat@example.com", attackPassword, clitest.NewState(t)), http.StatusOK)
	path := "/accounts/v1/users/" + pat.UserID + "/factors"
	alive := func(what string) {
		t.Helper()
		if r := s.call(t, attackFromMain, "GET", "/accounts/v1/users/current", s.auth(pat, "GET"), ""); r.Status != http.StatusOK {
			t.Fatalf("%s: the victim's session ended: %d %s", what, r.Status, r.Body)
		}
	}

	if up := s.admin.StepUp["DELETE"]; up == "" {
		t.Fatalf("the sysadmin has no DELETE step-up token: %v", s.admin.StepUp)
	}
	r := s.call(t, attackFromMain, "DELETE", path, s.auth(s.admin, "DELETE"), "")
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("the factor reset with the ordinary DELETE token: %d %s", r.Status, r.Body)
	}
	alive("the ordinary DELETE token")
	r = s.call(t, attackFromMain, "DELETE", path, s.system+", Macaroon "+s.admin.StepUp["DELETE"], "")
	attackExpectRefusal(t, "the factor reset with the step-up token alone", r, http.StatusUnauthorized, "STEP-UP-REQUIRED")
	alive("the step-up token alone")

	r = s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", s.auth(s.admin, "POST"),
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": s.admin.StepUp["DELETE"], "currentPassword": clitest.LoginPassword}})))
	bound := attackDataString(t, r, http.StatusOK, "boundDischarge")
	if r := s.call(t, attackFromMain, "DELETE", path, s.system+", Macaroon "+s.admin.StepUp["DELETE"]+" "+bound, ""); r.Status != http.StatusOK {
		t.Fatalf("the factor reset with the sysadmin's discharge: %d %s", r.Status, r.Body)
	}
	// It ended the victim's sessions (at the gateway within a poll).
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.call(t, attackFromMain, "GET", "/accounts/v1/users/current", s.auth(pat, "GET"), "")
		if r.Status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the victim's session after the reset: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
