package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/ratelimit"
)

// harness is a Limiter under test with its way of letting time pass and
// how far its durations may fall short of the exact value (Redis runs on
// the real clock, so time passes between requests).
type harness struct {
	limiter   ratelimit.Limiter
	advance   func(time.Duration)
	tolerance time.Duration
	realClock bool
}

// semanticCases are the behaviours every Limiter has. Each runs on a key
// of its own: givenRequests at once, then whenAdvance, then the request
// whose Decision is checked.
var semanticCases = []struct {
	name           string
	givenPerSecond int
	givenRequests  int
	whenAdvance    time.Duration
	expect         ratelimit.Decision
	fixedClockOnly bool
}{
	{
		name:           "a fresh key passes with the rest of its burst remaining",
		givenPerSecond: 10,
		expect:         ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 100 * time.Millisecond},
	},
	{
		name:           "the last request of the burst passes",
		givenPerSecond: 10, givenRequests: 9,
		expect: ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 0, ResetAfter: time.Second},
	},
	{
		name:           "the request after the burst is refused for one interval",
		givenPerSecond: 10, givenRequests: 10,
		expect: ratelimit.Decision{Allowed: false, Limit: 10, Remaining: 0, ResetAfter: time.Second, RetryAfter: 100 * time.Millisecond},
	},
	{
		name:           "one interval later one more passes",
		givenPerSecond: 10, givenRequests: 10, whenAdvance: 100 * time.Millisecond,
		expect: ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 0, ResetAfter: time.Second},
	},
	{
		name:           "part of an interval later it is still refused",
		givenPerSecond: 10, givenRequests: 10, whenAdvance: 30 * time.Millisecond,
		expect: ratelimit.Decision{Allowed: false, Limit: 10, Remaining: 0, ResetAfter: 970 * time.Millisecond, RetryAfter: 70 * time.Millisecond},
	},
	{
		name:           "a second later the burst is whole again",
		givenPerSecond: 10, givenRequests: 10, whenAdvance: time.Second,
		expect: ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 100 * time.Millisecond},
	},
	{
		name:           "at one per second the second request waits a second",
		givenPerSecond: 1, givenRequests: 1,
		expect: ratelimit.Decision{Allowed: false, Limit: 1, Remaining: 0, ResetAfter: time.Second, RetryAfter: time.Second},
	},
	{
		name:           "a rate that does not divide a second keeps its whole burst",
		givenPerSecond: 3, givenRequests: 2,
		expect: ratelimit.Decision{Allowed: true, Limit: 3, Remaining: 0, ResetAfter: 999999999},
	},
	{
		name:           "unlimited always passes",
		givenPerSecond: ratelimit.Unlimited, givenRequests: 1000,
		expect: ratelimit.Decision{Allowed: true, Limit: -1, Remaining: -1},
	},
	{
		name:           "zero refuses even the first request",
		givenPerSecond: 0,
		expect:         ratelimit.Decision{Allowed: false, Limit: 0, Remaining: 0, RetryAfter: time.Second},
	},
	{
		name:           "a clock gone back an hour refuses for one interval, not an hour",
		givenPerSecond: 10, givenRequests: 10, whenAdvance: -time.Hour,
		expect:         ratelimit.Decision{Allowed: false, Limit: 10, Remaining: 0, ResetAfter: time.Second, RetryAfter: 100 * time.Millisecond},
		fixedClockOnly: true,
	},
}

// testSemantics runs semanticCases and the shared edge cases against the
// limiters newHarness returns, one per case.
func testSemantics(t *testing.T, newHarness func(t *testing.T) harness) {
	for i, tc := range semanticCases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.fixedClockOnly && h.realClock {
				t.Skip("needs a settable clock")
			}
			ctx := context.Background()
			for attempt := 1; ; attempt++ {
				key := fmt.Sprintf("case-%d-%d", i, attempt)
				began := time.Now()
				for n := range tc.givenRequests {
					d, err := h.limiter.Allow(ctx, key, tc.givenPerSecond)
					if err != nil {
						t.Fatalf("given request %d: %v", n+1, err)
					}
					if !d.Allowed {
						t.Fatalf("given request %d refused: %+v", n+1, d)
					}
				}
				h.advance(tc.whenAdvance)
				got, err := h.limiter.Allow(ctx, key, tc.givenPerSecond)
				if err != nil {
					t.Fatal(err)
				}
				if h.realClock && time.Since(began)-tc.whenAdvance > h.tolerance && attempt < 10 {
					t.Logf("attempt %d took %v beyond the advance; again", attempt, time.Since(began)-tc.whenAdvance)
					continue
				}
				expectDecision(t, got, tc.expect, h.tolerance)
				return
			}
		})
	}

	t.Run("different keys are independent", func(t *testing.T) {
		h := newHarness(t)
		ctx := context.Background()
		for range 10 {
			if d, err := h.limiter.Allow(ctx, "spender", 10); err != nil || !d.Allowed {
				t.Fatalf("spender refused early: %+v, %v", d, err)
			}
		}
		if d, _ := h.limiter.Allow(ctx, "spender", 10); d.Allowed {
			t.Fatalf("spender's 11th request passed: %+v", d)
		}
		got, err := h.limiter.Allow(ctx, "bystander", 10)
		if err != nil {
			t.Fatal(err)
		}
		expectDecision(t, got, ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 100 * time.Millisecond}, h.tolerance)
	})

	t.Run("a limit below -1 is an error and refuses", func(t *testing.T) {
		h := newHarness(t)
		got, err := h.limiter.Allow(context.Background(), "k", -2)
		if !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Fatalf("error %v, want ErrInvalidLimit", err)
		}
		if got.Allowed {
			t.Fatalf("allowed: %+v", got)
		}
	})
}

// expectDecision fails unless got equals expect, its durations being
// allowed to fall short by up to tolerance.
func expectDecision(t *testing.T, got, expect ratelimit.Decision, tolerance time.Duration) {
	t.Helper()
	if got.Allowed != expect.Allowed || got.Limit != expect.Limit || got.Remaining != expect.Remaining {
		t.Fatalf("got %+v, want %+v", got, expect)
	}
	for _, d := range []struct {
		name        string
		got, expect time.Duration
	}{
		{"ResetAfter", got.ResetAfter, expect.ResetAfter},
		{"RetryAfter", got.RetryAfter, expect.RetryAfter},
	} {
		if d.got > d.expect || d.got < d.expect-tolerance {
			t.Errorf("%s %v, want %v (−%v)", d.name, d.got, d.expect, tolerance)
		}
	}
}
