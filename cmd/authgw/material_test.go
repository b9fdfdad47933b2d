package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
)

// TestMaterialRefusal: every refusal of the shared-material rule becomes
// serve's one line, word for word as users have seen it, ending with how
// to share the material; other errors pass unchanged.
func TestMaterialRefusal(t *testing.T) {
	recorded := db.Fingerprint{Name: "x", Value: strings.Repeat("a", 64), CreatedMs: 1_700_000_000_000}
	const at = "2023-11-14T22:13:20Z"
	other := errors.New("database is down")
	tests := []struct {
		name        string
		givenErr    error
		expectUsage bool
		expectLine  string
	}{
		{"no error", nil, false, ""},
		{"another error passes", other, false, "database is down"},
		{"a token ring sharing no key", &sharedmaterial.NoSharedKeyError{Kind: sharedmaterial.TokenKey, Setting: "--keys"}, true,
			"--keys: the key ring shares no key with the other instances on this database: it could verify none of their tokens " +
				"(rotate by adding a key to the shared ring: authgw keygen --id NEW --add keys.json); " + materialHelp},
		{"a TOTP ring sharing no key", &sharedmaterial.NoSharedKeyError{Kind: sharedmaterial.TOTPKey, Setting: "--totp-key"}, true,
			"--totp-key: the TOTP key ring shares no key with the other instances on this database: it could open none of the stored TOTP secrets " +
				"(rotate by adding a key to the shared ring, see authgw totp --help); " + materialHelp},
		{"a server ID that differs", &sharedmaterial.DiffersError{Kind: sharedmaterial.ServerID, Setting: "--server-id", Recorded: recorded, Fingerprint: strings.Repeat("b", 64)}, true,
			"--server-id: server-id differs from the one the other instances on this database share (fingerprint aaaaaaaaaaaa…, recorded " + at +
				"; this instance's is bbbbbbbbbbbb…): tokens or TOTP secrets of one would fail at the others; " + materialHelp},
		{"a ring key that differs", &sharedmaterial.DiffersError{Kind: sharedmaterial.TokenKey, KeyID: "k1", Setting: "--keys", Recorded: recorded, Fingerprint: strings.Repeat("b", 64)}, true,
			`--keys: key "k1" of the ring differs from the one the other instances on this database share (fingerprint aaaaaaaaaaaa…, recorded ` + at +
				"; this instance's is bbbbbbbbbbbb…): tokens or TOTP secrets of one would fail at the others; " + materialHelp},
		{"no key ring while others share one", &sharedmaterial.MissingError{Kind: sharedmaterial.TokenKey, Setting: "--keys", KeyIDs: []string{"k1", "k2"}, Recorded: recorded}, true,
			"--keys: this instance has no key ring, and the other instances on this database use keys k1, k2: it would make its own and refuse their tokens; " + materialHelp},
		{"no TOTP key while others share a ring", &sharedmaterial.MissingError{Kind: sharedmaterial.TOTPKey, Setting: "--totp-key", KeyIDs: []string{"0"}, Recorded: recorded}, true,
			"--totp-key: this instance has none, and the other instances on this database share a TOTP key ring (fingerprint aaaaaaaaaaaa…, recorded " + at +
				"): it would make its own; " + materialHelp},
		{"no info key while others share one", &sharedmaterial.MissingError{Kind: sharedmaterial.InfoKey, Setting: "--info-key", Recorded: recorded}, true,
			"--info-key: this instance has none, and the other instances on this database share one (fingerprint aaaaaaaaaaaa…, recorded " + at +
				"): it would make its own; " + materialHelp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := materialRefusal(tt.givenErr)
			_, usage := errors.AsType[*usageError](err)
			switch {
			case tt.givenErr == nil && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.givenErr == nil:
				return
			case usage != tt.expectUsage:
				t.Fatalf("%T %v: usage error %v, want %v", err, err, usage, tt.expectUsage)
			case err.Error() != tt.expectLine:
				t.Fatalf("line\n%s\nwant\n%s", err, tt.expectLine)
			}
		})
	}
}

// TestLegacyTOTPKeyID: the TOTP key the shared-material rule records
// under the single key's old row is the one a single-key file holds.
func TestLegacyTOTPKeyID(t *testing.T) {
	if sharedmaterial.LegacyTOTPKeyID != totp.LegacyKeyID {
		t.Fatalf("sharedmaterial.LegacyTOTPKeyID = %q, totp.LegacyKeyID = %q", sharedmaterial.LegacyTOTPKeyID, totp.LegacyKeyID)
	}
}
