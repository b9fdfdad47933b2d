package ratelimit

import (
	"context"
	"errors"
	"time"
)

// Unlimited is the perSecond that admits every request and keeps no state.
const Unlimited = -1

// MaxPerSecond is the highest rate the arithmetic distinguishes: one
// request per microsecond. A larger perSecond is limited at MaxPerSecond
// (and reported as asked in Decision.Limit).
const MaxPerSecond = 1_000_000

// ErrInvalidLimit is returned by Allow for a perSecond below Unlimited,
// together with a refusing Decision, so a caller that ignores the error
// still fails closed.
var ErrInvalidLimit = errors.New("ratelimit: perSecond must be -1 (unlimited) or at least 0")

// Decision is the outcome of one Allow call.
type Decision struct {
	Allowed    bool
	Limit      int           // the perSecond asked for
	Remaining  int           // requests that could still be made right now
	ResetAfter time.Duration // until the bucket is full again
	RetryAfter time.Duration // when !Allowed: until the next request may pass
}

// Limiter admits or refuses one request for a key at perSecond (-1 =
// unlimited: always allowed, no state). A perSecond of 0 refuses every
// request. The burst is one second of traffic: perSecond requests.
//
// Allow returns an error only for a perSecond below -1 (ErrInvalidLimit) or,
// for limiters that make network calls, when ctx ends first; the Decision
// then refuses.
type Limiter interface {
	Allow(ctx context.Context, key string, perSecond int) (Decision, error)
}

// Compile-time checks that both limiters are Limiters.
var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
)

// unlimited is the Decision for perSecond == Unlimited: Limit and
// Remaining are -1, and Headers writes nothing for it.
var unlimited = Decision{Allowed: true, Limit: Unlimited, Remaining: Unlimited}

// stateless answers the perSecond values that need no state: Unlimited,
// 0 and the invalid ones. ok is false for a rate.
func stateless(perSecond int) (d Decision, ok bool, err error) {
	switch {
	case perSecond == Unlimited:
		return unlimited, true, nil
	case perSecond == 0:
		// Nothing will ever pass at this limit; one second is a nominal
		// wait, as a raised limit is picked up on the next refresh.
		return Decision{Limit: 0, RetryAfter: time.Second}, true, nil
	case perSecond < Unlimited:
		return Decision{Limit: perSecond, RetryAfter: time.Second}, true, ErrInvalidLimit
	}
	return Decision{}, false, nil
}

// cells returns the GCRA emission interval and burst tolerance for
// perSecond ≥ 1, in a unit of which there are unitsPerSecond in a second.
// The tolerance is the burst (perSecond requests) times the interval, so
// exactly perSecond requests fit in it even when the division truncates.
func cells(perSecond int, unitsPerSecond int64) (interval, tolerance int64) {
	rate := int64(min(perSecond, MaxPerSecond))
	interval = max(unitsPerSecond/rate, 1)
	return interval, interval * rate
}

// gcra applies one request at now to a key whose TAT is tat (found false:
// no state, a full bucket). All times are in one unit (Memory: ns). It
// returns the new TAT to store when the request is admitted, and the
// decision's counts in that unit.
func gcra(now, tat int64, found bool, interval, tolerance int64) (newTAT int64, allowed bool, remaining, retry, reset int64) {
	if !found || tat < now {
		tat = now
	} else if tat > now+tolerance {
		// Only a lowered limit or a clock gone backwards gets here; never
		// lock a key out for longer than one burst.
		tat = now + tolerance
	}
	newTAT = tat + interval
	if wait := newTAT - tolerance - now; wait > 0 {
		return tat, false, 0, wait, tat - now
	}
	return newTAT, true, (now + tolerance - newTAT) / interval, 0, newTAT - now
}
