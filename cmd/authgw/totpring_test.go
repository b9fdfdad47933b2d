package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/sharedmaterial"
	"github.com/authgw/authgw/mint"
)

var (
	k13OldKey = bytes.Repeat([]byte{0x21}, totp.KeySize)
	k13NewKey = bytes.Repeat([]byte{0x22}, totp.KeySize)
)

func k13Ring(keys ...totp.Key) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(`{"id":%q,"secret":%q}`, k.ID, hex.EncodeToString(k.Secret))
	}
	return `{"keys":[` + strings.Join(parts, ",") + "]}\n"
}

// k13LegacySeal seals the way authgw did before key rings: version 1,
// no key ID.
var k13LegacySeal = totptest.LegacySeal

// TestTOTPReseal rotates the TOTP key of a database holding legacy
// secrets (no key ID), secrets sealed with the old key and one with the
// new: reseal moves every row to the newest key, a second run changes
// nothing, and the old key can then be removed from the ring.
func TestTOTPReseal(t *testing.T) {
	dsn := migratedDSN(t)
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	oldFile := write("old", hex.EncodeToString(k13OldKey)+"\n")
	rotated := write("rotated.json", k13Ring(totp.Key{ID: "t2", Secret: k13NewKey}, totp.Key{ID: "0", Secret: k13OldKey}))
	newOnly := write("new.json", k13Ring(totp.Key{ID: "t2", Secret: k13NewKey}))
	badRing := write("bad.json", `{"keys":[{"id":"t2","secret":"`+strings.Repeat("ab", 31)+`"}]}`)

	oldSealer, err := totp.New(totp.Config{Issuer: totpIssuer, Key: k13OldKey})
	if err != nil {
		t.Fatal(err)
	}
	newSealer, err := totp.New(totp.Config{Issuer: totpIssuer, Keys: []totp.Key{{ID: "t2", Secret: k13NewKey}}})
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{}
	for i := range 5 {
		id := fmt.Sprintf("01a20320-a200-7000-8000-%012d", 2*i+1)
		if _, err := d.CreateUser(ctx, db.NewUser{User: db.User{ID: id, Name: fmt.Sprintf("user%d", i), CreatedMs: fixedNow.UnixMilli()},
			Email: db.Email{ID: fmt.Sprintf("01a20320-a200-7000-8000-%012d", 2*i+2), Email: fmt.Sprintf("user%d@example.com", i)}}); err != nil {
			t.Fatal(err)
		}
		secret := bytes.Repeat([]byte{byte(i + 1)}, totp.SecretSize)
		var ct []byte
		switch i {
		case 0, 1: // before key rings
			ct = k13LegacySeal(t, k13OldKey, id, secret)
		case 2, 3: // the old key, named "0"
			ct, err = oldSealer.Seal(id, secret)
		default: // already the new key
			ct, err = newSealer.Seal(id, secret)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := d.SaveTOTPSecret(ctx, db.TOTPSecret{UserID: id, Ciphertext: ct, CreatedMs: fixedNow.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		secrets[id] = secret
	}
	// The instances recorded the old single key; none has the new one yet.
	if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "totp-key", Value: sharedmaterial.Fingerprint("totp-key", k13OldKey), CreatedMs: 1}); err != nil {
		t.Fatal(err)
	}

	reseal := func(file string, extra ...string) result {
		return runCLI(t, args(append([]string{"totp", "reseal", "--database", dsn, "--totp-key", file, "--batch", "2"}, extra...)...))
	}
	t.Run("a ring file with a bad key is a usage error that shows no secret", func(t *testing.T) {
		r := reseal(badRing)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--totp-key: ") || !strings.Contains(r.stderr, `key "t2": secret must be 64 hex digits`) ||
			strings.Contains(r.stderr, strings.Repeat("ab", 31)) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("a newest key no instance has started with is refused", func(t *testing.T) {
		r := reseal(rotated)
		if r.code != exitUsage || !strings.Contains(r.stderr, `no instance on this database has started with TOTP key "t2"`) {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "totp-key:t2", Value: sharedmaterial.Fingerprint("totp-key:t2", k13NewKey), CreatedMs: 2}); err != nil {
		t.Fatal(err)
	}
	t.Run("reseal moves every row to the newest key", func(t *testing.T) {
		r := reseal(rotated)
		if r.code != 0 || !strings.Contains(r.stdout, `resealed 4 TOTP secrets with key "t2"; 1 already on it, 0 skipped (changed meanwhile), 0 failed`) {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a second run changes nothing", func(t *testing.T) {
		before, _ := d.ListTOTPSecrets(ctx, "", 100)
		r := reseal(rotated)
		if r.code != 0 || !strings.Contains(r.stdout, "resealed 0 TOTP secrets") || !strings.Contains(r.stdout, "5 already on it") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		after, _ := d.ListTOTPSecrets(ctx, "", 100)
		for i := range before {
			if !bytes.Equal(before[i].Ciphertext, after[i].Ciphertext) {
				t.Fatalf("row %s changed on the second run", before[i].UserID)
			}
		}
	})
	t.Run("the old key removed, every secret still opens", func(t *testing.T) {
		rows, err := d.ListTOTPSecrets(ctx, "", 100)
		if err != nil || len(rows) != 5 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
		for _, row := range rows {
			if id, _ := newSealer.SealedKeyID(row.Ciphertext); id != "t2" {
				t.Errorf("%s sealed with %q", row.UserID, id)
			}
			if got, err := newSealer.Open(row.UserID, row.Ciphertext); err != nil || !bytes.Equal(got, secrets[row.UserID]) {
				t.Errorf("%s: Open with the new key alone = %x, %v", row.UserID, got, err)
			}
		}
		r := reseal(newOnly)
		if r.code != 0 || !strings.Contains(r.stdout, "5 already on it") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a secret of a key no longer in the ring fails, exit 1", func(t *testing.T) {
		rows, _ := d.ListTOTPSecrets(ctx, "", 1)
		ct, err := oldSealer.Seal(rows[0].UserID, bytes.Repeat([]byte{9}, totp.SecretSize))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := d.ReplaceTOTPCiphertext(ctx, rows[0].UserID, rows[0].Ciphertext, ct); err != nil || !ok {
			t.Fatal(ok, err)
		}
		r := reseal(newOnly)
		if r.code != exitFailure || !strings.Contains(r.stdout, "4 already on it, 0 skipped (changed meanwhile), 1 failed") {
			t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
		// A stale file with the old key alone writes nothing it cannot
		// open: the t2 rows fail and stay as they are.
		before, _ := d.ListTOTPSecrets(ctx, "", 100)
		if r := reseal(oldFile); r.code != exitFailure || !strings.Contains(r.stdout, "resealed 0 TOTP secrets") {
			t.Fatalf("the old key alone: exit %d, stdout %q", r.code, r.stdout)
		}
		after, _ := d.ListTOTPSecrets(ctx, "", 100)
		for i := range before {
			if !bytes.Equal(before[i].Ciphertext, after[i].Ciphertext) {
				t.Fatalf("row %s changed", before[i].UserID)
			}
		}
	})
}

// TestServe_badTOTPRing: a ring file that cannot be used stops serve
// with one line naming --totp-key, and shows no secret.
func TestServe_badTOTPRing(t *testing.T) {
	good := hex.EncodeToString(k13NewKey)
	tests := []struct {
		name, content, expect string
	}{
		{"short secret", `{"keys":[{"id":"t2","secret":"` + good[:62] + `"}]}`, `key "t2": secret must be 64 hex digits`},
		{"not hex", `{"keys":[{"id":"t2","secret":"` + strings.Repeat("zq", 32) + `"}]}`, `key "t2": secret must be 64 hex digits`},
		{"bad ID", `{"keys":[{"id":"a b","secret":"` + good + `"}]}`, "key 1: ID must be 1 to 64"},
		{"ID twice", `{"keys":[{"id":"a","secret":"` + good + `"},{"id":"a","secret":"` + good + `"}]}`, `key ID "a" appears twice`},
		{"no keys", `{"keys":[]}`, "a key ring needs 1 to 16 keys"},
		{"unknown field", `{"keys":[{"id":"a","secret":"` + good + `","x":1}]}`, "not a JSON key ring"},
		{"no secret", `{"keys":[{"id":"a"}]}`, `key 1: want "id" and "secret"`},
		{"broken JSON", `{"keys":[{"id":"a","secret":"` + good + `"`, "not a JSON key ring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "ring.json")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, invocation{args: []string{"serve", "--totp-key", p}, vars: map[string]string{envDataDir: dir}})
			expectResult(t, r, exitUsage, nil, []string{"authgw: serve: --totp-key: "})
			if !strings.Contains(r.stderr, tt.expect) || strings.Contains(r.stderr, good[:16]) || strings.Contains(r.stderr, "zqzq") {
				t.Fatalf("stderr %q: want %q and no secret", r.stderr, tt.expect)
			}
		})
	}
}

// TestSharedMaterial_totpRing: the TOTP key ring's fingerprints are
// recorded key by key, the key "0" under the row the single key had, so
// that an upgrade matches; adding a key is allowed, reusing an ID with
// another secret or a ring sharing no key with the record is refused.
func TestSharedMaterial_totpRing(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, migratedDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ring, err := mint.GenerateKeyRing("k1", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	other := bytes.Repeat([]byte{0x23}, totp.KeySize)
	check := func(keys ...totp.Key) error {
		cfg := serveConfig{serverID: "srv", keys: ring, totpKeys: keys}
		return checkSharedMaterial(ctx, d, cfg, &info.PublicKey, false, fixedNow, logger)
	}
	// A database of before key rings: the single key's row.
	if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "totp-key", Value: sharedmaterial.Fingerprint("totp-key", k13OldKey), CreatedMs: 1}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		keys   []totp.Key
		expect string // "" accepted
	}{
		{"the old single key still matches", []totp.Key{{ID: "0", Secret: k13OldKey}}, ""},
		{"another single key is refused", []totp.Key{{ID: "0", Secret: other}}, `--totp-key: TOTP key "0" of the ring differs`},
		{"a new key added second", []totp.Key{{ID: "0", Secret: k13OldKey}, {ID: "t2", Secret: k13NewKey}}, ""},
		{"made first", []totp.Key{{ID: "t2", Secret: k13NewKey}, {ID: "0", Secret: k13OldKey}}, ""},
		{"the ID t2 with another secret is refused", []totp.Key{{ID: "t2", Secret: other}, {ID: "0", Secret: k13OldKey}}, `--totp-key: TOTP key "t2" of the ring differs`},
		{"a ring sharing no key is refused", []totp.Key{{ID: "t3", Secret: other}}, "--totp-key: the TOTP key ring shares no key"},
		{"the old key removed", []totp.Key{{ID: "t2", Secret: k13NewKey}}, ""},
	}
	for _, st := range steps {
		err := check(st.keys...)
		var ue *usageError
		switch {
		case st.expect == "" && err != nil:
			t.Fatalf("%s: %v", st.name, err)
		case st.expect != "" && (!errors.As(err, &ue) || !strings.Contains(err.Error(), st.expect)):
			t.Fatalf("%s: %v, want a usage error with %q", st.name, err, st.expect)
		}
	}
}
