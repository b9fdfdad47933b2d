package wire_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authgw/authgw/mint/wire"
)

func TestParseIdentifierSpansAreInTheBuffer(t *testing.T) {
	var nonce [wire.NonceSize]byte
	for i := range nonce {
		nonce[i] = byte(i)
	}
	head := []byte("some bytes before")
	b := wire.AppendIdentifier(append([]byte(nil), head...), "k1", "session-7", 1_700_000_000_123, &nonce)
	at := wire.Span{Off: len(head), N: len(b) - len(head)}
	if at.N != wire.IdentifierSize("k1", "session-7") {
		t.Fatalf("identifier is %d bytes, IdentifierSize says %d", at.N, wire.IdentifierSize("k1", "session-7"))
	}
	r, err := wire.ParseIdentifier(b, at)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.KeyID.In(b)) != "k1" || string(r.SessionID.In(b)) != "session-7" || r.IssuedAtMs != 1_700_000_000_123 ||
		!bytes.Equal(r.Nonce.In(b), nonce[:]) {
		t.Errorf("ParseIdentifier = %+v", r)
	}
	for _, tt := range []struct {
		name string
		at   wire.Span
	}{
		{"one byte short", wire.Span{Off: at.Off, N: at.N - 1}},
		{"shifted", wire.Span{Off: at.Off - 1, N: at.N}},
		{"empty", wire.Span{Off: at.Off}},
	} {
		if _, err := wire.ParseIdentifier(b, tt.at); !errors.Is(err, wire.ErrBadIdentifier) {
			t.Errorf("%s: error = %v, want ErrBadIdentifier", tt.name, err)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, tt := range []struct {
		id     string
		expect bool
	}{
		{"k1", true}, {"a.b_c-D9", true}, {"", false}, {"a b", false}, {"é", false},
		{string(bytes.Repeat([]byte("x"), wire.MaxIDLength)), true}, {string(bytes.Repeat([]byte("x"), wire.MaxIDLength+1)), false},
	} {
		if wire.ValidID(tt.id) != tt.expect || wire.ValidID([]byte(tt.id)) != tt.expect {
			t.Errorf("ValidID(%q) != %v", tt.id, tt.expect)
		}
	}
}
