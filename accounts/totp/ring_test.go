package totp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/totp/totptest"
)

// legacySeal seals secret the way authgw did before key rings: version
// 1, no key ID.
var legacySeal = totptest.LegacySeal

func newRing(t *testing.T, keys ...totp.Key) *totp.TOTP {
	t.Helper()
	tp, err := totp.New(totp.Config{Issuer: "authgw", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// TestRingRotation follows a rotation: the old key alone, the new key
// added second, made first, the secrets resealed, the old key removed.
func TestRingRotation(t *testing.T) {
	secret := bytes.Repeat([]byte{0x5a}, totp.SecretSize)
	oldKey := totp.Key{ID: totp.LegacyKeyID, Secret: testKey}
	newKey := totp.Key{ID: "t2", Secret: otherKey}

	legacy := legacySeal(t, testKey, "user-1", secret)
	before := newRing(t, oldKey)
	sealedOld, err := before.Seal("user-1", secret)
	if err != nil {
		t.Fatal(err)
	}

	// The new key added second: everything still opens; the old key
	// still seals.
	added := newRing(t, oldKey, newKey)
	for name, ct := range map[string][]byte{"legacy": legacy, "old": sealedOld} {
		if got, err := added.Open("user-1", ct); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s: Open after adding a key = %x, %v", name, got, err)
		}
	}
	if added.SealKeyID() != totp.LegacyKeyID {
		t.Fatalf("SealKeyID = %q, want the first key", added.SealKeyID())
	}

	// The new key first: it seals, and the old ciphertexts still open.
	rotated := newRing(t, newKey, oldKey)
	sealedNew, err := rotated.Seal("user-1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := rotated.SealedKeyID(sealedNew); !ok || id != "t2" {
		t.Fatalf("SealedKeyID(new) = %q, %v; want t2", id, ok)
	}
	if id, ok := rotated.SealedKeyID(legacy); !ok || id != totp.LegacyKeyID {
		t.Fatalf("SealedKeyID(legacy) = %q, %v; want %q", id, ok, totp.LegacyKeyID)
	}
	for name, ct := range map[string][]byte{"legacy": legacy, "old": sealedOld, "new": sealedNew} {
		if got, err := rotated.Open("user-1", ct); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("%s: Open after rotation = %x, %v", name, got, err)
		}
	}
	// The instances not yet given the new key cannot open what it sealed.
	if _, err := before.Open("user-1", sealedNew); !errors.Is(err, totp.ErrCorrupt) {
		t.Fatalf("old ring opening a new-key secret: %v, want ErrCorrupt", err)
	}

	// Reseal moves the old ones to the new key, and leaves the new one.
	var resealed [][]byte
	for name, ct := range map[string][]byte{"legacy": legacy, "old": sealedOld} {
		out, changed, err := rotated.Reseal("user-1", ct)
		if err != nil || !changed {
			t.Fatalf("%s: Reseal = changed %v, %v; want changed", name, changed, err)
		}
		if id, _ := rotated.SealedKeyID(out); id != "t2" {
			t.Fatalf("%s: resealed with %q, want t2", name, id)
		}
		again, changed, err := rotated.Reseal("user-1", out)
		if err != nil || changed || !bytes.Equal(again, out) {
			t.Fatalf("%s: second Reseal = changed %v, %v; want unchanged", name, changed, err)
		}
		resealed = append(resealed, out)
	}
	if _, changed, err := rotated.Reseal("user-1", sealedNew); err != nil || changed {
		t.Fatalf("Reseal of a new-key secret = changed %v, %v", changed, err)
	}

	// The old key removed: the resealed secrets open, the others do not.
	after := newRing(t, newKey)
	for _, ct := range append(resealed, sealedNew) {
		if got, err := after.Open("user-1", ct); err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("Open after removing the old key = %x, %v", got, err)
		}
	}
	if _, err := after.Open("user-1", sealedOld); !errors.Is(err, totp.ErrCorrupt) {
		t.Fatalf("old-key secret after removing the old key: %v, want ErrCorrupt", err)
	}
	if _, _, err := after.Reseal("user-1", sealedOld); !errors.Is(err, totp.ErrCorrupt) {
		t.Fatalf("Reseal without its key: %v, want ErrCorrupt", err)
	}
}

// TestRingLegacyKey: a ciphertext without key ID opens with the key of
// ID "0", or without one the ring's last key; the old single-key Config
// still opens legacy ciphertexts.
func TestRingLegacyKey(t *testing.T) {
	secret := bytes.Repeat([]byte{0x11}, totp.SecretSize)
	legacy := legacySeal(t, testKey, "u", secret)
	third := bytes.Repeat([]byte{0x44}, totp.KeySize)
	tests := []struct {
		name  string
		cfg   totp.Config
		opens bool
	}{
		{"single Key", totp.Config{Issuer: "authgw", Key: testKey}, true},
		{"key 0 in the middle", totp.Config{Issuer: "authgw", Keys: []totp.Key{{ID: "a", Secret: otherKey}, {ID: "0", Secret: testKey}, {ID: "b", Secret: third}}}, true},
		{"no key 0: the last", totp.Config{Issuer: "authgw", Keys: []totp.Key{{ID: "a", Secret: otherKey}, {ID: "b", Secret: testKey}}}, true},
		{"no key 0: the last is another", totp.Config{Issuer: "authgw", Keys: []totp.Key{{ID: "a", Secret: testKey}, {ID: "b", Secret: otherKey}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := totp.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tp.Open("u", legacy)
			if tc.opens != (err == nil) || (err == nil && !bytes.Equal(got, secret)) {
				t.Fatalf("Open = %x, %v; want opens %v", got, err, tc.opens)
			}
			if !tc.opens && !errors.Is(err, totp.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestRingTamperedKeyID: changing the key ID of a ciphertext to another
// key of the ring (of the same length) does not open it.
func TestRingTamperedKeyID(t *testing.T) {
	tp := newRing(t, totp.Key{ID: "k1", Secret: testKey}, totp.Key{ID: "k2", Secret: testKey})
	ct, err := tp.Seal("u", bytes.Repeat([]byte{1}, totp.SecretSize))
	if err != nil {
		t.Fatal(err)
	}
	ct[3] = '2'
	if _, err := tp.Open("u", ct); !errors.Is(err, totp.ErrCorrupt) {
		t.Fatalf("Open with the key ID changed: %v, want ErrCorrupt", err)
	}
}

func TestRingConfig(t *testing.T) {
	tests := []struct {
		name string
		keys []totp.Key
	}{
		{"empty ID", []totp.Key{{ID: "", Secret: testKey}}},
		{"ID with a space", []totp.Key{{ID: "a b", Secret: testKey}}},
		{"ID too long", []totp.Key{{ID: string(bytes.Repeat([]byte{'a'}, totp.MaxKeyIDLen+1)), Secret: testKey}}},
		{"short secret", []totp.Key{{ID: "a", Secret: testKey[:16]}}},
		{"ID twice", []totp.Key{{ID: "a", Secret: testKey}, {ID: "a", Secret: otherKey}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := totp.New(totp.Config{Issuer: "authgw", Keys: tc.keys}); err == nil {
				t.Fatal("New accepted the ring")
			}
		})
	}
}
