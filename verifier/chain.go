package verifier

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"hash"
)

// keyGenerator is the constant HMAC key with which macaroon
// implementations (libmacaroons, macaroon.v2) turn a root key into the
// first signing key.
var keyGenerator = []byte("macaroons-key-generator")

// chain computes HMAC-SHA256 with reused hash states, so a verification
// does not allocate. It is not safe for concurrent use; Verifier pools them.
type chain struct {
	inner, outer hash.Hash
	pad          [sha256.BlockSize]byte
	sum          [sha256.Size]byte
}

func newChain() *chain {
	return &chain{inner: sha256.New(), outer: sha256.New()}
}

// fixedKey is an HMAC key used for many messages, with the hash states
// after its padded key block saved, so each use skips those two blocks.
type fixedKey struct {
	inner, outer []byte // marshaled SHA-256 states
}

func newFixedKey(key []byte) (*fixedKey, error) {
	c := newChain()
	k := &fixedKey{}
	var err error
	c.setPad(key, 0x36)
	c.inner.Write(c.pad[:])
	if k.inner, err = c.inner.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
		return nil, err
	}
	c.setPad(key, 0x5c)
	c.outer.Write(c.pad[:])
	if k.outer, err = c.outer.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
		return nil, err
	}
	return k, nil
}

// macFixed is mac with a fixedKey.
func (c *chain) macFixed(k *fixedKey, msg []byte, suffix []byte, out *[sha256.Size]byte) {
	_ = c.inner.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.inner)
	c.inner.Write(msg)
	if len(suffix) > 0 {
		c.inner.Write(suffix)
	}
	inner := c.inner.Sum(c.sum[:0])
	_ = c.outer.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.outer)
	c.outer.Write(inner)
	c.outer.Sum(out[:0])
}

// mac writes HMAC-SHA256(key, msg || suffix) into out. key must be at most
// one block long, which holds for every key this package uses.
func (c *chain) mac(key []byte, msg []byte, suffix []byte, out *[sha256.Size]byte) {
	c.setPad(key, 0x36)
	c.inner.Reset()
	c.inner.Write(c.pad[:])
	c.inner.Write(msg)
	if len(suffix) > 0 {
		c.inner.Write(suffix)
	}
	inner := c.inner.Sum(c.sum[:0])
	c.setPad(key, 0x5c)
	c.outer.Reset()
	c.outer.Write(c.pad[:])
	c.outer.Write(inner)
	c.outer.Sum(out[:0])
}

func (c *chain) setPad(key []byte, b byte) {
	n := copy(c.pad[:], key)
	for i := 0; i < n; i++ {
		c.pad[i] ^= b
	}
	for i := n; i < len(c.pad); i++ {
		c.pad[i] = b
	}
}

// V2 binary field types (libmacaroons doc/format.txt).
const (
	fieldEOS        = 0
	fieldLocation   = 1
	fieldIdentifier = 2
	fieldVID        = 4
	fieldSignature  = 6
)

// maxCaveats bounds the caveats of a token the verifier accepts. Minted
// tokens carry seven; the rest is room for attenuation.
const maxCaveats = 64

// span locates a field within the decoded token.
type span struct{ off, n int }

// unsafeToken is a decoded V2 macaroon whose signature is not yet
// checked: nothing in it may be trusted or acted upon.
type unsafeToken struct {
	id      span
	caveats [maxCaveats]span
	n       int
	sig     span
}

// parseV2 splits a V2 binary macaroon without copying. It accepts a subset
// of what macaroon.v2 accepts: V2 only, first-party caveats only (no
// location or verification ID), nothing after the signature. It returns
// false for anything else.
func parseV2(b []byte, t *unsafeToken) bool {
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
	t.id = data
	if ft, _, ok = packet(b, &pos); !ok || ft != fieldEOS {
		return false
	}
	// Caveats: each an identifier then EOS; an empty section ends them.
	t.n = 0
	for {
		ft, data, ok = packet(b, &pos)
		if !ok {
			return false
		}
		if ft == fieldEOS {
			break
		}
		if ft != fieldIdentifier || t.n == maxCaveats {
			return false
		}
		t.caveats[t.n] = data
		t.n++
		if ft, _, ok = packet(b, &pos); !ok || ft != fieldEOS {
			return false
		}
	}
	ft, data, ok = packet(b, &pos)
	if !ok || ft != fieldSignature || data.n != sha256.Size || pos != len(b) {
		return false
	}
	t.sig = data
	return true
}

// packet reads one "type(varint) [len(varint) data]" packet at *pos.
func packet(b []byte, pos *int) (int, span, bool) {
	ft, n := binary.Uvarint(b[*pos:])
	if n <= 0 || ft > 0x7fffffff {
		return 0, span{}, false
	}
	*pos += n
	if ft == fieldEOS {
		return fieldEOS, span{}, true
	}
	l, n := binary.Uvarint(b[*pos:])
	if n <= 0 || l > 0x7fffffff || l > uint64(len(b)-*pos-n) {
		return 0, span{}, false
	}
	*pos += n
	s := span{off: *pos, n: int(l)}
	*pos += int(l)
	return int(ft), s, true
}

// base64 decoding that accepts the URL and standard alphabets, with or
// without padding, and rejects non-zero trailing bits; it writes into dst
// and does not allocate.
var b64 = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['+'], t['-'] = 62, 62
	t['/'], t['_'] = 63, 63
	return t
}()

func decodeBase64(dst []byte, s string) ([]byte, bool) {
	pad := 0
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
		pad++
	}
	if len(s)%4 == 1 || pad > 2 || (pad > 0 && (len(s)+pad)%4 != 0) {
		return nil, false
	}
	dst = dst[:0]
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		v := b64[s[i]]
		if v == 0xff {
			return nil, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst = append(dst, byte(acc>>bits))
		}
	}
	if acc&(1<<bits-1) != 0 {
		return nil, false
	}
	return dst, true
}
