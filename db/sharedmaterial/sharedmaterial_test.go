package sharedmaterial_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/sharedmaterial"
)

// fixedNow is the clock of every test.
var fixedNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// secret returns 32 bytes of b.
func secret(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func serverID(id string) sharedmaterial.Material {
	return sharedmaterial.Material{Kind: sharedmaterial.ServerID, Setting: "--server-id", Secret: []byte(id)}
}

func infoKey(b byte) sharedmaterial.Material {
	return sharedmaterial.Material{Kind: sharedmaterial.InfoKey, Setting: "--info-key", Secret: secret(b)}
}

func tokenKey(id string, b byte) sharedmaterial.Material {
	return sharedmaterial.Material{Kind: sharedmaterial.TokenKey, KeyID: id, Setting: "--keys", Secret: secret(b)}
}

func totpKey(id string, b byte) sharedmaterial.Material {
	return sharedmaterial.Material{Kind: sharedmaterial.TOTPKey, KeyID: id, Setting: "--totp-key", Secret: secret(b)}
}

// instance is a whole instance's material, as serve lists it.
func instance(server string, info byte, totp, tokens []sharedmaterial.Material) []sharedmaterial.Material {
	held := []sharedmaterial.Material{serverID(server), infoKey(info)}
	held = append(held, totp...)
	return append(held, tokens...)
}

func ring(keys ...sharedmaterial.Material) []sharedmaterial.Material { return keys }

// TestFingerprintHidesMaterial: a fingerprint is stable, differs by
// name and by material, and is not the material.
func TestFingerprintHidesMaterial(t *testing.T) {
	material := []byte("0123456789abcdef0123456789abcdef")
	fp := sharedmaterial.Fingerprint("totp-key", material)
	if _, err := hex.DecodeString(fp); err != nil || len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("fingerprint %q: want 64 lower-case hex digits", fp)
	}
	if fp != sharedmaterial.Fingerprint("totp-key", material) {
		t.Fatal("the same material and name, another fingerprint")
	}
	if fp == sharedmaterial.Fingerprint("info-key", material) {
		t.Fatal("another name, the same fingerprint")
	}
	if fp == sharedmaterial.Fingerprint("totp-key", material[:31]) {
		t.Fatal("different material, same fingerprint")
	}
	if strings.Contains(fp, hex.EncodeToString(material[:8])) {
		t.Fatal("the fingerprint shows the material")
	}
}

// TestMaterialName: the rows keep their names; the TOTP key "0" keeps
// the row the single key had before key rings.
func TestMaterialName(t *testing.T) {
	tests := []struct {
		name       string
		given      sharedmaterial.Material
		expectName string
	}{
		{"server ID", serverID("srv"), "server-id"},
		{"request-info key", infoKey(1), "info-key"},
		{"a token key", tokenKey("k1", 1), "key:k1"},
		{"the legacy TOTP key", totpKey(sharedmaterial.LegacyTOTPKeyID, 1), "totp-key"},
		{"another TOTP key", totpKey("t2", 1), "totp-key:t2"},
		{"an unknown kind", sharedmaterial.Material{Kind: 99, Secret: secret(1)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.given.Name(); got != tt.expectName {
				t.Fatalf("Name() = %q, want %q", got, tt.expectName)
			}
		})
	}
}

// step is one start of an instance against the database, in order.
type step struct {
	name          string
	givenHeld     []sharedmaterial.Material
	givenReplace  bool
	expectErr     error // nil: accepted; else the type (a pointer) errors.As must find
	expectSetting string
	expectKeyID   string
	expectNew     []string // the rows Check recorded
}

