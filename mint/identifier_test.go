package mint_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/wire"
)

func nonce(b byte) [mint.NonceSize]byte {
	var n [mint.NonceSize]byte
	for i := range n {
		n[i] = b + byte(i)
	}
	return n
}

func TestIdentifierRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		givenID   mint.Identifier
		expectLen int
	}{
		{"typical", mint.Identifier{KeyID: "k2", SessionID: "0190a1b2-c3d4-7e5f-8a9b-aaaaaaaaaaaa", IssuedAt: fixedNow.Add(123 * time.Millisecond), Nonce: nonce(1)},
			3 + 2 + 36 + 8 + mint.NonceSize},
		{"one-byte IDs", mint.Identifier{KeyID: "k", SessionID: "s", IssuedAt: fixedNow, Nonce: nonce(9)}, 3 + 1 + 1 + 8 + mint.NonceSize},
		{"64-byte IDs", mint.Identifier{KeyID: strings.Repeat("K", 64), SessionID: strings.Repeat("s", 64), IssuedAt: fixedNow, Nonce: nonce(0)},
			3 + 64 + 64 + 8 + mint.NonceSize},
		{"every ID character", mint.Identifier{KeyID: "aZ09._-", SessionID: "._-zA9", IssuedAt: fixedNow, Nonce: nonce(200)}, 3 + 7 + 6 + 8 + mint.NonceSize},
		{"epoch", mint.Identifier{KeyID: "k", SessionID: "s", IssuedAt: time.UnixMilli(0).UTC()}, 3 + 1 + 1 + 8 + mint.NonceSize},
		{"before the epoch", mint.Identifier{KeyID: "k", SessionID: "s", IssuedAt: time.UnixMilli(-1500).UTC()}, 3 + 1 + 1 + 8 + mint.NonceSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.givenID.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tt.expectLen {
				t.Errorf("encoded %d bytes, want %d", len(b), tt.expectLen)
			}
			got, err := mint.ParseIdentifier(b)
			if err != nil {
				t.Fatalf("ParseIdentifier: %v", err)
			}
			if got.KeyID != tt.givenID.KeyID || got.SessionID != tt.givenID.SessionID || got.Nonce != tt.givenID.Nonce ||
				!got.IssuedAt.Equal(tt.givenID.IssuedAt) || got.IssuedAt.Location() != time.UTC {
				t.Errorf("round trip = %+v, want %+v", got, tt.givenID)
			}
			raw, err := wire.ParseIdentifier(b, wire.Span{N: len(b)})
			if err != nil {
				t.Fatalf("wire.ParseIdentifier: %v", err)
			}
			if string(raw.KeyID.In(b)) != tt.givenID.KeyID || string(raw.SessionID.In(b)) != tt.givenID.SessionID ||
				raw.IssuedAtMs != tt.givenID.IssuedAt.UnixMilli() || !bytes.Equal(raw.Nonce.In(b), tt.givenID.Nonce[:]) {
				t.Errorf("raw = %+v", raw)
			}
		})
	}
}

func TestIdentifierLayout(t *testing.T) {
	id := mint.Identifier{KeyID: "k2", SessionID: "s1", IssuedAt: fixedNow, Nonce: nonce(1)}
	b, err := id.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{mint.IdentifierVersion, 2, 'k', '2', 2, 's', '1'}
	want = binary.BigEndian.AppendUint64(want, uint64(fixedNow.UnixMilli()))
	want = append(want, id.Nonce[:]...)
	if !bytes.Equal(b, want) {
		t.Errorf("MarshalBinary = %x, want %x", b, want)
	}
	if mint.IdentifierVersion != 1 {
		t.Errorf("IdentifierVersion = %d", mint.IdentifierVersion)
	}
}

