package regulation

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db"
)

// Subject kinds. Callers name accounts and IP addresses; the regulator
// derives the other kinds from them.
const (
	// KindAccount is an account: Subject.Value is the user ID, or the
	// normalized email address tried when no user has it. Its failures
	// from all sources only delay its checks (see Delay); they never
	// ban it.
	KindAccount = db.RegulateAccount
	// KindIP is a client IP address: Subject.Value is its text. Its
	// failures are counted per source: an IPv4 address, or the /64 of an
	// IPv6 address.
	KindIP = db.RegulateIP
	// KindAccountIP is one account from one source, derived when Fail
	// or Check is given both. It is what a ban of an account's guesses
	// falls on, so that a stranger elsewhere cannot lock the owner out.
	KindAccountIP = db.RegulateAccountIP
	// KindMail is an address asked for login codes (RequestCode).
	KindMail = db.RegulateMail
	// KindMailIP is a source asking for login codes (RequestCode).
	KindMailIP = db.RegulateMailIP
	// KindMailPair is an address asked for login codes from one source
	// (RequestCode).
	KindMailPair = db.RegulateMailPair
	// KindFactor is an account at the steps only someone past its first
	// factor can reach: Subject.Value is the user ID. Callers name it for
	// the TOTP login step and the proofs of an authenticated user. Its
	// failures from all sources together ban it (MaxFactorFailures within
	// FactorWindow): a stranger cannot reach those steps, so the ban gives
	// no stranger a lever on the owner, and it caps how often a second
	// factor can be guessed however many sources guess it.
	KindFactor = db.RegulateFactor
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
	// DefaultAccountDelay is the default of Config.AccountDelay.
	DefaultAccountDelay = time.Second
	// DefaultMaxAccountDelay is the default of Config.MaxAccountDelay.
	DefaultMaxAccountDelay = 5 * time.Second
	// DefaultMaxCodeRequests is the default of Config.MaxCodeRequests.
	DefaultMaxCodeRequests = 5
	// DefaultMaxIPCodeRequests is the default of Config.MaxIPCodeRequests.
	DefaultMaxIPCodeRequests = 20
	// DefaultMaxFactorFailures is the default of Config.MaxFactorFailures.
	DefaultMaxFactorFailures = 10
	// DefaultFactorWindow is the default of Config.FactorWindow.
	DefaultFactorWindow = 15 * time.Minute
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
	// Kind is KindAccountIP, KindIP, KindFactor, KindMail, KindMailPair
	// or KindMailIP.
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
	// Kind is KindAccount, KindIP or KindFactor.
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
	// MaxFailures is how many failures of one account from one source
	// within Window ban that source from that account; and how many
	// failures of one account from all sources within Window start
	// delaying its checks (see AccountDelay). Optional. Default 5.
	MaxFailures int
	// MaxIPFailures is how many failures from one source (an IPv4
	// address or an IPv6 /64) within Window ban it; higher than
	// MaxFailures since an office's users share one address behind NAT.
	// Optional. Default 20.
	MaxIPFailures int
	// AccountDelay is the first delay of the checks of an account that
	// has MaxFailures failures within Window (from any sources); each
	// further failure doubles it, up to MaxAccountDelay. The delay holds
	// from the last failure: checks that come before its end wait for it
	// (Delay), and are never refused, so that strangers who fail against
	// an account slow its owner down by at most MaxAccountDelay and never
	// lock them out. Optional. Default 1 second.
	AccountDelay time.Duration
	// MaxAccountDelay caps the account delay. Optional. Default 5 seconds.
	MaxAccountDelay time.Duration
	// MaxCodeRequests is how many login codes one address may be asked
	// for from one source within Window (RequestCode), and how many it
	// may be sent within Window for sources its account has not logged in
	// from (RequestCodeToAddress); past it the request is refused until
	// Window has passed since the one that reached it. Asking for a code
	// is not a failure: it delays and bans nothing else. Optional.
	// Default 5.
	MaxCodeRequests int
	// MaxIPCodeRequests is how many login codes one source may ask for
	// within Window, for any addresses. Optional. Default 20.
	MaxIPCodeRequests int
	// MaxFactorFailures is how many failures of a KindFactor subject
	// (from all sources together) within FactorWindow ban it for
	// BanTime. Optional. Default 10.
	MaxFactorFailures int
	// FactorWindow is how long a KindFactor failure counts. Optional.
	// Default 15 minutes.
	FactorWindow time.Duration
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
	maxMail       int
	maxIPMail     int
	maxFactor     int
	factorMs      int64
	delayMs       int64
	maxDelayMs    int64
	windowMs      int64
	banMs         int64
	timeout       time.Duration
	now           func() time.Time
	rand          io.Reader
	// redisDownUntil (Unix ms) skips Redis for a while after it failed.
	redisDownUntil atomic.Int64
	// turns are this process's turns of accounts (Turn).
	turns turns
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
	if cfg.Redis != nil && !deadlinesBoundCalls(cfg.Redis) {
		return nil, errors.New("regulation: Config.Redis must have ContextTimeoutEnabled set, or a hung Redis would stall logins beyond Timeout")
	}
	if cfg.MaxFailures < 0 || cfg.MaxIPFailures < 0 || cfg.MaxCodeRequests < 0 || cfg.MaxIPCodeRequests < 0 || cfg.MaxFactorFailures < 0 {
		return nil, fmt.Errorf("regulation: negative maximum in Config (MaxFailures %d, MaxIPFailures %d, MaxCodeRequests %d, MaxIPCodeRequests %d, MaxFactorFailures %d)",
			cfg.MaxFailures, cfg.MaxIPFailures, cfg.MaxCodeRequests, cfg.MaxIPCodeRequests, cfg.MaxFactorFailures)
	}
	if cfg.Window < 0 || cfg.BanTime < 0 || cfg.Timeout < 0 || cfg.AccountDelay < 0 || cfg.MaxAccountDelay < 0 || cfg.FactorWindow < 0 {
		return nil, fmt.Errorf("regulation: negative duration in Config (Window %v, BanTime %v, Timeout %v, AccountDelay %v, MaxAccountDelay %v, FactorWindow %v)",
			cfg.Window, cfg.BanTime, cfg.Timeout, cfg.AccountDelay, cfg.MaxAccountDelay, cfg.FactorWindow)
	}
	if cfg.MaxFactorFailures == 0 {
		cfg.MaxFactorFailures = DefaultMaxFactorFailures
	}
	if cfg.FactorWindow == 0 {
		cfg.FactorWindow = DefaultFactorWindow
	}
	if cfg.FactorWindow < time.Millisecond {
		return nil, fmt.Errorf("regulation: Config.FactorWindow (%v) must be at least 1ms", cfg.FactorWindow)
	}
	if cfg.MaxCodeRequests == 0 {
		cfg.MaxCodeRequests = DefaultMaxCodeRequests
	}
	if cfg.MaxIPCodeRequests == 0 {
		cfg.MaxIPCodeRequests = DefaultMaxIPCodeRequests
	}
	if cfg.AccountDelay == 0 {
		cfg.AccountDelay = DefaultAccountDelay
	}
	if cfg.MaxAccountDelay == 0 {
		cfg.MaxAccountDelay = DefaultMaxAccountDelay
	}
	if cfg.AccountDelay < time.Millisecond || cfg.MaxAccountDelay < cfg.AccountDelay {
		return nil, fmt.Errorf("regulation: Config.AccountDelay (%v) must be at least 1ms and at most Config.MaxAccountDelay (%v)", cfg.AccountDelay, cfg.MaxAccountDelay)
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
		maxMail:       cfg.MaxCodeRequests,
		maxIPMail:     cfg.MaxIPCodeRequests,
		maxFactor:     cfg.MaxFactorFailures,
		factorMs:      cfg.FactorWindow.Milliseconds(),
		delayMs:       cfg.AccountDelay.Milliseconds(),
		maxDelayMs:    cfg.MaxAccountDelay.Milliseconds(),
		windowMs:      cfg.Window.Milliseconds(),
		banMs:         cfg.BanTime.Milliseconds(),
		timeout:       cfg.Timeout,
		now:           cfg.Now,
		rand:          cfg.Rand,
	}, nil
}

