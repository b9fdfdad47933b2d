package infosign

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"

	"github.com/authgw/authgw/mint/secretfile"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// ErrPreviousKeyPublished is returned by KeySet.Rotate while the key set
// still holds a previous key: drop it first (KeySet.DropPrevious), once
// the backends hold the current one, so a rotation never retires a key
// whose tokens may still be in flight.
var ErrPreviousKeyPublished = errors.New("infosign: the previous request-info key is still published; drop it before rotating again")

// KeySet is the content of a request-info key file: the key that signs
// and, during a rotation, the previous key, which no longer signs but is
// still published (verify-only) so that backends keep accepting the
// tokens it signed and learn the new key before they see it.
//
// On disk it is one PEM file with one private key block (the file of
// every release before rotations: still valid) or two, the signing key
// first.
type KeySet struct {
	// Signing signs every new token. Required; ECDSA P-256.
	Signing *ecdsa.PrivateKey
	// Previous is the key rotated out, published but never used to sign.
	// Optional; nil outside a rotation.
	Previous *ecdsa.PrivateKey
}

// PublicKeys returns the public keys to publish: the signing key first,
// then the previous one when there is one.
func (ks KeySet) PublicKeys() []*ecdsa.PublicKey {
	pubs := []*ecdsa.PublicKey{&ks.Signing.PublicKey}
	if ks.Previous != nil {
		pubs = append(pubs, &ks.Previous.PublicKey)
	}
	return pubs
}

// Rotate returns the set with a new signing key and ks's signing key as
// the previous one. It errors with ErrPreviousKeyPublished when ks holds
// a previous key already, and when key generation fails.
func (ks KeySet) Rotate() (KeySet, error) {
	if ks.Previous != nil {
		return KeySet{}, ErrPreviousKeyPublished
	}
	key, err := GenerateKey()
	if err != nil {
		return KeySet{}, err
	}
	return KeySet{Signing: key, Previous: ks.Signing}, nil
}

// DropPrevious returns the set without its previous key, and whether
// there was one.
func (ks KeySet) DropPrevious() (KeySet, bool) {
	return KeySet{Signing: ks.Signing}, ks.Previous != nil
}

// MarshalKeySetPEM encodes ks as PKCS#8 "PRIVATE KEY" PEM blocks, the
// signing key first. It errors for a missing or non-P-256 key.
func MarshalKeySetPEM(ks KeySet) ([]byte, error) {
	if ks.Signing == nil {
		return nil, fmt.Errorf("infosign: KeySet.Signing: %w", requestinfo.ErrNotP256)
	}
	out, err := MarshalPrivateKeyPEM(ks.Signing)
	if err != nil {
		return nil, err
	}
	if ks.Previous != nil {
		prev, err := MarshalPrivateKeyPEM(ks.Previous)
		if err != nil {
			return nil, fmt.Errorf("infosign: KeySet.Previous: %w", err)
		}
		out = append(out, prev...)
	}
	return out, nil
}

// ParseKeySetPEM decodes a request-info key file: one or two private key
// blocks, PKCS#8 ("PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"), the
// signing key first. "EC PARAMETERS" blocks (openssl ecparam -genkey
// writes one) are skipped. It errors for no key, more than two keys, the
// same key twice, any other block, text that is not PEM between or after
// the blocks, or a key that is not ECDSA P-256.
func ParseKeySetPEM(data []byte) (KeySet, error) {
	var keys []*ecdsa.PrivateKey
	rest := data
	for {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		rest = r
		if block.Type == "EC PARAMETERS" {
			continue
		}
		key, err := ParsePrivateKeyPEM(pem.EncodeToMemory(block))
		if err != nil {
			return KeySet{}, fmt.Errorf("%w (key %d)", err, len(keys)+1)
		}
		keys = append(keys, key)
	}
	if len(bytes.TrimSpace(rest)) != 0 && len(keys) > 0 {
		return KeySet{}, errors.New("infosign: text after the last PEM block of the key file")
	}
	switch {
	case len(keys) == 0:
		return KeySet{}, errors.New("infosign: no PEM block in private key data")
	case len(keys) > 2:
		return KeySet{}, fmt.Errorf("infosign: %d keys in the key file; it holds the signing key and at most one previous key", len(keys))
	}
	ks := KeySet{Signing: keys[0]}
	if len(keys) == 2 {
		if keys[0].Equal(keys[1]) {
			return KeySet{}, errors.New("infosign: the key file holds the same key twice")
		}
		ks.Previous = keys[1]
	}
	return ks, nil
}

// LoadKeySet reads a request-info key file (see ParseKeySetPEM) with the
// checks of LoadPrivateKey: a regular file, mode 0600 or stricter
// (ErrKeyFilePermissions), of a key file's size. It errors with
// fs.ErrNotExist when the file is missing.
func LoadKeySet(path string) (KeySet, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return KeySet{}, err
	}
	ks, err := ParseKeySetPEM(data)
	if err != nil {
		return KeySet{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return ks, nil
}

// LoadOrCreateKeySet loads the key set at path, or, when there is no
// file there, creates one with a single new key as LoadOrCreateKey does;
// created reports which.
func LoadOrCreateKeySet(path string) (ks KeySet, created bool, err error) {
	ks, err = LoadKeySet(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return ks, false, err
	}
	key, created, err := LoadOrCreateKey(path)
	if err != nil {
		return KeySet{}, false, err
	}
	if !created { // another process made it, perhaps rotated since
		ks, err = LoadKeySet(path)
		return ks, false, err
	}
	return KeySet{Signing: key}, true, nil
}

// ReplaceKeySet writes ks to path (mode 0600, written beside and renamed
// into place, so a reader sees the old file or the new one, whole).
func ReplaceKeySet(path string, ks KeySet) error {
	data, err := MarshalKeySetPEM(ks)
	if err != nil {
		return err
	}
	if err := secretfile.Replace(path, data); err != nil {
		return fmt.Errorf("infosign: writing %s: %w", path, err)
	}
	return nil
}
