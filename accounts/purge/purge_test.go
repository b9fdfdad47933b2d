package purge_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/purge"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/gatewaytest"
)

// recorder is the real store, telling each purge's policy and result.
type recorder struct {
	store *db.DB
	done  chan db.PurgeResult
	mu    sync.Mutex
	seen  []db.PurgePolicy
}

func (r *recorder) Purge(ctx context.Context, p db.PurgePolicy) (db.PurgeResult, error) {
	res, err := r.store.Purge(ctx, p)
	r.mu.Lock()
	r.seen = append(r.seen, p)
	r.mu.Unlock()
	r.done <- res
	return res, err
}

// TestRun_purgesOnEachTickAndStopsOnCancel runs the loop on a fake
// ticker and clock against a real database: it purges at once, again at
// each tick with the clock's new time (a session's IP past the
// retention is cleared, one within is kept, and an ended session past
// its grace is deleted), logs one line per purge without the personal
// data, and returns when its context ends.
func TestRun_purgesOnEachTickAndStopsOnCancel(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		day := 24 * time.Hour
		start := time.UnixMilli(2_000_000_000_000)
		var mu sync.Mutex
		now := start
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := d.SQL().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1)")
		ms := func(t time.Time) int64 { return t.UnixMilli() }
		// Running for a year, last used 20 days before start.
		exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s-used', 'u1', '198.51.100.7', 'Firefox', ?, ?, ?)",
			ms(start.Add(-20*day)), ms(start.Add(365*day)), ms(start.Add(-20*day)))
		// Ended 31 days before start.
		exec("INSERT INTO sessions (id, user_id, ip, user_agent, created_ms, expires_ms, refreshed_ms) VALUES ('s-ended', 'u1', '198.51.100.8', 'Firefox', ?, ?, ?)",
			ms(start.Add(-32*day)), ms(start.Add(-31*day)), ms(start.Add(-32*day)))

		rec := &recorder{store: d, done: make(chan db.PurgeResult)}
		ticks := make(chan time.Time)
		stopped := make(chan struct{})
		var logs gatewaytest.LogBuffer
		p, err := purge.New(purge.Config{
			Store: rec, Interval: time.Hour, Now: clock,
			Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			NewTicker: func(d time.Duration) (<-chan time.Time, func()) {
				if d != time.Hour {
					t.Errorf("ticker interval %v, expected 1h", d)
				}
				return ticks, func() { close(stopped) }
			},
		})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		returned := make(chan struct{})
		go func() { p.Run(runCtx); close(returned) }()

		first := <-rec.done
		if first.Sessions != 1 || first.SessionIPsCleared != 0 {
			t.Errorf("first purge %+v: expected the ended session deleted and no IP cleared", first)
		}
		mu.Lock()
		now = start.Add(11 * day) // s-used now last used 31 days ago
		mu.Unlock()
		ticks <- now
		second := <-rec.done
		if second.SessionIPsCleared != 1 {
			t.Errorf("second purge %+v: expected the IP of s-used cleared", second)
		}
		var ip, ua string
		if err := d.SQL().QueryRowContext(ctx, "SELECT ip, user_agent FROM sessions WHERE id = 's-used'").Scan(&ip, &ua); err != nil || ip != "" || ua != "" {
			t.Errorf("s-used: ip %q, user agent %q, %v; expected both cleared and the session kept", ip, ua, err)
		}

		cancel()
		select {
		case <-returned:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		select {
		case <-stopped:
		default:
			t.Error("the ticker was not stopped")
		}
		out := logs.String()
		if n := strings.Count(out, "msg=purge "); n != 2 {
			t.Errorf("%d purge log lines, expected 2:\n%s", n, out)
		}
		if strings.Contains(out, "198.51.100") || strings.Contains(out, "Firefox") {
			t.Errorf("the log holds personal data:\n%s", out)
		}
		if rec.seen[1].PersonalDataBeforeMs != ms(now.Add(-30*day)) || rec.seen[1].RevocationsExpiredBeforeMs != ms(now) {
			t.Errorf("second policy %+v: expected the cutoffs from the clock's new time", rec.seen[1])
		}
	})
}

// TestNew_refusesBadConfig: New needs a store and a positive interval,
// and refuses negative durations.
func TestNew_refusesBadConfig(t *testing.T) {
	store := &recorder{}
	for _, tt := range []struct {
		name string
		cfg  purge.Config
	}{
		{"no store", purge.Config{Interval: time.Hour}},
		{"no interval", purge.Config{Store: store}},
		{"negative retention", purge.Config{Store: store, Interval: time.Hour, PersonalDataRetention: -time.Hour}},
		{"negative audit retention", purge.Config{Store: store, Interval: time.Hour, AuditRetention: -time.Hour}},
		{"negative batch", purge.Config{Store: store, Interval: time.Hour, Batch: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := purge.New(tt.cfg); !errors.Is(err, purge.ErrConfig) {
				t.Fatalf("New: %v, expected ErrConfig", err)
			}
		})
	}
}

// TestOnce_auditRetention: a purge deletes the audit events older than
// the audit retention (400 days by default, or as configured) and keeps
// the newer ones, on both databases.
func TestOnce_auditRetention(t *testing.T) {
	day := 24 * time.Hour
	now := time.UnixMilli(2_000_000_000_000)
	for _, tt := range []struct {
		name           string
		givenRetention time.Duration
		expectKeptAges []time.Duration
		expectRemovedN int64
	}{
		{name: "default 400 days", expectKeptAges: []time.Duration{1 * day, 399 * day}, expectRemovedN: 1},
		{name: "30 days", givenRetention: 30 * day, expectKeptAges: []time.Duration{1 * day}, expectRemovedN: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				ctx := t.Context()
				ages := []time.Duration{1 * day, 399 * day, 401 * day}
				for i, age := range ages {
					if err := d.InsertAuditEvent(ctx, db.AuditEvent{ID: "0190a000-0000-7000-8000-00000000000" + string(rune('1'+i)),
						TimeMs: now.Add(-age).UnixMilli(), Type: "login.failed", Outcome: db.AuditFailure}); err != nil {
						t.Fatal(err)
					}
				}
				p, err := purge.New(purge.Config{Store: d, Interval: time.Hour, AuditRetention: tt.givenRetention,
					Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				res, err := p.Once(ctx)
				if err != nil || res.AuditEvents != tt.expectRemovedN {
					t.Fatalf("purge: %+v, %v; want %d audit events", res, err, tt.expectRemovedN)
				}
				left, err := d.TailAuditEvents(ctx, db.AuditFilter{}, "", 10)
				if err != nil {
					t.Fatal(err)
				}
				var kept []time.Duration
				for _, e := range left {
					kept = append(kept, now.Sub(time.UnixMilli(e.TimeMs)))
				}
				slices.Sort(kept)
				if !slices.Equal(kept, tt.expectKeptAges) {
					t.Fatalf("kept events aged %v, want %v", kept, tt.expectKeptAges)
				}
			})
		})
	}
}
