package accounts_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// The login flow, refresh and logout through the real gateway.

// newState returns a login state (32 hex characters) unique in the test.
func (s *stack) newState() string {
	return fmt.Sprintf("%032x", s.seq.Add(1))
}

// raw sends a request built by the test (its own headers and cookies) and
// reads the answer.
func (s *stack) raw(req *http.Request) response {
	s.t.Helper()
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Raw: body}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out.Body); err != nil {
			s.t.Fatalf("answer is not JSON: %q", body)
		}
	}
	return out
}

// newRequest builds a request to the accounts service with {"data": body}
// (none when body is nil) and the client's Basic credentials.
func (s *stack) newRequest(c appClient, method, path string, body any) *http.Request {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(map[string]any{"data": body})
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.srv.URL+accounts.Prefix+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.ID+":"+c.Secret)))
	return req
}

// step posts one login step through the client.
func (s *stack) step(c appClient, name string, body map[string]any) response {
	s.t.Helper()
	return s.raw(s.newRequest(c, "POST", "/sessions/login/"+name, body))
}

// session is the data of a {"t":"session"} answer.
type session struct {
	SessionID string            `json:"sessionId"`
	UserID    string            `json:"userId"`
	ExpiresAt int64             `json:"expiresAt"`
	Refresh   string            `json:"refresh"`
	Macaroons map[string]string `json:"macaroons"`
}

// sessionOf reads a session answer, failing the test on anything else.
func sessionOf(t testing.TB, r response) session {
	t.Helper()
	if r.Status != http.StatusOK || r.Body["t"] != "session" {
		t.Fatalf("answer %d, want a session: %s", r.Status, r.Raw)
	}
	var out struct {
		Data session `json:"data"`
	}
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data
}

// withMacaroon calls the service as the client with the session's token
// for method.
func (s *stack) withMacaroon(c appClient, sess session, method, path string, body any) response {
	s.t.Helper()
	req := s.newRequest(c, method, path, body)
	req.Header.Set("Authorization", req.Header.Get("Authorization")+", Macaroon "+sess.Macaroons[method])
	return s.raw(req)
}

// passwordLogin logs the user in with the password step.
func (s *stack) passwordLogin(c appClient, email, pw string) response {
	s.t.Helper()
	return s.step(c, "password", map[string]any{"email": email, "password": pw, "state": s.newState()})
}

func TestPasswordLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))

		res := s.passwordLogin(app, "ann@example.com", testPassword)
		sess := sessionOf(t, res)
		if sess.UserID != ann.ID || sess.Refresh == "" || len(sess.Macaroons) != 5 {
			t.Fatalf("session = %+v", sess)
		}
		// The cookies carry the same tokens, with the flags of the README's "Cookies or headers".
		cookies := map[string]*http.Cookie{}
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			cookies[c.Name] = c
		}
		if c := cookies["authgw-get"]; c == nil || c.Value != sess.Macaroons["GET"] || !c.HttpOnly || c.Path != "/" {
			t.Fatalf("GET cookie = %+v", c)
		}
		if c := cookies["authgw-refresh"]; c == nil || c.Value != sess.Refresh || c.SameSite != http.SameSiteStrictMode || c.Path != "/accounts/v1" {
			t.Fatalf("refresh cookie = %+v", c)
		}
		// The tokens work at the gateway, as a header and as a cookie.
		me := s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusOK)
		if me.data()["id"] != ann.ID {
			t.Fatalf("current user = %s", me.Raw)
		}
		req := s.newRequest(app, "GET", "/users/current", nil)
		req.AddCookie(cookies["authgw-get"])
		s.raw(req).expect(t, http.StatusOK)
	})
}

