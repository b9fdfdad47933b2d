package main

import (
	"testing"
	"time"
)

// TestParseIdleTimeout: --session-idle-timeout takes a Go duration; "0"
// is the default, anything else not a non-negative duration is refused.
func TestParseIdleTimeout(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2h", 2 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0", 0, true},
		{"-1h", 0, false},
		{"2", 0, false},
		{"two hours", 0, false},
	} {
		got, err := parseIdleTimeout(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseIdleTimeout(%q) = %v, %v", tc.in, got, err)
		}
	}
	found := false
	for _, k := range configKeys {
		found = found || k == sessionIdleSetting
	}
	if !found {
		t.Error("the config file does not take session-idle-timeout")
	}
}
