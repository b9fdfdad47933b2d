package clitest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// LoginEmail and LoginPassword are the bootstrapped user's credentials the
// tests pass to authgw bootstrap.
const (
	LoginEmail    = "admin@example.com"
	LoginPassword = "correct horse battery staple"
)

// Creds is what authgw bootstrap prints.
type Creds struct {
	OrganizationID, UserID, ClientID, ClientSecret string
}

// AccountsCaller calls one gateway's accounts service as the
// bootstrapped system client.
type AccountsCaller struct {
	t     *testing.T
	base  string // the gateway's URL
	basic string // "Basic ..." of the client
}

// NewAccountsCaller calls the gateway at base as the client of creds.
func NewAccountsCaller(t *testing.T, base string, creds Creds) AccountsCaller {
	return AccountsCaller{t: t, base: base,
		basic: "Basic " + base64.StdEncoding.EncodeToString([]byte(creds.ClientID+":"+creds.ClientSecret))}
}

// Reply is one answer of the accounts service.
type Reply struct {
	Status  int
	Body    []byte
	Cookies []*http.Cookie
}

// Do sends method path with the client's credentials, the token when
// not empty, and body as JSON when not nil. It fails the test when the
// request cannot be sent.
func (a AccountsCaller) Do(method, path, token string, body any) Reply {
	a.t.Helper()
	r, err := a.Send(method, path, token, body)
	if err != nil {
		a.t.Fatal(err)
	}
	return r
}

// Send is Do for any goroutine: it returns its failure.
func (a AccountsCaller) Send(method, path, token string, body any) (Reply, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Reply{}, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return Reply{}, err
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
		return Reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Status: resp.StatusCode, Body: b, Cookies: resp.Cookies()}, nil
}

// Session is the data of a {"t":"session"} answer.
type Session struct {
	SessionID         string            `json:"sessionId"`
	UserID            string            `json:"userId"`
	ExpiresAt         int64             `json:"expiresAt"`
	Refresh           string            `json:"refresh"`
	Macaroons         map[string]string `json:"macaroons"`
	MacaroonsExpireAt int64             `json:"macaroonsExpireAt"`
	// StepUpMacaroons are the step-up tokens, per method, of the routes
	// a policy keeps under a step-up.
	StepUpMacaroons map[string]string `json:"stepUpMacaroons"`
}

// NewState returns a login state: 32 random lower-case hex digits.
func NewState(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// ExpectSession checks that r is a 200 {"t":"session"} with a GET and a
// POST token and the cookies, and returns its data; it fails the test
// when not.
func (a AccountsCaller) ExpectSession(r Reply, step string) Session {
	a.t.Helper()
	var out struct {
		T    string  `json:"t"`
		Data Session `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.T != "session" {
		a.t.Fatalf("login %s step = %d %s, want 200 {\"t\":\"session\"}", step, r.Status, r.Body)
	}
	s := out.Data
	if s.SessionID == "" || s.Refresh == "" || s.Macaroons["GET"] == "" || s.Macaroons["POST"] == "" {
		a.t.Fatalf("login %s step: session %+v lacks an ID, a refresh token or a GET and POST token", step, s)
	}
	names := map[string]bool{}
	for _, c := range r.Cookies {
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

// LoginWithPassword logs in with the bootstrapped user's email and
// password; it fails the test when no session comes back.
func (a AccountsCaller) LoginWithPassword() Session {
	a.t.Helper()
	r := a.Do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": LoginEmail, "password": LoginPassword, "state": NewState(a.t)}})
	return a.ExpectSession(r, "password")
}

// StepUp obtains, with the bootstrapped user's password, a discharge of
// the session's step-up token for method (POST /accounts/v1/discharge
// with the token itself), and returns the Macaroon credential that
// reaches the method's step-up routes: "<stepUpToken> <boundDischarge>".
// It fails the test when there is no step-up token or no discharge.
func (a AccountsCaller) StepUp(s Session, method string) string {
	a.t.Helper()
	up := s.StepUpMacaroons[method]
	if up == "" {
		a.t.Fatalf("the session has no %s step-up token: %v", method, s.StepUpMacaroons)
	}
	r := a.Do("POST", "/accounts/v1/discharge", s.Macaroons["POST"], map[string]any{
		"data": map[string]string{"token": up, "currentPassword": LoginPassword}})
	var out struct {
		Data struct {
			BoundDischarge string `json:"boundDischarge"`
		} `json:"data"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.Data.BoundDischarge == "" {
		a.t.Fatalf("POST /accounts/v1/discharge = %d %s", r.Status, r.Body)
	}
	return up + " " + out.Data.BoundDischarge
}

// CurrentUser is GET /accounts/v1/users/current with the token: its
// status and the code of an error answer.
func (a AccountsCaller) CurrentUser(token string) (int, string) {
	a.t.Helper()
	r := a.Do("GET", "/accounts/v1/users/current", token, nil)
	var out struct {
		T     string
		Data  struct{ ID string }
		Error struct{ Code string }
	}
	_ = json.Unmarshal(r.Body, &out)
	return r.Status, out.Error.Code
}

// Logout ends the session of the POST token; it fails the test when the
// logout is not answered 200 {"t":"null"}.
func (a AccountsCaller) Logout(postToken string) {
	a.t.Helper()
	ExpectLoggedOut(a.t, a.Do("POST", "/accounts/v1/sessions/logout", postToken, nil))
}

// ExpectLoggedOut checks a logout's answer: 200 {"t":"null"}.
func ExpectLoggedOut(t *testing.T, r Reply) {
	t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"null"`) {
		t.Fatalf("logout = %d %s, want 200 {\"t\":\"null\"}", r.Status, r.Body)
	}
}

// WaitRefused polls GET /users/current with the token every 5 ms until
// it is refused with 401, or until limit after start; it returns how
// long after start that happened and whether it did. It fails the test
// when the token is refused any other way.
func (a AccountsCaller) WaitRefused(token string, start time.Time, limit time.Duration) (time.Duration, bool) {
	a.t.Helper()
	for {
		status, code := a.CurrentUser(token)
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