func TestPasswordLoginFailuresLookAlike(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	noPassword, err := s.d.CreateUser(s.ctx, db.NewUser{User: db.User{ID: s.id(), Name: "Cy", CreatedMs: 1},
		Email: db.Email{ID: s.id(), Email: "cy@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = noPassword
	tests := []struct {
		name      string
		whenEmail string
		whenPw    string
	}{
		{"wrong password", "ann@example.com", "not the password"},
		{"unknown email", "nobody@example.com", "not the password"},
		{"user without a password", "cy@example.com", "not the password"},
	}
	var shapes []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := s.passwordLogin(app, tt.whenEmail, tt.whenPw).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			shapes = append(shapes, string(res.Raw))
		})
	}
	for _, sh := range shapes[1:] {
		if sh != shapes[0] {
			t.Fatalf("failure answers differ:\n%s\n%s", shapes[0], sh)
		}
	}
}

func TestEmailCodeLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		state := s.newState()

		known := s.step(app, "email", map[string]any{"email": "ann@example.com", "state": state}).expect(t, http.StatusOK)
		unknown := s.step(app, "email", map[string]any{"email": "nobody@example.com", "state": state}).expect(t, http.StatusOK)
		if string(known.Raw) != string(unknown.Raw) || known.data()["step"] != "code" {
			t.Fatalf("email step answers differ or are wrong:\n%s\n%s", known.Raw, unknown.Raw)
		}
		code := s.waitCode(t, "ann@example.com")
		// A code is good only for its own state.
		s.step(app, "code", map[string]any{"code": code, "state": s.newState()}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
		sess := sessionOf(t, s.step(app, "code", map[string]any{"code": code, "state": state}))
		if sess.UserID != ann.ID {
			t.Fatalf("session of %s, want %s", sess.UserID, ann.ID)
		}
		// Single use.
		s.step(app, "code", map[string]any{"code": code, "state": state}).expect(t, http.StatusUnauthorized)
	})
}

func TestEmailCodeAttempts(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	state := s.newState()
	s.step(app, "email", map[string]any{"email": "ann@example.com", "state": state}).expect(t, http.StatusOK)
	code := s.waitCode(t, "ann@example.com")
	for i := range 5 {
		s.step(app, "code", map[string]any{"code": fmt.Sprintf("wrong%d", i), "state": state}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
	}
	// Five wrong guesses spent the code (and banned the account).
	res := s.step(app, "code", map[string]any{"code": code, "state": state})
	if res.Status == http.StatusOK {
		t.Fatalf("the code still worked after 5 wrong attempts: %s", res.Raw)
	}
}

func TestRegulation(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	for range 5 {
		s.passwordLogin(app, "ann@example.com", "wrong password").expect(t, http.StatusUnauthorized)
	}
	res := s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	if res.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// The same for an address nobody has: no way to tell them apart.
	for range 5 {
		s.passwordLogin(app, "nobody@example.com", "wrong password").expect(t, http.StatusUnauthorized)
	}
	s.passwordLogin(app, "nobody@example.com", "wrong password").expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	// The ban ends.
	s.clock.Advance(16 * time.Minute)
	sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
}

func TestRefreshAndLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		first := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))

		s.clock.Advance(time.Minute)
		second := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"t": "refresh-tokens", "token": first.Refresh})))
		if second.SessionID != first.SessionID || second.Refresh == first.Refresh {
			t.Fatalf("refresh = %+v", second)
		}
		// Within the grace window a reuse is a racing tab: 409, session alive.
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": first.Refresh})).expect(t, http.StatusConflict, accounts.CodeRefreshPassed)
		// The refresh cookie works too.
		req := s.newRequest(app, "POST", "/sessions/refresh", nil)
		req.AddCookie(&http.Cookie{Name: "authgw-refresh", Value: second.Refresh})
		third := sessionOf(t, s.raw(req))

		// After the grace window a reuse is a replay: the session dies.
		s.clock.Advance(time.Minute)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": second.Refresh})).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
		got, err := s.d.GetSession(s.ctx, first.SessionID)
		if err != nil || got.InvalidatedReason != "refresh-reuse" {
			t.Fatalf("session = %+v, %v", got, err)
		}
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": third.Refresh})).expect(t, http.StatusUnauthorized)
		// The gateway refuses its tokens once it polled the feed.
		s.withMacaroon(app, third, "GET", "/users/current", nil).expect(t, http.StatusOK)
		s.pollRevocations()
		s.withMacaroon(app, third, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)

		// Logout of the caller's own session, with its own token.
		s.clock.Advance(time.Second)
		other := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		out := s.withMacaroon(app, other, "POST", "/sessions/logout", nil).expect(t, http.StatusOK)
		cleared := 0
		for _, c := range (&http.Response{Header: out.Header}).Cookies() {
			if c.MaxAge < 0 && c.Value == "" {
				cleared++
			}
		}
		if cleared != 16 {
			t.Fatalf("logout cleared %d cookies, want 16 (5 methods' token, step-up and discharge + refresh): %v", cleared, out.Header.Values("Set-Cookie"))
		}
		s.pollRevocations()
		s.withMacaroon(app, other, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": other.Refresh})).expect(t, http.StatusUnauthorized)
	})
}

