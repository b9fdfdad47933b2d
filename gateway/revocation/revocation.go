package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/authgw/authgw/verifier"
)

// Feed is the part of the store the poller reads. The package declares
// the records it reads (Entry) so that it links no SQL driver; package
// db/gatewaystore adapts the SQL store to it.
type Feed interface {
	// RevocationsSince returns up to limit entries after afterCursor, in
	// cursor order. It fails when the store cannot be read.
	RevocationsSince(ctx context.Context, afterCursor int64, limit int) ([]Entry, error)
	// RevocationsCreatedSince returns the entries created at or after
	// sinceMs (Unix milliseconds). It fails when the store cannot be read.
	RevocationsCreatedSince(ctx context.Context, sinceMs int64) ([]Entry, error)
}

// Kinds of Entry.
const (
	KindSession = "session" // Subject is a session ID
	KindUser    = "user"    // Subject is a user ID
)

// Entry is one revocation of the feed.
type Entry struct {
	// Cursor orders the feed; poll with the last cursor seen.
	Cursor int64
	// Kind is KindSession or KindUser; other kinds are ignored.
	Kind string
	// Subject is the session or user ID.
	Subject string
	// NotBeforeMs is, for KindUser, when tokens issued before are refused
	// from (Unix milliseconds).
	NotBeforeMs int64
	// ExpiresMs is when the last token the entry could refuse expires.
	ExpiresMs int64
	// CreatedMs is the writer's clock when it made the entry (Unix
	// milliseconds); 0 when unknown (a Redis message carries none).
	CreatedMs int64
}

// Defaults of Config.
const (
	DefaultInterval = time.Second
	DefaultOverlap  = 10 * time.Second
	// DefaultKeep is the verifier's default clock skew and as much
	// again for clocks that drift apart.
	DefaultKeep = 2 * verifier.DefaultSkew
	pageSize    = 1000
)

// Config configures a Poller.
type Config struct {
	// Feed is read for new revocations. Required.
	Feed Feed
	// Set receives them. Required.
	Set *verifier.RevocationSet
	// Interval between polls. Optional. Default DefaultInterval.
	Interval time.Duration
	// Overlap is how far back each poll also re-reads by creation time,
	// for entries whose cursor committed out of order (MySQL
	// auto-increment). Optional. Default DefaultOverlap.
	Overlap time.Duration
	// Keep is how long past its expiry an entry stays in the set. An
	// entry's expiry is when the last token it refuses expires; but the
	// verifier accepts a token up to its clock skew past its time-before,
	// so an entry dropped at its expiry would let a revoked token work
	// again for the skew (a writer that counted only the token lifetime,
	// an older version, one whose skew is larger). Keep must be at least
	// the verifier's Skew. Optional. Default DefaultKeep (twice the
	// default skew, 60 s).
	Keep time.Duration
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Logger receives poll failures. Optional. Default slog.Default().
	Logger *slog.Logger
	// Lag receives, for each entry first read by cursor, the seconds
	// from its creation (CreatedMs, the writer's clock) to this poll
	// applying it: how long a logout or ban took to reach this instance
	// through the database, clock skew between the two hosts included.
	// A prometheus.Histogram fits. Optional.
	Lag interface{ Observe(seconds float64) }
}

// Poller copies the revocation feed into a RevocationSet. Poll and Run
// must not be called concurrently.
type Poller struct {
	cfg      Config
	cursor   int64
	lastPoll time.Time
	// failing is set while polls fail (nil after a good one); read by
	// Degraded from other goroutines.
	failing atomic.Pointer[pollFailure]
}

// pollFailure describes a run of failed polls.
type pollFailure struct {
	err      error
	since    time.Time // when the first poll of the run failed
	lastGood time.Time // the last good poll before it; zero for none
}

// New checks cfg and returns a Poller. It fails when Feed or Set is
// missing or a duration is negative.
func New(cfg Config) (*Poller, error) {
	if cfg.Feed == nil || cfg.Set == nil {
		return nil, errors.New("revocation: Feed and Set are required")
	}
	if cfg.Interval < 0 || cfg.Overlap < 0 || cfg.Keep < 0 {
		return nil, errors.New("revocation: Interval, Overlap and Keep must not be negative")
	}
	if cfg.Keep == 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Overlap == 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Poller{cfg: cfg}, nil
}

// Poll reads every revocation after the last cursor seen, and those
// created within Overlap of the previous poll, into the set, then drops
// entries that can no longer refuse a valid token (Keep past their
// expiry). Applying an entry
// twice is harmless. It fails when the feed cannot be read; the cursor
// then stays where it was.
func (p *Poller) Poll(ctx context.Context) error {
	now := p.cfg.Now()
	err := p.poll(ctx, now)
	if err == nil {
		p.failing.Store(nil)
		return nil
	}
	f := &pollFailure{err: err, since: now, lastGood: p.lastPoll}
	if prev := p.failing.Load(); prev != nil {
		f.since = prev.since
	}
	p.failing.Store(f)
	return err
}

// Degraded says since when polls fail and why, or "" while they succeed.
// While they fail, revocations made elsewhere (logouts, bans) reach this
// gateway only by Redis, if at all. Safe to call concurrently with Run.
func (p *Poller) Degraded() string {
	f := p.failing.Load()
	if f == nil {
		return ""
	}
	last := "none since start"
	if !f.lastGood.IsZero() {
		last = f.lastGood.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("revocation feed: polls failing since %s (last good poll: %s): %v",
		f.since.UTC().Format(time.RFC3339), last, f.err)
}

func (p *Poller) poll(ctx context.Context, now time.Time) error {
	cursor := p.cursor
	for {
		page, err := p.cfg.Feed.RevocationsSince(ctx, cursor, pageSize)
		if err != nil {
			return err
		}
		for _, r := range page {
			p.apply(r)
			cursor = r.Cursor
			if p.cfg.Lag != nil && r.CreatedMs > 0 && !p.lastPoll.IsZero() {
				// Not on the first poll: it reads back the whole
				// retained feed, entries applied long ago elsewhere.
				p.cfg.Lag.Observe(max(now.Sub(time.UnixMilli(r.CreatedMs)).Seconds(), 0))
			}
		}
		if len(page) < pageSize {
			break
		}
	}
	if !p.lastPoll.IsZero() {
		late, err := p.cfg.Feed.RevocationsCreatedSince(ctx, p.lastPoll.Add(-p.cfg.Overlap).UnixMilli())
		if err != nil {
			return err
		}
		for _, r := range late {
			p.apply(r)
		}
	}
	p.cursor, p.lastPoll = cursor, now
	p.cfg.Set.Prune(now.Add(-p.cfg.Keep))
	return nil
}

func (p *Poller) apply(r Entry) { Apply(p.cfg.Set, r) }

// Apply puts one revocation of the feed into set: a session revoked, or
// a user's tokens issued before NotBeforeMs; either until ExpiresMs.
// Other kinds are ignored.
func Apply(set *verifier.RevocationSet, r Entry) {
	expires := time.UnixMilli(r.ExpiresMs)
	switch r.Kind {
	case KindSession:
		set.RevokeSession(r.Subject, expires)
	case KindUser:
		set.RevokeUserBefore(r.Subject, time.UnixMilli(r.NotBeforeMs), expires)
	}
}

// Run polls every Interval until ctx ends, logging failures; the set
// keeps what it had while the database is unreachable.
func (p *Poller) Run(ctx context.Context) {
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		if err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.Warn("revocation feed poll failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
