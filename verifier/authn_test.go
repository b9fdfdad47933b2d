package verifier_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// TestAuthnCaveats: the identity carries the amr and auth-time the mint
// wrote; a token without them (every token minted before they existed)
// still verifies and says nothing; a holder can repeat them but never
// add or change them, so no holder can claim a second factor or a
// fresher login than the mint wrote.
func TestAuthnCaveats(t *testing.T) {
	ring := testRing(t)
	authAt := fixedNow.Add(-90 * time.Second)
	with := testSubject
	with.AMR, with.AuthTime = []string{mint.AMRPassword, mint.AMROTP, mint.AMRMultiFactor}, authAt
	mfaTok := mintFor(t, ring, browserPolicy, with).ByMethod["GET"]
	plainTok := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	pwd := testSubject
	pwd.AMR, pwd.AuthTime = []string{mint.AMRPassword}, authAt
	pwdTok := mintFor(t, ring, browserPolicy, pwd).ByMethod["GET"]
	tests := []struct {
		name            string
		givenToken      string
		expectErr       error
		expectAMR       []string
		expectAuthTime  time.Time
		expectMultiFact bool
	}{
		{name: "minted with both", givenToken: mfaTok, expectAMR: []string{"pwd", "otp", "mfa"}, expectAuthTime: authAt, expectMultiFact: true},
		{name: "password only", givenToken: pwdTok, expectAMR: []string{"pwd"}, expectAuthTime: authAt},
		{name: "minted without (as before)", givenToken: plainTok},
		{name: "the same amr repeated by a holder", givenToken: attenuate(t, mfaTok, "amr pwd otp mfa", "auth-time "+authAt.Format(time.RFC3339)),
			expectAMR: []string{"pwd", "otp", "mfa"}, expectAuthTime: authAt, expectMultiFact: true},
		{name: "mfa added to a password-only token", givenToken: attenuate(t, pwdTok, "amr pwd mfa"), expectErr: verifier.ErrConflict},
		{name: "amr reordered", givenToken: attenuate(t, mfaTok, "amr mfa otp pwd"), expectErr: verifier.ErrConflict},
		{name: "fresher auth-time", givenToken: attenuate(t, pwdTok, "auth-time "+fixedNow.Format(time.RFC3339)), expectErr: verifier.ErrConflict},
		{name: "amr added to a token without", givenToken: attenuate(t, plainTok, "amr pwd otp mfa"), expectErr: verifier.ErrBadCaveat},
		{name: "amr added raw to a token without", givenToken: appendRaw(t, plainTok, "amr mfa"), expectErr: verifier.ErrBadCaveat},
		{name: "auth-time added to a token without", givenToken: appendRaw(t, plainTok, "auth-time "+fixedNow.Format(time.RFC3339)),
			expectErr: verifier.ErrBadCaveat},
		{name: "auth-time added to a token with amr only", givenToken: appendRaw(t, mintFor(t, ring, browserPolicy,
			mint.Subject{UserID: testSubject.UserID, SessionID: testSubject.SessionID, ClientID: testSubject.ClientID, AMR: []string{"pwd"}}).ByMethod["GET"],
			"auth-time "+fixedNow.Format(time.RFC3339)), expectErr: verifier.ErrBadCaveat},
		{name: "malformed amr", givenToken: appendRaw(t, mfaTok, "amr PWD"), expectErr: verifier.ErrBadCaveat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, ring, nil)
			id, err := v.Verify(tt.givenToken, fuzzReq)
			if !errors.Is(err, tt.expectErr) {
				t.Fatalf("Verify error = %v, want %v", err, tt.expectErr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(id.AMR(), tt.expectAMR) || !id.AuthTime.Equal(tt.expectAuthTime) || id.MultiFactor() != tt.expectMultiFact {
				t.Errorf("identity amr %q, auth time %v, multi-factor %v; want %q, %v, %v", id.AMR(), id.AuthTime, id.MultiFactor(),
					tt.expectAMR, tt.expectAuthTime, tt.expectMultiFact)
			}
		})
	}
}
