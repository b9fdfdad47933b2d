package ratelimit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/ratelimit"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		given  ratelimit.Decision
		expect map[string]string // "" means absent
	}{
		{
			name:  "allowed: no Retry-After, reset rounded up",
			given: ratelimit.Decision{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 100 * time.Millisecond},
			expect: map[string]string{
				"RateLimit-Limit": "10", "RateLimit-Remaining": "9", "RateLimit-Reset": "1", "Retry-After": "",
			},
		},
		{
			name:  "refused under a second: Retry-After is 1",
			given: ratelimit.Decision{Limit: 10, ResetAfter: time.Second, RetryAfter: 100 * time.Millisecond},
			expect: map[string]string{
				"RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "1", "Retry-After": "1",
			},
		},
		{
			name:  "refused just over a second: both round up to 2",
			given: ratelimit.Decision{Limit: 1, ResetAfter: time.Second + time.Microsecond, RetryAfter: time.Second + time.Nanosecond},
			expect: map[string]string{
				"RateLimit-Limit": "1", "RateLimit-Remaining": "0", "RateLimit-Reset": "2", "Retry-After": "2",
			},
		},
		{
			name:  "refused with no wait still says Retry-After 1",
			given: ratelimit.Decision{Limit: 5},
			expect: map[string]string{
				"RateLimit-Limit": "5", "RateLimit-Remaining": "0", "RateLimit-Reset": "0", "Retry-After": "1",
			},
		},
		{
			name:  "exact seconds are not rounded",
			given: ratelimit.Decision{Limit: 1, ResetAfter: 3 * time.Second, RetryAfter: 2 * time.Second},
			expect: map[string]string{
				"RateLimit-Reset": "3", "Retry-After": "2",
			},
		},
		{
			name:  "a limit of zero is advertised",
			given: ratelimit.Decision{Limit: 0, RetryAfter: time.Second},
			expect: map[string]string{
				"RateLimit-Limit": "0", "RateLimit-Remaining": "0", "RateLimit-Reset": "0", "Retry-After": "1",
			},
		},
		{
			name:  "unlimited sets nothing",
			given: ratelimit.Decision{Allowed: true, Limit: -1, Remaining: -1},
			expect: map[string]string{
				"RateLimit-Limit": "", "RateLimit-Remaining": "", "RateLimit-Reset": "", "Retry-After": "",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			ratelimit.Headers(h, tc.given)
			for name, expect := range tc.expect {
				if got := h.Get(name); got != expect {
					t.Errorf("%s: %q, want %q", name, got, expect)
				}
			}
			if tc.given.Limit < 0 && len(h) != 0 {
				t.Errorf("headers set for an unlimited decision: %v", h)
			}
		})
	}
}
