package verifier_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/verifier"
)

func TestRevocationSetRevoked(t *testing.T) {
	t0 := fixedNow
	set := verifier.NewRevocationSet()
	set.RevokeSession("s-revoked", t0.Add(time.Hour))
	set.RevokeUserBefore("u-reset", t0, t0.Add(time.Hour))
	tests := []struct {
		name          string
		whenSession   string
		whenUser      string
		whenIssuedAt  time.Time
		expectRevoked bool
	}{
		{"revoked session", "s-revoked", "u-other", t0.Add(time.Minute), true},
		{"revoked session, any user", "s-revoked", "u-reset", t0.Add(time.Minute), true},
		{"other session", "s-live", "u-other", t0, false},
		{"user token issued before", "s-live", "u-reset", t0.Add(-time.Millisecond), true},
		{"user token issued at not-before", "s-live", "u-reset", t0, false},
		{"user token issued after", "s-live", "u-reset", t0.Add(time.Second), false},
		{"other user issued before", "s-live", "u-other", t0.Add(-time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := set.Revoked(tt.whenSession, tt.whenUser, tt.whenIssuedAt); got != tt.expectRevoked {
				t.Errorf("Revoked(%s, %s, %v) = %v, want %v", tt.whenSession, tt.whenUser, tt.whenIssuedAt, got, tt.expectRevoked)
			}
		})
	}
}

func TestRevocationSetEmpty(t *testing.T) {
	set := verifier.NewRevocationSet()
	if set.Revoked("s", "u", fixedNow) {
		t.Error("empty set revokes")
	}
	if n := set.Prune(fixedNow); n != 0 {
		t.Errorf("Prune on empty set = %d", n)
	}
}

func TestRevocationSetNotBeforeOnlyMovesLater(t *testing.T) {
	t0 := fixedNow
	set := verifier.NewRevocationSet()
	set.RevokeUserBefore("u", t0, t0.Add(time.Hour))
	set.RevokeUserBefore("u", t0.Add(-time.Minute), t0.Add(time.Hour)) // older news
	if !set.Revoked("s", "u", t0.Add(-time.Second)) {
		t.Error("an earlier not-before undid a later one")
	}
	set.RevokeUserBefore("u", t0.Add(time.Minute), t0.Add(time.Hour))
	if !set.Revoked("s", "u", t0.Add(30*time.Second)) {
		t.Error("a later not-before was not applied")
	}
}

func TestRevocationSetPrune(t *testing.T) {
	t0 := fixedNow
	tests := []struct {
		name            string
		givenSetup      func(*verifier.RevocationSet)
		whenPruneAt     time.Time
		expectRemaining int
		expectSession   bool // is session "s" still revoked
		expectUser      bool // is user "u" still revoked for a token issued at t0-1h
	}{
		{"nothing expired", func(s *verifier.RevocationSet) {
			s.RevokeSession("s", t0.Add(time.Hour))
			s.RevokeUserBefore("u", t0, t0.Add(time.Hour))
		}, t0, 2, true, true},
		{"both expired", func(s *verifier.RevocationSet) {
			s.RevokeSession("s", t0.Add(time.Hour))
			s.RevokeUserBefore("u", t0, t0.Add(time.Hour))
		}, t0.Add(2 * time.Hour), 0, false, false},
		{"expiry equal to now kept", func(s *verifier.RevocationSet) {
			s.RevokeSession("s", t0.Add(time.Hour))
			s.RevokeUserBefore("u", t0, t0.Add(time.Hour))
		}, t0.Add(time.Hour), 2, true, true},
		{"session expired, user kept", func(s *verifier.RevocationSet) {
			s.RevokeSession("s", t0.Add(time.Minute))
			s.RevokeUserBefore("u", t0, t0.Add(time.Hour))
		}, t0.Add(10 * time.Minute), 1, false, true},
		{"later session expiry wins", func(s *verifier.RevocationSet) {
			s.RevokeSession("s", t0.Add(time.Hour))
			s.RevokeSession("s", t0.Add(time.Minute))
		}, t0.Add(10 * time.Minute), 1, true, false},
		{"later user expiry wins", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore("u", t0, t0.Add(time.Hour))
			s.RevokeUserBefore("u", t0, t0.Add(time.Minute))
		}, t0.Add(10 * time.Minute), 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := verifier.NewRevocationSet()
			tt.givenSetup(set)
			if got := set.Prune(tt.whenPruneAt); got != tt.expectRemaining {
				t.Errorf("Prune = %d remaining, want %d", got, tt.expectRemaining)
			}
			if got := set.Revoked("s", "nobody", t0); got != tt.expectSession {
				t.Errorf("session revoked = %v, want %v", got, tt.expectSession)
			}
			if got := set.Revoked("other", "u", t0.Add(-time.Hour)); got != tt.expectUser {
				t.Errorf("user revoked = %v, want %v", got, tt.expectUser)
			}
		})
	}
}

