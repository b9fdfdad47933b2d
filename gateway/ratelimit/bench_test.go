package ratelimit_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/ratelimit"
)

// benchKeys are 1,024 client keys, made before timing starts.
var benchKeys = func() []string {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "client-" + strconv.Itoa(i)
	}
	return keys
}()

// BenchmarkMemoryAllow is one in-process decision on the real clock over
// 1,024 keys. BenchmarkMutexMapBaseline is its floor.
func BenchmarkMemoryAllow(b *testing.B) {
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Allow(ctx, benchKeys[i&1023], 100); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMemoryAllowParallel is BenchmarkMemoryAllow from every P, where
// the shards matter.
func BenchmarkMemoryAllowParallel(b *testing.B) {
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := m.Allow(ctx, benchKeys[i&1023], 100); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkMutexMapBaseline is the least a shared in-process limiter can
// cost: one lock and one map increment per request, no clock, no shards.
func BenchmarkMutexMapBaseline(b *testing.B) {
	var mu sync.Mutex
	counts := make(map[string]int64, len(benchKeys))
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		mu.Lock()
		counts[benchKeys[i&1023]]++
		mu.Unlock()
		i++
	}
}

// BenchmarkMutexMapBaselineParallel is the baseline from every P.
func BenchmarkMutexMapBaselineParallel(b *testing.B) {
	var mu sync.Mutex
	counts := make(map[string]int64, len(benchKeys))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			mu.Lock()
			counts[benchKeys[i&1023]]++
			mu.Unlock()
			i++
		}
	})
}

// BenchmarkRedisAllow is one decision in the test Redis over loopback:
// one EVALSHA round trip. It skips without Redis.
func BenchmarkRedisAllow(b *testing.B) {
	c := dbtest.Redis(b)
	prefix := dbtest.RedisPrefix(b, c, "rl")
	r, err := ratelimit.NewRedis(ratelimit.RedisConfig{Client: c, Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Allow(ctx, benchKeys[i&1023], 100); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if r.Degraded() {
		b.Fatal("Redis limiter degraded: the figures are the fallback's")
	}
}
