package dbtest

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis test settings.
const (
	// EnvRedisURL is the test Redis's redis:// URL.
	EnvRedisURL = "AUTHGW_TEST_REDIS"
	// DefaultRedisURL is used when EnvRedisURL is unset.
	DefaultRedisURL = "redis://127.0.0.1:6379/0"
)

// RedisURL returns the test Redis's URL once it answers a PING. When it
// does not, the test is skipped, unless CI is set: then it fails.
func RedisURL(t testing.TB) string {
	t.Helper()
	Redis(t)
	return redisURL()
}

// RedisOptions returns the test Redis's client options with context
// deadlines honoured, as authgw's Redis users require. It fails the test
// when the URL does not parse.
func RedisOptions(t testing.TB) *redis.Options {
	t.Helper()
	opt, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatalf("%s: %v", EnvRedisURL, err)
	}
	opt.ContextTimeoutEnabled = true
	return opt
}

// Redis returns a client of the test Redis (RedisOptions), closed when the
// test ends. When Redis does not answer a PING within 2 s the test is
// skipped, unless CI is set: then it fails.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opt := RedisOptions(t)
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Redis at %s (%s) is required under CI: %v", opt.Addr, EnvRedisURL, err)
		}
		t.Skipf("no Redis at %s (set %s): %v", opt.Addr, EnvRedisURL, err)
	}
	return c
}

// RedisPrefix returns a key prefix of the test's own,
// "authgw:test:<label>:<random>:", and deletes every key under it when
// the test ends.
func RedisPrefix(t testing.TB, c *redis.Client, label string) string {
	t.Helper()
	prefix := "authgw:test:" + label + ":" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("deleting %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

func redisURL() string {
	if url := os.Getenv(EnvRedisURL); url != "" {
		return url
	}
	return DefaultRedisURL
}