// TestCheck: the first instance records; every start compares; key
// rings are compared key by key so that rotations work; refusals are
// typed, name the setting and wrap ErrNotShared; Replace records a
// deliberate change.
func TestCheck(t *testing.T) {
	base := ring(tokenKey("k1", 0x11))
	totpBase := ring(totpKey("0", 0x21))
	steps := []step{
		{name: "the first instance records every material", givenHeld: instance("srv", 1, totpBase, base),
			expectNew: []string{"server-id", "info-key", "totp-key", "key:k1"}},
		{name: "the same material starts and records nothing", givenHeld: instance("srv", 1, totpBase, base)},
		{name: "another server ID is refused", givenHeld: instance("other", 1, totpBase, base),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--server-id"},
		{name: "another request-info key is refused", givenHeld: instance("srv", 2, totpBase, base),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--info-key"},
		{name: "a token key of the same ID and another secret is refused", givenHeld: instance("srv", 1, totpBase, ring(tokenKey("k1", 0x12))),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--keys", expectKeyID: "k1"},
		{name: "a rotation adds a token key", givenHeld: instance("srv", 1, totpBase, ring(tokenKey("k2", 0x13), tokenKey("k1", 0x11))),
			expectNew: []string{"key:k2"}},
		{name: "the old token key removed", givenHeld: instance("srv", 1, totpBase, ring(tokenKey("k2", 0x13)))},
		{name: "a token ring sharing no key is refused", givenHeld: instance("srv", 1, totpBase, ring(tokenKey("k3", 0x14))),
			expectErr: &sharedmaterial.NoSharedKeyError{}, expectSetting: "--keys"},
		{name: "the legacy TOTP key with another secret is refused", givenHeld: instance("srv", 1, ring(totpKey("0", 0x22)), base),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--totp-key", expectKeyID: "0"},
		{name: "a TOTP rotation adds a key", givenHeld: instance("srv", 1, ring(totpKey("t2", 0x23), totpKey("0", 0x21)), base),
			expectNew: []string{"totp-key:t2"}},
		{name: "a TOTP key of the same ID and another secret is refused", givenHeld: instance("srv", 1, ring(totpKey("t2", 0x24), totpKey("0", 0x21)), base),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--totp-key", expectKeyID: "t2"},
		{name: "a TOTP ring sharing no key is refused", givenHeld: instance("srv", 1, ring(totpKey("t3", 0x25)), base),
			expectErr: &sharedmaterial.NoSharedKeyError{}, expectSetting: "--totp-key"},
		{name: "the old TOTP key removed", givenHeld: instance("srv", 1, ring(totpKey("t2", 0x23)), base)},
		{name: "a deliberate change replaces the record", givenHeld: instance("new", 3, ring(totpKey("t9", 0x26)), ring(tokenKey("k9", 0x15))), givenReplace: true},
		{name: "the replaced material starts", givenHeld: instance("new", 3, ring(totpKey("t9", 0x26)), ring(tokenKey("k9", 0x15)))},
		{name: "the material before the change is refused", givenHeld: instance("srv", 1, ring(totpKey("t9", 0x26)), ring(tokenKey("k9", 0x15))),
			expectErr: &sharedmaterial.DiffersError{}, expectSetting: "--server-id"},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, st := range steps {
			if st.givenReplace {
				if err := sharedmaterial.Replace(ctx, d, st.givenHeld, fixedNow); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				continue
			}
			recorded, err := sharedmaterial.Check(ctx, d, st.givenHeld, fixedNow)
			expectRefusal(t, st.name, err, st.expectErr, st.expectSetting, st.expectKeyID)
			if st.expectErr != nil {
				continue
			}
			var names []string
			for _, f := range recorded {
				names = append(names, f.Name)
				if f.CreatedMs != fixedNow.UnixMilli() {
					t.Errorf("%s: %s recorded at %d, want %d", st.name, f.Name, f.CreatedMs, fixedNow.UnixMilli())
				}
			}
			if strings.Join(names, ",") != strings.Join(st.expectNew, ",") {
				t.Fatalf("%s: recorded %v, want %v", st.name, names, st.expectNew)
			}
		}
	})
}

// expectRefusal fails unless err is nil when want is nil, else a
// refusal of want's type wrapping ErrNotShared and naming the setting
// and key ID.
func expectRefusal(t *testing.T, name string, err, want error, setting, keyID string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return
	}
	if !errors.Is(err, sharedmaterial.ErrNotShared) {
		t.Fatalf("%s: %v, want a refusal wrapping ErrNotShared", name, err)
	}
	var gotSetting, gotKeyID string
	switch want.(type) {
	case *sharedmaterial.DiffersError:
		e, ok := errors.AsType[*sharedmaterial.DiffersError](err)
		if !ok {
			t.Fatalf("%s: %T %v, want a DiffersError", name, err, err)
		}
		gotSetting, gotKeyID = e.Setting, e.KeyID
		if len(e.Recorded.Value) != 64 || len(e.Fingerprint) != 64 || e.Recorded.Value == e.Fingerprint {
			t.Fatalf("%s: recorded %q, this instance's %q: want two different fingerprints", name, e.Recorded.Value, e.Fingerprint)
		}
	case *sharedmaterial.NoSharedKeyError:
		e, ok := errors.AsType[*sharedmaterial.NoSharedKeyError](err)
		if !ok {
			t.Fatalf("%s: %T %v, want a NoSharedKeyError", name, err, err)
		}
		gotSetting = e.Setting
	case *sharedmaterial.MissingError:
		e, ok := errors.AsType[*sharedmaterial.MissingError](err)
		if !ok {
			t.Fatalf("%s: %T %v, want a MissingError", name, err, err)
		}
		gotSetting = e.Setting
	case *sharedmaterial.NotRecordedError:
		e, ok := errors.AsType[*sharedmaterial.NotRecordedError](err)
		if !ok {
			t.Fatalf("%s: %T %v, want a NotRecordedError", name, err, err)
		}
		gotSetting, gotKeyID = e.Setting, e.KeyID
	default:
		t.Fatalf("%s: no case for %T", name, want)
	}
	if gotSetting != setting || gotKeyID != keyID {
		t.Fatalf("%s: refusal names setting %q, key %q; want %q, %q", name, gotSetting, gotKeyID, setting, keyID)
	}
	if !strings.HasPrefix(err.Error(), setting+": ") {
		t.Fatalf("%s: %q does not start with the setting %q", name, err, setting)
	}
}

// TestCheck_concurrentFirstStarts: of instances with different material
// starting together on an empty database, exactly one is accepted, and
// the others are refused naming what differs.
func TestCheck_concurrentFirstStarts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 4
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := sharedmaterial.Check(ctx, d, ring(serverID("srv-"+string(rune('a'+i)))), fixedNow)
				errs <- err
			}()
		}
		var refused []error
		for range n {
			if err := <-errs; errors.Is(err, sharedmaterial.ErrNotShared) {
				refused = append(refused, err)
			} else if err != nil {
				t.Fatalf("%v, want nil or a refusal", err)
			}
		}
		if len(refused) != n-1 {
			t.Fatalf("%d instances accepted, want 1 (refused: %v)", n-len(refused), refused)
		}
	})
}

