package verifier_test

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/nodetest"
)

// jsStepUpRequest is what stepup.js reads on stdin.
type jsStepUpRequest struct {
	Token            string   `json:"token"`
	Discharge        string   `json:"discharge"`
	TokenCaveats     []string `json:"tokenCaveats"`
	DischargeCaveats []string `json:"dischargeCaveats"`
}

// jsStepUpResult is what stepup.js writes on stdout.
type jsStepUpResult struct {
	ThirdParty struct {
		Location   string `json:"location"`
		Identifier string `json:"identifier"` // hex
	} `json:"thirdParty"`
	DischargeIdentifier string   `json:"dischargeIdentifier"` // hex
	TokenCaveats        []string `json:"tokenCaveats"`
	DischargeCaveats    []string `json:"dischargeCaveats"`
	Token               string   `json:"token"`
	Discharge           string   `json:"discharge"`
}

// TestInteropNodeStepUp: the npm macaroon package adds a first-party
// caveat to a step-up token and another to its discharge, binds the
// discharge to the attenuated token with its own bindToRoot, and the
// verifier enforces both caveats: one request allowed, one refused by
// each, where the unattenuated pair allows both (the control).
func TestInteropNodeStepUp(t *testing.T) {
	node, _ := nodetest.Setup(t, interopDir, "macaroon", "stepup.js", "package-lock.json")
	ring := testRing(t)
	su := mintStepUp(t, ring, fixedNow)
	tokenCaveat := "ip 10.0.0.0/8"
	dischargeCaveat := "time-before " + fixedNow.Add(time.Minute).Format(time.RFC3339)
	var res jsStepUpResult
	nodetest.Run(t, node, interopDir, "stepup.js", jsStepUpRequest{
		Token: su.token, Discharge: su.unbound, TokenCaveats: []string{tokenCaveat}, DischargeCaveats: []string{dischargeCaveat},
	}, &res, 30*time.Second)

	// The JS side read the third-party caveat as macaroon.v2 wrote it.
	cid, _ := mint.StepUpCaveatID(su.token)
	if res.ThirdParty.Location != mint.DischargePath || res.ThirdParty.Identifier != hex.EncodeToString(cid) || res.DischargeIdentifier != hex.EncodeToString(cid) {
		t.Errorf("JS read third-party caveat %+v, discharge identifier %s; want %s at %s", res.ThirdParty, res.DischargeIdentifier, hex.EncodeToString(cid), mint.DischargePath)
	}
	if res.TokenCaveats[len(res.TokenCaveats)-1] != tokenCaveat || !slices.Equal(res.DischargeCaveats[len(res.DischargeCaveats)-1:], []string{dischargeCaveat}) {
		t.Errorf("JS caveats: token %q, discharge %q", res.TokenCaveats, res.DischargeCaveats)
	}
	// HMAC chaining and binding are deterministic: the JS pair must be
	// byte for byte what macaroon.v2 makes of the same steps.
	goToken, err := mint.AttenuateText(su.token, tokenCaveat)
	if err != nil {
		t.Fatal(err)
	}
	goDischarge := attenuateDischarge(t, goToken, su.unbound, dischargeCaveat)
	if res.Token != goToken || res.Discharge != goDischarge {
		t.Errorf("JS differs from macaroon.v2:\n token     js %s\n           go %s\n discharge js %s\n           go %s", res.Token, goToken, res.Discharge, goDischarge)
	}

	skew := verifier.DefaultSkew
	inside, outside := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.1.1")
	tests := []struct {
		name       string
		ip         netip.Addr
		after      time.Duration
		expectErr  error // with the JS token and discharge
		controlErr error // with the minted token and its bound discharge
	}{
		{"allowed: inside the token's ip, before the discharge's time-before", inside, 0, nil, nil},
		{"allowed: just before the discharge's time-before and skew", inside, time.Minute + skew - time.Second, nil, nil},
		{"refused by the token's caveat: another address", outside, 0, verifier.ErrIPNotAllowed, nil},
		{"refused by the discharge's caveat: after its time-before", inside, time.Minute + skew, verifier.ErrExpired, nil},
		{"refused by both", outside, time.Minute + skew, verifier.ErrUnauthorized, nil},
		{"past the discharge's own window", inside, 2*time.Minute + skew, verifier.ErrExpired, verifier.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := fixedNow.Add(tt.after)
			v := newVerifier(t, ring, func(c *verifier.Config) { c.Now = func() time.Time { return now } })
			req := verifier.Request{Method: "DELETE", Path: userPath(""), ClientIP: tt.ip}
			id, err := v.Verify(res.Token, req, res.Discharge)
			if !errors.Is(err, tt.expectErr) || (tt.expectErr == nil && (err != nil || !id.StepUp)) {
				t.Errorf("JS pair: %+v, %v; want %v", id, err, tt.expectErr)
			}
			if tt.expectErr == verifier.ErrExpired && !errors.Is(err, verifier.ErrStepUpRequired) {
				t.Errorf("JS pair: %v, want the expiry inside a StepUpError", err)
			}
			_, err = v.Verify(su.token, req, su.discharge)
			if !errors.Is(err, tt.controlErr) || (tt.controlErr == nil && err != nil) {
				t.Errorf("minted pair (control): %v, want %v", err, tt.controlErr)
			}
		})
	}
	t.Run("each half of the JS pair is bound to the other only", func(t *testing.T) {
		v := newVerifier(t, ring, nil)
		req := verifier.Request{Method: "DELETE", Path: userPath(""), ClientIP: inside}
		if _, err := v.Verify(su.token, req, res.Discharge); !errors.Is(err, verifier.ErrBadDischarge) {
			t.Errorf("JS discharge with the minted token: %v, want ErrBadDischarge", err)
		}
		if _, err := v.Verify(res.Token, req, su.discharge); !errors.Is(err, verifier.ErrBadDischarge) {
			t.Errorf("minted discharge with the JS token: %v, want ErrBadDischarge", err)
		}
	})
}
