package accounts_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/policy"
)

// testPublicURL is the gateway's external origin in the mails' links.
const testPublicURL = "http://127.0.0.1:6546"

// newPassword is the password the recovery tests set.
const newPassword = "a brand new passphrase 2026"

// withPublicURL is a stack modifier that sets Config.PublicURL, then
// applies mod (when not nil).
func withPublicURL(mod func(*accounts.Config)) func(*accounts.Config) {
	return func(c *accounts.Config) {
		c.PublicURL = testPublicURL
		if mod != nil {
			mod(c)
		}
	}
}

// askRecovery asks for a recovery mail to addr through the client.
func (s *stack) askRecovery(app appClient, addr string) response {
	s.t.Helper()
	return s.raw(s.newRequest(app, "POST", "/recovery", map[string]any{"email": addr}))
}

// resetWith sets a new password with a recovery code through the
// client.
func (s *stack) resetWith(app appClient, code, pw string) response {
	s.t.Helper()
	return s.raw(s.newRequest(app, "POST", "/recovery/reset", map[string]any{"code": code, "newPassword": pw}))
}

// recoverySubject is the subject of the recovery mail.
const recoverySubject = "Reset your password"

// recoveryMails returns the recovery mails written to addr, oldest first.
func (s *stack) recoveryMails(t testing.TB, addr string) []sentMail {
	t.Helper()
	return slices.DeleteFunc(s.mailTo(t, addr), func(m sentMail) bool { return m.subject != recoverySubject })
}