// Check reports whether subjects may try a step now. It returns nil
// when none is banned; a *BannedError (wrapping ErrBanned) naming the
// kind whose ban ends last when one is; an error wrapping ErrUnavailable
// when the store or Redis fails or ctx ends (refuse the step); and an
// error wrapping ErrInvalid when subjects is empty or holds an invalid
// subject. What can be banned is a source (an IP subject's address, or
// its /64 for IPv6), a KindFactor subject, and, when subjects hold an
// account and an IP, that account from that source. An account alone is
// never banned: its
// failures from everywhere only delay it (Delay), so Check of an account
// without an IP always passes.
func (r *Regulator) Check(ctx context.Context, subjects ...Subject) error {
	if err := validate(subjects); err != nil {
		return err
	}
	var buf [4]Subject
	return r.checkBans(ctx, r.banSubjects(buf[:0], subjects))
}

// checkBans reads the bans of the derived subjects ds.
func (r *Regulator) checkBans(ctx context.Context, ds []Subject) error {
	if len(ds) == 0 {
		return nil
	}
	untils, err := r.untils(ctx, ds)
	if err != nil {
		return err
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
	return &BannedError{Kind: ds[banned].Kind, Until: time.UnixMilli(untils[banned])}
}

// untils reads the stored ends of the derived subjects' bans or holds.
func (r *Regulator) untils(ctx context.Context, ds []Subject) ([]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	untils := make([]int64, len(ds))
	err := r.onEither(ctx,
		func(ctx context.Context) error { return r.redisBannedUntil(ctx, ds, untils) },
		func(ctx context.Context) error { return r.sqlBannedUntil(ctx, ds, untils) })
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return untils, nil
}

// Delay returns how long a check of the accounts among subjects should
// wait before it is tried: the time left until the hold that the
// account's recent failures set (see Config.AccountDelay), at most
// MaxAccountDelay; 0 when there is none. A caller waits that long and
// then tries the step: a delay is never a refusal. It fails like Check.
// Wait outside any scarce resource (a hashing slot): a waiting request
// must hold nothing others need.
func (r *Regulator) Delay(ctx context.Context, subjects ...Subject) (time.Duration, error) {
	if err := validate(subjects); err != nil {
		return 0, err
	}
	var buf [2]Subject
	ds := buf[:0]
	for _, s := range subjects {
		if s.Kind == KindAccount {
			ds = append(ds, s)
		}
	}
	if len(ds) == 0 {
		return 0, nil
	}
	untils, err := r.untils(ctx, ds)
	if err != nil {
		return 0, err
	}
	until := int64(0)
	for _, u := range untils {
		until = max(until, u)
	}
	wait := until - r.now().UnixMilli()
	return time.Duration(min(max(wait, 0), r.maxDelayMs)) * time.Millisecond, nil
}

// Fail records one failure of step (password, code, totp...: 1 to
// MaxStepLen characters) of subjects: of each account (which delays its
// later checks once it has MaxFailures failures within Window), of each
// source (banned for BanTime at MaxIPFailures) and, for each account
// given with an IP, of that account from that source (banned for BanTime
// at MaxFailures), and of each KindFactor subject (banned for BanTime at
// MaxFactorFailures within FactorWindow). It returns an error wrapping ErrUnavailable when the
// store or Redis fails or ctx ends (some subjects may then be recorded
// and others not), and one wrapping ErrInvalid, recording nothing, when
// step or a subject is invalid or subjects is empty. It does not report
// a ban: Check does.
func (r *Regulator) Fail(ctx context.Context, step string, subjects ...Subject) error {
	if step == "" || utf8.RuneCountInString(step) > MaxStepLen {
		return fmt.Errorf("%w: step must be 1 to %d characters", ErrInvalid, MaxStepLen)
	}
	if err := validate(subjects); err != nil {
		return err
	}
	ds := make([]Subject, 0, len(subjects)+1)
	for _, s := range subjects {
		if s.Kind == KindAccount {
			ds = append(ds, s)
		}
	}
	return r.record(ctx, step, r.banSubjects(ds, subjects))
}

// RequestCode counts a request for a login code to be mailed: subjects
// are the address (KindAccount: the normalized address) and the source
// (KindIP). Asking for a code is not a failure: it delays and bans no
// login step. It returns a *BannedError of KindMailPair or KindMailIP,
// and records nothing, while the address has been asked for
// MaxCodeRequests codes from that source, or the source has asked for
// MaxIPCodeRequests, within Window; otherwise it records the request and
// returns nil. It does not count the address from all sources, which
// anyone could use up: a caller counts that with RequestCodeToAddress,
// for the sources the account has not logged in from. It fails like
// Check.
func (r *Regulator) RequestCode(ctx context.Context, subjects ...Subject) error {
	if err := validate(subjects); err != nil {
		return err
	}
	ds := make([]Subject, 0, len(subjects)+1)
	for _, s := range subjects {
		if s.Kind != KindIP {
			continue
		}
		src := source(s.Value)
		ds = append(ds, Subject{Kind: KindMailIP, Value: src})
		for _, a := range subjects {
			if a.Kind == KindAccount {
				ds = append(ds, Subject{Kind: KindMailPair, Value: pairValue(a.Value, src)})
			}
		}
	}
	if len(ds) == 0 {
		return fmt.Errorf("%w: RequestCode needs an IP subject", ErrInvalid)
	}
	if err := r.checkBans(ctx, ds); err != nil {
		return err
	}
	return r.record(ctx, "code-request", ds)
}

// RequestCodeToAddress counts a login code to be mailed to the address
// (KindAccount: the normalized address) for a source its account has not
// logged in from: it returns a *BannedError of KindMail, and records
// nothing, while the address has been sent MaxCodeRequests such codes
// within Window; otherwise it records the code and returns nil. It is the
// bound on what strangers from many sources can mail to one address. It
// fails like Check.
func (r *Regulator) RequestCodeToAddress(ctx context.Context, address Subject) error {
	if err := validate([]Subject{address}); err != nil {
		return err
	}
	if address.Kind != KindAccount {
		return fmt.Errorf("%w: RequestCodeToAddress takes an account subject", ErrInvalid)
	}
	ds := []Subject{{Kind: KindMail, Value: address.Value}}
	if err := r.checkBans(ctx, ds); err != nil {
		return err
	}
	return r.record(ctx, "code-request", ds)
}

// SameSource reports whether two IP addresses' texts are one regulated
// source: the same IPv4 address, or IPv6 addresses in the same /64.
func SameSource(a, b string) bool { return source(a) == source(b) }

// banSubjects appends to ds the subjects of subjects that can be banned:
// each KindFactor subject, each IP's source and each (account, source)
// pair.
func (r *Regulator) banSubjects(ds, subjects []Subject) []Subject {
	for _, s := range subjects {
		if s.Kind == KindFactor {
			ds = append(ds, s)
		}
		if s.Kind != KindIP {
			continue
		}
		src := source(s.Value)
		ds = append(ds, Subject{Kind: KindIP, Value: src})
		for _, a := range subjects {
			if a.Kind == KindAccount {
				ds = append(ds, Subject{Kind: KindAccountIP, Value: pairValue(a.Value, src)})
			}
		}
	}
	return ds
}

// record records one event of step for each derived subject in ds.
func (r *Regulator) record(ctx context.Context, step string, ds []Subject) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	nowMs := r.now().UnixMilli()
	err := r.onEither(ctx,
		func(ctx context.Context) error { return r.redisFail(ctx, step, ds, nowMs) },
		func(ctx context.Context) error { return r.sqlFail(ctx, step, ds, nowMs) })
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// source returns the regulated source of an IP address's text: the
// address, or the /64 of an IPv6 address (one subscriber's network,
// whose addresses cost nothing to change). Text that is no address is
// its own source.
func source(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		return netip.PrefixFrom(addr, 64).Masked().String()
	}
	return addr.String()
}

