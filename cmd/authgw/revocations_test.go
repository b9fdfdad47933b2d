package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier"
)

// countingRedisClient is a client with authgw's options for url whose
// dials are counted, and fail while down is set.
func countingRedisClient(t *testing.T, url string, down *atomic.Bool) (*redis.Client, *atomic.Int64) {
	t.Helper()
	opts, err := redisOptions(url)
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int64
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		if down != nil && down.Load() {
			return nil, errors.New("test: Redis is down")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c, &dials
}

// TestRevoker_cooldown: with Redis on a closed port, a failed publish
// costs one dial (no go-redis retries), and the publishes of the next
// second do not call Redis at all, yet every revocation is applied here.
func TestRevoker_cooldown(t *testing.T) {
	tests := []struct {
		name            string
		whenRevokedAt   []time.Duration // on the revoker's clock
		expectDials     int64
		expectFailLogs  int
		expectSkipLogs  int
		expectLastDials int64 // dials made by the last revocation
	}{
		{name: "one revocation, one dial", whenRevokedAt: []time.Duration{0}, expectDials: 1, expectFailLogs: 1, expectSkipLogs: 0, expectLastDials: 1},
		{name: "ten at once: one dial, one skip line", whenRevokedAt: []time.Duration{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, expectDials: 1, expectFailLogs: 1, expectSkipLogs: 1, expectLastDials: 0},
		{name: "within the cooldown", whenRevokedAt: []time.Duration{0, 500 * time.Millisecond, 999 * time.Millisecond}, expectDials: 1, expectFailLogs: 1, expectSkipLogs: 1, expectLastDials: 0},
		{name: "one try per cooldown", whenRevokedAt: []time.Duration{0, 500 * time.Millisecond, time.Second, 1200 * time.Millisecond, 1900 * time.Millisecond, 2 * time.Second},
			expectDials: 3, expectFailLogs: 3, expectSkipLogs: 2, expectLastDials: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, dials := countingRedisClient(t, "redis://127.0.0.1:1/0", nil)
			start := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			var now atomic.Int64
			now.Store(start.UnixNano())
			set := verifier.NewRevocationSet()
			var log lockedBuffer
			v := newRevoker(set, client, slog.New(slog.NewTextHandler(&log, nil)), func() time.Time { return time.Unix(0, now.Load()) })

			var before int64
			for i, at := range tt.whenRevokedAt {
				now.Store(start.Add(at).UnixNano())
				session := "session-" + strconv.Itoa(i)
				before = dials.Load()
				v.revoked(context.Background(), db.Revocation{Kind: db.RevokeSession, Subject: session, ExpiresMs: start.Add(time.Hour).UnixMilli()})
				if !set.Revoked(session, "someone", start) {
					t.Fatalf("revocation %d (at %v) not applied to this gateway's set", i, at)
				}
			}

			if got := dials.Load(); got != tt.expectDials {
				t.Errorf("%d dials for %d revocations, want %d", got, len(tt.whenRevokedAt), tt.expectDials)
			}
			if got := dials.Load() - before; got != tt.expectLastDials {
				t.Errorf("the last revocation dialed %d times, want %d", got, tt.expectLastDials)
			}
			if got := strings.Count(log.String(), "could not publish a revocation"); got != tt.expectFailLogs {
				t.Errorf("%d failure lines, want %d:\n%s", got, tt.expectFailLogs, log.String())
			}
			if got := strings.Count(log.String(), "skipped publishing revocations"); got != tt.expectSkipLogs {
				t.Errorf("%d skip lines, want %d:\n%s", got, tt.expectSkipLogs, log.String())
			}
		})
	}
}

// TestRevoker_recovers: after the cooldown, a revocation reaches a Redis
// that is back, through a real subscription, and the recovery is logged.
func TestRevoker_recovers(t *testing.T) {
	url := dbtest.RedisURL(t) // skips without Redis
	var down atomic.Bool
	down.Store(true)
	client, dials := countingRedisClient(t, url, &down)
	subscriber, err := newRedisClient(url)
	if err != nil {
		t.Fatal(err)
	}
	defer subscriber.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	received := verifier.NewRevocationSet()
	subscribeRevocations(ctx, subscriber, received, slog.New(slog.DiscardHandler), time.Now)

	start := time.Now()
	var now atomic.Int64
	now.Store(start.UnixNano())
	var log lockedBuffer
	v := newRevoker(verifier.NewRevocationSet(), client, slog.New(slog.NewTextHandler(&log, nil)), func() time.Time { return time.Unix(0, now.Load()) })
	revoke := func(session string) {
		t.Helper()
		v.revoked(ctx, db.Revocation{Kind: db.RevokeSession, Subject: session, ExpiresMs: start.Add(time.Hour).UnixMilli()})
	}
	lost, skipped, published := "lost-"+newState(t), "skipped-"+newState(t), "published-"+newState(t)

	revoke(lost)
	down.Store(false)
	revoke(skipped)
	if got := dials.Load(); got != 1 {
		t.Fatalf("%d dials, want 1: the second revocation, within the cooldown, called Redis", got)
	}
	now.Store(start.Add(revocationPublishCooldown).UnixNano())
	revoke(published)

	deadline := time.Now().Add(2 * time.Second)
	for !received.Revoked(published, "someone", start) {
		if time.Now().After(deadline) {
			t.Fatal("the revocation published after the cooldown did not reach the subscriber")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if received.Revoked(skipped, "someone", start) || received.Revoked(lost, "someone", start) {
		t.Error("a revocation made while publishes failed or were skipped was published")
	}
	if !strings.Contains(log.String(), "published a revocation on Redis again") {
		t.Errorf("recovery not logged:\n%s", log.String())
	}
}

// TestRedisOptions: no command retries, one dial per attempt, a short
// dial timeout unless the URL sets one, context deadlines honoured.
func TestRedisOptions(t *testing.T) {
	tests := []struct {
		name              string
		givenURL          string
		expectMaxRetries  int
		expectDialTimeout time.Duration
	}{
		{name: "defaults", givenURL: "redis://127.0.0.1:6379/0", expectMaxRetries: -1, expectDialTimeout: redisDialTimeout},
		{name: "URL settings kept", givenURL: "redis://127.0.0.1:6379/0?max_retries=2&dial_timeout=3s", expectMaxRetries: 2, expectDialTimeout: 3 * time.Second},
	}
	t.Run("malformed URL: refused without repeating it", func(t *testing.T) {
		_, err := redisOptions("redis://:Sup3rSecret@127.0.0.1:notaport/0")
		if !errors.Is(err, errBadRedisURL) || strings.Contains(err.Error(), "Sup3rSecret") {
			t.Errorf("err = %v, want errBadRedisURL without the password", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := redisOptions(tt.givenURL)
			if err != nil {
				t.Fatal(err)
			}
			if opts.MaxRetries != tt.expectMaxRetries || opts.DialerRetries != 1 || opts.DialTimeout != tt.expectDialTimeout || !opts.ContextTimeoutEnabled {
				t.Errorf("MaxRetries %d, DialerRetries %d, DialTimeout %v, ContextTimeoutEnabled %v; want %d, 1, %v, true",
					opts.MaxRetries, opts.DialerRetries, opts.DialTimeout, opts.ContextTimeoutEnabled, tt.expectMaxRetries, tt.expectDialTimeout)
			}
		})
	}
}