// TestCheck_invalid: material the rule cannot compare is an error, not
// a refusal, and records nothing.
func TestCheck_invalid(t *testing.T) {
	tests := []struct {
		name  string
		given sharedmaterial.Material
	}{
		{"an unknown kind", sharedmaterial.Material{Kind: 99, Secret: secret(1)}},
		{"a ring key without an ID", tokenKey("", 1)},
		{"a TOTP key without an ID", totpKey("", 1)},
		{"a server ID with a key ID", sharedmaterial.Material{Kind: sharedmaterial.ServerID, KeyID: "x", Secret: []byte("srv")}},
		{"no secret", tokenKey("k1", 1)},
	}
	tests[len(tests)-1].given.Secret = nil
	d := dbtest.SQLite(t)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held := ring(serverID("srv"), tt.given)
			if _, err := sharedmaterial.Check(ctx, d, held, fixedNow); err == nil || errors.Is(err, sharedmaterial.ErrNotShared) {
				t.Fatalf("Check: %v, want an error that is no refusal", err)
			}
			if err := sharedmaterial.Replace(ctx, d, held, fixedNow); err == nil || errors.Is(err, sharedmaterial.ErrNotShared) {
				t.Fatalf("Replace: %v, want an error that is no refusal", err)
			}
			if rows, err := d.SharedMaterial(ctx); err != nil || len(rows) != 0 {
				t.Fatalf("recorded %v (%v), want nothing", rows, err)
			}
		})
	}
}

// record returns the fingerprints of held as the store keeps them.
func record(held ...sharedmaterial.Material) map[string]db.Fingerprint {
	out := map[string]db.Fingerprint{}
	for _, m := range held {
		out[m.Name()] = db.Fingerprint{Name: m.Name(), Value: sharedmaterial.Fingerprint(m.Name(), m.Secret), CreatedMs: 1}
	}
	return out
}

// TestMissing: an instance without material of a kind may generate it
// only when the database records none of that kind.
func TestMissing(t *testing.T) {
	full := record(serverID("srv"), infoKey(1), totpKey("t2", 0x22), totpKey("0", 0x21), tokenKey("k2", 0x12), tokenKey("k1", 0x11))
	tests := []struct {
		name         string
		givenRecord  map[string]db.Fingerprint
		givenKind    sharedmaterial.Kind
		expectErr    bool
		expectKeyIDs []string
		expectRow    string
	}{
		{"a first start may make a server ID", nil, sharedmaterial.ServerID, false, nil, ""},
		{"a first start may make a token ring", map[string]db.Fingerprint{}, sharedmaterial.TokenKey, false, nil, ""},
		{"a server ID recorded alone refuses only a server ID", record(serverID("srv")), sharedmaterial.InfoKey, false, nil, ""},
		{"a recorded server ID", full, sharedmaterial.ServerID, true, nil, "server-id"},
		{"a recorded request-info key", full, sharedmaterial.InfoKey, true, nil, "info-key"},
		{"a recorded token ring, its IDs sorted", full, sharedmaterial.TokenKey, true, []string{"k1", "k2"}, "key:k1"},
		{"a recorded TOTP ring, its legacy row shown", full, sharedmaterial.TOTPKey, true, []string{"0", "t2"}, "totp-key"},
		{"a TOTP ring without the legacy key", record(totpKey("t2", 0x22)), sharedmaterial.TOTPKey, true, []string{"t2"}, "totp-key:t2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sharedmaterial.Missing(tt.givenRecord, tt.givenKind, "--setting")
			if !tt.expectErr {
				if err != nil {
					t.Fatalf("%v, want nil", err)
				}
				return
			}
			e, ok := errors.AsType[*sharedmaterial.MissingError](err)
			if !ok || !errors.Is(err, sharedmaterial.ErrNotShared) {
				t.Fatalf("%T %v, want a MissingError wrapping ErrNotShared", err, err)
			}
			if e.Kind != tt.givenKind || e.Setting != "--setting" || strings.Join(e.KeyIDs, ",") != strings.Join(tt.expectKeyIDs, ",") || e.Recorded.Name != tt.expectRow {
				t.Fatalf("%+v, want kind %v, IDs %v, row %q", e, tt.givenKind, tt.expectKeyIDs, tt.expectRow)
			}
			if !strings.HasPrefix(err.Error(), "--setting: this instance has ") || strings.Contains(err.Error(), e.Recorded.Value[12:]) {
				t.Fatalf("%q: want the setting first and no more than the fingerprint's start", err)
			}
		})
	}
}

