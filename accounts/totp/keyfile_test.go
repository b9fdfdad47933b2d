package totp_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/totp"
)

func TestParseKeyFile(t *testing.T) {
	hexKey := func(c string) string { return strings.Repeat(c, 2*totp.KeySize) }
	tests := []struct {
		name      string
		givenFile string
		expectIDs []string
		expectErr string
	}{
		{"one legacy key", hexKey("a") + "\n", []string{totp.LegacyKeyID}, ""},
		{"ring, newest first", `{"keys":[{"id":"t2","secret":"` + hexKey("b") + `"},{"id":"0","secret":"` + hexKey("a") + `"}]}`, []string{"t2", "0"}, ""},
		{"short hex", "abcd", nil, "hex digits"},
		{"empty", "", nil, "hex digits"},
		{"JSON syntax", `{"keys":[`, nil, "not a JSON key ring"},
		{"unknown field", `{"keys":[],"x":1}`, nil, "not a JSON key ring"},
		{"data after", `{"keys":[{"id":"a","secret":"` + hexKey("a") + `"}]} {}`, nil, "data after"},
		{"no keys", `{"keys":[]}`, nil, "1 to 16 keys"},
		{"missing secret", `{"keys":[{"id":"a"}]}`, nil, `want "id" and "secret"`},
		{"bad ID", `{"keys":[{"id":"a b","secret":"` + hexKey("a") + `"}]}`, nil, "ID must be"},
		{"short secret", `{"keys":[{"id":"a","secret":"abcd"}]}`, nil, "secret must be"},
		{"same ID twice", `{"keys":[{"id":"a","secret":"` + hexKey("a") + `"},{"id":"a","secret":"` + hexKey("b") + `"}]}`, nil, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := totp.ParseKeyFile([]byte(tt.givenFile))
			if tt.expectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expectErr) {
					t.Fatalf("ParseKeyFile = %v, want an error containing %q", err, tt.expectErr)
				}
				if strings.Contains(err.Error(), hexKey("a")[:16]) || strings.Contains(err.Error(), hexKey("b")[:16]) {
					t.Errorf("the error shows the file's contents: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, k := range keys {
				ids = append(ids, k.ID)
				if len(k.Secret) != totp.KeySize || bytes.Count(k.Secret, k.Secret[:1]) != totp.KeySize {
					t.Errorf("key %s: secret %x", k.ID, k.Secret)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.expectIDs, ",") {
				t.Errorf("IDs = %v, want %v", ids, tt.expectIDs)
			}
		})
	}
}
