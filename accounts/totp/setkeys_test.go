package totp_test

import (
	"bytes"
	"testing"

	"github.com/authgw/authgw/accounts/totp"
)

// TestSetKeys: after SetKeys the new first key seals and every key of
// the new ring opens; a bad ring is refused with the ring kept.
func TestSetKeys(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, totp.SecretSize)
	oldKey := totp.Key{ID: totp.LegacyKeyID, Secret: testKey}
	newKey := totp.Key{ID: "t2", Secret: otherKey}
	tp := newRing(t, oldKey)
	sealedOld, err := tp.Seal("user-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		givenKeys  []totp.Key
		expectErr  bool
		expectSeal string
		expectOpen bool // sealedOld opens
	}{
		{name: "the new key first", givenKeys: []totp.Key{newKey, oldKey}, expectSeal: "t2", expectOpen: true},
		{name: "an empty ring: refused, kept", givenKeys: nil, expectErr: true, expectSeal: "t2", expectOpen: true},
		{name: "a short key: refused, kept", givenKeys: []totp.Key{{ID: "t3", Secret: []byte("short")}}, expectErr: true, expectSeal: "t2", expectOpen: true},
		{name: "the old key removed", givenKeys: []totp.Key{newKey}, expectSeal: "t2", expectOpen: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tp.SetKeys(tt.givenKeys); (err != nil) != tt.expectErr {
				t.Fatalf("SetKeys = %v, want error %v", err, tt.expectErr)
			}
			if got := tp.SealKeyID(); got != tt.expectSeal {
				t.Errorf("SealKeyID = %q, want %q", got, tt.expectSeal)
			}
			sealed, err := tp.Seal("user-1", secret)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := tp.Open("user-1", sealed); err != nil || !bytes.Equal(got, secret) {
				t.Errorf("Open(Seal) = %x, %v", got, err)
			}
			if _, err := tp.Open("user-1", sealedOld); (err == nil) != tt.expectOpen {
				t.Errorf("Open(sealed with the old key) error %v, want opening %v", err, tt.expectOpen)
			}
		})
	}
}