// TestRevocationSetConcurrent is meant for -race: writers, readers and a
// pruner share one set.
func TestRevocationSetConcurrent(t *testing.T) {
	set := verifier.NewRevocationSet()
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(3)
		go func() {
			defer wg.Done()
			for i := range rounds {
				set.RevokeSession(fmt.Sprintf("s-%d-%d", w, i), fixedNow.Add(time.Duration(i)*time.Second))
				set.RevokeUserBefore(fmt.Sprintf("u-%d", i%10), fixedNow, fixedNow.Add(time.Hour))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range rounds {
				set.Revoked(fmt.Sprintf("s-%d-%d", w, i), fmt.Sprintf("u-%d", i%10), fixedNow.Add(-time.Second))
			}
		}()
		go func() {
			defer wg.Done()
			for i := range rounds / 10 {
				set.Prune(fixedNow.Add(time.Duration(i) * time.Second))
			}
		}()
	}
	wg.Wait()
	// Whatever the interleaving, entries past every expiry are gone and
	// the ones that outlive the last prune remain.
	if !set.Revoked(fmt.Sprintf("s-0-%d", rounds-1), "nobody", fixedNow) {
		t.Error("a session revoked until after every prune is not revoked")
	}
	if !set.Revoked("live", "u-3", fixedNow.Add(-time.Second)) {
		t.Error("a user revoked until after every prune is not revoked")
	}
	if n := set.Prune(fixedNow.Add(2 * time.Hour)); n != 0 {
		t.Errorf("Prune past every expiry left %d entries", n)
	}
}

// TestRevokedTokenIsUnauthorizedEverywhere: a revoked token is not a valid
// token (the README's "Library use": 401 when revoked, 403 only when valid but not granted),
// so it must be refused as revoked also on a route or method it does not
// grant; otherwise a 403 tells its holder the token still works.
func TestRevokedTokenIsUnauthorizedEverywhere(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	set := verifier.NewRevocationSet()
	set.RevokeSession(testSubject.SessionID, fixedNow.Add(time.Hour))
	v := newVerifier(t, ring, func(c *verifier.Config) { c.Revocations = set })
	tests := []struct {
		name        string
		givenMethod string
		whenMethod  string
		whenPath    string
	}{
		{"granted route", "GET", "GET", userPath("")},
		{"route not granted", "GET", "GET", "/admin/v1/x"},
		{"method not granted", "GET", "POST", "/projects/v1/shared/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(toks.ByMethod[tt.givenMethod], verifier.Request{Method: tt.whenMethod, Path: tt.whenPath})
			if !errors.Is(err, verifier.ErrRevoked) {
				t.Errorf("Verify = %v, want %v", err, verifier.ErrRevoked)
			}
		})
	}
}

// TestVerifierUsesRevocationSet checks that revocation takes effect on
// the next request, also for a token the verifier has already seen.
func TestVerifierUsesRevocationSet(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	req := verifier.Request{Method: "GET", Path: userPath("")}
	tests := []struct {
		name      string
		givenMod  func(*verifier.RevocationSet)
		expectErr error
	}{
		{"nothing revoked", func(*verifier.RevocationSet) {}, nil},
		{"session revoked", func(s *verifier.RevocationSet) { s.RevokeSession(testSubject.SessionID, fixedNow.Add(time.Hour)) }, verifier.ErrRevoked},
		{"other session revoked", func(s *verifier.RevocationSet) { s.RevokeSession("other", fixedNow.Add(time.Hour)) }, nil},
		{"user revoked after issue", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(time.Second), fixedNow.Add(time.Hour))
		}, verifier.ErrRevoked},
		{"user revoked before issue", func(s *verifier.RevocationSet) {
			s.RevokeUserBefore(testSubject.UserID, fixedNow.Add(-time.Second), fixedNow.Add(time.Hour))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := verifier.NewRevocationSet()
			v := newVerifier(t, ring, func(c *verifier.Config) { c.Revocations = set })
			if _, err := v.Verify(get, req); err != nil {
				t.Fatalf("before revocation: %v", err)
			}
			tt.givenMod(set)
			_, err := v.Verify(get, req)
			if tt.expectErr == nil && err != nil || !errors.Is(err, tt.expectErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.expectErr)
			}
			if err != nil && !errors.Is(err, verifier.ErrUnauthorized) {
				t.Errorf("%v does not wrap ErrUnauthorized", err)
			}
		})
	}
}
