package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is GCRA for one key on the Redis clock, in microseconds.
// KEYS[1] holds the TAT (µs since the Unix epoch, written with %.0f: Lua's
// default number format keeps only 14 digits). ARGV[1] is the emission
// interval in µs, ARGV[2] the burst in requests. It returns {allowed (0 or
// 1), remaining, retry after µs, reset after µs}. The key expires when its
// bucket is full again, at most one second after the last admitted request.
// replicate_commands makes TIME before a write legal on Redis < 5; later
// versions replicate effects anyway.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
elseif tat > now + tolerance then
  tat = now + tolerance
end
local newTat = tat + interval
local wait = newTat - tolerance - now
if wait > 0 then
  return {0, 0, wait, tat - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', math.ceil((newTat - now) / 1000))
return {1, math.floor((now + tolerance - newTat) / interval), 0, newTat - now}
`)

// RedisConfig configures a Redis limiter.
type RedisConfig struct {
	// Client is the connection to Redis. It must have ContextTimeoutEnabled
	// set in its options, or Timeout could not bound a call to a hung
	// server. Required.
	Client redis.UniversalClient
	// Prefix is put before every key. Optional. Default "authgw:rl:".
	Prefix string
	// Fallback decides when Redis cannot (see the package documentation).
	// Optional. Default NewMemory(MemoryConfig{Now: Now}).
	Fallback Limiter
	// Timeout bounds each call to Redis. Optional. Default 50ms.
	Timeout time.Duration
	// Cooldown is how long, after a failed call, Allow uses Fallback
	// alone before one request tries Redis again. Optional. Default 1s.
	Cooldown time.Duration
	// LogEvery is the least time between two logged Redis failures.
	// Optional. Default 10s.
	LogEvery time.Duration
	// Logger receives the failure (warn) and recovery (info) lines.
	// Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock of the cooldown and log throttling, and of the
	// default Fallback; decisions made in Redis use the Redis clock.
	// Optional. Default time.Now.
	Now func() time.Time
}

// Redis is the GCRA limiter shared by every gateway process using the same
// Redis: the decision is made by one Lua script on the Redis clock. When
// Redis fails it falls back to a local limiter (see the package
// documentation). It is safe for concurrent use.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	fallback Limiter
	timeout  time.Duration
	cooldown time.Duration
	logEvery time.Duration
	logger   *slog.Logger
	now      func() time.Time

	degraded  atomic.Bool
	failures  atomic.Uint64
	probeAt   atomic.Int64 // Unix ns after which one request may try Redis again
	nextLogAt atomic.Int64 // Unix ns after which a failure may be logged
}

// NewRedis checks cfg, fills the defaults and returns a Redis limiter. It
// does not contact Redis, so a gateway starts while Redis is down. It fails
// when Client is nil, when Client is a *redis.Client, *redis.ClusterClient
// or *redis.Ring without ContextTimeoutEnabled, or when a duration is
// negative.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("ratelimit: RedisConfig.Client is required")
	}
	if !ContextTimeoutEnabled(cfg.Client) {
		return nil, errors.New("ratelimit: RedisConfig.Client must have ContextTimeoutEnabled set, or a hung Redis would stall requests beyond Timeout")
	}
	if cfg.Timeout < 0 || cfg.Cooldown < 0 || cfg.LogEvery < 0 {
		return nil, fmt.Errorf("ratelimit: negative duration in RedisConfig (Timeout %v, Cooldown %v, LogEvery %v)", cfg.Timeout, cfg.Cooldown, cfg.LogEvery)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "authgw:rl:"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Fallback == nil {
		cfg.Fallback = NewMemory(MemoryConfig{Now: cfg.Now})
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 50 * time.Millisecond
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = time.Second
	}
	if cfg.LogEvery == 0 {
		cfg.LogEvery = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Redis{
		client:   cfg.Client,
		prefix:   cfg.Prefix,
		fallback: cfg.Fallback,
		timeout:  cfg.Timeout,
		cooldown: cfg.Cooldown,
		logEvery: cfg.LogEvery,
		logger:   cfg.Logger,
		now:      cfg.Now,
	}, nil
}

// ContextTimeoutEnabled reports whether the client lets a context
// deadline bound its socket reads and writes (go-redis ignores deadlines
// otherwise), as every Redis client of authgw must; clients of other
// types are trusted.
func ContextTimeoutEnabled(c redis.UniversalClient) bool {
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

// Allow admits or refuses one request for key at perSecond (see Limiter),
// in Redis. When Redis fails or is slower than the Timeout, it returns the
// Fallback's decision and error (nil for Memory): it never fails open and
// never reports Redis's error. It errors when perSecond is below -1
// (ErrInvalidLimit) and when ctx ends before Redis answers.
func (r *Redis) Allow(ctx context.Context, key string, perSecond int) (Decision, error) {
	if d, ok, err := stateless(perSecond); ok {
		return d, err
	}
	now := r.now().UnixNano()
	if r.degraded.Load() {
		// One request per cooldown probes Redis; the others do not wait.
		at := r.probeAt.Load()
		if now < at || !r.probeAt.CompareAndSwap(at, now+int64(r.cooldown)) {
			return r.fallback.Allow(ctx, key, perSecond)
		}
	}

	interval, _ := cells(perSecond, int64(time.Second/time.Microsecond))
	callCtx, cancel := context.WithTimeout(ctx, r.timeout)
	res, err := gcraScript.Run(callCtx, r.client, []string{r.prefix + key}, interval, min(perSecond, MaxPerSecond)).Int64Slice()
	cancel()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("script returned %d values, want 4", len(res))
	}
	if err != nil {
		if ctx.Err() != nil {
			return Decision{Limit: perSecond, RetryAfter: time.Second}, fmt.Errorf("ratelimit: %w", context.Cause(ctx))
		}
		r.fail(err)
		return r.fallback.Allow(ctx, key, perSecond)
	}
	if r.degraded.CompareAndSwap(true, false) {
		r.logger.Info("rate limiter: Redis is reachable again, limits are shared")
	}
	return Decision{
		Allowed:    res[0] == 1,
		Limit:      perSecond,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
		ResetAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// fail records a failed Redis call, starts the cooldown from now (the call
// may have taken the whole Timeout) and logs the failure unless one was
// logged less than LogEvery ago.
func (r *Redis) fail(err error) {
	now := r.now().UnixNano()
	n := r.failures.Add(1)
	r.probeAt.Store(now + int64(r.cooldown))
	r.degraded.Store(true)
	at := r.nextLogAt.Load()
	if now >= at && r.nextLogAt.CompareAndSwap(at, now+int64(r.logEvery)) {
		r.logger.Warn("rate limiter: Redis unavailable, each gateway process limits on its own",
			"err", err, "failures", n, "retryEvery", r.cooldown)
	}
}

// Degraded reports whether the last call to Redis failed, so that requests
// are being limited per process by the Fallback. The gateway's /readyz
// lists it among what is degraded.
func (r *Redis) Degraded() bool { return r.degraded.Load() }

// Failures returns the number of calls to Redis that have failed since
// NewRedis, for metrics.
func (r *Redis) Failures() uint64 { return r.failures.Load() }
