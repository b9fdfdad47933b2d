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

// verifyGuessed verifies a guessed password pw against hash through
// checkGuess. fail forces a failure after the same work (an unknown
// user, a user without a password).
func (s *Service) verifyGuessed(r *request, step, pw, hash string, fail bool, subjects ...regulation.Subject) (ok, needsRehash bool, err error) {
	ok, err = s.checkGuess(r, step, subjects, func() (bool, []regulation.Subject, error) {
		match, rehash, verr := password.Verify(pw, hash, s.cfg.Password)
		if verr != nil {
			s.cfg.Logger.Error("accounts: stored password hash unusable", "err", verr)
		}
		needsRehash = rehash
		return match && !fail, nil, nil
	})
	if !ok {
		needsRehash = false
	}
	return ok, needsRehash, err
}

// guessCheck checks one guessed secret. It answers whether the guess was
// right, more subjects a wrong guess counts against (known only once the
// secret was looked up, as the account of a pending code), and an error
// when it could not tell (the guess then counts for nothing).
type guessCheck func() (ok bool, alsoFailed []regulation.Subject, err error)

// checkGuess is the one path every check of a secret a person could guess
// goes through: a password, a TOTP code, a login code, a verification
// code, wherever it is typed (a login step, or a proof of the user before
// a change to the account). It runs check in a hashing slot, with the
// subjects' bans checked once the slot is held, and records a wrong guess
// against the subjects before the slot is let go. Checked only before
// queueing, any number of requests that queued while a ban was coming
// would each have their guess checked; this way at most
// MaxConcurrentHashes race past a ban. The bans are also read before
// queueing, so a banned caller does not wait for a slot. err is 429 while
// banned, 503 when no slot comes, or check's error.
func (s *Service) checkGuess(r *request, step string, subjects []regulation.Subject, check guessCheck) (bool, error) {
	if err := s.regulated(r, subjects...); err != nil {
		return false, err
	}
	if err := s.acquireHashSlot(r.ctx()); err != nil {
		return false, err
	}
	defer s.releaseHashSlot()
	if err := s.regulated(r, subjects...); err != nil {
		return false, err
	}
	ok, more, err := check()
	if err != nil {
		return false, err
	}
	if !ok {
		s.failed(r, step, append(subjects[:len(subjects):len(subjects)], more...)...)
		return false, nil
	}
	return true, nil
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
