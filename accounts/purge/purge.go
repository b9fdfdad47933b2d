package purge

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/authgw/authgw/db"
)

// Defaults of Config.
const (
	// DefaultPersonalDataRetention keeps a session's IP address and user
	// agent for 30 days after it was last used. The known-source check
	// of code login reads the IPs of the sessions of the last 30 days:
	// a shorter retention makes fewer sources known.
	DefaultPersonalDataRetention = 30 * 24 * time.Hour
	// DefaultSessionGrace keeps an ended session (and its refresh
	// tokens) 30 days after its end: the user's list of sessions shows
	// it, and the known-source check (30 days) still sees its source.
	DefaultSessionGrace = 30 * 24 * time.Hour
	// DefaultCodeGrace keeps an expired code an hour: codes live for
	// minutes.
	DefaultCodeGrace = time.Hour
	// DefaultRegulationAge keeps login failures and ended bans an hour:
	// four times the longest counting window of login regulation (15
	// minutes by default).
	DefaultRegulationAge = time.Hour
	// DefaultAuditRetention keeps an audit event 400 days: the common
	// compliance floor for security logs is a year (PCI DSS 10.5.1:
	// twelve months of history), and the margin lets a yearly review
	// still see the same weeks of the year before.
	DefaultAuditRetention = 400 * 24 * time.Hour
	// DefaultMailWindow is the window of the mail counters (the
	// accounts service's MailWindow default, 1 hour).
	DefaultMailWindow = time.Hour
)

// Store deletes what a policy says (db.DB).
type Store interface {
	Purge(ctx context.Context, p db.PurgePolicy) (db.PurgeResult, error)
}

// Config configures a Purger.
type Config struct {
	// Store is purged. Required.
	Store Store
	// Interval is the time between two purges. Required: positive.
	Interval time.Duration
	// PersonalDataRetention is how long a session's IP address and user
	// agent are kept after the session was last created or refreshed.
	// Optional. Default DefaultPersonalDataRetention.
	PersonalDataRetention time.Duration
	// SessionGrace is how long an ended (expired or invalidated)
	// session and an expired refresh token are kept. Optional. Default
	// DefaultSessionGrace.
	SessionGrace time.Duration
	// CodeGrace is how long an expired code is kept. Optional. Default
	// DefaultCodeGrace.
	CodeGrace time.Duration
	// RegulationAge is how long a login failure, and a ban after its
	// end, are kept: longer than the longest counting window. Optional.
	// Default DefaultRegulationAge.
	RegulationAge time.Duration
	// MailWindow is the window of the mail counters; older ones are
	// deleted. Optional. Default DefaultMailWindow.
	MailWindow time.Duration
	// AuditRetention is how long an audit event is kept. Optional.
	// Default DefaultAuditRetention.
	AuditRetention time.Duration
	// Batch is the most rows one statement deletes. Optional. Default
	// db.DefaultPurgeBatch.
	Batch int
	// Logger gets one line per purge. Optional. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// NewTicker returns a channel that ticks every d and a function
	// that stops it. Optional. Default a time.Ticker.
	NewTicker func(d time.Duration) (<-chan time.Time, func())
}

// ErrConfig is returned by New for a Config it cannot use.
var ErrConfig = errors.New("purge: invalid config")

// Purger purges a store on a schedule.
type Purger struct {
	cfg Config
}

// New returns a Purger. It fails with ErrConfig without a store, without
// a positive interval, or with a negative duration or batch.
func New(cfg Config) (*Purger, error) {
	if cfg.Store == nil || cfg.Interval <= 0 {
		return nil, errors.Join(ErrConfig, errors.New("purge: a store and a positive interval are required"))
	}
	if cfg.PersonalDataRetention < 0 || cfg.SessionGrace < 0 || cfg.CodeGrace < 0 || cfg.RegulationAge < 0 || cfg.MailWindow < 0 || cfg.AuditRetention < 0 || cfg.Batch < 0 {
		return nil, errors.Join(ErrConfig, errors.New("purge: negative duration or batch"))
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.PersonalDataRetention, DefaultPersonalDataRetention)
	def(&cfg.SessionGrace, DefaultSessionGrace)
	def(&cfg.CodeGrace, DefaultCodeGrace)
	def(&cfg.RegulationAge, DefaultRegulationAge)
	def(&cfg.MailWindow, DefaultMailWindow)
	def(&cfg.AuditRetention, DefaultAuditRetention)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewTicker == nil {
		cfg.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	return &Purger{cfg: cfg}, nil
}

// Policy is what a purge at now deletes.
func (p *Purger) Policy(now time.Time) db.PurgePolicy {
	ms := func(d time.Duration) int64 { return now.Add(-d).UnixMilli() }
	return db.PurgePolicy{
		SessionsEndedBeforeMs: ms(p.cfg.SessionGrace),
		CodesExpiredBeforeMs:  ms(p.cfg.CodeGrace),
		RegulationBeforeMs:    ms(p.cfg.RegulationAge),
		MailSendsBeforeMs:     ms(p.cfg.MailWindow),
		// A revocation's expires_ms already includes the longest token
		// lifetime, the verifiers' clock skew and a margin: past it no
		// token it refuses is valid, so the feed no longer needs it.
		RevocationsExpiredBeforeMs: now.UnixMilli(),
		PersonalDataBeforeMs:       ms(p.cfg.PersonalDataRetention),
		AuditEventsBeforeMs:        ms(p.cfg.AuditRetention),
		Batch:                      p.cfg.Batch,
	}
}

// Once purges the store now and logs one line with the counts per
// table (counts only: no personal data).
func (p *Purger) Once(ctx context.Context) (db.PurgeResult, error) {
	start := p.cfg.Now()
	res, err := p.cfg.Store.Purge(ctx, p.Policy(start))
	attrs := []any{
		"sessions", res.Sessions, "session_tokens", res.SessionTokens,
		"verification_codes", res.VerificationCodes,
		"regulation_failures", res.RegulationFailures, "regulation_bans", res.RegulationBans,
		"mail_sends", res.MailSends, "revocations", res.Revocations,
		"session_ips_cleared", res.SessionIPsCleared,
		"oidc_auth_requests", res.OIDCAuthRequests, "oidc_sign_ins", res.OIDCSignIns,
		"audit_events", res.AuditEvents,
		"took", p.cfg.Now().Sub(start).Round(time.Millisecond),
	}
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Logger.Warn("purge failed; retrying at the next interval", append(attrs, "err", err)...)
		}
		return res, err
	}
	p.cfg.Logger.Info("purge", attrs...)
	return res, nil
}

// Run purges once at once, then every Interval, until ctx ends. A
// failed purge is logged and retried at the next tick.
func (p *Purger) Run(ctx context.Context) {
	ticks, stop := p.cfg.NewTicker(p.cfg.Interval)
	defer stop()
	for {
		if ctx.Err() != nil {
			return
		}
		_, _ = p.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
	}
}
