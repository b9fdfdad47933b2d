package minttest

import (
	"bytes"
	"testing"

	"github.com/authgw/authgw/mint"
)

// KeyRing returns a ring of one key, id, whose secret is mint.KeySize
// bytes of seed: the same ring on every run, so the tokens a test mints
// are reproducible. It fails the test when id is invalid.
func KeyRing(t testing.TB, id string, seed byte) *mint.KeyRing {
	t.Helper()
	ring, err := mint.GenerateKeyRing(id, seedReader(seed))
	if err != nil {
		t.Fatalf("minttest.KeyRing: %v", err)
	}
	return ring
}

// Rotate returns ring with a new key id first, made from seed as KeyRing
// does, so it mints while the older keys keep verifying. It fails the
// test when id is invalid or already in the ring.
func Rotate(t testing.TB, ring *mint.KeyRing, id string, seed byte) *mint.KeyRing {
	t.Helper()
	r, err := ring.WithNewKey(id, seedReader(seed))
	if err != nil {
		t.Fatalf("minttest.Rotate: %v", err)
	}
	return r
}

func seedReader(seed byte) *bytes.Reader {
	return bytes.NewReader(bytes.Repeat([]byte{seed}, mint.KeySize))
}