func TestLogoutByRefreshTokenAndSessionID(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann, bob := s.user("Ann"), s.user("Bob")
	app := s.client(s.org("Home", ann))
	a1 := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	a2 := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	b1 := sessionOf(t, s.passwordLogin(app, "bob@example.com", testPassword))

	// Bob cannot end Ann's session by its ID: 404.
	s.withMacaroon(app, b1, "POST", "/sessions/logout", []map[string]any{{"t": "sessions", "value": a1.SessionID}}).expect(t, http.StatusNotFound)
	// Ann ends her other session by ID, and it is not her current one:
	// her cookies stay.
	// (With a proof of the user: a token alone does not end her others.)
	out := s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": []map[string]any{{"t": "sessions", "value": a2.SessionID}},
		"currentPassword": testPassword}).expect(t, http.StatusOK)
	if len(out.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("logout of another session cleared cookies: %v", out.Header.Values("Set-Cookie"))
	}
	// A refresh token is proof enough.
	s.withMacaroon(app, b1, "POST", "/sessions/logout", []map[string]any{{"t": "refresh-tokens", "value": a1.Refresh}}).expect(t, http.StatusOK)
	for _, id := range []string{a1.SessionID, a2.SessionID} {
		if got, _ := s.d.GetSession(s.ctx, id); got.InvalidatedMs == 0 {
			t.Fatalf("session %s still live", id)
		}
	}
	if got, _ := s.d.GetSession(s.ctx, b1.SessionID); got.InvalidatedMs != 0 {
		t.Fatal("Bob's session ended")
	}
	_ = bob
}

// oathtool returns the TOTP code of the base32 secret at t from oathtool,
// an implementation independent of authgw's.
var oathtool = totptest.Code

func TestTOTPLogin(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))

		// Enrol, then confirm with a code from oathtool.
		en := s.withMacaroon(app, sess, "POST", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
		secret, _ := en.data()["secret"].(string)
		if secret == "" || !strings.HasPrefix(en.data()["uri"].(string), "otpauth://totp/") || !strings.HasPrefix(en.data()["qr"].(string), "data:image/png;base64,") {
			t.Fatalf("enrolment = %s", en.Raw)
		}
		s.withMacaroon(app, sess, "POST", "/users/current/totp/confirm", map[string]any{"totp": "000000"}).expect(t, http.StatusUnauthorized, accounts.CodeTOTPInvalid)
		code := oathtool(t, secret, s.clock.Now())
		s.withMacaroon(app, sess, "POST", "/users/current/totp/confirm", map[string]any{"totp": code}).expect(t, http.StatusOK)

		// The password now leads to the totp step, with a flow code.
		s.clock.Advance(30 * time.Second)
		state := s.newState()
		next := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
		flow, _ := next.data()["code"].(string)
		if next.Body["t"] != "step" || next.data()["step"] != "totp" || flow == "" {
			t.Fatalf("password step with TOTP = %s", next.Raw)
		}
		// The confirm code's step is spent: the same code cannot log in.
		s.step(app, "totp", map[string]any{"code": flow, "totp": code, "state": state}).expect(t, http.StatusUnauthorized, accounts.CodeTOTPInvalid)
		now := oathtool(t, secret, s.clock.Now())
		// The flow code is bound to its state.
		s.step(app, "totp", map[string]any{"code": flow, "totp": now, "state": s.newState()}).expect(t, http.StatusUnauthorized, accounts.CodeCodeInvalid)
		sessionOf(t, s.step(app, "totp", map[string]any{"code": flow, "totp": now, "state": state}))

		// A used step is never accepted twice, even in a new login.
		state2 := s.newState()
		flow2, _ := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state2}).data()["code"].(string)
		s.step(app, "totp", map[string]any{"code": flow2, "totp": now, "state": state2}).expect(t, http.StatusUnauthorized, accounts.CodeTOTPInvalid)
		// The email code path goes through totp as well.
		state3 := s.newState()
		s.step(app, "email", map[string]any{"email": "ann@example.com", "state": state3}).expect(t, http.StatusOK)
		mailed := s.waitCode(t, "ann@example.com")
		viaCode := s.step(app, "code", map[string]any{"code": mailed, "state": state3}).expect(t, http.StatusOK)
		if viaCode.data()["step"] != "totp" {
			t.Fatalf("code step with TOTP = %s", viaCode.Raw)
		}

		// Turning TOTP off needs the password again.
		s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"password": "wrong"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
		s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"password": testPassword}).expect(t, http.StatusOK)
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	})
}

