package totp

import (
	"fmt"
	"io"
)

const (
	// sealVersion is the first byte of a sealed secret.
	sealVersion = 1
	nonceSize   = 12
	tagSize     = 16
	// aadPrefix starts the additional data; the user ID follows.
	aadPrefix = "authgw-totp-v1\x00"
	sealedMin = 1 + nonceSize + MinSecretSize + tagSize
	sealedMax = 1 + nonceSize + MaxSecretSize + tagSize
)

// Seal encrypts secret for storage in userID's row: a version byte, a
// random 12-byte nonce, and the AES-256-GCM ciphertext and tag of secret
// with "authgw-totp-v1\x00"+userID as additional data. Two Seals of one
// secret differ. It fails with ErrInvalidInput when userID is empty or
// secret is not MinSecretSize to MaxSecretSize bytes, and when the random
// source fails.
func (t *TOTP) Seal(userID string, secret []byte) ([]byte, error) {
	if userID == "" {
		return nil, fmt.Errorf("%w: empty user ID", ErrInvalidInput)
	}
	if len(secret) < MinSecretSize || len(secret) > MaxSecretSize {
		return nil, fmt.Errorf("%w: secret must be %d to %d bytes", ErrInvalidInput, MinSecretSize, MaxSecretSize)
	}
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(secret)+tagSize)
	out[0] = sealVersion
	nonce := out[1:]
	if _, err := io.ReadFull(t.rand, nonce); err != nil {
		return nil, fmt.Errorf("totp: reading a nonce: %w", err)
	}
	return t.aead.Seal(out, nonce, secret, additionalData(userID)), nil
}

// Open decrypts a secret that Seal sealed for userID. It fails with
// ErrCorrupt whenever that does not work: another user ID, another key, a
// changed or missing byte, an unknown version.
func (t *TOTP) Open(userID string, ciphertext []byte) ([]byte, error) {
	return t.open(nil, userID, ciphertext)
}

// open appends the secret to dst.
func (t *TOTP) open(dst []byte, userID string, ciphertext []byte) ([]byte, error) {
	switch {
	case userID == "":
		return nil, fmt.Errorf("%w: empty user ID", ErrCorrupt)
	case len(ciphertext) < sealedMin || len(ciphertext) > sealedMax:
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(ciphertext))
	case ciphertext[0] != sealVersion:
		return nil, fmt.Errorf("%w: unknown version %d", ErrCorrupt, ciphertext[0])
	}
	nonce, sealed := ciphertext[1:1+nonceSize], ciphertext[1+nonceSize:]
	secret, err := t.aead.Open(dst, nonce, sealed, additionalData(userID))
	if err != nil {
		return nil, ErrCorrupt
	}
	return secret, nil
}

func additionalData(userID string) []byte {
	return append([]byte(aadPrefix), userID...)
}
