package mint

import (
	"bytes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/authgw/authgw/mint/wire"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// ErrBadKeyRing is the root of key-ring parsing errors.
var ErrBadKeyRing = errors.New("bad key ring")

// ErrUnknownKey is returned when an identifier names a key the ring lacks.
var ErrUnknownKey = errors.New("unknown key ID")

// KeyRing holds named master keys. The first key mints; every key
// verifies. A KeyRing is immutable and safe for concurrent use.
type KeyRing struct {
	keys []masterKey
	byID map[string]*masterKey
}

type masterKey struct {
	id     string
	secret [KeySize]byte
	// prk is HKDF-Extract(salt = nil, secret): the first half of HKDF,
	// which depends only on the master key and so is computed once.
	prk [sha256.Size]byte
	// stepUp seals and opens step-up caveat identifiers: XChaCha20-Poly1305
	// under the key's PurposeKey for that purpose, set up once, since a
	// verifier opens one per new step-up token. It is safe for
	// concurrent use.
	stepUp cipher.AEAD
}

type keyRingJSON struct {
	Keys []keyJSON `json:"keys"`
}

type keyJSON struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// ParseKeyRing reads a key ring in its JSON form,
// {"keys":[{"id":"k2","secret":"<base64 of 32 bytes>"},...]}. It fails
// with an error wrapping ErrBadKeyRing when the JSON is malformed, the
// ring is empty, an ID is invalid or repeated, or a secret is not 32
// bytes of standard base64.
func ParseKeyRing(data []byte) (*KeyRing, error) {
	var raw keyRingJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeyRing, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the key ring", ErrBadKeyRing)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the key ring", ErrBadKeyRing)
	}
	if len(raw.Keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrBadKeyRing)
	}
	ring := &KeyRing{byID: make(map[string]*masterKey, len(raw.Keys))}
	ring.keys = make([]masterKey, len(raw.Keys))
	for i, k := range raw.Keys {
		if !validID(k.ID) {
			return nil, fmt.Errorf("%w: key %d: id %q must be 1 to 64 of [A-Za-z0-9._-]", ErrBadKeyRing, i, k.ID)
		}
		if _, dup := ring.byID[k.ID]; dup {
			return nil, fmt.Errorf("%w: key id %q listed twice", ErrBadKeyRing, k.ID)
		}
		secret, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(secret) != KeySize {
			return nil, fmt.Errorf("%w: key %q: secret must be %d bytes in standard base64", ErrBadKeyRing, k.ID, KeySize)
		}
		mk := &ring.keys[i]
		mk.id = k.ID
		copy(mk.secret[:], secret)
		prk, err := hkdf.Extract(sha256.New, mk.secret[:], nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKeyRing, err)
		}
		copy(mk.prk[:], prk)
		if mk.stepUp, err = chacha20poly1305.NewX(purposeKey(mk, stepUpPurpose)); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKeyRing, err)
		}
		ring.byID[k.ID] = mk
	}
	return ring, nil
}

