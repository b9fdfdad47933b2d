package regulation

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrBusy is the error of Turn when another guess at the account was in
// flight for all of the wait.
var ErrBusy = errors.New("regulation: another guess at the account is in flight")

// turnPoll is how often Turn asks Redis again for a turn held elsewhere.
const turnPoll = 25 * time.Millisecond

// turnTTL bounds how long a turn held in Redis outlives a process that
// died holding it: the longest a guess takes (the account delay, and the
// regulator's work on both sides of the check) with a margin.
func (r *Regulator) turnTTL() time.Duration {
	return time.Duration(r.maxDelayMs)*time.Millisecond + 2*r.timeout + 5*time.Second
}

// turns holds this process's turns: one channel (of capacity 1) per
// account with a guess in flight or waiting, dropped when none is.
type turns struct {
	mu sync.Mutex
	m  map[string]*turn
}

type turn struct {
	ch    chan struct{}
	users int
}

func (ts *turns) enter(key string) *turn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil {
		ts.m = map[string]*turn{}
	}
	t := ts.m[key]
	if t == nil {
		t = &turn{ch: make(chan struct{}, 1)}
		ts.m[key] = t
	}
	t.users++
	return t
}

func (ts *turns) leave(key string, t *turn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t.users--; t.users == 0 {
		delete(ts.m, key)
	}
}

// releaseScript deletes a Redis turn only if it still holds this turn's
// token (it may have expired and been taken by another).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Turn gives the caller the account's turn to have one guess checked:
// at most one guess per account is in flight at a time, so that the
// account's delay (Delay) bounds the rate of guesses however many
// sources send them in parallel: without turns, parallel guesses all sit
// out the same delay and are checked together. account is a KindAccount
// subject. Turn waits up to wait for the turn, and returns the function
// that gives it back (call it once the guess's failure, if any, has been
// recorded); ErrBusy when the turn was not free within wait; an error
// wrapping ErrUnavailable when ctx ends; ErrInvalid for a bad subject.
//
// Turns are held in this process and, with Config.Redis, in Redis too
// (SET NX with a TTL, so a process that dies holding one blocks the
// account for a few seconds at most), shared by every process using it.
// While Redis fails, turns are per process. Without Redis (the SQL store
// alone) they are per process: N processes let N guesses through at a
// time.
func (r *Regulator) Turn(ctx context.Context, account Subject, wait time.Duration) (release func(), err error) {
	if err := validate([]Subject{account}); err != nil {
		return nil, err
	}
	if account.Kind != KindAccount {
		return nil, fmt.Errorf("%w: Turn takes an account subject", ErrInvalid)
	}
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	key := account.Value
	t := r.turns.enter(key)
	select {
	case t.ch <- struct{}{}:
	default:
		select {
		case t.ch <- struct{}{}:
		case <-timer.C:
			r.turns.leave(key, t)
			return nil, ErrBusy
		case <-ctx.Done():
			r.turns.leave(key, t)
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
		}
	}
	local := func() {
		<-t.ch
		r.turns.leave(key, t)
	}
	if r.redis == nil {
		return local, nil
	}
	var b [16]byte
	if _, err := io.ReadFull(r.rand, b[:]); err != nil {
		local()
		return nil, fmt.Errorf("%w: reading Config.Rand: %w", ErrUnavailable, err)
	}
	token := hex.EncodeToString(b[:])
	failures, _ := r.redisKeys(account)
	rkey := failures + ":turn"
	for {
		ok, err := r.redisTake(ctx, rkey, token)
		if err != nil {
			// Redis cannot tell: the process's own turn still holds.
			return local, nil
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
				defer cancel()
				_ = releaseScript.Run(ctx, r.redis, []string{rkey}, token).Err()
				local()
			}, nil
		}
		select {
		case <-time.After(turnPoll):
		case <-timer.C:
			local()
			return nil, ErrBusy
		case <-ctx.Done():
			local()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, context.Cause(ctx))
		}
	}
}

// redisTake sets the Redis turn key to token if it is free.
func (r *Regulator) redisTake(ctx context.Context, key, token string) (bool, error) {
	if r.now().UnixMilli() < r.redisDownUntil.Load() {
		return false, errors.New("redis is down")
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	ok, err := r.redis.SetNX(ctx, key, token, r.turnTTL()).Result()
	if err != nil && context.Cause(ctx) != context.Canceled {
		r.redisDownUntil.Store(r.now().UnixMilli() + redisCooldown.Milliseconds())
	}
	return ok, err
}
