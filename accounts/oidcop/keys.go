package oidcop

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// KeyBits is the size of the RSA keys the provider signs ID tokens with.
const KeyBits = 2048

// maxKeys bounds the keys of a key file.
const maxKeys = 10

// signingKey is one RSA key of the ring, named by the SHA-256 of its
// public key (its kid).
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func newSigningKey(k *rsa.PrivateKey) signingKey {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	sum := sha256.Sum256(der)
	return signingKey{id: hex.EncodeToString(sum[:8]), key: k}
}

// SignatureAlgorithm is RS256, which every OIDC client supports.
func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Key is the private key (signing).
func (k signingKey) Key() any { return k.key }

// ID is the kid.
func (k signingKey) ID() string { return k.id }

// publicKey is a key of the JWKS.
type publicKey struct{ signingKey }

// Algorithm is RS256.
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Use is "sig".
func (k publicKey) Use() string { return "sig" }

// Key is the public key.
func (k publicKey) Key() any { return &k.key.PublicKey }

var (
	_ op.SigningKey = signingKey{}
	_ op.Key        = publicKey{}
)

// ParseKeys reads a PEM file of one or more RSA private keys ("RSA
// PRIVATE KEY" or "PRIVATE KEY" blocks): the first signs, all are
// published at jwks_uri. It fails on anything else in the file, a key
// that is not RSA or shorter than KeyBits, no key, or more than 10.
func ParseKeys(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("oidcop: unexpected PEM block %q in the key file", block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("oidcop: key %d: %w", len(keys)+1, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() < KeyBits {
			return nil, fmt.Errorf("oidcop: key %d is not an RSA key of at least %d bits", len(keys)+1, KeyBits)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, errors.New("oidcop: the key file holds no RSA private key")
	}
	if len(keys) > maxKeys {
		return nil, fmt.Errorf("oidcop: the key file holds %d keys, at most %d", len(keys), maxKeys)
	}
	return keys, nil
}

// NewKeyPEM returns a new RSA key of KeyBits as a PEM "RSA PRIVATE KEY"
// block, read from random (crypto/rand when nil). Put in front of a key
// file it signs from then on, the older keys still verifying.
func NewKeyPEM(random io.Reader) ([]byte, error) {
	if random == nil {
		random = rand.Reader
	}
	k, err := rsa.GenerateKey(random, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("oidcop: generating an RSA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
}
