package requestinfotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// T0 is the fixed start of every NewClock.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// NewClock returns a settable clock at T0 (minttest.Clock, the one fake
// clock of the tests).
func NewClock() *minttest.Clock { return minttest.NewClock(T0) }

// TestKeys are P-256 keys made once per test binary, so identities are
// stable across subtests.
type TestKeys struct {
	Gateway, Another, Rotated *ecdsa.PrivateKey
}

var (
	keysOnce sync.Once
	keys     TestKeys
	keysErr  error
)

// Keys returns the test binary's keys. It fails t if they cannot be made.
func Keys(t testing.TB) TestKeys {
	t.Helper()
	keysOnce.Do(func() {
		for _, k := range []**ecdsa.PrivateKey{&keys.Gateway, &keys.Another, &keys.Rotated} {
			if *k, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); keysErr != nil {
				return
			}
		}
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

// SampleClaims is a full identity: client with secret, user with session,
// for audience "demo".
func SampleClaims() requestinfo.Claims {
	return requestinfo.Claims{
		Client:         "cl_7f3a",
		SecretVerified: true,
		ClientRoles:    []string{"internal"},
		IP:             "203.0.113.9",
		User:           &requestinfo.UserClaims{ID: "usr_42", SessionID: "ses_9", Roles: []string{"user", "employee"}},
		Audience:       "demo",
	}
}

// NewVerifier returns a Verifier for cfg, with audience "demo" unless cfg
// names one. It fails t when NewVerifier errors.
func NewVerifier(t testing.TB, cfg requestinfo.VerifierConfig) *requestinfo.Verifier {
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

// Parts splits a compact JWS, failing t unless it has three parts.
func Parts(t testing.TB, token string) (header, payload, sig string) {
	t.Helper()
	p := strings.Split(token, ".")
	if len(p) != 3 {
		t.Fatalf("token has %d parts, want 3", len(p))
	}
	return p[0], p[1], p[2]
}

// DecodePart decodes one base64url JSON part of a token into a generic
// map, failing t when it is not one.
func DecodePart(t testing.TB, part string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatalf("decoding part: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("parsing part %s: %v", raw, err)
	}
	return m
}

// NewSigner returns the gateway's Signer for cfg, with issuer "authgw"
// unless cfg names one: the writing half, to give the reader something
// to read. It fails t when NewSigner errors.
func NewSigner(t testing.TB, cfg infosign.SignerConfig) *infosign.Signer {
	t.Helper()
	if cfg.Issuer == "" {
		cfg.Issuer = "authgw"
	}
	s, err := infosign.NewSigner(cfg)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// Sign signs c with s, failing t when Sign errors.
func Sign(t testing.TB, s *infosign.Signer, c requestinfo.Claims) string {
	t.Helper()
	tok, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return tok
}
