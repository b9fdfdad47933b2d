package requestinfo_test

import (
	"crypto/ecdsa"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestAuthnClaims: u.amr and u.auth_time are sent only when known (the
// payload of a user without them is byte for byte what it was before
// they existed), and a backend reads them back after the signature.
func TestAuthnClaims(t *testing.T) {
	gw, _ := keys(t)
	tests := []struct {
		name          string
		givenAMR      []string
		givenAuthTime int64
		expectJSON    string // in the payload's u; "" for neither key
		expectMFA     bool
	}{
		{name: "unknown", expectJSON: ""},
		{name: "password only", givenAMR: []string{"pwd"}, givenAuthTime: 1_790_000_000, expectJSON: `"amr":["pwd"],"auth_time":1790000000`},
		{name: "two factors", givenAMR: []string{"pwd", "otp", "mfa"}, givenAuthTime: 1_790_000_000,
			expectJSON: `"amr":["pwd","otp","mfa"],"auth_time":1790000000`, expectMFA: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleClaims()
			c.User.AMR, c.User.AuthTime = tt.givenAMR, tt.givenAuthTime
			payload, err := requestinfo.MarshalPayload(c)
			if err != nil {
				t.Fatal(err)
			}
			hasAMR := strings.Contains(string(payload), `"amr"`) || strings.Contains(string(payload), `"auth_time"`)
			if (tt.expectJSON == "") == hasAMR || (tt.expectJSON != "" && !strings.Contains(string(payload), tt.expectJSON)) {
				t.Errorf("payload %s, want %q", payload, tt.expectJSON)
			}
			clk := newClock()
			tok := sign(t, newSigner(t, infosign.SignerConfig{Key: gw, Now: clk.Now}), c)
			got, err := newVerifier(t, requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&gw.PublicKey}, Now: clk.Now}).Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.User.AMR, tt.givenAMR) || got.User.AuthTime != tt.givenAuthTime || got.User.MultiFactor() != tt.expectMFA {
				t.Errorf("read back amr %q, auth_time %d, multi-factor %v", got.User.AMR, got.User.AuthTime, got.User.MultiFactor())
			}
		})
	}
	var none *requestinfo.UserClaims
	if none.MultiFactor() {
		t.Error("no user is multi-factor")
	}
}