// pairValue is the subject of an account from a source: a hash, so that
// it fits MaxValueLen whatever the account's length.
func pairValue(account, src string) string {
	h := sha256.New()
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(src))
	return hex.EncodeToString(h.Sum(nil))
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
		if s.Kind != KindAccount && s.Kind != KindIP && s.Kind != KindFactor {
			return fmt.Errorf("%w: unknown subject kind %q", ErrInvalid, s.Kind)
		}
		if s.Value == "" || utf8.RuneCountInString(s.Value) > MaxValueLen {
			// The value itself stays out of the error.
			return fmt.Errorf("%w: %s subject must be 1 to %d characters", ErrInvalid, s.Kind, MaxValueLen)
		}
	}
	return nil
}

// maxFor returns the maximum of events of the kind.
func (r *Regulator) maxFor(kind string) int {
	switch kind {
	case KindIP:
		return r.maxIPFailures
	case KindMail:
		return r.maxMail
	case KindMailIP:
		return r.maxIPMail
	case KindFactor:
		return r.maxFactor
	}
	return r.maxFailures
}

// windowFor returns how long, in ms, an event of the kind counts.
func (r *Regulator) windowFor(kind string) int64 {
	if kind == KindFactor {
		return r.factorMs
	}
	return r.windowMs
}

