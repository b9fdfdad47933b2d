package regulation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway/ratelimit"
)

// Subject kinds.
const (
	// KindAccount is an account: Subject.Value is the user ID, or the
	// normalized email address tried when no user has it.
	KindAccount = db.RegulateAccount
	// KindIP is a client IP address: Subject.Value is its text.
	KindIP = db.RegulateIP
)

// Limits of the values Check and Fail accept; the SQL store holds no
// more.
const (
	// MaxValueLen is the longest Subject.Value, in characters.
	MaxValueLen = 320
	// MaxStepLen is the longest step name, in characters.
	MaxStepLen = 16
)

// Defaults of Config.
const (
	// DefaultMaxFailures is the default of Config.MaxFailures.
	DefaultMaxFailures = 5
	// DefaultMaxIPFailures is the default of Config.MaxIPFailures.
	DefaultMaxIPFailures = 20
	// DefaultWindow is the default of Config.Window.
	DefaultWindow = 5 * time.Minute
	// DefaultBanTime is the default of Config.BanTime.
	DefaultBanTime = 15 * time.Minute
	// DefaultTimeout is the default of Config.Timeout.
	DefaultTimeout = time.Second
	// DefaultRedisPrefix is the default of Config.RedisPrefix.
	DefaultRedisPrefix = "authgw:reg:"
)

// Errors of Check and Fail, checked with errors.Is.
var (
	// ErrBanned means a subject failed too often and is banned for now.
	// Errors wrapping it are *BannedError.
	ErrBanned = errors.New("regulation: too many failures")
	// ErrUnavailable means the store or Redis failed, did not answer in
	// time, or ctx ended. The caller must refuse the step (fail closed).
	// It wraps the underlying error too.
	ErrUnavailable = errors.New("regulation: store unavailable")
	// ErrInvalid means the call itself is wrong: no subject, an unknown
	// kind, an empty or too long value or step. It is a bug of the
	// caller; nothing was recorded.
	ErrInvalid = errors.New("regulation: invalid argument")
)

// BannedError is the error of Check for a banned subject. It names the
// subject's kind but never its value (an email address must not reach
// logs through an error).
type BannedError struct {
	// Kind is KindAccount or KindIP.
	Kind string
	// Until is when the ban ends.
	Until time.Time
}

// Error says which kind of subject is banned and until when.
func (e *BannedError) Error() string {
	return fmt.Sprintf("%v: %s banned until %s", ErrBanned, e.Kind, e.Until.UTC().Format(time.RFC3339Nano))
}

// Unwrap returns ErrBanned.
func (e *BannedError) Unwrap() error { return ErrBanned }

// Store is what the regulator needs of the SQL store; *db.DB has it. Times
// are Unix milliseconds.
type Store interface {
	// RecordFailure records one failed step of the subject at ms.
	RecordFailure(ctx context.Context, kind, subject, step string, ms int64) error
	// CountFailures counts the subject's failures at or after sinceMs.
	CountFailures(ctx context.Context, kind, subject string, sinceMs int64) (int, error)
	// Ban bans the subject until untilMs, keeping a later existing end.
	Ban(ctx context.Context, kind, subject string, untilMs int64) error
	// BannedUntil returns the end of the subject's ban, or 0.
	BannedUntil(ctx context.Context, kind, subject string) (int64, error)
}

var _ Store = (*db.DB)(nil)

// Subject is an account or an IP address whose failures are counted.
type Subject struct {
	// Kind is KindAccount or KindIP.
	Kind string
	// Value identifies the subject within its kind: a user ID or a
	// normalized email address, or an IP address's text. 1 to MaxValueLen
	// characters, compared exactly.
	Value string
}

// Config configures a Regulator.
type Config struct {
	// Store holds failures and bans in SQL. Required unless Redis is set.
	// With Redis, Store is the fallback while Redis fails: a call Redis
	// cannot answer is made on Store instead (counts are then split
	// between the two until Redis is back), so logins go on through a
	// Redis outage. Without Store, a Redis failure is ErrUnavailable.
	Store Store
	// Redis, when set, holds failures and bans instead of Store, shared by
	// every gateway process using it (see the package documentation). A
	// *redis.Client, *redis.ClusterClient or *redis.Ring must have
	// ContextTimeoutEnabled set, so that Timeout bounds its calls.
	// Optional. Default nil: Store.
	Redis redis.UniversalClient
	// RedisPrefix is put before every Redis key. Optional. Default
	// "authgw:reg:".
	RedisPrefix string
	// MaxFailures is how many failures of one account within Window ban
	// it. Optional. Default 5.
	MaxFailures int
	// MaxIPFailures is how many failures from one IP address within
	// Window ban it; higher than MaxFailures since an office's users share
	// one address behind NAT. Optional. Default 20.
	MaxIPFailures int
	// Window is how long a failure counts. Optional. Default 5 minutes.
	Window time.Duration
	// BanTime is how long a ban lasts from the failure that reached the
	// maximum. Optional. Default 15 minutes.
	BanTime time.Duration
	// Timeout bounds the store or Redis work of one Check or Fail call.
	// Optional. Default 1 second.
	Timeout time.Duration
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Rand makes the members of Redis failure sets unique; Fail fails
	// with ErrUnavailable when it cannot be read. Optional. Default
	// crypto/rand.Reader.
	Rand io.Reader
}