// waitRecovery waits for the n-th recovery mail to addr (they are sent
// in the background) and returns its code (alone on its line) and the
// mail.
func (s *stack) waitRecovery(t testing.TB, addr string, n int) (string, sentMail) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ms := s.recoveryMails(t, addr); len(ms) >= n {
			m := ms[n-1]
			found := mailedCode.FindStringSubmatch(m.text)
			if found == nil {
				t.Fatalf("no code alone on its line in the recovery mail: %q", m.text)
			}
			return found[1], m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery mail %d to %s within 5 s", n, addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectNoRecoveryMail waits for the background work and checks that
// addr got no recovery mail beyond the first had.
func (s *stack) expectNoRecoveryMail(t testing.TB, addr string, had int) {
	t.Helper()
	if err := s.svc.Close(); err != nil { // waits for the background mail
		t.Fatal(err)
	}
	if n := len(s.recoveryMails(t, addr)); n != had {
		t.Fatalf("%d recovery mails to %s, want %d", n, addr, had)
	}
}

// expectNoSecretsLogged fails when the log holds one of the secrets.
func (s *stack) expectNoSecretsLogged(t testing.TB, secrets ...string) {
	t.Helper()
	logs := s.logs.String()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// TestRecoveryFlow: forgot password → mail with link and code → new
// password → the old sessions are refused and their revocation
// announced → the new password logs in, the old one no longer does, and
// the code works once; an enrolled TOTP is still asked at the next login.
func TestRecoveryFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var (
			mu      sync.Mutex
			revoked []db.Revocation
		)
		s := newStack(t, d, withPublicURL(func(c *accounts.Config) {
			c.Revoked = func(_ context.Context, r db.Revocation) {
				mu.Lock()
				defer mu.Unlock()
				revoked = append(revoked, r)
			}
		}))
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		old := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		s.withMacaroon(app, old, "GET", "/users/current", nil).expect(t, http.StatusOK)

		res := s.askRecovery(app, "ann@example.com").expect(t, http.StatusAccepted)
		if res.Body["t"] != "null" || res.Header.Get("Cache-Control") == "" {
			t.Fatalf("answer %s (Cache-Control %q), want t=null, not stored", res.Raw, res.Header.Get("Cache-Control"))
		}
		code, m := s.waitRecovery(t, "ann@example.com", 1)
		if link := testPublicURL + "/accounts/v1/ui/recover?code=" + code; !strings.Contains(m.text, link) {
			t.Fatalf("the mail lacks the link %s:\n%s", link, m.text)
		}
		if !strings.Contains(m.text, "20 minutes") {
			t.Fatalf("the mail does not say how long the code lives:\n%s", m.text)
		}
		s.clock.Advance(time.Second)

		t.Run("a weak password is refused with the policy's obstruction", func(t *testing.T) {
			for _, weak := range []string{"short", "password123", "Ann Ann Ann Ann", "ann@example.com"} {
				res := s.resetWith(app, code, weak).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
				if f := res.obstructionFields(); !slices.Equal(f, []string{"newPassword"}) {
					t.Fatalf("%q: obstructions on %v: %s", weak, f, res.Raw)
				}
			}
		})
		t.Run("the reset", func(t *testing.T) {
			res := s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
			if res.Body["t"] != "null" || len(res.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("answer %s with cookies %v, want t=null and no session", res.Raw, res.Header.Values("Set-Cookie"))
			}
		})
		t.Run("old sessions are refused and their revocation announced", func(t *testing.T) {
			s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": old.Refresh})).expect(t, http.StatusUnauthorized)
			s.pollRevocations()
			s.withMacaroon(app, old, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
			mu.Lock()
			defer mu.Unlock()
			if !slices.ContainsFunc(revoked, func(r db.Revocation) bool { return r.Kind == db.RevokeUser && r.Subject == ann.ID }) {
				t.Fatalf("no user revocation announced: %+v", revoked)
			}
		})
		t.Run("the code works once", func(t *testing.T) {
			s.resetWith(app, code, "yet another passphrase 77").expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
		})
		t.Run("the new password logs in, the old one does not", func(t *testing.T) {
			s.clock.Advance(time.Second)
			s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", newPassword))
			s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusOK)
		})
		t.Run("the owner is told", func(t *testing.T) {
			if !slices.ContainsFunc(s.mailTo(t, "ann@example.com"), func(m sentMail) bool { return m.subject == "Your password was changed" }) {
				t.Fatal("no password-changed notice")
			}
		})
		t.Run("with TOTP enrolled the next login still asks it", func(t *testing.T) {
			bob := s.user("Bob")
			sess := sessionOf(t, s.passwordLogin(app, "bob@example.com", testPassword))
			s.enrolTOTPFor(t, app, sess, true)
			s.askRecovery(app, "bob@example.com").expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, "bob@example.com", 1)
			s.clock.Advance(time.Second)
			s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
			s.clock.Advance(time.Second)
			res := s.passwordLogin(app, "bob@example.com", newPassword).expect(t, http.StatusOK)
			if res.Body["t"] != "step" || res.data()["step"] != "totp" {
				t.Fatalf("login after the reset answered %s, want the totp step", res.Raw)
			}
			if u, err := d.GetUser(s.ctx, bob.ID); err != nil || !u.TOTPEnabled {
				t.Fatalf("TOTP after the reset: %+v, %v", u, err)
			}
		})
		s.expectNoSecretsLogged(t, code, "ann@example.com", "bob@example.com")
	})
}

// TestRecoveryAnswersAlike: a known address, an unknown one, an
// unverified one and a banned user's get the same status and body; only
// the verified address of a live user gets a mail.
func TestRecoveryAnswersAlike(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, withPublicURL(nil))
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		s.unverifiedAddress(t, ann, "ann.unverified@example.com")
		s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Rex", "email": "rex@example.com", "password": "rex's long passphrase"}).expect(t, http.StatusCreated)
		banned := s.user("Bert")
		if err := d.BanUser(s.ctx, banned.ID, s.clock.Now().UnixMilli()); err != nil {
			t.Fatal(err)
		}
		want := s.askRecovery(app, "ann@example.com").expect(t, http.StatusAccepted)
		for _, addr := range []string{"nobody@example.com", "ann.unverified@example.com", "rex@example.com", "bert@example.com", "ANN@example.com"} {
			got := s.askRecovery(app, addr)
			if got.Status != want.Status || string(got.Raw) != string(want.Raw) {
				t.Fatalf("%s: %d %s, want %d %s", addr, got.Status, got.Raw, want.Status, want.Raw)
			}
		}
		s.waitRecovery(t, "ann@example.com", 2) // the address in another case is the same address
		for _, addr := range []string{"ann.unverified@example.com", "rex@example.com", "bert@example.com"} {
			s.expectNoRecoveryMail(t, addr, 0)
		}
	})
}