func TestIdentifierRefusesDamage(t *testing.T) {
	good, err := mint.Identifier{KeyID: "k2", SessionID: "sess-1", IssuedAt: fixedNow, Nonce: nonce(3)}.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	type damaged struct {
		name string
		b    []byte
	}
	var tests []damaged
	for n := range len(good) {
		tests = append(tests, damaged{fmt.Sprintf("truncated to %d bytes", n), good[:n]})
	}
	tests = append(tests,
		damaged{"trailing byte", append(bytes.Clone(good), 0)},
		damaged{"version 0", with(0, 0)},
		damaged{"version 2", with(0, 2)},
		damaged{"version 255", with(0, 255)},
		damaged{"zero key ID length", with(1, 0)},
		damaged{"key ID length too long", with(1, 200)},
		damaged{"key ID length off by one", with(1, 3)},
		damaged{"zero session ID length", with(4, 0)},
		damaged{"session ID length too long", with(4, 7)},
		damaged{"key ID with slash", with(2, '/')},
		damaged{"key ID with NUL", with(2, 0)},
		damaged{"session ID with space", with(5, ' ')},
		damaged{"session ID with high byte", with(5, 0xc3)},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if id, err := mint.ParseIdentifier(tt.b); !errors.Is(err, mint.ErrBadIdentifier) {
				t.Errorf("ParseIdentifier(%x) = %+v, %v; want ErrBadIdentifier", tt.b, id, err)
			}
			if _, err := wire.ParseIdentifier(tt.b, wire.Span{N: len(tt.b)}); !errors.Is(err, mint.ErrBadIdentifier) {
				t.Errorf("wire.ParseIdentifier(%x) error = %v; want ErrBadIdentifier", tt.b, err)
			}
		})
	}
}

func TestNewIdentifier(t *testing.T) {
	issued := fixedNow.Add(1234567 * time.Nanosecond)
	id, err := mint.NewIdentifier("k2", "s1", issued, bytes.NewReader(bytes.Repeat([]byte{5}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if !id.IssuedAt.Equal(fixedNow.Add(time.Millisecond)) {
		t.Errorf("IssuedAt = %v, want truncated to the millisecond", id.IssuedAt)
	}
	if id.Nonce != [mint.NonceSize]byte(bytes.Repeat([]byte{5}, mint.NonceSize)) {
		t.Errorf("Nonce = %x, want read from random", id.Nonce)
	}
	tests := []struct {
		name          string
		whenKeyID     string
		whenSessionID string
		whenRandom    []byte
		expectErr     error
	}{
		{"empty key ID", "", "s1", make([]byte, 16), mint.ErrBadIdentifier},
		{"empty session ID", "k1", "", make([]byte, 16), mint.ErrBadIdentifier},
		{"session ID with slash", "k1", "s/1", make([]byte, 16), mint.ErrBadIdentifier},
		{"session ID too long", "k1", strings.Repeat("s", 65), make([]byte, 16), mint.ErrBadIdentifier},
		{"key ID with colon", "k:1", "s1", make([]byte, 16), mint.ErrBadIdentifier},
		{"random runs out", "k1", "s1", make([]byte, 15), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mint.NewIdentifier(tt.whenKeyID, tt.whenSessionID, fixedNow, bytes.NewReader(tt.whenRandom))
			if err == nil {
				t.Fatal("NewIdentifier succeeded")
			}
			if tt.expectErr != nil && !errors.Is(err, tt.expectErr) {
				t.Errorf("error = %v, want %v", err, tt.expectErr)
			}
		})
	}
}

func TestIdentifierMarshalRefusesBadIDs(t *testing.T) {
	tests := []struct {
		name    string
		givenID mint.Identifier
	}{
		{"empty key ID", mint.Identifier{SessionID: "s"}},
		{"empty session ID", mint.Identifier{KeyID: "k"}},
		{"key ID too long", mint.Identifier{KeyID: strings.Repeat("k", 65), SessionID: "s"}},
		{"session ID with newline", mint.Identifier{KeyID: "k", SessionID: "s\n"}},
		{"session ID with UTF-8", mint.Identifier{KeyID: "k", SessionID: "sé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := tt.givenID.MarshalBinary(); !errors.Is(err, mint.ErrBadIdentifier) {
				t.Errorf("MarshalBinary = %x, %v; want ErrBadIdentifier", b, err)
			}
		})
	}
}
