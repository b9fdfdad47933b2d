package ratelimit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// start is the reading of every fixed clock here.
var start = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: start} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// redisOptions returns the options of the test Redis
// (AUTHGW_TEST_REDIS, default redis://127.0.0.1:6379/0) with context
// timeouts enabled, as NewRedis requires.
func redisOptions(t testing.TB) *redis.Options {
	t.Helper()
	url := os.Getenv("AUTHGW_TEST_REDIS")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("AUTHGW_TEST_REDIS: %v", err)
	}
	opt.ContextTimeoutEnabled = true
	return opt
}

// newRedisClient connects to the test Redis. Unreachable, it skips the
// test locally and fails it in CI.
func newRedisClient(t testing.TB) *redis.Client {
	t.Helper()
	opt := redisOptions(t)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s unreachable in CI: %v", opt.Addr, err)
		}
		t.Skipf("Redis at %s unreachable: %v", opt.Addr, err)
	}
	return c
}

// testPrefix returns a key prefix of its own for the test and deletes
// every key under it when the test ends.
func testPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	prefix := "authgw:test:rl:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// logBuffer is a slog.Logger writing text lines to a buffer.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
