package requestinfo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFileSize bounds what LoadPrivateKey reads; a P-256 PEM key is
// about 240 bytes.
const maxKeyFileSize = 64 << 10

var errNotP256 = errors.New("requestinfo: key is not an ECDSA P-256 key")

// GenerateKey returns a new P-256 signing key. Since Go 1.26 ECDSA always
// draws from the system's secure random source (tests may fix it with
// testing/cryptotest.SetGlobalRandom), so no io.Reader is taken. It errors
// only if that source fails.
func GenerateKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// MarshalPrivateKeyPEM encodes key as a PKCS#8 "PRIVATE KEY" PEM block. It
// errors for a key that is not P-256.
func MarshalPrivateKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	if key == nil || key.Curve != elliptic.P256() {
		return nil, errNotP256
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("requestinfo: encoding private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes the first PEM block of data, PKCS#8 ("PRIVATE
// KEY") or SEC 1 ("EC PRIVATE KEY", as openssl ecparam writes it), for
// keys taken from an environment variable. It errors when there is no such
// block or the key is not ECDSA P-256.
func ParsePrivateKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("requestinfo: no PEM block in private key data")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("requestinfo: PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("requestinfo: parsing private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errNotP256
	}
	return ec, nil
}

// LoadPrivateKey reads a PEM private key file (see ParsePrivateKeyPEM). It
// refuses, with ErrKeyFilePermissions, a file that group or others may
// read or write, as ssh does: whoever reads the key can speak for the
// gateway to every backend. The check is skipped on Windows, whose file
// modes do not express this. It errors with fs.ErrNotExist when the file is
// missing, and for anything but a regular file.
func LoadPrivateKey(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("requestinfo: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("requestinfo: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("requestinfo: %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v, want 0600", ErrKeyFilePermissions, path, info.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("requestinfo: reading %s: %w", path, err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("requestinfo: %s is too large for a key file", path)
	}
	key, err := ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return key, nil
}

// LoadOrCreateKey loads the private key at path, or, when there is no file
// there, generates one and writes it as PKCS#8 PEM with mode 0600; created
// reports which. The file appears whole or not at all (it is written
// beside and hard-linked into place, which never replaces a file), so two
// processes starting together end up with the same key. It errors as
// LoadPrivateKey does for an existing file, and when the directory is not
// writable.
func LoadOrCreateKey(path string) (key *ecdsa.PrivateKey, created bool, err error) {
	key, err = LoadPrivateKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	key, err = GenerateKey()
	if err != nil {
		return nil, false, err
	}
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".authgw-key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("requestinfo: creating key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err = tmp.Write(data); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("requestinfo: writing key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			key, err = LoadPrivateKey(path)
			return key, false, err
		}
		return nil, false, fmt.Errorf("requestinfo: creating key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		_ = d.Sync()
		_ = d.Close()
	}
	return key, true, nil
}

// MarshalPublicKeyPEM encodes pub as a PKIX "PUBLIC KEY" PEM block, the
// file a backend is given. It errors for a key that is not P-256.
func MarshalPublicKeyPEM(pub *ecdsa.PublicKey) ([]byte, error) {
	if _, _, err := coordinates(pub); err != nil {
		return nil, err
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
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errNotP256
	}
	return pub, nil
}

// coordinates returns the 32-byte big-endian X and Y of a P-256 key.
func coordinates(pub *ecdsa.PublicKey) (x, y []byte, err error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return nil, nil, errNotP256
	}
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil || len(raw) != 65 {
		return nil, nil, errNotP256
	}
	return raw[1:33], raw[33:], nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub (SHA-256,
// base64url), the default key ID of a Signer. It errors for a key that is
// not P-256.
func Thumbprint(pub *ecdsa.PublicKey) (string, error) {
	x, y, err := coordinates(pub)
	if err != nil {
		return "", err
	}
	// The required members in lexicographic order, without whitespace.
	canonical := `{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:]), nil
}

// jwk is one key of a JWKS document (RFC 7517).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

// PublicJWKS returns a JWKS document listing pubs (the current key first,
// then keys being rotated out), each with kid set to its thumbprint, for a
// public key endpoint. It errors for no key or a key that is not P-256.
func PublicJWKS(pubs ...*ecdsa.PublicKey) ([]byte, error) {
	if len(pubs) == 0 {
		return nil, errors.New("requestinfo: no public key for the JWKS")
	}
	doc := jwks{Keys: make([]jwk, 0, len(pubs))}
	for _, pub := range pubs {
		x, y, err := coordinates(pub)
		if err != nil {
			return nil, err
		}
		kid, err := Thumbprint(pub)
		if err != nil {
			return nil, err
		}
		doc.Keys = append(doc.Keys, jwk{
			Kty: "EC", Crv: "P-256",
			X: b64.EncodeToString(x), Y: b64.EncodeToString(y),
			Kid: kid, Use: "sig", Alg: Algorithm,
		})
	}
	return json.Marshal(doc)
}

// ParseJWKS returns the P-256 signing keys of a JWKS document, such as
// PublicJWKS produces, for a Verifier. Keys of other types, curves, uses or
// algorithms are skipped. It errors for a document that is not JSON, a
// P-256 key whose point is invalid, or no usable key at all.
func ParseJWKS(data []byte) ([]*ecdsa.PublicKey, error) {
	var doc jwks
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("requestinfo: parsing JWKS: %w", err)
	}
	var keys []*ecdsa.PublicKey
	for i, k := range doc.Keys {
		if k.Kty != "EC" || k.Crv != "P-256" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != Algorithm) {
			continue
		}
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("requestinfo: JWKS key %d: bad coordinates", i)
		}
		raw := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("requestinfo: JWKS key %d: %w", i, err)
		}
		keys = append(keys, pub)
	}
	if len(keys) == 0 {
		return nil, errors.New("requestinfo: no ES256 P-256 key in JWKS")
	}
	return keys, nil
}
