package mint

import (
	"fmt"
	"io"
	"time"

	"github.com/authgw/authgw/mint/wire"
)

// IdentifierVersion is the identifier format this package writes.
const IdentifierVersion = wire.IdentifierVersion

// NonceSize is the size of the random nonce in an identifier.
const NonceSize = wire.NonceSize

// ErrBadIdentifier is returned by ParseIdentifier for malformed input.
var ErrBadIdentifier = wire.ErrBadIdentifier

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
	b := make([]byte, 0, wire.IdentifierSize(id.KeyID, id.SessionID))
	return wire.AppendIdentifier(b, id.KeyID, id.SessionID, id.IssuedAt.UnixMilli(), &id.Nonce), nil
}

// ParseIdentifier decodes a version 1 identifier. It fails with
// ErrBadIdentifier on an unknown version, bad lengths, IDs outside
// [A-Za-z0-9._-] or trailing bytes.
func ParseIdentifier(b []byte) (Identifier, error) {
	r, err := wire.ParseIdentifier(b, wire.Span{N: len(b)})
	if err != nil {
		return Identifier{}, err
	}
	id := Identifier{KeyID: string(r.KeyID.In(b)), SessionID: string(r.SessionID.In(b)), IssuedAt: time.UnixMilli(r.IssuedAtMs).UTC()}
	copy(id.Nonce[:], r.Nonce.In(b))
	return id, nil
}
