package requestinfo_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier/requestinfo"
)

func TestPublicKeyPEM(t *testing.T) {
	key, _ := keys(t)
	pubPEM, err := requestinfo.MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	privPEM, _ := infosign.MarshalPrivateKeyPEM(key)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	tests := []struct {
		name        string
		givenPEM    []byte
		expectError bool
	}{
		{name: "round trip", givenPEM: pubPEM},
		{name: "private key", givenPEM: privPEM, expectError: true},
		{name: "P-384 key", givenPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: p384DER}), expectError: true},
		{name: "empty", givenPEM: nil, expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestinfo.ParsePublicKeyPEM(tt.givenPEM)
			if (err != nil) != tt.expectError {
				t.Fatalf("ParsePublicKeyPEM error = %v, want error %v", err, tt.expectError)
			}
			if err == nil && !got.Equal(&key.PublicKey) {
				t.Error("parsed key differs from the original")
			}
		})
	}
}

// thumbprintByHand computes RFC 7638 independently: encoding/json sorts
// map keys, which gives the required lexicographic member order.
func thumbprintByHand(t *testing.T, pub *ecdsa.PublicKey) string {
	t.Helper()
	raw, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(map[string]string{
		"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(raw[1:33]), "y": enc.EncodeToString(raw[33:]),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(doc)
	return enc.EncodeToString(sum[:])
}

func TestThumbprintAndJWKS(t *testing.T) {
	key, another := keys(t)
	for _, k := range []*ecdsa.PrivateKey{key, another} {
		got, err := requestinfo.Thumbprint(&k.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if want := thumbprintByHand(t, &k.PublicKey); got != want {
			t.Errorf("Thumbprint = %s, want %s", got, want)
		}
	}

	doc, err := requestinfo.PublicJWKS(&key.PublicKey, &another.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2: %s", len(parsed.Keys), doc)
	}
	k0 := parsed.Keys[0]
	if k0["kty"] != "EC" || k0["crv"] != "P-256" || k0["alg"] != "ES256" || k0["use"] != "sig" || k0["kid"] != thumbprintByHand(t, &key.PublicKey) {
		t.Errorf("JWKS key = %v", k0)
	}

	back, err := requestinfo.ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 2 || !back[0].Equal(&key.PublicKey) || !back[1].Equal(&another.PublicKey) {
		t.Error("ParseJWKS did not return the published keys")
	}
}

func TestParseJWKS(t *testing.T) {
	key, _ := keys(t)
	raw, _ := key.PublicKey.Bytes()
	x, y := enc.EncodeToString(raw[1:33]), enc.EncodeToString(raw[33:])
	offCurveY := make([]byte, 32)
	copy(offCurveY, raw[33:])
	offCurveY[31] ^= 1
	tests := []struct {
		name        string
		givenDoc    string
		expectKeys  int
		expectError bool
	}{
		{name: "one key", givenDoc: `{"keys":[{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}]}`, expectKeys: 1},
		{name: "RSA and encryption keys skipped", givenDoc: `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-256","use":"enc","x":"` + x + `","y":"` + y + `"},{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + y + `"}]}`, expectKeys: 1},
		{name: "no usable key", givenDoc: `{"keys":[{"kty":"EC","crv":"P-384","x":"` + x + `","y":"` + y + `"}]}`, expectError: true},
		{name: "point off the curve", givenDoc: `{"keys":[{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + enc.EncodeToString(offCurveY) + `"}]}`, expectError: true},
		{name: "short coordinate", givenDoc: `{"keys":[{"kty":"EC","crv":"P-256","x":"AQAB","y":"` + y + `"}]}`, expectError: true},
		{name: "not JSON", givenDoc: `keys`, expectError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := requestinfo.ParseJWKS([]byte(tt.givenDoc))
			if (err != nil) != tt.expectError || len(got) != tt.expectKeys {
				t.Errorf("ParseJWKS = %d keys, %v; want %d keys, error %v", len(got), err, tt.expectKeys, tt.expectError)
			}
		})
	}
}
