package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	loginEmail    = "admin@example.com"
	loginPassword = "correct horse battery staple"
)

// bootCreds is what bootstrap prints.
type bootCreds struct {
	OrganizationID, UserID, ClientID, ClientSecret string
}

// bootstrapFor runs authgw bootstrap with vars (the data directory and
// database) and returns what it printed.
func bootstrapFor(t *testing.T, vars map[string]string) bootCreds {
	t.Helper()
	out := mustRun(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", loginEmail, "--name", "Ada",
		"--password-stdin"}, stdin: loginPassword + "\n", vars: vars, now: time.Now()})
	var creds bootCreds
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatalf("bootstrap output %q: %v", out, err)
	}
	return creds
}

// accountsCaller calls one gateway's accounts service as the
// bootstrapped system client.
type accountsCaller struct {
	t     *testing.T
	base  string // the gateway's URL
	basic string // "Basic ..." of the client
}

// newAccountsCaller calls the gateway at base as the client of creds.
func newAccountsCaller(t *testing.T, base string, creds bootCreds) accountsCaller {
	return accountsCaller{t: t, base: base,
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.ClientID+":"+creds.ClientSecret))}
}

// accountsReply is one answer of the accounts service.
type accountsReply struct {
	status  int
	body    []byte
	cookies []*http.Cookie
}

