package totp

import (
	"crypto/cipher"
	"fmt"
	"io"
)

// A sealed secret comes in two formats, told apart by its first byte:
//
//	version 1 (legacy, before key rings):
//	  0x01 | nonce (12) | AES-256-GCM ciphertext and tag
//	  additional data "authgw-totp-v1\x00" + userID
//	  sealed by the ring's legacy key (see Config.Keys)
//	version 2 (every Seal now):
//	  0x02 | len(keyID) (1) | keyID | nonce (12) | ciphertext and tag
//	  additional data "authgw-totp-v2\x00" + keyID + "\x00" + userID
//
// The key ID is in the additional data as well as in the prefix, so a
// ciphertext whose ID is changed no longer opens under any key.
const (
	sealVersion1 = 1
	sealVersion2 = 2
	nonceSize    = 12
	tagSize      = 16
	// aadPrefix1 and aadPrefix2 start the additional data.
	aadPrefix1 = "authgw-totp-v1\x00"
	aadPrefix2 = "authgw-totp-v2\x00"
	sealedMin  = 1 + nonceSize + MinSecretSize + tagSize
	// sealedMax is the longest version 2 ciphertext: 2+64+12+64+16 =
	// 158 bytes, within the database column's 255.
	sealedMax = 2 + MaxKeyIDLen + nonceSize + MaxSecretSize + tagSize
)

// Seal encrypts secret for storage in userID's row with the ring's
// newest key (the first of Config.Keys): version 2, the key's ID, a
// random 12-byte nonce, and the AES-256-GCM ciphertext and tag of secret
// with "authgw-totp-v2\x00"+keyID+"\x00"+userID as additional data. Two
// Seals of one secret differ. It fails with ErrInvalidInput when userID
// is empty or secret is not MinSecretSize to MaxSecretSize bytes, and
// when the random source fails.
func (t *TOTP) Seal(userID string, secret []byte) ([]byte, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: empty user ID", ErrInvalidInput)
	}
	if len(secret) < MinSecretSize || len(secret) > MaxSecretSize {
		return nil, fmt.Errorf("%w: secret must be %d to %d bytes", ErrInvalidInput, MinSecretSize, MaxSecretSize)
	}
	k := t.ring.Load().keys[0]
	head := 2 + len(k.id)
	out := make([]byte, head+nonceSize, head+nonceSize+len(secret)+tagSize)
	out[0] = sealVersion2
	out[1] = byte(len(k.id))
	copy(out[2:], k.id)
	nonce := out[head:]
	if _, err := io.ReadFull(t.rand, nonce); err != nil {
		return nil, fmt.Errorf("totp: reading a nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, secret, additionalData2(k.id, userID)), nil
}

// Open decrypts a secret that Seal sealed for userID, with the key its
// ciphertext names (a version 1 ciphertext: the ring's legacy key). It
// fails with ErrCorrupt whenever that does not work: another user ID, a
// key not in the ring, another key under the same ID, a changed or
// missing byte, an unknown version.
func (t *TOTP) Open(userID string, ciphertext []byte) ([]byte, error) {
	return t.open(nil, userID, ciphertext)
}

// SealKeyID is the ID of the key Seal uses: the ring's newest.
func (t *TOTP) SealKeyID() string { return t.ring.Load().keys[0].id }

// SealedKeyID is the ID of the key that sealed ciphertext, as its prefix
// says (a version 1 ciphertext: the ring's legacy key), without opening
// it. ok is false for a ciphertext of no known format.
func (t *TOTP) SealedKeyID(ciphertext []byte) (id string, ok bool) {
	k, _, _, err := t.parse(ciphertext)
	if err != nil {
		return "", false
	}
	return k.id, true
}

// Reseal returns ciphertext sealed with the ring's newest key: unchanged
// (changed false) when that key sealed it already, else opened with its
// own key and sealed anew. It fails with ErrCorrupt when ciphertext does
// not open.
func (t *TOTP) Reseal(userID string, ciphertext []byte) (out []byte, changed bool, err error) {
	secret, err := t.Open(userID, ciphertext)
	if err != nil {
		return nil, false, err
	}
	defer clear(secret)
	// A version 1 ciphertext is resealed even when the legacy key is the
	// newest: afterwards every ciphertext names its key.
	if id, _ := t.SealedKeyID(ciphertext); ciphertext[0] == sealVersion2 && id == t.SealKeyID() {
		return ciphertext, false, nil
	}
	if out, err = t.Seal(userID, secret); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// parse splits ciphertext into the key that sealed it, its nonce and the
// sealed bytes.
func (t *TOTP) parse(ciphertext []byte) (k ringKey, nonce, sealed []byte, err error) {
	ring := t.ring.Load()
	switch {
	case len(ciphertext) < sealedMin || len(ciphertext) > sealedMax:
		return k, nil, nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(ciphertext))
	case ciphertext[0] == sealVersion1:
		if len(ciphertext) > 1+nonceSize+MaxSecretSize+tagSize {
			return k, nil, nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(ciphertext))
		}
		return ring.keys[ring.legacy], ciphertext[1 : 1+nonceSize], ciphertext[1+nonceSize:], nil
	case ciphertext[0] == sealVersion2:
		n := int(ciphertext[1])
		if n == 0 || n > MaxKeyIDLen || len(ciphertext) < 2+n+nonceSize+MinSecretSize+tagSize {
			return k, nil, nil, fmt.Errorf("%w: bad key ID", ErrCorrupt)
		}
		id := string(ciphertext[2 : 2+n])
		for _, rk := range ring.keys {
			if rk.id == id {
				rest := ciphertext[2+n:]
				return rk, rest[:nonceSize], rest[nonceSize:], nil
			}
		}
		return k, nil, nil, fmt.Errorf("%w: sealed with key %q, which is not in the ring", ErrCorrupt, id)
	default:
		return k, nil, nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, ciphertext[0])
	}
}

// open appends the secret to dst.
func (t *TOTP) open(dst []byte, userID string, ciphertext []byte) ([]byte, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: empty user ID", ErrCorrupt)
	}
	k, nonce, sealed, err := t.parse(ciphertext)
	if err != nil {
		return nil, err
	}
	var aad []byte
	if ciphertext[0] == sealVersion1 {
		aad = append([]byte(aadPrefix1), userID...)
	} else {
		aad = additionalData2(k.id, userID)
	}
	secret, err := k.aead.Open(dst, nonce, sealed, aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	if len(secret)-len(dst) < MinSecretSize || len(secret)-len(dst) > MaxSecretSize {
		clear(secret[len(dst):])
		return nil, ErrCorrupt
	}
	return secret, nil
}

func additionalData2(keyID, userID string) []byte {
	b := make([]byte, 0, len(aadPrefix2)+len(keyID)+1+len(userID))
	b = append(b, aadPrefix2...)
	b = append(b, keyID...)
	b = append(b, 0)
	return append(b, userID...)
}

// ringKey is one key of the ring, ready to use.
type ringKey struct {
	id   string
	aead cipher.AEAD
}
