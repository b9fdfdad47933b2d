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
	fill := uint64(b) * 0x0101010101010101
	for i := 0; i < len(c.pad); i += 8 {
		binary.LittleEndian.PutUint64(c.pad[i:], fill)
	}
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(c.pad[i:], binary.LittleEndian.Uint64(key[i:])^fill)
	}
	for i := n; i < len(key); i++ {
		c.pad[i] = key[i] ^ b
	}
}
