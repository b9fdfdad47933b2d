package accounts_test

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// Recovery codes of the second factor: shown once at TOTP confirmation
// and regeneration, each accepted once at the totp login step in place
// of a TOTP code.

// recoveryCodePattern is the shape of a recovery code: 16 base32
// characters in groups of four.
var recoveryCodePattern = regexp.MustCompile(`^[a-z2-7]{4}(-[a-z2-7]{4}){3}$`)

// turnOnTOTP enrols and confirms TOTP for the session's user with
// oathtool, and returns the recovery codes of the confirmation.
func (s *stack) turnOnTOTP(t *testing.T, app appClient, sess session) []string {
	t.Helper()
	en := s.withMacaroon(app, sess, "POST", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
	secret, _ := en.data()["secret"].(string)
	res := s.withMacaroon(app, sess, "POST", "/users/current/totp/confirm", map[string]any{"totp": oathtool(t, secret, s.clock.Now())}).expect(t, http.StatusOK)
	if res.data()["2fa"] != true {
		t.Fatalf("confirmation = %s", res.Raw)
	}
	rc, _ := res.data()["recoveryCodes"].(map[string]any)
	return recoveryCodesOf(t, rc)
}

// recoveryCodesOf reads and checks the codes of a recovery-codes object.
func recoveryCodesOf(t *testing.T, rc map[string]any) []string {
	t.Helper()
	list, _ := rc["codes"].([]any)
	if rc["type"] != "recovery-codes" || len(list) != 10 || rc["left"] != float64(10) {
		t.Fatalf("recovery codes = %v, want 10 of type recovery-codes", rc)
	}
	seen := map[string]bool{}
	codes := make([]string, len(list))
	for i, c := range list {
		code, _ := c.(string)
		if !recoveryCodePattern.MatchString(code) || seen[code] {
			t.Fatalf("recovery code %q malformed or repeated in %v", code, list)
		}
		seen[code] = true
		codes[i] = code
	}
	return codes
}

// totpFlow runs the password step of a user with TOTP and returns the
// flow code and state of the totp step.
func (s *stack) totpFlow(t *testing.T, app appClient, email string) (flow, state string) {
	t.Helper()
	state = s.newState()
	next := s.step(app, "password", map[string]any{"email": email, "password": testPassword, "state": state}).expect(t, http.StatusOK)
	flow, _ = next.data()["code"].(string)
	if next.data()["step"] != "totp" || flow == "" {
		t.Fatalf("password step with TOTP = %s", next.Raw)
	}
	return flow, state
}

// recoveryLogin logs in through the password and totp steps with a
// recovery code.
func (s *stack) recoveryLogin(t *testing.T, app appClient, email, code string) response {
	t.Helper()
	flow, state := s.totpFlow(t, app, email)
	return s.step(app, "totp", map[string]any{"code": flow, "recoveryCode": code, "state": state})
}

// mailsWith counts the mails to the address whose plain part holds text.
func (s *stack) mailsWith(t *testing.T, to, text string) int {
	t.Helper()
	entries, err := os.ReadDir(s.mail)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			continue
		}
		h, body := notifytest.ReadEML(t, filepath.Join(s.mail, e.Name()))
		if h.Get("To") == to && strings.Contains(body, text) {
			n++
		}
	}
	return n
}

