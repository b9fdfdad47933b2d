package mint_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
)

// TestMintWritesAuthn: a subject's AMR and AuthTime go, after the
// time-before caveat and before the user caveat (caveat.Kind.MintedOnly),
// into every token; a subject without them (as every token
// before they existed) gets neither caveat.
func TestMintWritesAuthn(t *testing.T) {
	tests := []struct {
		name       string
		givenAMR   []string
		givenAt    time.Time
		expectTail []string // the amr and auth-time caveats
	}{
		{name: "password and TOTP", givenAMR: []string{mint.AMRPassword, mint.AMROTP, mint.AMRMultiFactor},
			givenAt:    time.Date(2026, 11, 22, 11, 59, 30, 700_000_000, time.FixedZone("x", 3600)),
			expectTail: []string{"amr pwd otp mfa", "auth-time 2026-11-22T10:59:30Z"}},
		{name: "amr only", givenAMR: []string{mint.AMRMailedCode}, expectTail: []string{"amr mail"}},
		{name: "auth time only", givenAt: fixedNow, expectTail: []string{"auth-time 2026-11-22T12:00:00Z"}},
		{name: "neither", expectTail: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSubject()
			s.AMR, s.AuthTime = tt.givenAMR, tt.givenAt
			ring := testRing(t)
			toks, err := newMinter(t, ring, nil).Mint(parsePolicies(t, browserPolicy), s)
			if err != nil {
				t.Fatal(err)
			}
			for method, tok := range toks.ByMethod {
				got := caveatsOf(t, ring, tok)
				i := slices.IndexFunc(got, func(c string) bool { return strings.HasPrefix(c, "time-before ") })
				u := slices.Index(got, "user "+s.UserID)
				if i < 0 || u < 0 {
					t.Fatalf("%s token has no time-before or user caveat: %q", method, got)
				}
				var tail []string
				for _, c := range got {
					if strings.HasPrefix(c, "amr ") || strings.HasPrefix(c, "auth-time ") {
						tail = append(tail, c)
					}
				}
				if !slices.Equal(tail, tt.expectTail) || !slices.Equal(got[i+1:u], tail) {
					t.Errorf("%s token: caveats %q, want %q between the time-before and user caveats", method, got, tt.expectTail)
				}
			}
		})
	}
}

func TestMintRefusesBadAuthn(t *testing.T) {
	tests := []struct {
		name     string
		givenAMR []string
		givenAt  time.Time
	}{
		{name: "upper case", givenAMR: []string{"PWD"}},
		{name: "space in a value", givenAMR: []string{"pwd otp"}},
		{name: "empty value", givenAMR: []string{""}},
		{name: "repeated value", givenAMR: []string{"pwd", "otp", "pwd"}},
		{name: "too many", givenAMR: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
		{name: "too long", givenAMR: []string{"abcdefghijklmnopq"}},
		{name: "time before 1970", givenAt: time.Unix(-5, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSubject()
			s.AMR, s.AuthTime = tt.givenAMR, tt.givenAt
			_, err := newMinter(t, testRing(t), nil).Mint(parsePolicies(t, browserPolicy), s)
			if !errors.Is(err, mint.ErrBadSubject) {
				t.Errorf("Mint error = %v, want ErrBadSubject", err)
			}
		})
	}
}