// TestRecoveryTimingDoesNotRevealAccounts: asking for a recovery mail
// for an address with an account and one without takes comparable time
// (the lookup and the mail happen after the answer), as the login email
// step does (see TestLoginTimingDoesNotRevealAccounts).
func TestRecoveryTimingDoesNotRevealAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("timing comparison")
	}
	d := dbtest.SQLite(t)
	s := newStack(t, d, withPublicURL(func(c *accounts.Config) {
		reg, err := regulation.New(regulation.Config{Store: d, MaxCodeRequests: 1000, MaxIPCodeRequests: 1000, Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		c.Regulator = reg
	}))
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	var ratios []float64
	for range 3 {
		ratio := measureRatio(t, 20, 300*time.Millisecond,
			func() response { return s.askRecovery(app, "ann@example.com") },
			func() response { return s.askRecovery(app, "nobody@example.com") })
		ratios = append(ratios, ratio)
		if ratio >= 0.75 && ratio <= 1.33 {
			if len(s.recoveryMails(t, "ann@example.com")) == 0 {
				t.Fatal("no recovery mail was sent: the comparison compared nothing")
			}
			return
		}
	}
	t.Fatalf("answer time with an account ÷ without: %.2f in every attempt, outside 0.75..1.33", ratios)
}

// TestRecoveryCodeLife: a code lives 20 minutes, survives a refused
// password (which counts a try), dies at its 5th try, and a newer code
// of the address replaces it.
func TestRecoveryCodeLife(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		app := s.client(s.org("Home", s.user("Admin")))
		ask := func(t *testing.T, addr string, n int) string {
			t.Helper()
			s.clock.Advance(time.Second)
			s.askRecovery(app, addr).expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, addr, n)
			return code
		}
		t.Run("no link without a public URL", func(t *testing.T) {
			s.user("Lin")
			ask(t, "lin@example.com", 1)
			if m := s.recoveryMails(t, "lin@example.com")[0]; strings.Contains(m.text, "/ui/recover") || strings.Contains(m.text, "http") {
				t.Fatalf("a link without Config.PublicURL:\n%s", m.text)
			}
		})
		t.Run("expired after 20 minutes", func(t *testing.T) {
			s.user("Exp")
			code := ask(t, "exp@example.com", 1)
			s.clock.Advance(20 * time.Minute)
			s.resetWith(app, code, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
		})
		t.Run("good just before 20 minutes", func(t *testing.T) {
			s.user("Late")
			code := ask(t, "late@example.com", 1)
			s.clock.Advance(20*time.Minute - time.Second)
			s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
		})
		t.Run("refused passwords keep the code, up to its tries", func(t *testing.T) {
			s.user("Tries")
			code := ask(t, "tries@example.com", 1)
			for range 4 {
				s.resetWith(app, code, "password").expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
			}
			s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
		})
		t.Run("5 tries kill the code", func(t *testing.T) {
			s.user("Five")
			code := ask(t, "five@example.com", 1)
			for range 5 {
				s.resetWith(app, code, "password").expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
			}
			s.resetWith(app, code, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
		})
		t.Run("a newer code replaces the older", func(t *testing.T) {
			s.user("Twice")
			first := ask(t, "twice@example.com", 1)
			second := ask(t, "twice@example.com", 2)
			s.resetWith(app, first, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
			s.resetWith(app, second, newPassword).expect(t, http.StatusOK)
		})
	})
}

// TestRecoveryCodeBoundToAddress: a code dies with the address it was
// mailed to, and with its account; one account's code resets that
// account only.
func TestRecoveryCodeBoundToAddress(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		t.Run("address removed", func(t *testing.T) {
			second := db.Email{ID: s.id(), UserID: ann.ID, Email: "ann.work@example.com", VerifiedMs: s.clock.Now().UnixMilli(), CreatedMs: s.clock.Now().UnixMilli()}
			if err := d.AddEmail(s.ctx, second); err != nil {
				t.Fatal(err)
			}
			s.askRecovery(app, "ann.work@example.com").expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, "ann.work@example.com", 1)
			s.do(by(app, ann), "DELETE", "/users/current/emails/"+second.ID, nil).expect(t, http.StatusOK)
			s.resetWith(app, code, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
			sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		})
		t.Run("account deleted", func(t *testing.T) {
			carl := s.user("Carl")
			s.askRecovery(app, "carl@example.com").expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, "carl@example.com", 1)
			s.clock.Advance(time.Second)
			if err := d.DeleteUser(s.ctx, carl.ID, db.Revoking{AtMs: s.clock.Now().UnixMilli(), ExpiresMs: s.clock.Now().Add(time.Hour).UnixMilli()}); err != nil {
				t.Fatal(err)
			}
			s.resetWith(app, code, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
		})
		t.Run("user banned after the mail", func(t *testing.T) {
			bea := s.user("Bea")
			s.askRecovery(app, "bea@example.com").expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, "bea@example.com", 1)
			if err := d.BanUser(s.ctx, bea.ID, s.clock.Now().UnixMilli()); err != nil {
				t.Fatal(err)
			}
			s.resetWith(app, code, newPassword).expect(t, http.StatusBadRequest, accounts.CodeRecoveryCodeInvalid)
		})
		t.Run("another account's code resets that account only", func(t *testing.T) {
			s.user("Dan")
			s.user("Eve")
			s.askRecovery(app, "eve@example.com").expect(t, http.StatusAccepted)
			code, _ := s.waitRecovery(t, "eve@example.com", 1)
			s.clock.Advance(time.Second)
			s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
			s.clock.Advance(time.Second)
			sessionOf(t, s.passwordLogin(app, "dan@example.com", testPassword))
			s.passwordLogin(app, "dan@example.com", newPassword).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
			sessionOf(t, s.passwordLogin(app, "eve@example.com", newPassword))
		})
	})
}

