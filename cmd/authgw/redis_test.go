package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

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