// waitCode waits for the next code mailed to the address (login codes are
// sent in the background) and returns it. It counts the messages to that
// address seen so far, so each call returns a new one.
func (s *stack) waitCode(t testing.TB, to string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		codes := s.mailedCodes(t, to)
		if n := len(codes); n > s.codesSeen[to] {
			s.codesSeen[to] = n
			return codes[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new code mailed to %s within 5 s", to)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mailedCodes returns the codes mailed to the address, oldest first (the
// file notifier names files by time, then randomness; same-millisecond
// files are ordered by their Date header's order of writing, which the
// tests avoid by waiting for each code).
func (s *stack) mailedCodes(t testing.TB, to string) []string {
	t.Helper()
	entries, err := os.ReadDir(s.mail)
	if err != nil {
		t.Fatal(err)
	}
	type found struct {
		mod  time.Time
		code string
	}
	var all []found
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		h, body := notifytest.ReadEML(t, filepath.Join(s.mail, e.Name()))
		if h.Get("To") != to {
			continue
		}
		m := codePattern.FindStringSubmatch(body)
		if m == nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, found{info.ModTime(), m[1]})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].mod.Before(all[j].mod) })
	codes := make([]string, len(all))
	for i, f := range all {
		codes[i] = f.code
	}
	return codes
}

// codePattern finds a code in a mailed message: 26 base32 characters.
var codePattern = regexp.MustCompile(`code is: ([a-z2-7]{26})`)

func TestRehashOnLogin(t *testing.T) {
	legacy, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	stronger := fastPassword
	stronger.Time = 2
	old, err := password.Hash(testPassword, stronger, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		givenHash  string
		expectSame bool
	}{
		{name: "imported bcrypt hash is replaced by argon2id", givenHash: string(legacy)},
		{name: "argon2id with other parameters is rehashed", givenHash: old},
		{name: "current parameters are kept", givenHash: testHash(), expectSame: true},
	}
	s := newStack(t, dbtest.SQLite(t), nil)
	owner := s.user("Owner")
	app := s.client(s.org("Home", owner))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := s.user(fmt.Sprintf("User%d", i))
			if err := s.d.SetPasswordHash(s.ctx, u.ID, tt.givenHash, 1); err != nil {
				t.Fatal(err)
			}
			sessionOf(t, s.passwordLogin(app, strings.ToLower(u.Name)+"@example.com", testPassword))
			got, err := s.d.GetUser(s.ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (got.PasswordHash == tt.givenHash) != tt.expectSame {
				t.Fatalf("hash after login %q, before %q", got.PasswordHash, tt.givenHash)
			}
			if ok, rehash, err := password.Verify(testPassword, got.PasswordHash, fastPassword); !ok || rehash || err != nil {
				t.Fatalf("stored hash verifies %v, needs rehash %v, %v", ok, rehash, err)
			}
			// The new hash logs in too.
			sessionOf(t, s.passwordLogin(app, strings.ToLower(u.Name)+"@example.com", testPassword))
		})
	}
}

