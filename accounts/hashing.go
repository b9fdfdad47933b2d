package accounts

import (
	"context"
	"net/http"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/accounts/regulation"
)

// Password hashing is the service's one expensive piece of work: an
// argon2id hash takes tens of milliseconds of CPU and its memory cost
// (19 MiB by default) at once. At most Config.MaxConcurrentHashes run at
// a time; the others wait their turn. More than one per core gains no
// throughput, and the bound keeps the memory of a burst of logins at
// cores × cost instead of logins × cost.

// hashPassword hashes pw in a hashing slot.
func (s *Service) hashPassword(r *request, pw string) (string, error) {
	if err := s.acquireHashSlot(r.ctx()); err != nil {
		return "", err
	}
	defer s.releaseHashSlot()
	return password.Hash(pw, s.cfg.Password, s.cfg.Rand)
}

// verifyPassword verifies pw against the stored hash in a hashing slot
// (see password.Verify).
func (s *Service) verifyPassword(r *request, pw, hash string) (ok, needsRehash bool, err error) {
	if err := s.acquireHashSlot(r.ctx()); err != nil {
		return false, false, err
	}
	defer s.releaseHashSlot()
	return password.Verify(pw, hash, s.cfg.Password)
}

// verifyGuessed verifies a guessed password pw against hash for a step
// that brute force must not get through: in a hashing slot, with the
// subjects' bans checked once the slot is held and a failure recorded
// before it is released. Checked only before queueing, any number of
// requests that queued while a ban was coming would each have their guess
// verified; this way at most MaxConcurrentHashes race past a ban. fail
// forces a failure after the same work (an unknown user, a user without
// a password). err is 429 while banned, 503 when no slot comes.
func (s *Service) verifyGuessed(r *request, step, pw, hash string, fail bool, subjects ...regulation.Subject) (ok, needsRehash bool, err error) {
	if err := s.acquireHashSlot(r.ctx()); err != nil {
		return false, false, err
	}
	defer s.releaseHashSlot()
	if err := s.regulated(r, subjects...); err != nil {
		return false, false, err
	}
	ok, needsRehash, verr := password.Verify(pw, hash, s.cfg.Password)
	if verr != nil {
		s.cfg.Logger.Error("accounts: stored password hash unusable", "err", verr)
	}
	if fail || !ok {
		s.failed(r, step, subjects...)
		return false, false, nil
	}
	return true, needsRehash, nil
}

// acquireHashSlot waits for a hashing slot; a caller that goes away while
// waiting gets 503 (it sees nothing).
func (s *Service) acquireHashSlot(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
}

func (s *Service) releaseHashSlot() { <-s.hashSlots }
