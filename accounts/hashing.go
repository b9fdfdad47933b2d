package accounts

import (
	"context"
	"net/http"

	"github.com/authgw/authgw/accounts/password"
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
