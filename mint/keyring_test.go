package mint_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/mint"
)

// secretB64 is the standard base64 of 32 bytes of b.
func secretB64(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func TestParseKeyRingErrors(t *testing.T) {
	good := secretB64(1)
	// 0xfb bytes encode with "+" and "/" in standard base64, so the URL
	// alphabet spelling differs.
	urlAlphabet := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32])
	tests := []struct {
		name      string
		whenJSON  string
		expectMsg string // a part of the message, besides ErrBadKeyRing
	}{
		{"empty input", ``, ""},
		{"not JSON", `keys: k1`, ""},
		{"no keys field", `{}`, "no keys"},
		{"empty key list", `{"keys":[]}`, "no keys"},
		{"null keys", `{"keys":null}`, "no keys"},
		{"empty id", `{"keys":[{"id":"","secret":"` + good + `"}]}`, "id"},
		{"id with space", `{"keys":[{"id":"k 1","secret":"` + good + `"}]}`, "id"},
		{"id with slash", `{"keys":[{"id":"k/1","secret":"` + good + `"}]}`, "id"},
		{"id too long", `{"keys":[{"id":"` + strings.Repeat("k", 65) + `","secret":"` + good + `"}]}`, "id"},
		{"duplicate id", `{"keys":[{"id":"k1","secret":"` + good + `"},{"id":"k1","secret":"` + secretB64(2) + `"}]}`, "twice"},
		{"missing secret", `{"keys":[{"id":"k1"}]}`, "secret"},
		{"short secret", `{"keys":[{"id":"k1","secret":"` + base64.StdEncoding.EncodeToString(make([]byte, 31)) + `"}]}`, "32 bytes"},
		{"long secret", `{"keys":[{"id":"k1","secret":"` + base64.StdEncoding.EncodeToString(make([]byte, 33)) + `"}]}`, "32 bytes"},
		{"bad base64", `{"keys":[{"id":"k1","secret":"!!!not base64!!!"}]}`, "secret"},
		{"URL alphabet", `{"keys":[{"id":"k1","secret":"` + urlAlphabet + `"}]}`, "secret"},
		{"unpadded base64", `{"keys":[{"id":"k1","secret":"` + strings.TrimRight(good, "=") + `"}]}`, "secret"},
		{"unknown top-level field", `{"keys":[{"id":"k1","secret":"` + good + `"}],"primary":"k1"}`, "unknown field"},
		{"unknown key field", `{"keys":[{"id":"k1","secret":"` + good + `","alg":"hs256"}]}`, "unknown field"},
		{"id not a string", `{"keys":[{"id":1,"secret":"` + good + `"}]}`, ""},
		{"second key bad", `{"keys":[{"id":"k1","secret":"` + good + `"},{"id":"k2","secret":"short"}]}`, "k2"},
	}
	if !strings.ContainsAny(urlAlphabet, "-_") {
		t.Fatalf("test secret %q does not exercise the URL alphabet", urlAlphabet)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := mint.ParseKeyRing([]byte(tt.whenJSON))
			if err == nil {
				t.Fatalf("ParseKeyRing = %v, want an error", ring.IDs())
			}
			if !errors.Is(err, mint.ErrBadKeyRing) {
				t.Errorf("error %v does not wrap ErrBadKeyRing", err)
			}
			if !strings.Contains(err.Error(), tt.expectMsg) {
				t.Errorf("error %q does not mention %q", err, tt.expectMsg)
			}
			if strings.Contains(err.Error(), good) || strings.Contains(err.Error(), secretB64(2)) {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}

// TestParseKeyRingTrailingData: a key-ring file is one JSON document; a
// second one after it (a botched concatenation, an editor accident) must
// not be silently ignored, or the keys an operator added there would
// never be used.
func TestParseKeyRingTrailingData(t *testing.T) {
	tests := []struct {
		name     string
		whenJSON string
	}{
		{"second document", `{"keys":[{"id":"k1","secret":"` + secretB64(1) + `"}]}{"keys":[{"id":"k2","secret":"` + secretB64(2) + `"}]}`},
		{"garbage", `{"keys":[{"id":"k1","secret":"` + secretB64(1) + `"}]} garbage`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ring, err := mint.ParseKeyRing([]byte(tt.whenJSON)); !errors.Is(err, mint.ErrBadKeyRing) {
				t.Errorf("ParseKeyRing = %v, %v; want ErrBadKeyRing", ring.IDs(), err)
			}
		})
	}
}

