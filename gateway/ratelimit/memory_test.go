package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/ratelimit"
)

func TestMemorySemantics(t *testing.T) {
	testSemantics(t, func(t *testing.T) harness {
		clock := newClock()
		return harness{
			limiter: ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now}),
			advance: clock.Advance,
		}
	})
}

func TestMemoryConcurrentAdmitsExactlyTheBurst(t *testing.T) {
	const (
		perSecond  = 500
		keys       = 4
		goroutines = 32
		each       = 200 // 32 × 200 = 6,400 requests for 4 × 500 = 2,000 cells
	)
	clock := newClock()
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now, Shards: 2})
	var admitted [keys]atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for n := range each {
				k := (g + n) % keys
				d, err := m.Allow(context.Background(), fmt.Sprintf("key-%d", k), perSecond)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if got := admitted[k].Load(); got != perSecond {
			t.Errorf("key-%d: %d admitted at a fixed clock, want exactly the burst %d", k, got, perSecond)
		}
	}
}

func TestMemorySweep(t *testing.T) {
	tests := []struct {
		name          string
		whenAfter     time.Duration
		expectDropped int
		expectLen     int
	}{
		{name: "nothing is idle yet", whenAfter: 50 * time.Millisecond, expectDropped: 0, expectLen: 2},
		{name: "the key with one request is full again after one interval", whenAfter: 100 * time.Millisecond, expectDropped: 1, expectLen: 1},
		{name: "the emptied key is full again after one second", whenAfter: time.Second, expectDropped: 2, expectLen: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now})
			ctx := context.Background()
			m.Allow(ctx, "one-request", 10)
			for range 10 {
				m.Allow(ctx, "emptied", 10)
			}
			m.Allow(ctx, "unlimited", ratelimit.Unlimited)
			m.Allow(ctx, "zero", 0)
			if got := m.Len(); got != 2 {
				t.Fatalf("Len %d before sweeping, want 2 (unlimited and zero keep no state)", got)
			}
			if got := m.Sweep(start.Add(tc.whenAfter)); got != tc.expectDropped {
				t.Errorf("Sweep dropped %d, want %d", got, tc.expectDropped)
			}
			if got := m.Len(); got != tc.expectLen {
				t.Errorf("Len %d after sweeping, want %d", got, tc.expectLen)
			}
			// Sweeping never changes a decision: "emptied" is refused
			// until one interval has passed, whether swept or not.
			clock.Advance(tc.whenAfter)
			d, _ := m.Allow(ctx, "emptied", 10)
			if expect := tc.whenAfter >= 100*time.Millisecond; d.Allowed != expect {
				t.Errorf("emptied allowed %v after %v, want %v", d.Allowed, tc.whenAfter, expect)
			}
		})
	}
}

func TestMemorySweepsLazily(t *testing.T) {
	clock := newClock()
	m := ratelimit.NewMemory(ratelimit.MemoryConfig{Now: clock.Now, Shards: 1, SweepEvery: time.Minute})
	ctx := context.Background()
	for i := range 100 {
		m.Allow(ctx, fmt.Sprintf("visitor-%d", i), 10)
	}
	clock.Advance(30 * time.Second)
	m.Allow(ctx, "early", 10)
	if got := m.Len(); got != 101 {
		t.Fatalf("Len %d before SweepEvery has passed, want 101", got)
	}
	clock.Advance(31 * time.Second)
	m.Allow(ctx, "late", 10)
	if got := m.Len(); got != 1 {
		t.Fatalf("Len %d after SweepEvery, want 1: idle keys not swept by the next request", got)
	}
}
