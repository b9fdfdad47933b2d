package mint_test

import (
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
)

// TestMintIssuedAt checks that Subject.IssuedAt, when set, is the issue
// time in every token's identifier (what a user revocation's not-before
// is compared with), that the lifetime still counts from the clock, and
// that without it the clock is the issue time.
func TestMintIssuedAt(t *testing.T) {
	ring := testRing(t)
	m := newMinter(t, ring, nil)
	pol := parsePolicies(t, policyJSON("p", 900, false, "/demo/v1/a"))
	tests := []struct {
		name        string
		givenIssued time.Time
		expectIssue time.Time
	}{
		{"set: the read time, before the clock", fixedNow.Add(-7 * time.Millisecond), fixedNow.Add(-7 * time.Millisecond)},
		{"set: a floor after the clock", fixedNow.Add(3 * time.Millisecond), fixedNow.Add(3 * time.Millisecond)},
		{"unset: the clock", time.Time{}, fixedNow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subject := testSubject()
			subject.IssuedAt = tt.givenIssued
			toks, err := m.Mint(pol, subject)
			if err != nil {
				t.Fatal(err)
			}
			if want := fixedNow.Add(900 * time.Second).Truncate(time.Second); !toks.Expires.Equal(want) {
				t.Errorf("expires %v, want %v (from the clock)", toks.Expires, want)
			}
			for method, tok := range toks.ByMethod {
				mac, err := mint.Decode(tok)
				if err != nil {
					t.Fatal(err)
				}
				id, err := mint.ParseIdentifier(mac.Id())
				if err != nil {
					t.Fatal(err)
				}
				if !id.IssuedAt.Equal(tt.expectIssue) {
					t.Errorf("%s token issued %v, want %v", method, id.IssuedAt, tt.expectIssue)
				}
			}
		})
	}
}