// TestCompare: a key is compared with the record without recording it.
func TestCompare(t *testing.T) {
	recorded := record(serverID("srv"), totpKey("0", 0x21), totpKey("t2", 0x22))
	tests := []struct {
		name        string
		givenRecord map[string]db.Fingerprint
		givenHeld   sharedmaterial.Material
		expectErr   error
		expectKeyID string
	}{
		{"no TOTP key recorded yet", record(serverID("srv")), totpKey("t3", 0x23), nil, ""},
		{"the recorded legacy key", recorded, totpKey("0", 0x21), nil, ""},
		{"the recorded new key", recorded, totpKey("t2", 0x22), nil, ""},
		{"a key no instance started with", recorded, totpKey("t3", 0x23), &sharedmaterial.NotRecordedError{}, "t3"},
		{"a recorded ID with another secret", recorded, totpKey("t2", 0x24), &sharedmaterial.DiffersError{}, "t2"},
		{"the server ID", recorded, serverID("srv"), nil, ""},
		{"another server ID", recorded, serverID("other"), &sharedmaterial.DiffersError{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sharedmaterial.Compare(tt.givenRecord, tt.givenHeld)
			expectRefusal(t, tt.name, err, tt.expectErr, tt.givenHeld.Setting, tt.expectKeyID)
		})
	}
	if err := sharedmaterial.Compare(recorded, totpKey("", 1)); err == nil || errors.Is(err, sharedmaterial.ErrNotShared) {
		t.Fatalf("a key without an ID: %v, want an error that is no refusal", err)
	}
	if _, ok := recorded["totp-key:t3"]; ok {
		t.Fatal("Compare recorded a key")
	}
}

// TestRefusalMessages: the refusals read as serve prints them before
// its help, showing only the start of a fingerprint.
func TestRefusalMessages(t *testing.T) {
	f := db.Fingerprint{Name: "key:k1", Value: strings.Repeat("a", 64), CreatedMs: 1_700_000_000_000}
	tests := []struct {
		name   string
		given  error
		expect string
	}{
		{"differs", &sharedmaterial.DiffersError{Kind: sharedmaterial.TokenKey, KeyID: "k1", Setting: "--keys", Recorded: f, Fingerprint: strings.Repeat("b", 64)},
			`--keys: key "k1" of the ring differs from the one the other instances on this database share (fingerprint aaaaaaaaaaaa…, recorded 2023-11-14T22:13:20Z; this instance's is bbbbbbbbbbbb…): tokens or TOTP secrets of one would fail at the others`},
		{"differs, info key", &sharedmaterial.DiffersError{Kind: sharedmaterial.InfoKey, Setting: "--info-key", Recorded: f, Fingerprint: strings.Repeat("b", 64)},
			`--info-key: info-key differs from the one the other instances on this database share (fingerprint aaaaaaaaaaaa…, recorded 2023-11-14T22:13:20Z; this instance's is bbbbbbbbbbbb…): tokens or TOTP secrets of one would fail at the others`},
		{"no shared key", &sharedmaterial.NoSharedKeyError{Kind: sharedmaterial.TokenKey, Setting: "--keys"},
			"--keys: the key ring shares no key with the other instances on this database: it could verify none of their tokens"},
		{"not recorded", &sharedmaterial.NotRecordedError{Kind: sharedmaterial.TOTPKey, KeyID: "t2", Setting: "--totp-key"},
			`--totp-key: no instance on this database has started with TOTP key "t2" yet`},
		{"missing, no setting", &sharedmaterial.MissingError{Kind: sharedmaterial.TokenKey, KeyIDs: []string{"k1"}, Recorded: f},
			"this instance has no key ring, and the other instances on this database use keys k1: it would make its own and refuse their tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.given.Error(); got != tt.expect {
				t.Fatalf("Error()\n%s\nwant\n%s", got, tt.expect)
			}
		})
	}
}