func TestParseKeyRing(t *testing.T) {
	data := `{"keys":[{"id":"k2","secret":"` + secretB64(2) + `"},{"id":"k1","secret":"` + secretB64(1) + `"}]}`
	ring, err := mint.ParseKeyRing([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if ring.PrimaryID() != "k2" || !slices.Equal(ring.IDs(), []string{"k2", "k1"}) {
		t.Errorf("primary %q, IDs %q; want k2 first", ring.PrimaryID(), ring.IDs())
	}
	if !ring.Equal(testRing(t)) {
		t.Error("parsed ring differs from the one built with WithNewKey")
	}
	t.Run("whitespace and single key", func(t *testing.T) {
		ring, err := mint.ParseKeyRing([]byte("\n{ \"keys\" : [ { \"id\" : \"A.b_c-9\", \"secret\" : \"" + secretB64(5) + "\" } ] }\n"))
		if err != nil {
			t.Fatal(err)
		}
		if ring.PrimaryID() != "A.b_c-9" {
			t.Errorf("primary = %q", ring.PrimaryID())
		}
	})
}

func TestWithNewKey(t *testing.T) {
	old, err := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(old)
	ring, err := old.WithNewKey("k2", bytes.NewReader(bytes.Repeat([]byte{2}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ring.IDs(), []string{"k2", "k1"}) || ring.PrimaryID() != "k2" {
		t.Errorf("IDs = %q, want the new key first", ring.IDs())
	}
	if after, _ := json.Marshal(old); !bytes.Equal(before, after) || !slices.Equal(old.IDs(), []string{"k1"}) {
		t.Error("WithNewKey changed the original ring")
	}
	// The old key still derives the same root keys.
	id := []byte("identifier")
	k1old, err := old.RootKey("k1", id)
	if err != nil {
		t.Fatal(err)
	}
	k1new, err := ring.RootKey("k1", id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1old, k1new) {
		t.Error("k1 derives another root key after rotation")
	}
	k2, _ := ring.RootKey("k2", id)
	if bytes.Equal(k1new, k2) {
		t.Error("k1 and k2 derive the same root key")
	}

	tests := []struct {
		name       string
		whenID     string
		whenRandom []byte
	}{
		{"duplicate id", "k1", bytes.Repeat([]byte{3}, 32)},
		{"bad id", "k 3", bytes.Repeat([]byte{3}, 32)},
		{"empty id", "", bytes.Repeat([]byte{3}, 32)},
		{"random runs out", "k3", make([]byte, 31)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r, err := ring.WithNewKey(tt.whenID, bytes.NewReader(tt.whenRandom)); err == nil {
				t.Errorf("WithNewKey = %q, want an error", r.IDs())
			}
		})
	}
}

func TestGenerateKeyRing(t *testing.T) {
	ring, err := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"keys":[{"id":"k1","secret":"` + secretB64(9) + `"}]}`
	got, err := json.Marshal(ring)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("ring = %s, want %s", got, want)
	}
	if _, err := mint.GenerateKeyRing("bad id", bytes.NewReader(make([]byte, 32))); !errors.Is(err, mint.ErrBadKeyRing) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := mint.GenerateKeyRing("k1", bytes.NewReader(nil)); err == nil {
		t.Error("empty random: no error")
	}
}

func TestKeyRingMarshalJSONRoundTrip(t *testing.T) {
	ring := testRing(t)
	data, err := ring.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := mint.ParseKeyRing(data)
	if err != nil {
		t.Fatalf("ParseKeyRing(MarshalJSON()): %v\n%s", err, data)
	}
	if !back.Equal(ring) {
		t.Error("round trip changed the ring")
	}
	var shape struct {
		Keys []struct {
			ID     string `json:"id"`
			Secret string `json:"secret"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape.Keys) != 2 || shape.Keys[0].ID != "k2" || shape.Keys[0].Secret != secretB64(2) ||
		shape.Keys[1].ID != "k1" || shape.Keys[1].Secret != secretB64(1) {
		t.Errorf("JSON = %s", data)
	}
}

func TestKeyRingEqual(t *testing.T) {
	k1, _ := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	k1other, _ := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{2}, 32)))
	swapped, err := mint.ParseKeyRing([]byte(`{"keys":[{"id":"k1","secret":"` + secretB64(1) + `"},{"id":"k2","secret":"` + secretB64(2) + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		a, b        *mint.KeyRing
		expectEqual bool
	}{
		{"same keys", testRing(t), testRing(t), true},
		{"other order", testRing(t), swapped, false},
		{"other secret", k1, k1other, false},
		{"subset", k1, testRing(t), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.expectEqual {
				t.Errorf("Equal = %v, want %v", got, tt.expectEqual)
			}
		})
	}
}

