package wire

import (
	"encoding/binary"
	"errors"
)

// IdentifierVersion is the identifier format AppendIdentifier writes and
// ParseIdentifier reads.
const IdentifierVersion = 1

// NonceSize is the size of the random nonce in an identifier.
const NonceSize = 16

// MaxIDLength bounds a key or session ID in an identifier.
const MaxIDLength = 64

// ErrBadIdentifier is returned by ParseIdentifier for malformed input.
var ErrBadIdentifier = errors.New("malformed token identifier")

// The version 1 identifier layout:
//
//	version(1) | len(keyID)(1) | keyID | len(sessionID)(1) | sessionID |
//	issuedAt unix ms (8, big-endian) | nonce(NonceSize)
//
// Each ID is 1 to MaxIDLength of [A-Za-z0-9._-].

// AppendIdentifier appends a version 1 identifier to b. It does not check
// the IDs: callers check them with ValidID first.
func AppendIdentifier(b []byte, keyID, sessionID string, issuedAtMs int64, nonce *[NonceSize]byte) []byte {
	b = append(b, IdentifierVersion, byte(len(keyID)))
	b = append(b, keyID...)
	b = append(b, byte(len(sessionID)))
	b = append(b, sessionID...)
	b = binary.BigEndian.AppendUint64(b, uint64(issuedAtMs))
	return append(b, nonce[:]...)
}

// IdentifierSize is the length of the version 1 identifier of the IDs.
func IdentifierSize(keyID, sessionID string) int {
	return 3 + len(keyID) + len(sessionID) + 8 + NonceSize
}

// RawIdentifier is an identifier split into spans of the buffer it was
// parsed from, so that parsing does not allocate. Its fields are
// unverified until the token's signature is.
type RawIdentifier struct {
	KeyID      Span
	SessionID  Span
	IssuedAtMs int64
	Nonce      Span
}

// ParseIdentifier splits the version 1 identifier at b[at.Off:at.Off+at.N]
// without copying; the spans it returns are positions in b. It fails
// with ErrBadIdentifier on an unknown version, bad lengths, IDs outside
// [A-Za-z0-9._-] or trailing bytes.
func ParseIdentifier(b []byte, at Span) (RawIdentifier, error) {
	var r RawIdentifier
	id := at.In(b)
	if len(id) < 2 || id[0] != IdentifierVersion {
		return r, ErrBadIdentifier
	}
	pos := 1
	var ok bool
	if r.KeyID, ok = lengthPrefixed(id, &pos); !ok {
		return r, ErrBadIdentifier
	}
	if r.SessionID, ok = lengthPrefixed(id, &pos); !ok {
		return r, ErrBadIdentifier
	}
	if len(id)-pos != 8+NonceSize || !ValidID(r.KeyID.In(id)) || !ValidID(r.SessionID.In(id)) {
		return r, ErrBadIdentifier
	}
	r.IssuedAtMs = int64(binary.BigEndian.Uint64(id[pos:]))
	r.Nonce = Span{Off: pos + 8, N: NonceSize}
	r.KeyID.Off += at.Off
	r.SessionID.Off += at.Off
	r.Nonce.Off += at.Off
	return r, nil
}

// lengthPrefixed reads one "len(1) | bytes" field at *pos; the field
// must not be empty.
func lengthPrefixed(b []byte, pos *int) (Span, bool) {
	if *pos >= len(b) {
		return Span{}, false
	}
	n := int(b[*pos])
	*pos++
	if n == 0 || n > len(b)-*pos {
		return Span{}, false
	}
	s := Span{Off: *pos, N: n}
	*pos += n
	return s, true
}

// ValidID reports whether b is 1 to MaxIDLength of [A-Za-z0-9._-], the
// alphabet of key, server, user, session and client IDs.
func ValidID[T string | []byte](b T) bool {
	if len(b) == 0 || len(b) > MaxIDLength {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
