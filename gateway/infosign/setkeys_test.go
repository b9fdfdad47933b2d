package infosign_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
	"github.com/authgw/authgw/verifier/requestinfo/requestinfotest"
)

// kidOf is the kid of a compact JWS's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	b, err := enc.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// TestSignerSetKeys: after SetKeys the next token is signed with the new
// key (even for an identity whose token was kept for reuse), the JWKS
// publishes the new key then the previous ones, and a bad key is refused
// with the old keys kept.
func TestSignerSetKeys(t *testing.T) {
	oldKey := requestinfotest.Keys(t).Gateway
	newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: oldKey, Issuer: "authgw:test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	oldKid, _ := requestinfo.Thumbprint(&oldKey.PublicKey)
	newKid, _ := requestinfo.Thumbprint(&newKey.PublicKey)
	claims := requestinfotest.SampleClaims()
	before, err := s.Sign(claims)
	if err != nil || kidOf(t, before) != oldKid {
		t.Fatalf("before SetKeys: kid %q %v, want %q", kidOf(t, before), err, oldKid)
	}

	tests := []struct {
		name        string
		key         *ecdsa.PrivateKey
		previous    []*ecdsa.PublicKey
		expectErr   bool
		expectKid   string
		expectJWKSN int
	}{
		{name: "a non-P-256 key is refused, the old one kept", key: &ecdsa.PrivateKey{}, expectErr: true, expectKid: oldKid, expectJWKSN: 1},
		{name: "a rotation: the new key signs, the old one is published", key: newKey, previous: []*ecdsa.PublicKey{&oldKey.PublicKey}, expectKid: newKid, expectJWKSN: 2},
		{name: "the previous key dropped", key: newKey, expectKid: newKid, expectJWKSN: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.SetKeys(tt.key, tt.previous)
			if (err != nil) != tt.expectErr {
				t.Fatalf("SetKeys = %v, want error %v", err, tt.expectErr)
			}
			token, err := s.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			if got := kidOf(t, token); got != tt.expectKid {
				t.Errorf("kid after SetKeys = %q, want %q", got, tt.expectKid)
			}
			var jwks struct{ Keys []struct{ Kid string } }
			if err := json.Unmarshal(s.JWKS(), &jwks); err != nil {
				t.Fatal(err)
			}
			if len(jwks.Keys) != tt.expectJWKSN || jwks.Keys[0].Kid != tt.expectKid {
				t.Errorf("JWKS = %+v, want %d keys, %s first", jwks.Keys, tt.expectJWKSN, tt.expectKid)
			}
		})
	}
}

// TestSignerSetKeysConcurrent: SetKeys while signing (for -race).
func TestSignerSetKeysConcurrent(t *testing.T) {
	key := requestinfotest.Keys(t).Gateway
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw:test"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := s.Sign(requestinfotest.SampleClaims()); err != nil {
					t.Error(err)
					return
				}
				_ = s.JWKS()
			}
		})
	}
	for range 20 {
		if err := s.SetKeys(key, nil); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}