// TestRecoveryMailBombing: recovery requests count with the login email
// step's: past the requests one source may make for one address, the
// answer is 429 TOO-MANY-FAILURES, the same for an address without an
// account, and no more mail goes.
func TestRecoveryMailBombing(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	s.user("Vic")
	app := s.client(s.org("Home", s.user("Admin")))
	for _, addr := range []string{"vic@example.com", "nobody@example.com"} {
		for i := range regulation.DefaultMaxCodeRequests {
			s.clock.Advance(time.Second)
			if res := s.askRecovery(app, addr); res.Status != http.StatusAccepted {
				t.Fatalf("%s: request %d answered %d %s", addr, i+1, res.Status, res.Raw)
			}
		}
		res := s.askRecovery(app, addr).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
		if res.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	}
	s.expectNoRecoveryMail(t, "vic@example.com", regulation.DefaultMaxCodeRequests)
	// Login codes count against the same requests.
	s.step(app, "email", map[string]any{"email": "vic@example.com", "state": s.newState()}).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
}

// TestRecoveryWrongCodesRegulated: wrong codes are failures of the
// caller's IP; once banned, even a good code is refused until the ban
// ends, and the code then still works.
func TestRecoveryWrongCodesRegulated(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	s.user("Ann")
	app := s.client(s.org("Home", s.user("Admin")))
	s.askRecovery(app, "ann@example.com").expect(t, http.StatusAccepted)
	code, _ := s.waitRecovery(t, "ann@example.com", 1)
	banned := false
	for i := 0; i < 100 && !banned; i++ {
		res := s.resetWith(app, strings.Repeat("x", 26), newPassword)
		switch {
		case res.Status == http.StatusTooManyRequests && res.code() == accounts.CodeRegulated:
			banned = true
		case res.Status != http.StatusBadRequest || res.code() != accounts.CodeRecoveryCodeInvalid:
			t.Fatalf("wrong code %d answered %d %s", i+1, res.Status, res.Raw)
		}
	}
	if !banned {
		t.Fatal("100 wrong codes and no ban")
	}
	s.resetWith(app, code, newPassword).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	s.clock.Advance(16 * time.Minute)
	s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
}

