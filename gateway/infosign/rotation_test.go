package infosign_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestKeySetRotation: a single-key file (every file before rotations) is
// a key set of one; Rotate puts a new key first and keeps the old one as
// previous; a second rotation is refused until the previous is dropped;
// the file written back reads the same.
func TestKeySetRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "info-key.pem")
	first, created, err := infosign.LoadOrCreateKeySet(path)
	if err != nil || !created || first.Previous != nil {
		t.Fatalf("create: %v %v %v", created, err, first.Previous)
	}
	single, err := infosign.LoadPrivateKey(path)
	if err != nil || !single.Equal(first.Signing) {
		t.Fatalf("the file is still a single-key file: %v", err)
	}
	rotated, err := first.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Signing.Equal(first.Signing) || !rotated.Previous.Equal(first.Signing) {
		t.Fatal("Rotate did not put a new key first and the old one second")
	}
	if _, err := rotated.Rotate(); !errors.Is(err, infosign.ErrPreviousKeyPublished) {
		t.Fatalf("second rotation: %v", err)
	}
	if err := infosign.ReplaceKeySet(path, rotated); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	back, err := infosign.LoadKeySet(path)
	if err != nil || !back.Signing.Equal(rotated.Signing) || !back.Previous.Equal(first.Signing) {
		t.Fatalf("read back: %v", err)
	}
	if pubs := back.PublicKeys(); len(pubs) != 2 || !pubs[0].Equal(&rotated.Signing.PublicKey) {
		t.Fatal("PublicKeys: signing key not first")
	}
	// LoadPrivateKey (older callers) reads the signing key of a two-key file.
	if k, err := infosign.LoadPrivateKey(path); err != nil || !k.Equal(rotated.Signing) {
		t.Fatalf("LoadPrivateKey of a rotated file: %v", err)
	}
	dropped, had := back.DropPrevious()
	if !had || dropped.Previous != nil || !dropped.Signing.Equal(rotated.Signing) {
		t.Fatal("DropPrevious")
	}
	if _, had := dropped.DropPrevious(); had {
		t.Fatal("DropPrevious of a set with none reported one")
	}

	// The signer publishes both, signs with the first.
	s, err := infosign.NewSigner(infosign.SignerConfig{Key: back.Signing, Issuer: "i", Previous: []*ecdsa.PublicKey{&back.Previous.PublicKey}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := requestinfo.ParseJWKS(s.JWKS())
	if err != nil || len(keys) != 2 || !keys[0].Equal(&back.Signing.PublicKey) {
		t.Fatalf("JWKS: %v", err)
	}
	if bytes.Contains(s.JWKS(), []byte(`"d"`)) {
		t.Fatal("private member in the JWKS")
	}
}

// TestParseKeySetPEM: what a key file may and may not hold.
func TestParseKeySetPEM(t *testing.T) {
	a, _ := infosign.GenerateKey()
	b, _ := infosign.GenerateKey()
	c, _ := infosign.GenerateKey()
	pemOf := func(k *ecdsa.PrivateKey) []byte { d, _ := infosign.MarshalPrivateKeyPEM(k); return d }
	sec1 := func(k *ecdsa.PrivateKey) []byte {
		der, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
	}
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	pub, _ := requestinfo.MarshalPublicKeyPEM(&a.PublicKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), nil)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name     string
		data     []byte
		previous bool
		ok       bool
	}{
		{"one key", pemOf(a), false, true},
		{"two keys", cat(pemOf(a), pemOf(b)), true, true},
		{"SEC 1 and openssl's EC PARAMETERS", cat(params, sec1(a), sec1(b)), true, true},
		{"three keys", cat(pemOf(a), pemOf(b), pemOf(c)), false, false},
		{"same key twice", cat(pemOf(a), pemOf(a)), false, false},
		{"a public key", cat(pemOf(a), pub), false, false},
		{"P-384", cat(pemOf(a), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER})), false, false},
		{"garbage after", cat(pemOf(a), []byte("not pem")), false, false},
		{"empty", nil, false, false},
		{"no PEM", []byte("hello"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ks, err := infosign.ParseKeySetPEM(tc.data)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if err == nil && (ks.Previous != nil) != tc.previous {
				t.Fatalf("previous %v", ks.Previous != nil)
			}
			if err == nil && !ks.Signing.Equal(a) {
				t.Fatal("signing key is not the first")
			}
		})
	}
}
