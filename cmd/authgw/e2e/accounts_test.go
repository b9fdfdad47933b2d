package e2e

// The accounts service as the bootstrapped system client calls it. A copy
// of the in-process serve tests' caller (serve_login_test.go), which
// stays in package main with the tests that drive serve in-process.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

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
