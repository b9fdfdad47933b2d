package accounts_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// totpAt computes the RFC 6238 code of the base32 secret at t, without
// oathtool, so these tests always run.
var totpAt = totptest.At

// wrongTOTP returns n six-digit codes none of which is valid around at.
func wrongTOTP(t testing.TB, secret string, at time.Time, n int) []string {
	t.Helper()
	valid := map[string]bool{}
	for d := -2; d <= 2; d++ {
		valid[totpAt(t, secret, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", 100000+i*7919); !valid[c] {
			out = append(out, c)
		}
	}
	return out
}

// enrolTOTPFor enrols and, when confirm, turns on TOTP for the session's
// user through the API, and returns the secret.
func (s *stack) enrolTOTPFor(t testing.TB, app appClient, sess session, confirm bool) string {
	t.Helper()
	en := s.withMacaroon(app, sess, "POST", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
	secret, _ := en.data()["secret"].(string)
	if secret == "" {
		t.Fatalf("enrolment = %s", en.Raw)
	}
	if confirm {
		s.withMacaroon(app, sess, "POST", "/users/current/totp/confirm", map[string]any{"totp": totpAt(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
		// The confirm code's step is spent: later checks use the next ones.
		s.clock.Advance(30 * time.Second)
	}
	return secret
}

// TestGuessesRegulatedConcurrently: every check of a password, TOTP code
// or code a person could guess goes through one regulated path. Thirty
// wrong guesses sent at once, with one hashing slot, cannot each be
// checked (the ban is read again once the slot is held, and each failure
// recorded before it is let go): at most the account's limit (5) are, the
// others answer 429; then the right secret is refused while the ban
// lasts, and works once it ends.
func TestGuessesRegulatedConcurrently(t *testing.T) {
	type guessing struct {
		method, path string
		wrong        []map[string]any
		right        map[string]any
		wrongStatus  int
	}
	const n = 30
	tests := []struct {
		name  string
		given func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing
	}{
		{
			name: "DELETE totp with the password",
			given: func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing {
				s.enrolTOTPFor(t, app, sess, true)
				g := guessing{method: "DELETE", path: "/users/current/totp", wrongStatus: http.StatusForbidden,
					right: map[string]any{"password": testPassword}}
				for i := range n {
					g.wrong = append(g.wrong, map[string]any{"password": fmt.Sprintf("wrong password %d", i)})
				}
				return g
			},
		},
		{
			name: "DELETE totp with a TOTP code",
			given: func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing {
				secret := s.enrolTOTPFor(t, app, sess, true)
				g := guessing{method: "DELETE", path: "/users/current/totp", wrongStatus: http.StatusForbidden,
					right: map[string]any{"totp": totpAt(t, secret, s.clock.Now())}}
				for _, c := range wrongTOTP(t, secret, s.clock.Now(), n) {
					g.wrong = append(g.wrong, map[string]any{"totp": c})
				}
				return g
			},
		},
		{
			name: "confirm totp",
			given: func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing {
				secret := s.enrolTOTPFor(t, app, sess, false)
				g := guessing{method: "POST", path: "/users/current/totp/confirm", wrongStatus: http.StatusUnauthorized,
					right: map[string]any{"totp": totpAt(t, secret, s.clock.Now())}}
				for _, c := range wrongTOTP(t, secret, s.clock.Now(), n) {
					g.wrong = append(g.wrong, map[string]any{"totp": c})
				}
				return g
			},
		},
		{
			name: "change-password",
			given: func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing {
				g := guessing{method: "POST", path: "/users/current/change-password", wrongStatus: http.StatusForbidden,
					right: map[string]any{"currentPassword": testPassword, "newPassword": "a brand new passphrase"}}
				for i := range n {
					g.wrong = append(g.wrong, map[string]any{"currentPassword": fmt.Sprintf("wrong password %d", i), "newPassword": "a brand new passphrase"})
				}
				return g
			},
		},
		{
			name: "add an address",
			given: func(t *testing.T, s *stack, app appClient, sess session, u db.User) guessing {
				g := guessing{method: "POST", path: "/users/current/emails", wrongStatus: http.StatusForbidden,
					right: map[string]any{"type": "emails", "email": "second@example.com", "currentPassword": testPassword}}
				for i := range n {
					g.wrong = append(g.wrong, map[string]any{"type": "emails", "email": "second@example.com", "currentPassword": fmt.Sprintf("wrong password %d", i)})
				}
				return g
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.MaxConcurrentHashes = 1 })
			ann := s.user("Ann")
			app := s.client(s.org("Home", ann))
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			g := tt.given(t, s, app, sess, ann)

			statuses := make(chan response, len(g.wrong))
			for _, body := range g.wrong {
				// Built here: newRequest may fail the test, which only the
				// test's goroutine may do.
				req := s.newRequest(app, g.method, g.path, body)
				req.Header.Set("Authorization", req.Header.Get("Authorization")+", Macaroon "+sess.Macaroons[g.method])
				go func() { statuses <- s.tryRaw(req) }()
			}
			checked := 0
			for range g.wrong {
				switch res := <-statuses; res.Status {
				case g.wrongStatus:
					checked++
				case http.StatusTooManyRequests:
					if res.code() != accounts.CodeRegulated || res.Header.Get("Retry-After") == "" {
						t.Fatalf("a refused guess = %d %s %v", res.Status, res.Raw, res.Header)
					}
				default:
					t.Fatalf("a wrong guess answered %d: %s", res.Status, res.Raw)
				}
			}
			if checked > 5 {
				t.Fatalf("%d of %d concurrent wrong guesses were checked, want at most 5 (the account's limit)", checked, len(g.wrong))
			}
			s.withMacaroon(app, sess, g.method, g.path, g.right).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
		})
	}
}

// tryRaw is raw for another goroutine than the test's: a transport or
// decoding failure is an answer of status 0 with the error as its Raw,
// not a t.Fatal.
func (s *stack) tryRaw(req *http.Request) response {
	res, err := s.srv.Client().Do(req)
	if err != nil {
		return response{Raw: []byte(err.Error())}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return response{Raw: []byte(err.Error())}
	}
	out := response{Status: res.StatusCode, Header: res.Header, Raw: body}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out.Body); err != nil {
			return response{Raw: []byte("answer is not JSON: " + string(body))}
		}
	}
	return out
}
