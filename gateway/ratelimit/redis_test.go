package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/gateway/ratelimit"
)

// newTestRedis returns a Redis limiter on the test Redis under a prefix of
// its own, and that prefix.
func newTestRedis(t *testing.T, c *redis.Client) (*ratelimit.Redis, string) {
	t.Helper()
	prefix := dbtest.RedisPrefix(t, c, "rl")
	r, err := ratelimit.NewRedis(ratelimit.RedisConfig{Client: c, Prefix: prefix, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r, prefix
}

func TestRedisSemantics(t *testing.T) {
	c := dbtest.Redis(t)
	testSemantics(t, func(t *testing.T) harness {
		t.Parallel() // the cases sleep on the real clock
		r, _ := newTestRedis(t, c)
		t.Cleanup(func() {
			if r.Degraded() {
				t.Error("Redis limiter degraded during the test")
			}
		})
		return harness{limiter: r, advance: time.Sleep, tolerance: 40 * time.Millisecond, realClock: true}
	})
}

func TestRedisKeyExpiresWithItsBurst(t *testing.T) {
	tests := []struct {
		name          string
		givenRequests int
		expectMaxTTL  time.Duration // less the time the requests took
	}{
		{name: "one request: expires after one interval", givenRequests: 1, expectMaxTTL: 100 * time.Millisecond},
		{name: "whole burst: expires after one second", givenRequests: 10, expectMaxTTL: time.Second},
		{name: "refused requests do not extend it", givenRequests: 15, expectMaxTTL: time.Second},
	}
	c := dbtest.Redis(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, prefix := newTestRedis(t, c)
			ctx := context.Background()
			for attempt := 1; ; attempt++ {
				key := fmt.Sprintf("client-%d", attempt)
				began := time.Now()
				for range tc.givenRequests {
					if _, err := r.Allow(ctx, key, 10); err != nil {
						t.Fatal(err)
					}
				}
				ttl, err := c.PTTL(ctx, prefix+key).Result()
				if err != nil {
					t.Fatal(err)
				}
				took := time.Since(began)
				if took > 50*time.Millisecond && attempt < 10 {
					t.Logf("attempt %d took %v; again", attempt, took)
					continue
				}
				if ttl < tc.expectMaxTTL-took-time.Millisecond || ttl > tc.expectMaxTTL {
					t.Errorf("PTTL %v after %v, want %v to %v", ttl, took, tc.expectMaxTTL-took, tc.expectMaxTTL)
				}
				return
			}
		})
	}

	t.Run("unlimited and zero write nothing", func(t *testing.T) {
		r, prefix := newTestRedis(t, c)
		ctx := context.Background()
		r.Allow(ctx, "unlimited", ratelimit.Unlimited)
		r.Allow(ctx, "zero", 0)
		keys, err := c.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 0 {
			t.Errorf("keys written: %v", keys)
		}
	})
}

