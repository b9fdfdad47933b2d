package requestinfo_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// The shared fixtures, under the short names these tests use.
var (
	t0           = requestinfotest.T0
	newClock     = requestinfotest.NewClock
	sampleClaims = requestinfotest.SampleClaims
	newVerifier  = requestinfotest.NewVerifier
	parts        = requestinfotest.Parts
	decodeJSON   = requestinfotest.DecodePart
	newSigner    = requestinfotest.NewSigner
	sign         = requestinfotest.Sign
)

// keys returns the gateway's test key and another one.
func keys(t testing.TB) (gateway, another *ecdsa.PrivateKey) {
	t.Helper()
	k := requestinfotest.Keys(t)
	return k.Gateway, k.Another
}

var enc = base64.RawURLEncoding

// signRaw signs an arbitrary header and payload with key, the way an
// attacker holding a key (or the gateway misbehaving) would.
func signRaw(t testing.TB, key *ecdsa.PrivateKey, header, payload string) string {
	t.Helper()
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc.EncodeToString(sig[:])
}

// validPayload is a payload the default test Verifier accepts at t0.
func validPayload(extra string) string {
	return `{"t":0,"c":"cl_7f3a","a":true,"r":["internal"],"ip":"203.0.113.9",` +
		`"iat":` + itoa(t0.Unix()) + `,"exp":` + itoa(t0.Unix()+30) + `,"aud":"demo","iss":"authgw"` + extra + `}`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
