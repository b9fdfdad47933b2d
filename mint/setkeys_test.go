package mint_test

import (
	"testing"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
)

// TestMinterSetKeys: after SetKeys the Minter mints with the new ring's
// first key; a ring with no key is refused and the keys kept.
func TestMinterSetKeys(t *testing.T) {
	k1 := minttest.KeyRing(t, "k1", 1)
	m := newMinter(t, k1, nil)
	keyOf := func() string {
		t.Helper()
		toks, err := m.Mint(parsePolicies(t, browserPolicy), testSubject())
		if err != nil {
			t.Fatal(err)
		}
		mac, err := mint.Decode(toks.ByMethod["GET"])
		if err != nil {
			t.Fatal(err)
		}
		id, err := mint.ParseIdentifier(mac.Id())
		if err != nil {
			t.Fatal(err)
		}
		return id.KeyID
	}
	tests := []struct {
		name      string
		givenRing *mint.KeyRing
		expectErr bool
		expectKey string
	}{
		{name: "a key added in front mints", givenRing: minttest.Rotate(t, k1, "k2", 2), expectKey: "k2"},
		{name: "no ring: refused, k2 kept", givenRing: nil, expectErr: true, expectKey: "k2"},
		{name: "back to k1 alone", givenRing: k1, expectKey: "k1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.SetKeys(tt.givenRing); (err != nil) != tt.expectErr {
				t.Fatalf("SetKeys = %v, want error %v", err, tt.expectErr)
			}
			if got := keyOf(); got != tt.expectKey {
				t.Errorf("minted with %q, want %q", got, tt.expectKey)
			}
		})
	}
}
