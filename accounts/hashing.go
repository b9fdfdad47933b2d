package accounts

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

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
// banned, 503 when no slot comes or a wrong guess cannot be recorded
// (regulation fails closed), or check's error.
//
// A step only someone past the account's first factor can reach (see
// pastFirstFactor) is also counted, and banned, per account from all
// sources together (regulation.KindFactor): else a second factor could
// be guessed from many sources at once, each under its own limits.
func (s *Service) checkGuess(r *request, step string, subjects []regulation.Subject, check guessCheck) (bool, error) {
	subjects = withFactorSubjects(step, subjects)
	if step == StepPassword {
		release, err := s.passwordTurn(r, subjects)
		if err != nil {
			return false, err
		}
		defer release()
	}
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
		if err := s.failed(r, step, append(subjects[:len(subjects):len(subjects)], more...)...); err != nil {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

// turnWait is how long a password guess waits for its account's turn
// (regulation.Turn): the longest account delay, and time for the guess
// before it to be checked.
const turnWait = regulation.DefaultMaxAccountDelay + 2*time.Second

// passwordTurn takes the turn of the password step's account (the
// address's key): one password guess per account at a time, so that the
// account's delay bounds guesses from many sources at once (in parallel
// they would all sit out one delay together). A source the account
// logged in from within knownSourceAge does not wait for the turn: the
// owner, from home, is never held up behind strangers. That is looked up
// only when the turn is taken, so an uncontended login costs nothing
// more. A guess from another source that does not get the turn within
// turnWait is 429 TOO-MANY-FAILURES with Retry-After (the same for an
// address with or without an account: the turn is the address's).
func (s *Service) passwordTurn(r *request, subjects []regulation.Subject) (func(), error) {
	noop := func() {}
	i := slices.IndexFunc(subjects, func(sub regulation.Subject) bool { return sub.Kind == regulation.KindAccount })
	if i < 0 {
		return noop, nil
	}
	account := subjects[i]
	release, err := s.cfg.Regulator.Turn(r.ctx(), account, 0)
	if err == nil {
		return release, nil
	}
	if !errors.Is(err, regulation.ErrBusy) {
		return nil, s.refusal(r, err)
	}
	if s.knownSource(r.ctx(), account.Value, r.caller.IP) {
		return noop, nil
	}
	release, err = s.cfg.Regulator.Turn(r.ctx(), account, turnWait)
	if errors.Is(err, regulation.ErrBusy) {
		r.Response().Header().Set("Retry-After", "1")
		return nil, apiError(http.StatusTooManyRequests, CodeRegulated, "Too many failed attempts; try again later.")
	}
	if err != nil {
		return nil, s.refusal(r, err)
	}
	return release, nil
}

// pastFirstFactor lists the steps only someone past an account's first
// factor reaches: the TOTP login step (after the password or a login
// code; StepTOTP is also the confirmation of a TOTP enrolment, by the
// user's own token) and the proofs of an authenticated user before a
// change to their account. A stranger cannot reach them, so an
// account-wide ban of these steps is no lever against the owner's login:
// only someone holding the password (or a code, or a token) of the
// account can trigger it, and they can then at worst close the second
// factor step for a while. StepWebAuthn is there for the passkey as a
// second factor (its guesses name the account of the flow code); a
// discoverable passkey login names no account among its subjects, so it
// adds no account-wide count a stranger could run up.
func pastFirstFactor(step string) bool {
	switch step {
	case StepTOTP, StepWebAuthn, stepProofPassword, stepProofTOTP, stepProofCode, stepProofPasskey:
		return true
	}
	return false
}

// withFactorSubjects adds, for a step past the first factor, a
// KindFactor subject for each account among subjects (a copy; subjects
// is not changed).
func withFactorSubjects(step string, subjects []regulation.Subject) []regulation.Subject {
	if !pastFirstFactor(step) {
		return subjects
	}
	out := subjects[:len(subjects):len(subjects)]
	for _, sub := range subjects {
		if sub.Kind == regulation.KindAccount {
			out = append(out, regulation.Subject{Kind: regulation.KindFactor, Value: sub.Value})
		}
	}
	return out
}

// acquireHashSlot waits for a hashing slot; a caller that goes away while
// waiting gets 503 (it sees nothing). The wait, given up or not, is
// measured: it is where a burst of logins shows before anything fails.
func (s *Service) acquireHashSlot(ctx context.Context) error {
	start := s.cfg.Now()
	defer func() { s.metrics.hashWait.Observe(s.cfg.Now().Sub(start).Seconds()) }()
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return apiError(http.StatusServiceUnavailable, CodeUnavailable, "")
	}
}

func (s *Service) releaseHashSlot() { <-s.hashSlots }
