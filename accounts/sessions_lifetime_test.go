package accounts_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/policy"
)

// Session lifetimes and bindings (issue 13): absolute end, inactivity,
// a new login ending the browser's old session, the client's secret at
// refresh, fresh proof to end other sessions.

// refreshAs refreshes the session's refresh token through the client.
func (s *stack) refreshAs(c appClient, refresh string) response {
	s.t.Helper()
	return s.raw(s.newRequest(c, "POST", "/sessions/refresh", map[string]any{"t": "refresh-tokens", "token": refresh}))
}

// macaroonsExpireAt reads the tokens' time-before of a session answer.
func macaroonsExpireAt(t testing.TB, r response) int64 {
	t.Helper()
	var out struct {
		Data struct {
			MacaroonsExpireAt int64 `json:"macaroonsExpireAt"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Raw, &out); err != nil {
		t.Fatal(err)
	}
	return out.Data.MacaroonsExpireAt
}

// TestRefreshTokensEndWithSession: tokens minted at a refresh near the
// session's absolute end expire with the session, not a policy lifetime
// later (ASVS 7.3.2).
func TestRefreshTokensEndWithSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		// Keep the session in use up to 59 s before its end.
		end := time.UnixMilli(sess.ExpiresAt)
		for s.clock.Now().Add(time.Hour).Before(end.Add(-59 * time.Second)) {
			s.clock.Advance(time.Hour)
			sess = sessionOf(t, s.refreshAs(app, sess.Refresh))
		}
		s.clock.Advance(end.Add(-59 * time.Second).Sub(s.clock.Now()))
		res := s.refreshAs(app, sess.Refresh)
		last := sessionOf(t, res)
		got := macaroonsExpireAt(t, res)
		if got == 0 || got > last.ExpiresAt || last.ExpiresAt != sess.ExpiresAt {
			t.Fatalf("tokens expire at %d, the session at %d (was %d): tokens outlive the session", got, last.ExpiresAt, sess.ExpiresAt)
		}
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			if c.Value != "" && c.Expires.After(end) {
				t.Fatalf("cookie %s expires at %v, after the session's end %v", c.Name, c.Expires, end)
			}
		}
		// Under a second left: the session has ended.
		s.clock.Advance(58*time.Second + 500*time.Millisecond)
		s.refreshAs(app, last.Refresh).expect(t, http.StatusUnauthorized, accounts.CodeSessionExpired)
	})
}

// TestSessionIdleTimeout: a refresh token left unused past the
// inactivity timeout ends its session (ASVS 7.3.1); one used within it
// keeps the session going.
func TestSessionIdleTimeout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, func(c *accounts.Config) { c.SessionIdleTimeout = 2 * time.Hour })
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		// Used every 1 h 59 min: the session lives.
		for range 3 {
			s.clock.Advance(2*time.Hour - time.Minute)
			sess = sessionOf(t, s.refreshAs(app, sess.Refresh))
		}
		s.clock.Advance(2 * time.Hour)
		res := s.refreshAs(app, sess.Refresh).expect(t, http.StatusUnauthorized, accounts.CodeSessionExpired)
		if len(res.Header.Values("Set-Cookie")) == 0 {
			t.Fatal("the idle session's cookies were not cleared")
		}
		got, err := s.d.GetSession(s.ctx, sess.SessionID)
		if err != nil || got.InvalidatedMs == 0 || got.InvalidatedReason != "idle" {
			t.Fatalf("session = %+v, %v; want invalidated for idle", got, err)
		}
		// Ended, not just refused: the clock going back changes nothing.
		s.clock.Advance(-time.Hour)
		s.refreshAs(app, sess.Refresh).expect(t, http.StatusUnauthorized)
	})
}

// TestSessionIdleTimeoutConfig: the default, and a timeout shorter than
// the tokens' lifetime (it would end sessions in use) refused.
func TestSessionIdleTimeoutConfig(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	s.clock.Advance(accounts.DefaultSessionIdleTimeout)
	s.refreshAs(app, sess.Refresh).expect(t, http.StatusUnauthorized, accounts.CodeSessionExpired)

	notifier, err := notify.NewFile(notify.FileConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.NewSet(s.policy)
	if err != nil {
		t.Fatal(err)
	}
	_, err = accounts.New(accounts.Config{Store: s.d, Notifier: notifier, Minter: s.minter,
		Policies: func() *policy.Set { return set }, MaxTokenLifetime: time.Hour, SessionIdleTimeout: 30 * time.Minute})
	if err == nil {
		t.Fatal("an idle timeout shorter than the tokens' lifetime was accepted")
	}
}

// TestLoginEndsBrowsersSession: a login from a browser that holds a
// session (its refresh cookie, or its token cookies) ends that session:
// its refresh token and tokens stop working (ASVS 7.2.4). A login
// without it (a program keeping its refresh tokens) ends nothing.
func TestLoginEndsBrowsersSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann, bob := s.user("Ann"), s.user("Bob")
		app := s.client(s.org("Home", ann))
		login := func(email string, cookies ...*http.Cookie) session {
			t.Helper()
			req := s.newRequest(app, "POST", "/sessions/login/password", map[string]any{"email": email, "password": testPassword, "state": s.newState()})
			for _, c := range cookies {
				req.AddCookie(c)
			}
			return sessionOf(t, s.raw(req))
		}
		ended := func(old session) {
			t.Helper()
			got, err := s.d.GetSession(s.ctx, old.SessionID)
			if err != nil || got.InvalidatedReason != "new-login" {
				t.Fatalf("old session = %+v, %v; want ended by the new login", got, err)
			}
			s.refreshAs(app, old.Refresh).expect(t, http.StatusUnauthorized)
			s.pollRevocations()
			s.withMacaroon(app, old, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		}

		// The refresh cookie: even when another user logs in.
		first := login("ann@example.com")
		second := login("bob@example.com", &http.Cookie{Name: "authgw-refresh", Value: first.Refresh})
		ended(first)
		s.withMacaroon(app, second, "GET", "/users/current", nil).expect(t, http.StatusOK)

		// No cookie: the sessions stand side by side.
		fourth := login("bob@example.com")
		if got, _ := s.d.GetSession(s.ctx, second.SessionID); got.InvalidatedMs != 0 {
			t.Fatal("a login without the browser's cookie ended another session")
		}
		// A failed login ends nothing.
		req := s.newRequest(app, "POST", "/sessions/login/password", map[string]any{"email": "bob@example.com", "password": "wrong", "state": s.newState()})
		req.AddCookie(&http.Cookie{Name: "authgw-refresh", Value: fourth.Refresh})
		s.raw(req).expect(t, http.StatusUnauthorized)
		if got, _ := s.d.GetSession(s.ctx, fourth.SessionID); got.InvalidatedMs != 0 {
			t.Fatal("a failed login ended the browser's session")
		}
		_, _ = ann, bob
	})
}

// TestRefreshNeedsTheLoginsSecret: a session whose login came with the
// client's secret refreshes only with it; the client ID alone is refused
// and does not spend the token. A login with the client ID alone (a
// browser app) refreshes with the ID alone, as before.
func TestRefreshNeedsTheLoginsSecret(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		idOnly := func(req *http.Request) *http.Request {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(app.ID)))
			return req
		}
		refreshIDOnly := func(refresh string) response {
			return s.raw(idOnly(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": refresh})))
		}

		withSecret := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		refreshIDOnly(withSecret.Refresh).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
		// The refused attempt spent nothing: the secret still refreshes.
		next := sessionOf(t, s.refreshAs(app, withSecret.Refresh))
		refreshIDOnly(next.Refresh).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)

		s.clock.Advance(time.Second)
		browser := sessionOf(t, s.raw(idOnly(s.newRequest(app, "POST", "/sessions/login/password",
			map[string]any{"email": "ann@example.com", "password": testPassword, "state": s.newState()}))))
		sessionOf(t, refreshIDOnly(browser.Refresh))
	})
}

// TestLogoutOfOtherSessionsNeedsProof: ending one's other sessions by ID
// needs a fresh proof of the user (ASVS 7.5.2); one's own session, a
// session named by its refresh token, and SESSADM need none.
func TestLogoutOfOtherSessionsNeedsProof(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		a1 := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		a2 := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		a3 := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		live := func(id string) bool {
			got, err := s.d.GetSession(s.ctx, id)
			return err == nil && got.InvalidatedMs == 0
		}
		other := []map[string]any{{"t": "sessions", "value": a2.SessionID}}

		// The token alone (a thief's): refused, nothing ended.
		res := s.withMacaroon(app, a1, "POST", "/sessions/logout", other).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		if f := res.obstructionFields(); len(f) != 1 || f[0] != "currentPassword" {
			t.Fatalf("obstructions on %v, want currentPassword", f)
		}
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": other}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": other, "currentPassword": "wrong password"}).
			expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
		if !live(a2.SessionID) || !live(a1.SessionID) {
			t.Fatal("a logout without a good proof ended a session")
		}
		// Malformed object bodies are 400, never 500.
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusBadRequest)
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": other, "extra": 1}).expect(t, http.StatusBadRequest)
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": "nope", "currentPassword": testPassword}).expect(t, http.StatusBadRequest)

		// With the password: ended.
		s.withMacaroon(app, a1, "POST", "/sessions/logout", map[string]any{"sessions": other, "currentPassword": testPassword}).expect(t, http.StatusOK)
		if live(a2.SessionID) {
			t.Fatal("the proven logout did not end the session")
		}
		// A refresh token is proof enough; one's own session by ID too.
		s.withMacaroon(app, a1, "POST", "/sessions/logout", []map[string]any{{"t": "refresh-tokens", "value": a3.Refresh}}).expect(t, http.StatusOK)
		s.withMacaroon(app, a1, "POST", "/sessions/logout", []map[string]any{{"t": "sessions", "value": a1.SessionID}}).expect(t, http.StatusOK)
		if live(a3.SessionID) || live(a1.SessionID) {
			t.Fatal("a logout by refresh token or of one's own session did not end it")
		}
	})
}
