package accounts_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestEndToEnd walks a user's life through the real gateway, on SQLite
// and MariaDB: register, verify the address, log in with the password,
// enrol TOTP, log out, log in with password and TOTP, call a backend with
// the cookies, refresh, replay the old refresh token (the session is
// revoked), and the tokens stop working at the gateway.
func TestEndToEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		owner := s.user("Owner")
		app := s.client(s.org("Home", owner))

		backendCalls := 0
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			backendCalls++
			if r.Header.Get("X-Auth-Info") == "" || r.Header.Get("Cookie") != "" && containsText([]byte(r.Header.Get("Cookie")), "authgw-") {
				t.Errorf("backend got no request info, or the token cookies: %v", r.Header)
			}
			// The user's roles reach the backend from the token's
			// user-roles caveat: the gateway read no database for them.
			claims, err := requestinfo.FromRequest(r, s.info)
			if err != nil || claims.User == nil || !slices.Equal(claims.User.Roles, []string{"user"}) {
				t.Errorf("backend's request info: %+v, %v; want user roles [user]", claims.User, err)
			}
			w.Write([]byte(`{"hello":"from the backend"}`))
		}))
		defer backend.Close()
		if err := d.CreateAPI(s.ctx, db.API{Name: "demo", Version: 1, URL: backend.URL, Active: true, CreatedMs: 1}); err != nil {
			t.Fatal(err)
		}
		s.refresh()

		// 1. Register with a password: the answer is a session.
		const pw = "my own long passphrase"
		reg := s.raw(s.newRequest(app, "POST", "/users", map[string]any{"name": "Eve", "email": "eve@example.com", "password": pw}))
		reg.expect(t, http.StatusCreated)
		first := sessionOf(t, okStatus(reg))

		// 2. Verify the address with the mailed code.
		emails := s.withMacaroon(app, first, "GET", "/users/current/emails", nil).expect(t, http.StatusOK).list()
		if len(emails) != 1 || emails[0]["verifiedMs"] != nil {
			t.Fatalf("emails = %v", emails)
		}
		code := s.lastCode(t, "eve@example.com")
		s.withMacaroon(app, first, "POST", "/users/current/emails/"+emails[0]["id"].(string)+"/verify", map[string]any{"code": code}).expect(t, http.StatusOK)

		// 3. Log out, log in with the password.
		s.withMacaroon(app, first, "POST", "/sessions/logout", nil).expect(t, http.StatusOK)
		s.clock.Advance(time.Second)
		second := sessionOf(t, s.passwordLogin(app, "eve@example.com", pw))

		// 4. Enrol TOTP, confirm with oathtool's code, log out.
		en := s.withMacaroon(app, second, "POST", "/users/current/totp", map[string]any{"currentPassword": pw}).expect(t, http.StatusCreated)
		secret := en.data()["secret"].(string)
		s.withMacaroon(app, second, "POST", "/users/current/totp/confirm", map[string]any{"totp": oathtool(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
		s.withMacaroon(app, second, "POST", "/sessions/logout", nil).expect(t, http.StatusOK)

		// 5. Log in with password, then TOTP (a new 30 s step).
		s.clock.Advance(30 * time.Second)
		state := s.newState()
		next := s.step(app, "password", map[string]any{"email": "eve@example.com", "password": pw, "state": state}).expect(t, http.StatusOK)
		if next.data()["step"] != "totp" {
			t.Fatalf("password step = %s", next.Raw)
		}
		res := s.step(app, "totp", map[string]any{"code": next.data()["code"], "totp": oathtool(t, secret, s.clock.Now()), "state": state})
		third := sessionOf(t, res)
		cookies := res.cookies()

		// 6. Call the backend through the gateway with the cookies.
		callBackend := func() int {
			req, err := http.NewRequest("GET", s.srv.URL+"/demo/v1/hello", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(app.ID, app.Secret)
			req.AddCookie(cookies["authgw-get"])
			return s.raw(req).Status
		}
		if got := callBackend(); got != http.StatusOK || backendCalls != 1 {
			t.Fatalf("backend call = %d (%d calls)", got, backendCalls)
		}

		// 7. Refresh, then replay the old refresh token after the grace.
		s.clock.Advance(time.Minute)
		fourth := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": third.Refresh})))
		s.clock.Advance(time.Minute)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": third.Refresh})).expect(t, http.StatusUnauthorized)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": fourth.Refresh})).expect(t, http.StatusUnauthorized)

		// 8. The gateway learns of the revocation from the feed: every
		// token of the session stops working.
		s.pollRevocations()
		if got := callBackend(); got != http.StatusUnauthorized {
			t.Fatalf("backend call after revocation = %d, want 401", got)
		}
		s.withMacaroon(app, fourth, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		if backendCalls != 1 {
			t.Fatalf("backend reached %d times", backendCalls)
		}
	})
}

// okStatus lets sessionOf read a 201 session answer.
func okStatus(r response) response {
	r.Status = http.StatusOK
	return r
}

// cookies returns the answer's Set-Cookie cookies by name.
func (r response) cookies() map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		out[c.Name] = c
	}
	return out
}