// banEnd returns the end of the ban (or, for an account, of the hold)
// of a subject of the kind that has n events within Window at nowMs, or
// 0 when n is under its maximum. Sources and pairs are banned for
// BanTime; an address asking for codes, and a source asking for them,
// for Window; an account is held AccountDelay, doubled for each failure
// past the maximum, at most MaxAccountDelay.
func (r *Regulator) banEnd(kind string, n int, nowMs int64) int64 {
	over := n - r.maxFor(kind)
	if over < 0 {
		return 0
	}
	switch kind {
	case KindAccount:
		d := r.maxDelayMs
		if over < 30 {
			d = min(r.delayMs<<over, r.maxDelayMs)
		}
		return nowMs + d
	case KindMail, KindMailIP, KindMailPair:
		return nowMs + r.windowMs
	}
	return nowMs + r.banMs
}

// sinceMs returns the oldest time, in ms, of a failure of the kind that
// still counts at nowMs: a failure counts while it is less than its
// window (Window, or FactorWindow) old.
func (r *Regulator) sinceMs(kind string, nowMs int64) int64 { return nowMs - r.windowFor(kind) + 1 }

// sqlBannedUntil fills untils with the end of each derived subject's ban
// from the SQL store (0 for none).
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

// sqlFail records the event of each derived subject in the SQL store,
// counts the subject's events in the window (the new one included, and
// those that concurrent calls recorded) and bans or holds it at its
// maximum. Of
// concurrent calls, at least the last to count sees every failure, so a
// subject that reaches its maximum is banned.
func (r *Regulator) sqlFail(ctx context.Context, step string, subjects []Subject, nowMs int64) error {
	for _, s := range subjects {
		if err := r.store.RecordFailure(ctx, s.Kind, s.Value, step, nowMs); err != nil {
			return err
		}
		n, err := r.store.CountFailures(ctx, s.Kind, s.Value, r.sinceMs(s.Kind, nowMs))
		if err != nil {
			return err
		}
		if end := r.banEnd(s.Kind, n, nowMs); end != 0 {
			if err := r.store.Ban(ctx, s.Kind, s.Value, end); err != nil {
				return err
			}
		}
	}
	return nil
}
