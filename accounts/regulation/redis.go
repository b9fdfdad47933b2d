package regulation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// deadlinesBoundCalls reports whether a context deadline bounds the
// client's socket reads and writes (go-redis ignores deadlines unless
// ContextTimeoutEnabled is set), so that Config.Timeout bounds every call
// and a hung Redis cannot stall logins. Clients of other types are
// trusted. The gateway's rate limiter makes the same demand of its own
// client; each states it where it is enforced.
func deadlinesBoundCalls(c redis.UniversalClient) bool {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// failScript records one event (a failure, or a code request) of one
// subject and bans or holds it at its maximum, atomically, so that
// concurrent events are all counted. KEYS[1] is the subject's sorted set
// of events, KEYS[2] its ban key. ARGV: [1] now (ms), [2] the new member
// (unique), [3] the newest time (ms) that no longer counts, [4] Window
// (ms), [5] the maximum, [6] how long (ms) the ban lasts at the maximum,
// [7] "hold" for an account, whose hold lasts ARGV[6] doubled for each
// event past the maximum, at most [8] (ms). Times arrive as decimal
// strings; the ban's end is written back with %d, exact for integers
// below 2^53 (Lua's numbers are doubles), which Unix milliseconds are.
// A ban key holding a later end is kept. It returns the count of events
// in the window.
var failScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local n = redis.call('ZCARD', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local over = n - tonumber(ARGV[5])
if over >= 0 then
  local d = tonumber(ARGV[6])
  if ARGV[7] == 'hold' then
    d = math.min(d * 2 ^ math.min(over, 30), tonumber(ARGV[8]))
  end
  local e = tonumber(ARGV[1]) + d
  local old = tonumber(redis.call('GET', KEYS[2]) or '')
  if old == nil or old < e then
    redis.call('SET', KEYS[2], string.format('%d', e), 'PX', string.format('%d', d))
  end
end
return n
`)

// redisKeys returns the failure and ban keys of a subject.
func (r *Regulator) redisKeys(s Subject) (failures, ban string) {
	sum := sha256.Sum256([]byte(s.Value))
	tail := s.Kind + ":{" + hex.EncodeToString(sum[:]) + "}"
	return r.prefix + "f:" + tail, r.prefix + "b:" + tail
}

// redisBannedUntil fills untils with the end of each subject's ban from
// Redis (0 for none), reading the ban keys in one pipeline: GETs rather
// than one MGET, which a Redis Cluster refuses for keys in several slots.
func (r *Regulator) redisBannedUntil(ctx context.Context, subjects []Subject, untils []int64) error {
	pipe := r.redis.Pipeline()
	var buf [4]*redis.StringCmd
	cmds := buf[:0]
	for _, s := range subjects {
		_, ban := r.redisKeys(s)
		cmds = append(cmds, pipe.Get(ctx, ban))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	for i, cmd := range cmds {
		v, err := cmd.Result()
		switch {
		case errors.Is(err, redis.Nil):
			untils[i] = 0
			continue
		case err != nil:
			return err
		}
		u, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("ban key of a %s holds %q, not Unix milliseconds", subjects[i].Kind, v)
		}
		untils[i] = u
	}
	return nil
}

// redisFail runs failScript for each subject, all in one pipeline (one
// round trip). The scripts go as EVALSHA; those that Redis answers with
// NOSCRIPT (a restarted or new server) are sent again as EVAL, and only
// those: the others have recorded their failure.
func (r *Regulator) redisFail(ctx context.Context, step string, subjects []Subject, nowMs int64) error {
	now := strconv.FormatInt(nowMs, 10)
	maxDelay := strconv.FormatInt(r.maxDelayMs, 10)

	type call struct {
		keys []string
		args []any
		cmd  *redis.Cmd
	}
	calls := make([]call, len(subjects))
	for i, s := range subjects {
		member, err := r.member(step)
		if err != nil {
			return err
		}
		failures, ban := r.redisKeys(s)
		expired := strconv.FormatInt(nowMs-r.windowFor(s.Kind), 10)
		window := strconv.FormatInt(r.windowFor(s.Kind), 10)
		mode, banTime := "ban", r.banEnd(s.Kind, r.maxFor(s.Kind), 0)
		if s.Kind == KindAccount {
			mode = "hold"
		}
		calls[i] = call{
			keys: []string{failures, ban},
			args: []any{now, member, expired, window, strconv.Itoa(r.maxFor(s.Kind)), strconv.FormatInt(banTime, 10), mode, maxDelay},
		}
	}
	pipe := r.redis.Pipeline()
	for i := range calls {
		calls[i].cmd = failScript.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
	}
	_, _ = pipe.Exec(ctx) // each command's error is looked at below
	for _, c := range calls {
		err := c.cmd.Err()
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			err = failScript.Eval(ctx, r.redis, c.keys, c.args...).Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// member returns a new sorted-set member for a failure of step: the step
// and 8 random bytes, so that two failures in the same millisecond are
// two members.
func (r *Regulator) member(step string) (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(r.rand, b[:]); err != nil {
		return "", fmt.Errorf("reading Config.Rand: %w", err)
	}
	return step + ":" + hex.EncodeToString(b[:]), nil
}