// waitMail waits until n mails to the address hold text.
func (s *stack) waitMail(t *testing.T, to, text string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.mailsWith(t, to, text) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d mails to %s with %q", n, to, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRecoveryCodes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		bob := s.user("Bob")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))

		// Before TOTP: no codes, and none can be made.
		st := s.withMacaroon(app, sess, "GET", "/users/current/recovery-codes", nil).expect(t, http.StatusOK)
		if st.data()["left"] != float64(0) || st.data()["createdMs"] != float64(0) {
			t.Fatalf("status without TOTP = %s", st.Raw)
		}
		s.withMacaroon(app, sess, "POST", "/users/current/recovery-codes", map[string]any{"currentPassword": testPassword}).
			expect(t, http.StatusConflict, accounts.CodeTOTPNotEnrolled)

		codes := s.turnOnTOTP(t, app, sess)

		// GET tells how many are left, never the codes.
		st = s.withMacaroon(app, sess, "GET", "/users/current/recovery-codes", nil).expect(t, http.StatusOK)
		if st.data()["left"] != float64(10) || st.data()["createdMs"] != float64(s.clock.Now().UnixMilli()) || st.data()["codes"] != nil {
			t.Fatalf("status = %s", st.Raw)
		}
		for _, c := range codes {
			if strings.Contains(string(st.Raw), c) {
				t.Fatalf("GET showed a code: %s", st.Raw)
			}
		}

		// A recovery code replaces the TOTP code once; case and dashes do
		// not matter.
		s.clock.Advance(30 * time.Second)
		typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))
		got := sessionOf(t, s.recoveryLogin(t, app, "ann@example.com", typed))
		if got.UserID != ann.ID {
			t.Fatalf("recovery login as %s, want %s", got.UserID, ann.ID)
		}
		s.waitMail(t, "ann@example.com", "You have 9 recovery codes left.", 1)
		s.recoveryLogin(t, app, "ann@example.com", codes[0]).expect(t, http.StatusUnauthorized, accounts.CodeFactorRecoveryCodeInvalid)
		st = s.withMacaroon(app, sess, "GET", "/users/current/recovery-codes", nil).expect(t, http.StatusOK)
		if st.data()["left"] != float64(9) {
			t.Fatalf("status after one use = %s", st.Raw)
		}

		// The totp step takes exactly one of the two codes.
		flow, state := s.totpFlow(t, app, "ann@example.com")
		s.step(app, "totp", map[string]any{"code": flow, "recoveryCode": codes[1], "totp": "123456", "state": state}).
			expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		s.step(app, "totp", map[string]any{"code": flow, "state": state}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)

		// Regenerating takes a fresh proof: the token alone is not enough.
		stolen := by(app, ann)
		s.do(stolen, "POST", "/users/current/recovery-codes", map[string]any{}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
		s.do(stolen, "POST", "/users/current/recovery-codes", map[string]any{"currentPassword": "not the password"}).
			expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
		// Another user can neither read nor make Ann's codes.
		s.do(by(app, bob), "GET", "/users/"+ann.ID+"/recovery-codes", nil).expect(t, http.StatusNotFound)
		s.do(by(app, bob), "POST", "/users/"+ann.ID+"/recovery-codes", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
		st = s.withMacaroon(app, sess, "GET", "/users/current/recovery-codes", nil).expect(t, http.StatusOK)
		if st.data()["left"] != float64(9) {
			t.Fatalf("status after refused regenerations = %s", st.Raw)
		}

		s.clock.Advance(time.Minute)
		res := s.withMacaroon(app, sess, "POST", "/users/current/recovery-codes", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusCreated)
		fresh := recoveryCodesOf(t, res.data())
		if res.data()["createdMs"] != float64(s.clock.Now().UnixMilli()) {
			t.Fatalf("regenerated = %s", res.Raw)
		}
		// The old codes died with the regeneration.
		s.recoveryLogin(t, app, "ann@example.com", codes[1]).expect(t, http.StatusUnauthorized, accounts.CodeFactorRecoveryCodeInvalid)
		sessionOf(t, s.recoveryLogin(t, app, "ann@example.com", fresh[9]))

		// No code reaches the logs.
		logs := s.logs.String()
		for _, c := range append(codes, fresh...) {
			if strings.Contains(logs, c) || strings.Contains(logs, strings.ReplaceAll(c, "-", "")) {
				t.Fatalf("a recovery code is in the logs:\n%s", logs)
			}
		}

		// Turning TOTP off deletes the codes.
		s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
		if st, err := d.GetRecoveryCodesStatus(s.ctx, ann.ID); err != nil || st.Left != 0 || st.CreatedMs != 0 {
			t.Fatalf("codes after TOTP off = %+v, %v", st, err)
		}
	})
}

// TestRecoveryCodeConcurrentUse: logins racing with one recovery code,
// each with its own flow code: exactly one gets a session.
func TestRecoveryCodeConcurrentUse(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		codes := s.turnOnTOTP(t, app, sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword)))
		// Fewer racers than the account's failure limit: the losers' wrong
		// guesses ban nobody before the winner is checked.
		const n = 4
		type flowState struct{ flow, state string }
		flows := make([]flowState, n)
		for i := range flows {
			flows[i].flow, flows[i].state = s.totpFlow(t, app, "ann@example.com")
		}
		statuses := make(chan int, n)
		for _, f := range flows {
			go func() {
				statuses <- s.raw(s.newRequest(app, "POST", "/sessions/login/totp",
					map[string]any{"code": f.flow, "recoveryCode": codes[3], "state": f.state})).Status
			}()
		}
		wins := 0
		for range n {
			switch got := <-statuses; got {
			case http.StatusOK:
				wins++
			case http.StatusUnauthorized:
			default:
				t.Fatalf("a racing login answered %d", got)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent logins with one recovery code succeeded, want exactly 1", wins, n)
		}
	})
}

// TestRecoveryCodeRegulated: wrong recovery codes are wrong guesses like
// wrong TOTP codes: the account is banned, even for the right code.
func TestRecoveryCodeRegulated(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	codes := s.turnOnTOTP(t, app, sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword)))
	// A flow made before the ban (the password step is banned too).
	flow, state := s.totpFlow(t, app, "ann@example.com")
	for range 5 {
		s.recoveryLogin(t, app, "ann@example.com", "aaaa-bbbb-cccc-dddd").expect(t, http.StatusUnauthorized, accounts.CodeFactorRecoveryCodeInvalid)
	}
	s.step(app, "totp", map[string]any{"code": flow, "recoveryCode": codes[0], "state": state}).
		expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	// The refused right code was not spent: it works once the ban ends.
	s.clock.Advance(16 * time.Minute)
	sessionOf(t, s.recoveryLogin(t, app, "ann@example.com", codes[0]))
}