func TestLoginRefusals(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	owner := s.user("Owner")
	home := s.org("Home", owner)
	app, other := s.client(home), s.client(home)

	t.Run("a banned user", func(t *testing.T) {
		u := s.user("Banned")
		if err := s.d.BanUser(s.ctx, u.ID, 1); err != nil {
			t.Fatal(err)
		}
		s.passwordLogin(app, "banned@example.com", testPassword).expect(t, http.StatusUnauthorized, accounts.CodeUserBanned)
	})
	t.Run("an expired email code", func(t *testing.T) {
		s.user("Late")
		state := s.newState()
		s.step(app, "email", map[string]any{"email": "late@example.com", "state": state}).expect(t, http.StatusOK)
		code := s.waitCode(t, "late@example.com")
		s.clock.Advance(11 * time.Minute)
		s.step(app, "code", map[string]any{"code": code, "state": state}).expect(t, http.StatusUnauthorized, accounts.CodeCodeExpired)
	})
	t.Run("a malformed state", func(t *testing.T) {
		res := s.step(app, "password", map[string]any{"email": "owner@example.com", "password": testPassword, "state": "not-hex"})
		res.expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		if got := res.obstructionFields(); !equal(got, []string{"state"}) {
			t.Fatalf("obstructions on %v", got)
		}
	})
	t.Run("an unknown step", func(t *testing.T) {
		s.step(app, "magic", map[string]any{"state": s.newState()}).expect(t, http.StatusNotFound)
	})
	t.Run("a refresh through another client", func(t *testing.T) {
		sess := sessionOf(t, s.passwordLogin(app, "owner@example.com", testPassword))
		s.raw(s.newRequest(other, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
		// The token was not spent by the refused attempt.
		sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})))
	})
	t.Run("a refresh after the session's end", func(t *testing.T) {
		sess := sessionOf(t, s.passwordLogin(app, "owner@example.com", testPassword))
		s.clock.Advance(25 * time.Hour)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})).expect(t, http.StatusUnauthorized, accounts.CodeSessionExpired)
	})
	t.Run("a refresh of a deleted user", func(t *testing.T) {
		u := s.user("Gone")
		sess := sessionOf(t, s.passwordLogin(app, "gone@example.com", testPassword))
		if err := s.d.DeleteUser(s.ctx, u.ID, db.Revoking{AtMs: s.clock.Now().UnixMilli(), ExpiresMs: s.clock.Now().Add(time.Hour).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": sess.Refresh})).expect(t, http.StatusUnauthorized)
	})
	t.Run("a garbage refresh token", func(t *testing.T) {
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": "nope"})).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", nil)).expect(t, http.StatusBadRequest)
	})
}

// TestBanRevokesSessions: a sysadmin's ban disables the account: its
// sessions end (the gateway refuses their tokens after its poll), it
// cannot log in, and an unban lets it in again. Nobody else bans, and a
// sysadmin never bans themselves.
func TestBanRevokesSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		ann, bob := s.user("Ann"), s.user("Bob")
		app := s.client(s.org("Home", admin))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		s.clock.Advance(time.Second)

		s.do(by(app, bob), "PATCH", "/users/"+ann.ID, map[string]any{"banned": true}).expect(t, http.StatusNotFound)
		s.do(by(app, ann), "PATCH", "/users/current", map[string]any{"banned": false}).expect(t, http.StatusForbidden)
		s.do(by(app, admin), "PATCH", "/users/current", map[string]any{"banned": true}).expect(t, http.StatusForbidden)
		res := s.do(by(app, admin), "PATCH", "/users/"+ann.ID, map[string]any{"banned": true}).expect(t, http.StatusOK)
		if res.data()["bannedMs"] == nil {
			t.Fatalf("ban answer %s", res.Raw)
		}
		if got, _ := d.GetSession(s.ctx, sess.SessionID); got.InvalidatedReason != "banned" {
			t.Fatalf("session after the ban: %+v", got)
		}
		s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized, accounts.CodeUserBanned)
		s.pollRevocations()
		s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusUnauthorized, accounts.CodeUserBanned)

		s.clock.Advance(time.Second)
		s.do(by(app, admin), "PATCH", "/users/"+ann.ID, map[string]any{"banned": false}).expect(t, http.StatusOK)
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	})
}

