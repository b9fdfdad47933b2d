package mailtemplate_test

import (
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify/mailtemplate"
)

// TestWords checks the lifetimes the mails state; the rules themselves
// are the catalogue's (accounts/ui TestDuration).
func TestWords(t *testing.T) {
	tests := []struct {
		name        string
		givenD      time.Duration
		expectWords string
	}{
		{name: "one minute", givenD: time.Minute, expectWords: "1 minute"},
		{name: "login code default", givenD: 10 * time.Minute, expectWords: "10 minutes"},
		{name: "verification default", givenD: 20 * time.Minute, expectWords: "20 minutes"},
		{name: "one hour", givenD: time.Hour, expectWords: "1 hour"},
		{name: "hour and a half", givenD: 90 * time.Minute, expectWords: "1 hour and 30 minutes"},
		{name: "below a second is dropped", givenD: time.Minute + 999*time.Millisecond, expectWords: "1 minute"},
		{name: "zero", givenD: 0, expectWords: "0 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mailtemplate.Words(tt.givenD); got != tt.expectWords {
				t.Errorf("Words(%v) = %q, want %q", tt.givenD, got, tt.expectWords)
			}
		})
	}
}