// LoadKeyRing reads a key-ring file. It fails when the file cannot be read
// or ParseKeyRing rejects it; the error names the file, never a secret.
func LoadKeyRing(path string) (*KeyRing, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	ring, err := ParseKeyRing(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ring, nil
}

// GenerateKeyRing returns a ring holding one new key with the given ID,
// read from random. It fails when the ID is invalid or random fails.
func GenerateKeyRing(id string, random io.Reader) (*KeyRing, error) {
	return (&KeyRing{}).WithNewKey(id, random)
}

// WithNewKey returns a copy of the ring with a new random key first, so it
// mints from now on while the older keys keep verifying. It fails when the
// ID is invalid or already in the ring, or random fails.
func (r *KeyRing) WithNewKey(id string, random io.Reader) (*KeyRing, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: id %q must be 1 to 64 of [A-Za-z0-9._-]", ErrBadKeyRing, id)
	}
	var secret [KeySize]byte
	if _, err := io.ReadFull(random, secret[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	raw := keyRingJSON{Keys: []keyJSON{{ID: id, Secret: base64.StdEncoding.EncodeToString(secret[:])}}}
	for _, k := range r.keys {
		if k.id == id {
			return nil, fmt.Errorf("%w: key id %q already in the ring", ErrBadKeyRing, id)
		}
		raw.Keys = append(raw.Keys, keyJSON{ID: k.id, Secret: base64.StdEncoding.EncodeToString(k.secret[:])})
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	return ParseKeyRing(data)
}

// MarshalJSON writes the ring in the form ParseKeyRing reads. The output
// holds the secrets: write it only to a file readable by its owner.
func (r *KeyRing) MarshalJSON() ([]byte, error) {
	raw := keyRingJSON{Keys: make([]keyJSON, 0, len(r.keys))}
	for _, k := range r.keys {
		raw.Keys = append(raw.Keys, keyJSON{ID: k.id, Secret: base64.StdEncoding.EncodeToString(k.secret[:])})
	}
	return json.MarshalIndent(raw, "", "  ")
}

// PrimaryID is the ID of the key that mints.
func (r *KeyRing) PrimaryID() string { return r.keys[0].id }

// IDs lists the key IDs, the minting key first.
func (r *KeyRing) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// RootKey derives the root key of the macaroon with the given identifier:
// HKDF-SHA256 with the master key named by keyID and info = identifier.
// It fails with ErrUnknownKey when the ring has no such key.
func (r *KeyRing) RootKey(keyID string, identifier []byte) ([]byte, error) {
	k, ok := r.byID[keyID]
	if !ok {
		return nil, ErrUnknownKey
	}
	return hkdf.Key(sha256.New, k.secret[:], nil, string(identifier), sha256.Size)
}

// purposeSalt is the HKDF salt of PurposeKey: a key for another purpose
// is derived with a salt, a token's root key (RootKey) without one, so
// that no label can ever yield a token's root key.
const purposeSalt = "authgw purpose key v1"

// PurposeKey derives a 32-byte key for purpose (for example
// "csrf-forms") from the minting key: HKDF-SHA256 with a salt of its own
// and info = purpose. Every instance with the same ring derives the same
// key, so nothing more needs sharing; a new minting key changes it.
func (r *KeyRing) PurposeKey(purpose string) []byte {
	return purposeKey(&r.keys[0], purpose)
}

func purposeKey(k *masterKey, purpose string) []byte {
	key, err := hkdf.Key(sha256.New, k.secret[:], []byte(purposeSalt), purpose, sha256.Size)
	if err != nil {
		// Only a length beyond 255 hashes fails, and the length is fixed.
		panic(err)
	}
	return key
}

// ExtractedKey returns HKDF-Extract of the master key named by keyID, so
// that a verifier can finish the derivation with one HMAC (HKDF-Expand)
// per token. It is as secret as the master key itself. The lookup does not
// allocate.
func (r *KeyRing) ExtractedKey(keyID []byte) (*[sha256.Size]byte, bool) {
	k, ok := r.byID[string(keyID)]
	if !ok {
		return nil, false
	}
	return &k.prk, true
}

// Equal reports whether two rings hold the same keys in the same order,
// comparing secrets in constant time.
func (r *KeyRing) Equal(o *KeyRing) bool {
	if len(r.keys) != len(o.keys) {
		return false
	}
	for i := range r.keys {
		if r.keys[i].id != o.keys[i].id || !hmac.Equal(r.keys[i].secret[:], o.keys[i].secret[:]) {
			return false
		}
	}
	return true
}

// ValidID reports whether s may serve as a key, server, user, session or
// client ID in a token: 1 to 64 of [A-Za-z0-9._-].
func ValidID(s string) bool { return validID(s) }

func validID(id string) bool { return wire.ValidID(id) }
