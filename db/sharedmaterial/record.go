package sharedmaterial

import (
	"crypto/hmac"
	"slices"

	"github.com/authgw/authgw/db"
)

// Missing returns the refusal, a *MissingError naming setting, when an
// instance that holds no material of the kind yet (an empty data
// directory) would generate its own although record, the fingerprints
// read from the store (Store.SharedMaterial), says the other instances
// on the database already share some. For a ring kind, any recorded key
// of the ring counts. It returns nil when record holds none of the kind:
// the instance may generate it (a first start).
func Missing(record map[string]db.Fingerprint, kind Kind, setting string) error {
	var ids, names []string
	for name := range record {
		if k, id := kindOf(name); k == kind {
			ids = append(ids, id)
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(ids)
	slices.Sort(names)
	// The first row in name order: of a TOTP ring, the legacy row when
	// there is one.
	return &MissingError{Kind: kind, Setting: setting, KeyIDs: ids, Recorded: record[names[0]]}
}

// Compare compares one held material, normally a key of a ring, with
// record, the fingerprints read from the store, without recording
// anything: before a step that needs every instance to hold that key
// already (authgw totp reseal seals with it). It returns nil when the
// record holds nothing of m's kind (no instance started yet) or holds
// m's fingerprint; a *NotRecordedError when it holds other keys of m's
// ring but not m; a
// *DiffersError when it holds m's key ID with another fingerprint; an
// error when m is invalid.
func Compare(record map[string]db.Fingerprint, m Material) error {
	if err := m.validate(); err != nil {
		return err
	}
	if !hasKind(record, m.Kind) {
		return nil
	}
	name := m.Name()
	f, ok := record[name]
	if !ok {
		return &NotRecordedError{Kind: m.Kind, KeyID: m.KeyID, Setting: m.Setting}
	}
	if fp := Fingerprint(name, m.Secret); !hmac.Equal([]byte(f.Value), []byte(fp)) {
		return &DiffersError{Kind: m.Kind, KeyID: m.KeyID, Setting: m.Setting, Recorded: f, Fingerprint: fp}
	}
	return nil
}
