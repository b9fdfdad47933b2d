package wire

import (
	"crypto/sha256"
	"encoding/binary"
)

// V2 binary field types (libmacaroons doc/format.txt).
const (
	fieldEOS        = 0
	fieldLocation   = 1
	fieldIdentifier = 2
	fieldVID        = 4
	fieldSignature  = 6
)

// MaxCaveats bounds the caveats of a token SplitV2 accepts. Minted
// tokens carry seven to nine; the rest is room for attenuation.
const MaxCaveats = 64

// Span locates a field within a decoded token: b[Off : Off+N].
type Span struct{ Off, N int }

// In returns the bytes of b the span covers.
func (s Span) In(b []byte) []byte { return b[s.Off : s.Off+s.N] }

// UnsafeToken is a split V2 macaroon whose signature is not yet checked:
// nothing in it may be trusted or acted upon.
type UnsafeToken struct {
	ID      Span
	Caveats [MaxCaveats]Span
	N       int // caveats used
	Sig     Span
	// Third is the index in Caveats of the one third-party caveat, -1
	// when there is none; its identifier is Caveats[Third], its
	// verification ID VID and its location Location (N 0 when absent).
	Third    int
	VID      Span
	Location Span
}

// SplitV2 splits a V2 binary macaroon without copying or allocating. It
// accepts a subset of what macaroon.v2 accepts: V2 only, at most
// MaxCaveats caveats, of which at most one is a third-party caveat (a
// verification ID, with or without a location; a first-party caveat has
// neither), a 32-byte signature and nothing after it. It returns false
// for anything else.
func SplitV2(b []byte, t *UnsafeToken) bool {
	if len(b) == 0 || b[0] != 2 {
		return false
	}
	pos := 1
	// Header: an optional location, then the identifier, then EOS.
	ft, data, ok := packet(b, &pos)
	if ok && ft == fieldLocation {
		ft, data, ok = packet(b, &pos)
	}
	if !ok || ft != fieldIdentifier {
		return false
	}
	t.ID = data
	if ft, _, ok = packet(b, &pos); !ok || ft != fieldEOS {
		return false
	}
	// Caveats: each an optional location, an identifier, an optional
	// verification ID, then EOS; an empty section ends them.
	t.N, t.Third, t.VID, t.Location = 0, -1, Span{}, Span{}
	for {
		ft, data, ok = packet(b, &pos)
		if !ok {
			return false
		}
		if ft == fieldEOS {
			break
		}
		if t.N == MaxCaveats {
			return false
		}
		var loc Span
		hasLoc := ft == fieldLocation
		if hasLoc {
			loc = data
			if ft, data, ok = packet(b, &pos); !ok {
				return false
			}
		}
		if ft != fieldIdentifier {
			return false
		}
		t.Caveats[t.N] = data
		ft, data, ok = packet(b, &pos)
		if ok && ft == fieldVID {
			if t.Third >= 0 || data.N == 0 {
				return false
			}
			t.Third, t.VID, t.Location = t.N, data, loc
			ft, _, ok = packet(b, &pos)
		} else if hasLoc {
			return false // a location without a verification ID
		}
		if !ok || ft != fieldEOS {
			return false
		}
		t.N++
	}
	ft, data, ok = packet(b, &pos)
	if !ok || ft != fieldSignature || data.N != sha256.Size || pos != len(b) {
		return false
	}
	t.Sig = data
	return true
}

// packet reads one "type(varint) [len(varint) data]" packet at *pos.
func packet(b []byte, pos *int) (int, Span, bool) {
	ft, n := binary.Uvarint(b[*pos:])
	if n <= 0 || ft > 0x7fffffff {
		return 0, Span{}, false
	}
	*pos += n
	if ft == fieldEOS {
		return fieldEOS, Span{}, true
	}
	l, n := binary.Uvarint(b[*pos:])
	if n <= 0 || l > 0x7fffffff || l > uint64(len(b)-*pos-n) {
		return 0, Span{}, false
	}
	*pos += n
	s := Span{Off: *pos, N: int(l)}
	*pos += int(l)
	return int(ft), s, true
}