// do sends method path with the client's credentials, the token when
// not empty, and body as JSON when not nil.
func (a accountsCaller) do(method, path, token string, body any) accountsReply {
	a.t.Helper()
	r, err := a.send(method, path, token, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// send is do for any goroutine: it returns its failure.
func (a accountsCaller) send(method, path, token string, body any) (accountsReply, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return accountsReply{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return accountsReply{}, err
	}
	auth := a.basic
	if token != "" {
		auth += ", Macaroon " + token
	}
	req.Header.Set("Authorization", auth)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return accountsReply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return accountsReply{}, err
	}
	return accountsReply{status: resp.StatusCode, body: b, cookies: resp.Cookies()}, nil
}

// loginSession is the data of a {"t":"session"} answer.
type loginSession struct {
	SessionID         string            `json:"sessionId"`
	UserID            string            `json:"userId"`
	ExpiresAt         int64             `json:"expiresAt"`
	Refresh           string            `json:"refresh"`
	Macaroons         map[string]string `json:"macaroons"`
	MacaroonsExpireAt int64             `json:"macaroonsExpireAt"`
}

// newState returns a login state: 32 random lower-case hex digits.
func newState(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// expectSession checks that r is a 200 {"t":"session"} with a GET and a
// POST token and the cookies, and returns its data.
func (a accountsCaller) expectSession(r accountsReply, step string) loginSession {
	a.t.Helper()
	var out struct {
		T    string       `json:"t"`
		Data loginSession `json:"data"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil || out.T != "session" {
		a.t.Fatalf("login %s step = %d %s, want 200 {\"t\":\"session\"}", step, r.status, r.body)
	}
	s := out.Data
	if s.SessionID == "" || s.Refresh == "" || s.Macaroons["GET"] == "" || s.Macaroons["POST"] == "" {
		a.t.Fatalf("login %s step: session %+v lacks an ID, a refresh token or a GET and POST token", step, s)
	}
	names := map[string]bool{}
	for _, c := range r.cookies {
		names[c.Name] = c.Value != ""
	}
	// --cookie-secure false: no __Host- or __Secure- prefix.
	for _, name := range []string{"authgw-get", "authgw-post", "authgw-refresh"} {
		if !names[name] {
			a.t.Errorf("login %s step: no %s cookie among %v", step, name, names)
		}
	}
	return s
}

// loginWithPassword logs in with the bootstrapped user's email and password.
func (a accountsCaller) loginWithPassword() loginSession {
	a.t.Helper()
	r := a.do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": loginEmail, "password": loginPassword, "state": newState(a.t)}})
	return a.expectSession(r, "password")
}

// currentUser is GET /accounts/v1/users/current with the token: its
// status and the code of an error answer.
func (a accountsCaller) currentUser(token string) (int, string) {
	a.t.Helper()
	r := a.do("GET", "/accounts/v1/users/current", token, nil)
	var out struct {
		T     string
		Data  struct{ ID string }
		Error struct{ Code string }
	}
	_ = json.Unmarshal(r.body, &out)
	return r.status, out.Error.Code
}

// logout ends the session of the POST token.
func (a accountsCaller) logout(postToken string) {
	a.t.Helper()
	expectLoggedOut(a.t, a.do("POST", "/accounts/v1/sessions/logout", postToken, nil))
}

// expectLoggedOut checks a logout's answer.
func expectLoggedOut(t *testing.T, r accountsReply) {
	t.Helper()
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"null"`) {
		t.Fatalf("logout = %d %s, want 200 {\"t\":\"null\"}", r.status, r.body)
	}
}

// waitRefused polls GET /users/current with the token every 5 ms until
// it is refused with 401, or until limit after start; it returns how
// long after start that happened and whether it did.
func (a accountsCaller) waitRefused(token string, start time.Time, limit time.Duration) (time.Duration, bool) {
	a.t.Helper()
	for {
		status, code := a.currentUser(token)
		elapsed := time.Since(start)
		switch {
		case status == http.StatusUnauthorized && code == "TOKEN-INVALID":
			return elapsed, true
		case status != http.StatusOK:
			a.t.Fatalf("after logout: GET /users/current = %d %s, want 200 until it is 401 TOKEN-INVALID", status, code)
		case elapsed > limit:
			return elapsed, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var loginCodeLine = regexp.MustCompile(`Your login code is: (\S+)`)

// waitLoginCode waits for the first .eml file in dir and returns the
// login code it carries and its recipient.
func waitLoginCode(t *testing.T, dir string) (code, to string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) > 0 {
			raw, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			msg, err := mail.ReadMessage(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s is not a mail message: %v", files[0], err)
			}
			body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
			if err != nil {
				t.Fatal(err)
			}
			m := loginCodeLine.FindSubmatch(body)
			if m == nil {
				t.Fatalf("%s has no login code: %q", files[0], body)
			}
			return string(m[1]), msg.Header.Get("To")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no .eml file appeared in %s within 5 s", dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServe_login runs the accounts service in authgw serve on the
// embedded defaults: a password login through the gateway, a call with
// the session's token, an email login with the code read from the file
// notifier's .eml, and a logout after which the ended session's token is
// refused while the other session's still works.
func TestServe_login(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, stdout := startServe(t, dir)
	if !strings.Contains(stdout.String(), "/accounts/v1/sessions/login/password") {
		t.Errorf("the start lines give no login hint: %q", stdout.String())
	}
	info, err := os.Stat(filepath.Join(dir, totpKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() != 65 {
		t.Errorf("first start: totp-key = %v %v, want a 0600 file of 64 hex digits and a newline", info, err)
	}
	a := newAccountsCaller(t, gatewayURL, creds)

	byPassword := a.loginWithPassword()
	if byPassword.UserID != creds.UserID {
		t.Errorf("password login: user %q, want the bootstrapped %q", byPassword.UserID, creds.UserID)
	}
	if status, code := a.currentUser(byPassword.Macaroons["GET"]); status != http.StatusOK {
		t.Fatalf("GET /users/current with the session's GET token = %d %s, want 200", status, code)
	}
	if status, code := a.currentUser(""); status != http.StatusUnauthorized {
		t.Errorf("GET /users/current without a token = %d %s, want 401", status, code)
	}

	// The email step answers at once and mails the code in the background.
	state := newState(t)
	r := a.do("POST", "/accounts/v1/sessions/login/email", "", map[string]any{
		"data": map[string]string{"email": loginEmail, "state": state}})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"step":"code"`) {
		t.Fatalf("email step = %d %s, want 200 step code", r.status, r.body)
	}
	code, to := waitLoginCode(t, filepath.Join(dir, mailDir))
	if to != loginEmail {
		t.Errorf("the login code went to %q, want %q", to, loginEmail)
	}
	byEmail := a.expectSession(a.do("POST", "/accounts/v1/sessions/login/code", "", map[string]any{
		"data": map[string]string{"code": code, "state": state}}), "code")
	if byEmail.SessionID == byPassword.SessionID {
		t.Fatal("two logins share one session")
	}

	a.logout(byPassword.Macaroons["POST"])
	// The gateway that served the logout refuses at once; the limit is
	// the poll interval (1 s) with room for a slow machine.
	took, refused := a.waitRefused(byPassword.Macaroons["GET"], time.Now(), 3*time.Second)
	if !refused {
		t.Fatalf("the logged-out session's token still works %v after logout", took)
	}
	t.Logf("the logged-out token was refused %v after logout", took)
	if status, code := a.currentUser(byEmail.Macaroons["GET"]); status != http.StatusOK {
		t.Errorf("the other session's token after the logout = %d %s, want 200", status, code)
	}
}

// TestServe_newClientWorksAtOnce: a client created through the accounts
// service can be used at the same gateway in the very next request, and
// a deleted one is refused in the very next request; serve reloads its
// snapshot before answering the change (the README's walk-through does
// exactly this). Without Redis: the reload must not depend on it.
func TestServe_newClientWorksAtOnce(t *testing.T) {
	dir := t.TempDir()
	creds := bootstrapFor(t, map[string]string{envDataDir: dir})
	gatewayURL, _, _, _, _ := startServe(t, dir)
	admin := newAccountsCaller(t, gatewayURL, creds)
	s := admin.loginWithPassword()
	path := "/accounts/v1/organizations/" + creds.OrganizationID + "/clients"
	code := func(r accountsReply) string {
		var out struct{ Error struct{ Code string } }
		json.Unmarshal(r.body, &out)
		return out.Error.Code
	}
	for i := range 10 {
		r := admin.do("POST", path, s.Macaroons["POST"], map[string]any{"data": map[string]any{"type": "clients", "name": "app " + strconv.Itoa(i)}})
		var created struct{ Data struct{ ID, Secret string } }
		if err := json.Unmarshal(r.body, &created); err != nil || r.status != http.StatusCreated {
			t.Fatalf("create a client: %d %s", r.status, r.body)
		}
		app := newAccountsCaller(t, gatewayURL, bootCreds{ClientID: created.Data.ID, ClientSecret: created.Data.Secret})
		// Known client, no token: 401 TOKEN-MISSING, not UNKNOWN-CLIENT.
		if r := app.do("GET", "/accounts/v1/users/current", "", nil); code(r) == "UNKNOWN-CLIENT" || r.status != http.StatusUnauthorized {
			t.Fatalf("client %d right after its creation: %d %s", i, r.status, r.body)
		}
		if r := admin.do("DELETE", path+"/"+created.Data.ID, s.Macaroons["DELETE"], nil); r.status != http.StatusOK {
			t.Fatalf("delete the client: %d %s", r.status, r.body)
		}
		if r := app.do("GET", "/accounts/v1/users/current", "", nil); code(r) != "UNKNOWN-CLIENT" {
			t.Fatalf("client %d right after its deletion: %d %s, want 401 UNKNOWN-CLIENT", i, r.status, r.body)
		}
	}
}
