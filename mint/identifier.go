package mint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// IdentifierVersion is the identifier format this package writes.
const IdentifierVersion = 1

// NonceSize is the size of the random nonce in an identifier.
const NonceSize = 16

// ErrBadIdentifier is returned by ParseIdentifier for malformed input.
var ErrBadIdentifier = errors.New("malformed token identifier")

// Identifier is the public, unsigned-by-itself head of a token. Its binary
// form (version 1) is:
//
//	version(1) | len(keyID)(1) | keyID | len(sessionID)(1) | sessionID |
//	issuedAt unix ms (8, big-endian) | nonce(16)
//
// It carries no secret and no personal data. The issue time lets a
// revocation set reject every token of a user issued before a moment.
type Identifier struct {
	KeyID     string
	SessionID string
	IssuedAt  time.Time
	Nonce     [NonceSize]byte
}

// NewIdentifier returns an identifier with a nonce read from random. It
// fails when an ID is not 1 to 64 of [A-Za-z0-9._-] or random fails.
func NewIdentifier(keyID, sessionID string, issuedAt time.Time, random io.Reader) (Identifier, error) {
	id := Identifier{KeyID: keyID, SessionID: sessionID, IssuedAt: issuedAt.Truncate(time.Millisecond)}
	if !validID(keyID) || !validID(sessionID) {
		return Identifier{}, fmt.Errorf("%w: key and session IDs must be 1 to 64 of [A-Za-z0-9._-]", ErrBadIdentifier)
	}
	if _, err := io.ReadFull(random, id.Nonce[:]); err != nil {
		return Identifier{}, fmt.Errorf("identifier nonce: %w", err)
	}
	return id, nil
}

// MarshalBinary encodes the identifier in version 1 form.
func (id Identifier) MarshalBinary() ([]byte, error) {
	if !validID(id.KeyID) || !validID(id.SessionID) {
		return nil, fmt.Errorf("%w: key and session IDs must be 1 to 64 of [A-Za-z0-9._-]", ErrBadIdentifier)
	}
	b := make([]byte, 0, 3+len(id.KeyID)+len(id.SessionID)+8+NonceSize)
	b = append(b, IdentifierVersion, byte(len(id.KeyID)))
	b = append(b, id.KeyID...)
	b = append(b, byte(len(id.SessionID)))
	b = append(b, id.SessionID...)
	b = binary.BigEndian.AppendUint64(b, uint64(id.IssuedAt.UnixMilli()))
	b = append(b, id.Nonce[:]...)
	return b, nil
}

// RawIdentifier is an identifier split into views of the bytes it was
// parsed from, so that parsing does not allocate. Its fields are
// unverified until the token's signature is.
type RawIdentifier struct {
	KeyID      []byte
	SessionID  []byte
	IssuedAtMs int64
	Nonce      []byte
}

// ParseRawIdentifier splits a version 1 identifier without copying. It
// fails with ErrBadIdentifier on an unknown version, bad lengths, IDs
// outside [A-Za-z0-9._-] or trailing bytes.
func ParseRawIdentifier(b []byte) (RawIdentifier, error) {
	var r RawIdentifier
	if len(b) < 2 || b[0] != IdentifierVersion {
		return r, ErrBadIdentifier
	}
	n := int(b[1])
	b = b[2:]
	if n == 0 || n > len(b) {
		return r, ErrBadIdentifier
	}
	r.KeyID, b = b[:n], b[n:]
	if len(b) < 1 {
		return r, ErrBadIdentifier
	}
	n = int(b[0])
	b = b[1:]
	if n == 0 || n > len(b) {
		return r, ErrBadIdentifier
	}
	r.SessionID, b = b[:n], b[n:]
	if len(b) != 8+NonceSize || !validIDBytes(r.KeyID) || !validIDBytes(r.SessionID) {
		return r, ErrBadIdentifier
	}
	r.IssuedAtMs = int64(binary.BigEndian.Uint64(b))
	r.Nonce = b[8:]
	return r, nil
}

// ParseIdentifier decodes a version 1 identifier. It fails with
// ErrBadIdentifier as ParseRawIdentifier does.
func ParseIdentifier(b []byte) (Identifier, error) {
	r, err := ParseRawIdentifier(b)
	if err != nil {
		return Identifier{}, err
	}
	id := Identifier{KeyID: string(r.KeyID), SessionID: string(r.SessionID), IssuedAt: time.UnixMilli(r.IssuedAtMs).UTC()}
	copy(id.Nonce[:], r.Nonce)
	return id, nil
}

func validIDBytes(b []byte) bool {
	if len(b) == 0 || len(b) > 64 {
		return false
	}
	for _, c := range b {
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