// TestHashSlots: with one hashing slot, concurrent logins queue for it
// and all succeed (slots are released, including on failures).
func TestHashSlots(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.MaxConcurrentHashes = 1 })
	owner := s.user("Owner")
	app := s.client(s.org("Home", owner))
	s.passwordLogin(app, "owner@example.com", "wrong password").expect(t, http.StatusUnauthorized)
	statuses := make(chan int, 8)
	for range 8 {
		go func() {
			statuses <- s.raw(s.newRequest(app, "POST", "/sessions/login/password",
				map[string]any{"email": "owner@example.com", "password": testPassword, "state": s.newState()})).Status
		}()
	}
	for range 8 {
		if got := <-statuses; got != http.StatusOK {
			t.Fatalf("a concurrent login answered %d", got)
		}
	}
}

// TestRegulationConcurrentGuesses: guesses sent at once, queued for the
// one hashing slot, cannot each be checked: the ban is read again in the
// slot and each failure recorded before the slot is let go.
func TestRegulationConcurrentGuesses(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.MaxConcurrentHashes = 1 })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	const n = 30
	statuses := make(chan int, n)
	for i := range n {
		pw := fmt.Sprintf("wrong password %d", i)
		if i == n-1 {
			pw = testPassword
		}
		go func() {
			statuses <- s.raw(s.newRequest(app, "POST", "/sessions/login/password",
				map[string]any{"email": "ann@example.com", "password": pw, "state": s.newState()})).Status
		}()
	}
	wrong := 0
	for range n {
		switch got := <-statuses; got {
		case http.StatusTooManyRequests, http.StatusOK:
		case http.StatusUnauthorized:
			wrong++
		default:
			t.Fatalf("a guess answered %d", got)
		}
	}
	if wrong > 5 {
		t.Fatalf("%d of %d concurrent wrong guesses were checked, want at most 5 (the account's limit)", wrong, n)
	}
}

// TestChangePasswordRegulated: the current password of change-password
// is a guess like a login's, limited the same way.
func TestChangePasswordRegulated(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	path := "/users/" + ann.ID + "/change-password"
	for i := range 5 {
		s.do(as{client: app, user: &ann}, "POST", path, map[string]any{"currentPassword": fmt.Sprintf("guess %d", i), "newPassword": "a brand new passphrase"}).
			expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
	}
	res := s.do(as{client: app, user: &ann}, "POST", path, map[string]any{"currentPassword": testPassword, "newPassword": "a brand new passphrase"})
	res.expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	// The ban ends; the right password then works.
	s.clock.Advance(16 * time.Minute)
	s.do(as{client: app, user: &ann}, "POST", path, map[string]any{"currentPassword": testPassword, "newPassword": "a brand new passphrase"}).expect(t, http.StatusOK)
}

// refusingNotifier fails every message the way an SMTP server refusing a
// recipient does: its reply quotes the address.
type refusingNotifier struct{}

func (refusingNotifier) Send(_ context.Context, m notify.Message) error {
	return fmt.Errorf("smtp: 550 5.1.1 <%s>: Recipient address rejected", m.To)
}

// TestMailFailureLogsNoAddress: a failed login-code mail is logged
// without the address the server quoted.
func TestMailFailureLogsNoAddress(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.Notifier = refusingNotifier{} })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	s.step(app, "email", map[string]any{"email": "ann@example.com", "state": s.newState()}).expect(t, http.StatusOK)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.logs.String(), "sending a login code failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no failure logged:\n%s", s.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if logs := s.logs.String(); strings.Contains(logs, "ann@example.com") || !strings.Contains(logs, "<address>") {
		t.Errorf("the log holds the address, or not the scrubbed reply:\n%s", logs)
	}
}