func TestRootKey(t *testing.T) {
	ring := testRing(t)
	secrets := map[string][]byte{"k1": bytes.Repeat([]byte{1}, 32), "k2": bytes.Repeat([]byte{2}, 32)}
	ident, err := mint.NewIdentifier("k2", "s1", fixedNow, bytes.NewReader(bytes.Repeat([]byte{7}, 16)))
	if err != nil {
		t.Fatal(err)
	}
	identBytes, err := ident.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		whenKeyID string
		whenID    []byte
	}{
		{"k2, real identifier", "k2", identBytes},
		{"k1, real identifier", "k1", identBytes},
		{"k1, other identifier", "k1", []byte("another identifier")},
		{"empty identifier", "k2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.RootKey(tt.whenKeyID, tt.whenID)
			if err != nil {
				t.Fatal(err)
			}
			want, err := hkdf.Key(sha256.New, secrets[tt.whenKeyID], nil, string(tt.whenID), 32)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("RootKey = %x, want HKDF-SHA256 %x", got, want)
			}
			if len(got) != 32 {
				t.Errorf("root key is %d bytes", len(got))
			}
			if prk, ok := ring.ExtractedKey([]byte(tt.whenKeyID)); !ok {
				t.Error("ExtractedKey: key missing")
			} else if wantPRK, _ := hkdf.Extract(sha256.New, secrets[tt.whenKeyID], nil); !bytes.Equal(prk[:], wantPRK) {
				t.Errorf("ExtractedKey = %x, want %x", prk[:], wantPRK)
			}
		})
	}
	t.Run("unknown key", func(t *testing.T) {
		if _, err := ring.RootKey("k9", identBytes); !errors.Is(err, mint.ErrUnknownKey) {
			t.Errorf("RootKey(k9) error = %v, want ErrUnknownKey", err)
		}
		if _, ok := ring.ExtractedKey([]byte("k9")); ok {
			t.Error("ExtractedKey(k9) found a key")
		}
	})
	t.Run("identifiers give different keys", func(t *testing.T) {
		a, _ := ring.RootKey("k2", []byte("a"))
		b, _ := ring.RootKey("k2", []byte("b"))
		if bytes.Equal(a, b) {
			t.Error("two identifiers, one root key")
		}
	})
}

func TestLoadKeyRing(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.json")
	data, err := testRing(t).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[{"id":"k1","secret":"`+secretB64(1)[:20]+`"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ring, err := mint.LoadKeyRing(good)
	if err != nil {
		t.Fatal(err)
	}
	if !ring.Equal(testRing(t)) {
		t.Error("loaded ring differs")
	}
	tests := []struct {
		name      string
		whenPath  string
		expectErr error
	}{
		{"missing file", filepath.Join(dir, "none.json"), os.ErrNotExist},
		{"bad file", bad, mint.ErrBadKeyRing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mint.LoadKeyRing(tt.whenPath)
			if !errors.Is(err, tt.expectErr) {
				t.Fatalf("LoadKeyRing error = %v, want %v", err, tt.expectErr)
			}
			if !strings.Contains(err.Error(), tt.whenPath) {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), secretB64(1)[:20]) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

// TestPurposeKey: a purpose key is the minting key's HKDF with a salt of
// its own, so it equals no token root key (not even for an identifier
// spelled like the purpose), differs per purpose, is the same for two
// rings with the same keys, and changes with a new minting key.
func TestPurposeKey(t *testing.T) {
	ring, err := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	same, err := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	csrf := ring.PurposeKey("csrf-forms")
	want, err := hkdf.Key(sha256.New, bytes.Repeat([]byte{1}, 32), []byte("authgw purpose key v1"), "csrf-forms", sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(csrf, want) || len(csrf) != 32 {
		t.Errorf("PurposeKey = %x, want the salted HKDF %x", csrf, want)
	}
	if root, _ := ring.RootKey("k1", []byte("csrf-forms")); bytes.Equal(root, csrf) {
		t.Error("a purpose key equals the root key of a token with the purpose as identifier")
	}
	if bytes.Equal(csrf, ring.PurposeKey("step-up")) {
		t.Error("two purposes share a key")
	}
	if !bytes.Equal(csrf, same.PurposeKey("csrf-forms")) {
		t.Error("two rings with the same keys derive different purpose keys")
	}
	rotated, err := ring.WithNewKey("k2", bytes.NewReader(bytes.Repeat([]byte{2}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(csrf, rotated.PurposeKey("csrf-forms")) {
		t.Error("a new minting key kept the purpose key")
	}
}