// Regulator counts failures and bans subjects. It is safe for concurrent
// use.
type Regulator struct {
	store         Store
	redis         redis.UniversalClient
	prefix        string
	maxFailures   int
	maxIPFailures int
	windowMs      int64
	banMs         int64
	timeout       time.Duration
	now           func() time.Time
	rand          io.Reader
	// redisDownUntil (Unix ms) skips Redis for a while after it failed.
	redisDownUntil atomic.Int64
}

// New checks cfg, fills its defaults and returns a Regulator. It does not
// contact the store or Redis. It fails when neither Store nor Redis is
// set, when a maximum or a duration is negative, when Window or BanTime
// is under a millisecond, and when Redis is a client without
// ContextTimeoutEnabled.
func New(cfg Config) (*Regulator, error) {
	if cfg.Store == nil && cfg.Redis == nil {
		return nil, errors.New("regulation: Config.Store or Config.Redis is required")
	}
	if cfg.Redis != nil && !ratelimit.ContextTimeoutEnabled(cfg.Redis) {
		return nil, errors.New("regulation: Config.Redis must have ContextTimeoutEnabled set, or a hung Redis would stall logins beyond Timeout")
	}
	if cfg.MaxFailures < 0 || cfg.MaxIPFailures < 0 {
		return nil, fmt.Errorf("regulation: negative maximum in Config (MaxFailures %d, MaxIPFailures %d)", cfg.MaxFailures, cfg.MaxIPFailures)
	}
	if cfg.Window < 0 || cfg.BanTime < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("regulation: negative duration in Config (Window %v, BanTime %v, Timeout %v)", cfg.Window, cfg.BanTime, cfg.Timeout)
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.MaxIPFailures == 0 {
		cfg.MaxIPFailures = DefaultMaxIPFailures
	}
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.BanTime == 0 {
		cfg.BanTime = DefaultBanTime
	}
	if cfg.Window < time.Millisecond || cfg.BanTime < time.Millisecond {
		return nil, fmt.Errorf("regulation: Config.Window (%v) and Config.BanTime (%v) must be at least 1ms", cfg.Window, cfg.BanTime)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = DefaultRedisPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Regulator{
		store:         cfg.Store,
		redis:         cfg.Redis,
		prefix:        cfg.RedisPrefix,
		maxFailures:   cfg.MaxFailures,
		maxIPFailures: cfg.MaxIPFailures,
		windowMs:      cfg.Window.Milliseconds(),
		banMs:         cfg.BanTime.Milliseconds(),
		timeout:       cfg.Timeout,
		now:           cfg.Now,
		rand:          cfg.Rand,
	}, nil
}

// Check reports whether any of subjects is banned now. It returns nil when
// none is; a *BannedError (wrapping ErrBanned) naming the kind of the
// banned subject whose ban ends last when one is; an error wrapping
// ErrUnavailable when the store or Redis fails or ctx ends (refuse the
// step); and an error wrapping ErrInvalid when subjects is empty or holds
// an invalid subject.
func (r *Regulator) Check(ctx context.Context, subjects ...Subject) error {
	if err := validate(subjects); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var buf [4]int64 // the usual account and IP fit without allocating
	var untils []int64
	if len(subjects) <= len(buf) {
		untils = buf[:len(subjects)]
	} else {
		untils = make([]int64, len(subjects))
	}
	err := r.onEither(ctx,
		func(ctx context.Context) error { return r.redisBannedUntil(ctx, subjects, untils) },
		func(ctx context.Context) error { return r.sqlBannedUntil(ctx, subjects, untils) })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	nowMs := r.now().UnixMilli()
	banned := -1
	for i, u := range untils {
		if nowMs < u && (banned < 0 || u > untils[banned]) {
			banned = i
		}
	}
	if banned < 0 {
		return nil
	}
	return &BannedError{Kind: subjects[banned].Kind, Until: time.UnixMilli(untils[banned])}
}

// Fail records one failure of step (password, code, totp...: 1 to
// MaxStepLen characters) for each subject, and bans until now+BanTime
// each subject whose failures within Window reach its maximum. It
// returns an error wrapping ErrUnavailable when the store or Redis fails
// or ctx ends (some subjects may then be recorded and others not), and
// one wrapping ErrInvalid, recording nothing, when step or a subject is
// invalid or subjects is empty. It does not report a ban: Check does.
func (r *Regulator) Fail(ctx context.Context, step string, subjects ...Subject) error {
	if step == "" || utf8.RuneCountInString(step) > MaxStepLen {
		return fmt.Errorf("%w: step must be 1 to %d characters", ErrInvalid, MaxStepLen)
	}
	if err := validate(subjects); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	nowMs := r.now().UnixMilli()
	err := r.onEither(ctx,
		func(ctx context.Context) error { return r.redisFail(ctx, step, subjects, nowMs) },
		func(ctx context.Context) error { return r.sqlFail(ctx, step, subjects, nowMs) })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// redisCooldown is how long after a Redis failure the regulator goes
// straight to its Store fallback.
const redisCooldown = time.Second

// onEither runs onRedis when Redis is configured, else onSQL; when Redis
// fails (and the caller's context has not ended) and a Store is
// configured, it runs onSQL with a fresh Timeout of its own, since the
// failed Redis call may have used up the first, and skips Redis for
// redisCooldown.
func (r *Regulator) onEither(ctx context.Context, onRedis, onSQL func(context.Context) error) error {
	if r.redis == nil {
		return onSQL(ctx)
	}
	nowMs := r.now().UnixMilli()
	if r.store != nil && nowMs < r.redisDownUntil.Load() {
		// Redis failed a moment ago: do not make every login wait for it.
		return onSQL(ctx)
	}
	err := onRedis(ctx)
	if err == nil || r.store == nil || context.Cause(ctx) == context.Canceled {
		return err
	}
	r.redisDownUntil.Store(nowMs + redisCooldown.Milliseconds())
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	if ferr := onSQL(fctx); ferr != nil {
		return errors.Join(err, ferr)
	}
	return nil
}

// validate checks subjects for Check and Fail.
func validate(subjects []Subject) error {
	if len(subjects) == 0 {
		return fmt.Errorf("%w: no subject", ErrInvalid)
	}
	for _, s := range subjects {
		if s.Kind != KindAccount && s.Kind != KindIP {
			return fmt.Errorf("%w: unknown subject kind %q", ErrInvalid, s.Kind)
		}
		if s.Value == "" || utf8.RuneCountInString(s.Value) > MaxValueLen {
			// The value itself stays out of the error.
			return fmt.Errorf("%w: %s subject must be 1 to %d characters", ErrInvalid, s.Kind, MaxValueLen)
		}
	}
	return nil
}

// maxFor returns the maximum of failures of the kind.
func (r *Regulator) maxFor(kind string) int {
	if kind == KindIP {
		return r.maxIPFailures
	}
	return r.maxFailures
}

// sinceMs returns the oldest time, in ms, of a failure that still counts
// at nowMs: a failure counts while it is less than Window old.
func (r *Regulator) sinceMs(nowMs int64) int64 { return nowMs - r.windowMs + 1 }

// sqlBannedUntil fills untils with the end of each subject's ban from the
// SQL store (0 for none).
func (r *Regulator) sqlBannedUntil(ctx context.Context, subjects []Subject, untils []int64) error {
	for i, s := range subjects {
		u, err := r.store.BannedUntil(ctx, s.Kind, s.Value)
		if err != nil {
			return err
		}
		untils[i] = u
	}
	return nil
}

// sqlFail records the failure of each subject in the SQL store, counts
// the subject's failures in the window (the new one included, and those
// that concurrent calls recorded) and bans it at its maximum. Of
// concurrent calls, at least the last to count sees every failure, so a
// subject that reaches its maximum is banned.
func (r *Regulator) sqlFail(ctx context.Context, step string, subjects []Subject, nowMs int64) error {
	for _, s := range subjects {
		if err := r.store.RecordFailure(ctx, s.Kind, s.Value, step, nowMs); err != nil {
			return err
		}
		n, err := r.store.CountFailures(ctx, s.Kind, s.Value, r.sinceMs(nowMs))
		if err != nil {
			return err
		}
		if n >= r.maxFor(s.Kind) {
			if err := r.store.Ban(ctx, s.Kind, s.Value, nowMs+r.banMs); err != nil {
				return err
			}
		}
	}
	return nil
}
