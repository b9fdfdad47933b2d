package broadcast_test

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/gateway/revocation/broadcast"
	"github.com/authgw/authgw/verifier"
)

// countingRedisClient is a client for url with the options Config.Client
// asks for (context deadlines honoured, no command retries, one dial per
// attempt), whose dials are counted, and fail while down is set.
func countingRedisClient(t *testing.T, url string, down *atomic.Bool) (*redis.Client, *atomic.Int64) {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialerRetries = 1
	opts.DialTimeout = time.Second
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

// TestPublisher_cooldown: with Redis on a closed port, a failed publish
// costs one dial (no go-redis retries), and the publishes of the next
// second do not call Redis at all, yet every revocation is applied here.
func TestPublisher_cooldown(t *testing.T) {
	tests := []struct {
		name            string
		whenRevokedAt   []time.Duration // on the publisher's clock
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
			log := newLogFile(t)
			v := newPublisher(t, broadcast.Config{Set: set, Client: client, Logger: slog.New(slog.NewTextHandler(log, nil)), Now: func() time.Time { return time.Unix(0, now.Load()) }})

			var before int64
			for i, at := range tt.whenRevokedAt {
				now.Store(start.Add(at).UnixNano())
				session := "session-" + strconv.Itoa(i)
				before = dials.Load()
				v.Revoked(context.Background(), revocation.Entry{Kind: revocation.KindSession, Subject: session, ExpiresMs: start.Add(time.Hour).UnixMilli()})
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

// TestPublisher_recovers: after the cooldown, a revocation reaches a Redis
// that is back, through a real subscription, and the recovery is logged.
func TestPublisher_recovers(t *testing.T) {
	url := dbtest.RedisURL(t) // skips without Redis
	var down atomic.Bool
	down.Store(true)
	client, dials := countingRedisClient(t, url, &down)
	subscriber, _ := countingRedisClient(t, url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	received := verifier.NewRevocationSet()
	if err := broadcast.Subscribe(ctx, broadcast.Config{Set: received, Client: subscriber, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	var now atomic.Int64
	now.Store(start.UnixNano())
	log := newLogFile(t)
	v := newPublisher(t, broadcast.Config{Set: verifier.NewRevocationSet(), Client: client, Logger: slog.New(slog.NewTextHandler(log, nil)), Now: func() time.Time { return time.Unix(0, now.Load()) }})
	revoke := func(session string) {
		t.Helper()
		v.Revoked(ctx, revocation.Entry{Kind: revocation.KindSession, Subject: session, ExpiresMs: start.Add(time.Hour).UnixMilli()})
	}
	lost, skipped, published := "lost-"+newState(t), "skipped-"+newState(t), "published-"+newState(t)

	revoke(lost)
	down.Store(false)
	revoke(skipped)
	if got := dials.Load(); got != 1 {
		t.Fatalf("%d dials, want 1: the second revocation, within the cooldown, called Redis", got)
	}
	now.Store(start.Add(broadcast.PublishCooldown).UnixNano())
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

// TestSubscribeRevocations sends messages through a real Redis on the
// revocations channel: well-formed ones reach the set, others are
// logged and ignored.
func TestSubscribeRevocations(t *testing.T) {
	client, _ := countingRedisClient(t, dbtest.RedisURL(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set := verifier.NewRevocationSet()
	log := newLogFile(t)
	if err := broadcast.Subscribe(ctx, broadcast.Config{Set: set, Client: client, Logger: slog.New(slog.NewTextHandler(log, nil))}); err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	session := "test-session-" + newState(t)
	user := "test-user-" + newState(t)
	expires := now.Add(time.Hour).UnixMilli()
	publish := func(payload string) {
		t.Helper()
		if err := client.Publish(ctx, broadcast.Channel, payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	publish(`{"kind":"session","subject":"` + session + `","notBeforeMs":0,"expiresMs":` + strconv.FormatInt(expires, 10) + `,"extra":1}`)
	publish(`{"kind":"group","subject":"g","notBeforeMs":1,"expiresMs":1}`)
	publish(`not json`)
	notify := newPublisher(t, broadcast.Config{Set: verifier.NewRevocationSet(), Client: client, Logger: slog.New(slog.DiscardHandler)}).Revoked
	notify(ctx, revocation.Entry{Kind: revocation.KindUser, Subject: user, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires})
	notify(ctx, revocation.Entry{Kind: revocation.KindSession, Subject: session, NotBeforeMs: now.UnixMilli(), ExpiresMs: expires})

	deadline := time.Now().Add(2 * time.Second)
	for !set.Revoked(session, "someone", now) {
		if time.Now().After(deadline) {
			t.Fatal("the published session revocation did not reach the set")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Messages arrive in order: the user's came before the session's.
	if !set.Revoked("other", user, now.Add(-time.Second)) || set.Revoked("other", user, now.Add(time.Second)) {
		t.Error("the user revocation was not applied as not-before")
	}
	for _, want := range []string{"malformed", "unknown field", "does not know", "group"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log lacks %q: %s", want, log.String())
		}
	}
}

// TestDecodeRevocation attacks the revocation message parser.
func TestDecodeRevocation(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	tests := []struct {
		name        string
		givenJSON   string
		expectErr   error
		expectKind  string
		expectNotMs int64
		expectExpMs int64 // 0: any
	}{
		{name: "session", givenJSON: `{"kind":"session","subject":"s1","notBeforeMs":5,"expiresMs":9}`, expectKind: "session", expectNotMs: 5},
		{name: "user", givenJSON: `{"kind":"user","subject":"u1","notBeforeMs":5,"expiresMs":9}`, expectKind: "user", expectNotMs: 5},
		{name: "round trip of encode", givenJSON: mustEncode(t, revocation.Entry{Kind: "user", Subject: "u", NotBeforeMs: 1, ExpiresMs: 2, Cursor: 7}), expectKind: "user", expectNotMs: 1},
		{name: "unknown kind", givenJSON: `{"kind":"org","subject":"o","notBeforeMs":5,"expiresMs":9}`, expectErr: broadcast.ErrUnknownKind},
		{name: "unknown field", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5,"expiresMs":9,"x":1}`, expectErr: broadcast.ErrBadMessage},
		{name: "missing expiry", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5}`, expectErr: broadcast.ErrBadMessage},
		{name: "null field", givenJSON: `{"kind":"session","subject":null,"notBeforeMs":5,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "string time", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":"5","expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "fractional time", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5.5,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "zero expiry", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":0,"expiresMs":0}`, expectErr: broadcast.ErrBadMessage},
		{name: "user without not-before", givenJSON: `{"kind":"user","subject":"u","notBeforeMs":0,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "negative not-before", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":-1,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "empty subject", givenJSON: `{"kind":"session","subject":"","notBeforeMs":5,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "subject with a space", givenJSON: `{"kind":"session","subject":"a b","notBeforeMs":5,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "long subject", givenJSON: `{"kind":"session","subject":"` + strings.Repeat("s", broadcast.MaxSubject+1) + `","notBeforeMs":5,"expiresMs":9}`, expectErr: broadcast.ErrBadMessage},
		{name: "two objects", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5,"expiresMs":9}{}`, expectErr: broadcast.ErrBadMessage},
		{name: "array", givenJSON: `[]`, expectErr: broadcast.ErrBadMessage},
		{name: "too long", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5,"expiresMs":9}` + strings.Repeat(" ", broadcast.MaxMessage), expectErr: broadcast.ErrBadMessage},
		{name: "user not-before far ahead: would refuse new tokens too", givenJSON: `{"kind":"user","subject":"u","notBeforeMs":` + ms(now.Add(time.Hour)) + `,"expiresMs":` + ms(now.Add(2*time.Hour)) + `}`, expectErr: broadcast.ErrBadMessage},
		{name: "not-before within the clock lead", givenJSON: `{"kind":"user","subject":"u","notBeforeMs":` + ms(now.Add(time.Minute)) + `,"expiresMs":` + ms(now.Add(2*time.Hour)) + `}`, expectKind: "user", expectNotMs: now.Add(time.Minute).UnixMilli()},
		{name: "expiry near the end of time: kept 31 days", givenJSON: `{"kind":"session","subject":"s","notBeforeMs":5,"expiresMs":9223372036854775807}`, expectKind: "session", expectNotMs: 5, expectExpMs: now.Add(broadcast.MaxHold).UnixMilli()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := broadcast.Decode([]byte(tt.givenJSON), now)
			if tt.expectErr != nil {
				if !errors.Is(err, tt.expectErr) {
					t.Fatalf("Decode(%s) = %+v, %v; want an error wrapping %v", tt.givenJSON, r, err, tt.expectErr)
				}
				return
			}
			if err != nil || r.Kind != tt.expectKind || r.NotBeforeMs != tt.expectNotMs || r.ExpiresMs == 0 || r.Subject == "" ||
				(tt.expectExpMs != 0 && r.ExpiresMs != tt.expectExpMs) {
				t.Fatalf("Decode(%s) = %+v, %v; want kind %s, notBeforeMs %d", tt.givenJSON, r, err, tt.expectKind, tt.expectNotMs)
			}
		})
	}
}

func mustEncode(t *testing.T, r revocation.Entry) string {
	t.Helper()
	b, err := broadcast.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newPublisher is broadcast.NewPublisher, failing the test on an error.
func newPublisher(t *testing.T, cfg broadcast.Config) *broadcast.Publisher {
	t.Helper()
	p, err := broadcast.NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigRefusesMissingParts: a Publisher needs a set, a subscription
// a set and a client.
func TestConfigRefusesMissingParts(t *testing.T) {
	if _, err := broadcast.NewPublisher(broadcast.Config{}); err == nil {
		t.Error("NewPublisher without a set succeeded")
	}
	if err := broadcast.Subscribe(context.Background(), broadcast.Config{Set: verifier.NewRevocationSet()}); err == nil {
		t.Error("Subscribe without a client succeeded")
	}
}

// newState returns a random subject, so that runs sharing a Redis do not
// see each other's revocations.
func newState(t *testing.T) string {
	t.Helper()
	return rand.Text()
}

// logFile is a log destination the subscription's goroutine and the
// test may share (writes to a file are safe from several goroutines);
// String reads what was written.
type logFile struct{ *os.File }

func newLogFile(t *testing.T) logFile {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return logFile{f}
}

func (l logFile) String() string {
	b, _ := os.ReadFile(l.Name())
	return string(b)
}
