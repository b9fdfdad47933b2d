package mailtemplate_test

import (
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/notify/mailtemplate"
)

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
		{name: "hour and a half", givenD: 90 * time.Minute, expectWords: "1 hour 30 minutes"},
		{name: "two hours one minute", givenD: 2*time.Hour + time.Minute, expectWords: "2 hours 1 minute"},
		{name: "a day", givenD: 24 * time.Hour, expectWords: "1 day"},
		{name: "days and seconds skip zero units", givenD: 50*time.Hour + 5*time.Second, expectWords: "2 days 2 hours 5 seconds"},
		{name: "seconds", givenD: 45 * time.Second, expectWords: "45 seconds"},
		{name: "one second", givenD: time.Second, expectWords: "1 second"},
		{name: "below a second is dropped", givenD: time.Minute + 999*time.Millisecond, expectWords: "1 minute"},
		{name: "less than a second", givenD: 500 * time.Millisecond, expectWords: "less than a second"},
		{name: "zero", givenD: 0, expectWords: "less than a second"},
		{name: "negative", givenD: -10 * time.Minute, expectWords: "less than a second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mailtemplate.Words(tt.givenD); got != tt.expectWords {
				t.Errorf("Words(%v) = %q, want %q", tt.givenD, got, tt.expectWords)
			}
		})
	}
}
