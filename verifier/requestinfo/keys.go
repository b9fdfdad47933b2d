package requestinfo

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// ErrNotP256 is returned for a key that is not an ECDSA P-256 key, the
// only kind that signs request info.
var ErrNotP256 = errors.New("requestinfo: key is not an ECDSA P-256 key")

// MarshalPublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, the
// file a backend is given. It errors for a key that is not P-256.
func MarshalPublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	if !isP256(pub) {
		return nil, ErrNotP256
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("requestinfo: encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM decodes the first "PUBLIC KEY" PEM block of data. It
// errors when there is none or the key is not ECDSA P-256.
func ParsePublicKeyPEM(data []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("requestinfo: no PUBLIC KEY PEM block in public key data")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("requestinfo: parsing public key: %w", err)
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || !isP256(pub) {
		return nil, ErrNotP256
	}
	return pub, nil
}

// isP256 reports whether pub is a usable P-256 public key.
func isP256(pub *ecdsa.PublicKey) bool {
	if pub == nil || pub.Curve != elliptic.P256() {
		return false
	}
	_, err := pub.Bytes() // refuses the point at infinity and off-curve points
	return err == nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub (SHA-256,
// base64url), the key ID the gateway writes in its tokens and its JWKS
// unless told another. It errors for a key that is not P-256.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	if !isP256(pub) {
		return "", ErrNotP256
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("requestinfo: thumbprint: %w", err)
	}
	return b64.EncodeToString(sum), nil
}

// PublicJWKS returns a JWKS document listing pubs (the current key first,
// then keys being rotated out), each with kid set to its thumbprint, use
// "sig" and alg ES256, for a public key endpoint. It errors for no key or
// a key that is not P-256.
func PublicJWKS(pubs ...*ecdsa.PublicKey) ([]byte, error) {
	if len(pubs) == 0 {
		return nil, errors.New("requestinfo: no public key for the JWKS")
	}
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(pubs))}
	for _, pub := range pubs {
		kid, err := Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: pub, KeyID: kid, Use: "sig", Algorithm: Algorithm})
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("requestinfo: encoding JWKS: %w", err)
	}
	return doc, nil
}

// jwkSelector is the part of a JWKS key read to decide whether it is a
// request-info key before go-jose parses it.
type jwkSelector struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	// D and K are private key members (EC, RSA and OKP "d", symmetric
	// "k"): a JWKS holding one is refused.
	D json.RawMessage `json:"d"`
	K json.RawMessage `json:"k"`
}

// ParseJWKS returns the P-256 signing keys of a JWKS document, such as
// PublicJWKS produces, for a Verifier. Keys of other types, curves, uses or
// algorithms are skipped, so a gateway may publish keys of a kind this
// package does not know. It errors for a document that is not JSON, a key
// with private material (a "d" or "k" member, whatever its type), a
// P-256 key whose coordinates are not 32 bytes or not a point on the
// curve, or no usable key at all.
func ParseJWKS(data []byte) ([]*ecdsa.PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("requestinfo: parsing JWKS: %w", err)
	}
	var keys []*ecdsa.PublicKey
	for i, raw := range doc.Keys {
		var sel jwkSelector
		if err := json.Unmarshal(raw, &sel); err != nil {
			return nil, fmt.Errorf("requestinfo: JWKS key %d: %w", i, err)
		}
		if sel.D != nil || sel.K != nil {
			return nil, fmt.Errorf("requestinfo: JWKS key %d holds private key material: refusing the document", i)
		}
		if sel.Kty != "EC" || sel.Crv != "P-256" || (sel.Use != "" && sel.Use != "sig") || (sel.Alg != "" && sel.Alg != Algorithm) {
			continue
		}
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("requestinfo: JWKS key %d: %w", i, err)
		}
		pub, ok := k.Key.(*ecdsa.PublicKey)
		if !ok || !isP256(pub) {
			return nil, fmt.Errorf("requestinfo: JWKS key %d: %w", i, ErrNotP256)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New("requestinfo: no ES256 P-256 key in JWKS")
	}
	return keys, nil
}