// TestRecoveryWithCodeLoginOff: recovery is no login; it works with
// login by code turned off.
func TestRecoveryWithCodeLoginOff(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.CodeLoginOff = true })
	s.user("Ann")
	app := s.client(s.org("Home", s.user("Admin")))
	s.askRecovery(app, "ann@example.com").expect(t, http.StatusAccepted)
	code, _ := s.waitRecovery(t, "ann@example.com", 1)
	s.resetWith(app, code, newPassword).expect(t, http.StatusOK)
	s.clock.Advance(time.Second)
	sessionOf(t, s.passwordLogin(app, "ann@example.com", newPassword))
}

// TestPublicURL: Config.PublicURL is an http or https origin and nothing
// more.
func TestPublicURL(t *testing.T) {
	d := dbtest.SQLite(t)
	s := newStack(t, d, nil)
	notifier, err := notify.NewFile(notify.FileConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		givenURL    string
		expectError bool
	}{
		{name: "unset", givenURL: ""},
		{name: "http with port", givenURL: "http://127.0.0.1:6546"},
		{name: "https with a trailing slash", givenURL: "https://auth.example.com/"},
		{name: "IPv6", givenURL: "http://[::1]:6546"},
		{name: "another scheme", givenURL: "ftp://auth.example.com", expectError: true},
		{name: "javascript", givenURL: "javascript:alert(1)", expectError: true},
		{name: "no scheme", givenURL: "auth.example.com", expectError: true},
		{name: "scheme-relative", givenURL: "//auth.example.com", expectError: true},
		{name: "a path", givenURL: "https://auth.example.com/app", expectError: true},
		{name: "a query", givenURL: "https://auth.example.com?x=1", expectError: true},
		{name: "an empty query", givenURL: "https://auth.example.com?", expectError: true},
		{name: "a fragment", givenURL: "https://auth.example.com#x", expectError: true},
		{name: "user info", givenURL: "https://evil@auth.example.com", expectError: true},
		{name: "no host", givenURL: "https://", expectError: true},
		{name: "empty port", givenURL: "https://auth.example.com:", expectError: true},
		{name: "opaque", givenURL: "https:auth.example.com", expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				_, err = accounts.New(accounts.Config{Store: d, Notifier: notifier, Minter: s.minter,
					Policies: func() *policy.Set { return nil }, Password: fastPassword, PublicURL: tt.givenURL})
			}()
			if (err != nil) != tt.expectError {
				t.Fatalf("New with PublicURL %q: %v, want error %v", tt.givenURL, err, tt.expectError)
			}
		})
	}
}

// TestRecoveryMailFailureLogsNoSecrets: a recovery mail the server
// refuses (quoting the recipient, as servers do) is logged with IDs, and
// the log holds neither the code, the link nor the address; the answer
// is the same 202.
func TestRecoveryMailFailureLogsNoSecrets(t *testing.T) {
	down := &downMail{}
	s := newStack(t, dbtest.SQLite(t), withPublicURL(func(c *accounts.Config) { c.Notifier = down }))
	s.user("Ann")
	app := s.client(s.org("Home", s.user("Admin")))
	s.askRecovery(app, "ann@example.com").expect(t, http.StatusAccepted)
	if err := s.svc.Close(); err != nil {
		t.Fatal(err)
	}
	codes := down.codes()
	if len(codes) != 1 {
		t.Fatalf("%d codes given to the notifier, want 1", len(codes))
	}
	if logs := s.logs.String(); !strings.Contains(logs, "sending a recovery code failed") || !strings.Contains(logs, "<address>") {
		t.Fatalf("the failure is not logged with the address masked:\n%s", logs)
	}
	s.expectNoSecretsLogged(t, codes[0], "ann@example.com", "/ui/recover")
}
