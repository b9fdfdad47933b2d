package requestinfo_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/requestinfo"
	"github.com/authgw/authgw/mint/minttest"
)

// t0 is the fixed start of every test clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newClock returns a settable clock reading t0.
func newClock() *minttest.Clock { return minttest.NewClock(t0) }

// Keys are made once per test binary: generation is cheap but the
// identities must be stable across subtests.
var (
	keysOnce          sync.Once
	gatewayKey, other *ecdsa.PrivateKey
	rotatedKey, spare *ecdsa.PrivateKey
)

func keys(t testing.TB) (gateway, another *ecdsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		gatewayKey = mustKey(t)
		other = mustKey(t)
		rotatedKey = mustKey(t)
		spare = mustKey(t)
	})
	return gatewayKey, other
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := requestinfo.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSigner(t testing.TB, cfg requestinfo.SignerConfig) *requestinfo.Signer {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "authgw"
	}
	s, err := requestinfo.NewSigner(cfg)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func newVerifier(t testing.TB, cfg requestinfo.VerifierConfig) *requestinfo.Verifier {
	t.Helper()
	if cfg.Audience == "" {
		cfg.Audience = "demo"
	}
	v, err := requestinfo.NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func sign(t testing.TB, s *requestinfo.Signer, c requestinfo.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}

// sampleClaims is a full identity: client with secret, user with session.
func sampleClaims() requestinfo.Claims {
	return requestinfo.Claims{
		Client:         "cl_7f3a",
		SecretVerified: true,
		ClientRoles:    []string{"internal"},
		IP:             "203.0.113.9",
		User:           &requestinfo.UserClaims{ID: "usr_42", SessionID: "ses_9", Roles: []string{"user", "employee"}},
		Audience:       "demo",
	}
}

var enc = base64.RawURLEncoding

// parts splits a compact JWS, failing the test unless it has three parts.
func parts(t testing.TB, token string) (header, payload, sig string) {
	t.Helper()
	p := strings.Split(token, ".")
	if len(p) != 3 {
		t.Fatalf("token has %d parts, want 3", len(p))
	}
	return p[0], p[1], p[2]
}

// decodeJSON decodes one base64url JSON part into a generic map.
func decodeJSON(t testing.TB, part string) map[string]any {
	t.Helper()
	raw, err := enc.DecodeString(part)
	if err != nil {
		t.Fatalf("decoding part: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parsing part %s: %v", raw, err)
	}
	return m
}

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

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