// TestRedisTwoInstancesShareOneLimit is two gateway processes, each with
// its own client and limiter, hammering one client's key: together they
// admit one limit, not two.
func TestRedisTwoInstancesShareOneLimit(t *testing.T) {
	const (
		perSecond  = 50
		duration   = 2 * time.Second
		goroutines = 3 // per instance
	)
	first := dbtest.Redis(t)
	second := redis.NewClient(dbtest.RedisOptions(t))
	t.Cleanup(func() { second.Close() })
	prefix := dbtest.RedisPrefix(t, first, "rl")
	var instances []*ratelimit.Redis
	for _, c := range []*redis.Client{first, second} {
		// A generous timeout: this test is about sharing one limit, and on
		// a loaded CI machine (the whole suite runs in parallel) a Redis
		// answer can take longer than the default, which would send a
		// request to the local fallback (tested on its own below).
		r, err := ratelimit.NewRedis(ratelimit.RedisConfig{Client: c, Prefix: prefix, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, r)
	}

	var admitted, refused [2]atomic.Int64
	// Redis decides between a call and its answer: the window ends
	// between the last call and the last answer (nanoseconds since begin).
	var lastCalled, lastAnswered atomic.Int64
	raise := func(v *atomic.Int64, d time.Duration) {
		for old := v.Load(); int64(d) > old && !v.CompareAndSwap(old, int64(d)); old = v.Load() {
		}
	}
	var wg sync.WaitGroup
	begin := time.Now()
	for i, r := range instances {
		for range goroutines {
			wg.Go(func() {
				for {
					called := time.Since(begin)
					if called >= duration {
						return
					}
					raise(&lastCalled, called)
					d, err := r.Allow(context.Background(), "shared-client", perSecond)
					raise(&lastAnswered, time.Since(begin))
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						admitted[i].Add(1)
					} else {
						refused[i].Add(1)
					}
				}
			})
		}
	}
	wg.Wait()

	total := admitted[0].Load() + admitted[1].Load()
	expectMin := float64(perSecond) + perSecond*time.Duration(lastCalled.Load()).Seconds()
	expectMax := float64(perSecond) + perSecond*time.Duration(lastAnswered.Load()).Seconds()
	t.Logf("admitted %d + %d = %d of %d requests; last call at %v, last answer at %v; expected %.0f to %.0f",
		admitted[0].Load(), admitted[1].Load(), total, total+refused[0].Load()+refused[1].Load(),
		time.Duration(lastCalled.Load()), time.Duration(lastAnswered.Load()), expectMin, expectMax)
	if float64(total) < 0.9*expectMin || float64(total) > 1.1*expectMax {
		t.Errorf("admitted %d, want within 10%% of %.0f to %.0f", total, expectMin, expectMax)
	}
	for i, r := range instances {
		if admitted[i].Load() == 0 || refused[i].Load() == 0 {
			t.Errorf("instance %d: %d admitted, %d refused: it did not take part", i, admitted[i].Load(), refused[i].Load())
		}
		if r.Degraded() {
			t.Errorf("instance %d degraded", i)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// hungAddr returns the address of a server that accepts connections and
// never answers, as a Redis stuck in a long command or behind a dropped
// route would.
func hungAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestRedisDownFailsToLocal: with Redis unreachable, Allow answers from
// the in-process fallback with no error, says so once in the log, and
// still limits.
func TestRedisDownFailsToLocal(t *testing.T) {
	tests := []struct {
		name           string
		givenAddr      func(t *testing.T) string
		givenCooldown  time.Duration
		expectFailures uint64
	}{
		{name: "closed port, one failure then cooldown", givenAddr: closedAddr, expectFailures: 1},
		{name: "closed port, every request probes", givenAddr: closedAddr, givenCooldown: time.Nanosecond, expectFailures: 11},
		{name: "hung server, one timeout then cooldown", givenAddr: hungAddr, expectFailures: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := redis.NewClient(&redis.Options{Addr: tc.givenAddr(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { c.Close() })
			clock := newClock()
			var logs gatewaytest.LogBuffer
			r, err := ratelimit.NewRedis(ratelimit.RedisConfig{
				Client:   c,
				Fallback: ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now}),
				Cooldown: tc.givenCooldown,
				Logger:   logs.Logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for n := range 10 {
				began := time.Now()
				d, err := r.Allow(ctx, "client-1", 10)
				if err != nil {
					t.Fatalf("request %d: error %v, want the fallback's decision", n+1, err)
				}
				if !d.Allowed {
					t.Fatalf("request %d refused within the burst: %+v", n+1, d)
				}
				if took := time.Since(began); took > 500*time.Millisecond {
					t.Fatalf("request %d took %v with a 50ms timeout", n+1, took)
				}
			}
			got, err := r.Allow(ctx, "client-1", 10)
			if err != nil {
				t.Fatal(err)
			}
			expectDecision(t, got, ratelimit.Decision{Limit: 10, ResetAfter: time.Second, RetryAfter: 100 * time.Millisecond}, 0)
			if !r.Degraded() {
				t.Error("Degraded() false with Redis down")
			}
			if got := r.Failures(); got != tc.expectFailures {
				t.Errorf("Failures() %d, want %d", got, tc.expectFailures)
			}
			if n := strings.Count(logs.String(), "Redis unavailable"); n != 1 {
				t.Errorf("%d failure lines logged, want 1:\n%s", n, logs.String())
			}
		})
	}
}

func TestRedisRecovers(t *testing.T) {
	dbtest.Redis(t) // skips without Redis
	var down atomic.Bool
	down.Store(true)
	opt := dbtest.RedisOptions(t)
	opt.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errors.New("test: Redis is down")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	var logs gatewaytest.LogBuffer
	clock := newClock() // the cooldown's: a slow machine cannot outlast it
	r, err := ratelimit.NewRedis(ratelimit.RedisConfig{
		Client: c, Prefix: dbtest.RedisPrefix(t, c, "rl"), Cooldown: 20 * time.Millisecond, Logger: logs.Logger(),
		Timeout: 2 * time.Second, Now: clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := r.Allow(ctx, "client-1", 10); err != nil {
		t.Fatal(err)
	}
	if !r.Degraded() {
		t.Fatal("not degraded while Redis is down")
	}

	down.Store(false)
	if _, err := r.Allow(ctx, "client-1", 10); err != nil {
		t.Fatal(err)
	}
	if !r.Degraded() {
		t.Fatal("Redis tried again before the cooldown")
	}
	clock.Advance(40 * time.Millisecond)
	if _, err := r.Allow(ctx, "client-1", 10); err != nil {
		t.Fatal(err)
	}
	if r.Degraded() {
		t.Fatal("still degraded after Redis came back and the cooldown passed")
	}
	if !strings.Contains(logs.String(), "reachable again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
	if got := r.Failures(); got != 1 {
		t.Errorf("Failures() %d, want 1", got)
	}
}

func TestRedisCanceledContextIsAnErrorNotAnOutage(t *testing.T) {
	c := dbtest.Redis(t)
	r, _ := newTestRedis(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := r.Allow(ctx, "client-1", 10)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if d.Allowed {
		t.Errorf("allowed: %+v", d)
	}
	if r.Degraded() || r.Failures() != 0 {
		t.Errorf("a canceled request counted as a Redis failure (degraded %v, failures %d)", r.Degraded(), r.Failures())
	}
}

func TestNewRedisConfig(t *testing.T) {
	withTimeouts := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	withoutTimeouts := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { withTimeouts.Close(); withoutTimeouts.Close() })
	tests := []struct {
		name        string
		given       ratelimit.RedisConfig
		expectError string
	}{
		{name: "defaults", given: ratelimit.RedisConfig{Client: withTimeouts}},
		{name: "no client", given: ratelimit.RedisConfig{}, expectError: "Client is required"},
		{name: "client ignoring context deadlines", given: ratelimit.RedisConfig{Client: withoutTimeouts}, expectError: "ContextTimeoutEnabled"},
		{name: "negative timeout", given: ratelimit.RedisConfig{Client: withTimeouts, Timeout: -time.Second}, expectError: "negative"},
		{name: "negative cooldown", given: ratelimit.RedisConfig{Client: withTimeouts, Cooldown: -time.Second}, expectError: "negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ratelimit.NewRedis(tc.given)
			if tc.expectError == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRedis: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.expectError) {
				t.Fatalf("error %v, want one about %q", err, tc.expectError)
			}
		})
	}
}
