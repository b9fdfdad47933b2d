package sharedmaterial

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/authgw/authgw/db"
)

// Store is the part of *db.DB that keeps the fingerprints.
type Store interface {
	// SharedMaterial returns every recorded fingerprint by name.
	SharedMaterial(ctx context.Context) (map[string]db.Fingerprint, error)
	// RecordFingerprint records f unless a fingerprint of that name
	// exists, and returns the one recorded.
	RecordFingerprint(ctx context.Context, f db.Fingerprint) (db.Fingerprint, error)
	// ReplaceSharedMaterial replaces every recorded fingerprint with fps.
	ReplaceSharedMaterial(ctx context.Context, fps []db.Fingerprint) error
	// SwapFingerprints makes every swap, in one transaction, if every row
	// still holds its old value, and reports whether it did.
	SwapFingerprints(ctx context.Context, swaps ...db.FingerprintSwap) (bool, error)
}

var _ Store = (*db.DB)(nil)

// Kind says which shared material a Material is.
type Kind int

// The kinds of shared material.
const (
	// ServerID is the server ID, as text.
	ServerID Kind = iota + 1
	// InfoKey is the request-info signing key: its public key, DER
	// (PKIX), the part the backends hold.
	InfoKey
	// TokenKey is one key of the token key ring (the key the ring
	// derives root keys from), named by its KeyID.
	TokenKey
	// TOTPKey is one key of the TOTP key ring, named by its KeyID.
	TOTPKey
	// PreviousInfoKey is the request-info key rotated out and still
	// published (verify-only), DER (PKIX), or none: make it with
	// PreviousInfoKeyMaterial. Check records a rotation that an instance
	// holding it brings (see advanceInfoKey).
	PreviousInfoKey
)

// String names the kind, as the refusals do.
func (k Kind) String() string {
	switch k {
	case ServerID:
		return "server ID"
	case InfoKey:
		return "request-info key"
	case TokenKey:
		return "key ring"
	case TOTPKey:
		return "TOTP key ring"
	case PreviousInfoKey:
		return "previous request-info key"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ring tells whether the kind is one key of a ring, compared key by key.
func (k Kind) ring() bool { return k == TokenKey || k == TOTPKey }

// Names of the shared_material rows.
const (
	nameServerID = "server-id"
	nameInfoKey  = "info-key"
	// namePreviousInfoKey is the row of the previous request-info key.
	namePreviousInfoKey = "info-key-previous"
	// prefixTokenKey starts the row of a key of the token key ring.
	prefixTokenKey = "key:"
	// nameTOTPKey is the row of the TOTP key of ID LegacyTOTPKeyID, the
	// row the single TOTP key had before key rings.
	nameTOTPKey = "totp-key"
	// prefixTOTPKey starts the row of any other TOTP key.
	prefixTOTPKey = "totp-key:"
)

// LegacyTOTPKeyID is the ID of the TOTP key whose row is the one the
// single key had before key rings ("totp-key"), so that an upgrade
// compares it with what the database recorded. It is the ID a key file
// holding a single key gives its key (accounts/totp's LegacyKeyID).
const LegacyTOTPKeyID = "0"

// Material is one piece of key material an instance holds.
type Material struct {
	// Kind says which material. Required.
	Kind Kind
	// KeyID is the key's ID in its ring. Required for TokenKey and
	// TOTPKey; empty otherwise.
	KeyID string
	// Setting is the setting the material came from (for example
	// "--keys"), named first in a refusal. Optional.
	Setting string
	// Secret is the material: what the fingerprint is keyed with. It
	// never leaves the package, not even in an error. Required.
	Secret []byte
}

// Name returns the shared_material row of m: "server-id", "info-key",
// "key:<ID>" for a key of the token ring, "totp-key" for the TOTP key
// of ID LegacyTOTPKeyID and "totp-key:<ID>" for any other. It returns
// "" for an unknown kind.
func (m Material) Name() string {
	switch m.Kind {
	case ServerID:
		return nameServerID
	case InfoKey:
		return nameInfoKey
	case PreviousInfoKey:
		return namePreviousInfoKey
	case TokenKey:
		return prefixTokenKey + m.KeyID
	case TOTPKey:
		if m.KeyID == LegacyTOTPKeyID {
			return nameTOTPKey
		}
		return prefixTOTPKey + m.KeyID
	}
	return ""
}

// kindOf returns the kind of a recorded row's name, and the key ID of a
// ring's row; 0 for a name of no known kind.
func kindOf(name string) (Kind, string) {
	switch {
	case name == nameServerID:
		return ServerID, ""
	case name == nameInfoKey:
		return InfoKey, ""
	case name == namePreviousInfoKey:
		return PreviousInfoKey, ""
	case name == nameTOTPKey:
		return TOTPKey, LegacyTOTPKeyID
	}
	if id, ok := strings.CutPrefix(name, prefixTOTPKey); ok {
		return TOTPKey, id
	}
	if id, ok := strings.CutPrefix(name, prefixTokenKey); ok {
		return TokenKey, id
	}
	return 0, ""
}

// validate fails for a material Check cannot compare.
func (m Material) validate() error {
	switch {
	case m.Name() == "":
		return fmt.Errorf("sharedmaterial: material of unknown kind %d", int(m.Kind))
	case m.Kind.ring() && m.KeyID == "":
		return fmt.Errorf("sharedmaterial: a key of the %s without its key ID", m.Kind)
	case !m.Kind.ring() && m.KeyID != "":
		return fmt.Errorf("sharedmaterial: the %s with a key ID", m.Kind)
	case len(m.Secret) == 0:
		return fmt.Errorf("sharedmaterial: %s: empty material", m.Name())
	}
	return nil
}

// fingerprint returns m's fingerprint, recorded at now.
func (m Material) fingerprint(now time.Time) db.Fingerprint {
	name := m.Name()
	return db.Fingerprint{Name: name, Value: Fingerprint(name, m.Secret), CreatedMs: now.UnixMilli()}
}

// Fingerprint returns the fingerprint of material recorded under the
// row name: 64 lower-case hex digits of an HMAC-SHA256 keyed with the
// material, of a fixed label naming the row. It is stable, differs by
// name and by material, and reveals nothing of the material.
func Fingerprint(name string, material []byte) string {
	mac := hmac.New(sha256.New, material)
	mac.Write([]byte("authgw shared material v1: " + name))
	return hex.EncodeToString(mac.Sum(nil))
}

// ShortFingerprint returns the start of a fingerprint, enough to compare
// by eye; a shorter string is returned whole.
func ShortFingerprint(fp string) string {
	if len(fp) < 12 {
		return fp
	}
	return fp[:12]
}

// Check compares held, this instance's material, with the fingerprints
// store holds, recording those it does not hold yet (at a first start,
// or a new key of a ring) as created at now, and returns the ones it
// recorded. When held has a PreviousInfoKey, a rotation of the
// request-info key that held brings forward (a new signing key whose
// previous key is the recorded one; or the recorded previous key dropped)
// is recorded first, and returned among the recorded rows. A refusal wraps ErrNotShared: a *NoSharedKeyError for a ring
// (token keys before TOTP keys) of which held has no recorded key while
// the store records some, else a *DiffersError for the first material,
// in held's order, whose fingerprint differs from the recorded one; the
// material before it is recorded by then. Check also fails when a
// material is invalid (unknown kind, a ring key without an ID, no
// secret) and when the store fails.
func Check(ctx context.Context, store Store, held []Material, now time.Time) (recorded []db.Fingerprint, err error) {
	for _, m := range held {
		if err := m.validate(); err != nil {
			return nil, err
		}
	}
	before, err := store.SharedMaterial(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the shared key material's fingerprints: %w", err)
	}
	advanced, err := advanceInfoKey(ctx, store, before, held, now)
	if err != nil {
		return nil, err
	}
	recorded = advanced
	if len(advanced) > 0 {
		if before, err = store.SharedMaterial(ctx); err != nil {
			return nil, fmt.Errorf("reading the shared key material's fingerprints: %w", err)
		}
	}
	for _, ring := range []Kind{TokenKey, TOTPKey} {
		if hasKind(before, ring) && !sharesKey(before, held, ring) {
			return nil, &NoSharedKeyError{Kind: ring, Setting: settingOf(held, ring)}
		}
	}
	for _, m := range held {
		want := m.fingerprint(now)
		got, err := store.RecordFingerprint(ctx, want)
		if err != nil {
			return recorded, fmt.Errorf("recording the fingerprint of %s: %w", want.Name, err)
		}
		if !hmac.Equal([]byte(got.Value), []byte(want.Value)) {
			return recorded, &DiffersError{Kind: m.Kind, KeyID: m.KeyID, Setting: m.Setting, Recorded: got, Fingerprint: want.Value}
		}
		if _, had := before[want.Name]; !had {
			recorded = append(recorded, want)
		}
	}
	return recorded, nil
}

// Replace records held in place of every recorded fingerprint, as
// created at now: after a deliberate change of the server ID (which
// revokes every token), the TOTP key or the request-info key. The other
// instances must then hold the same material before their next start,
// which Check refuses otherwise. Replace fails when a material is
// invalid or the store fails; the record is then unchanged.
func Replace(ctx context.Context, store Store, held []Material, now time.Time) error {
	fps := make([]db.Fingerprint, len(held))
	for i, m := range held {
		if err := m.validate(); err != nil {
			return err
		}
		fps[i] = m.fingerprint(now)
	}
	if err := store.ReplaceSharedMaterial(ctx, fps); err != nil {
		return fmt.Errorf("replacing the shared key material's fingerprints: %w", err)
	}
	return nil
}

// hasKind tells whether the record holds material of the kind.
func hasKind(record map[string]db.Fingerprint, kind Kind) bool {
	for name := range record {
		if k, _ := kindOf(name); k == kind {
			return true
		}
	}
	return false
}

// sharesKey tells whether held has a key of the ring that the record
// holds (with whatever secret: Check compares it next).
func sharesKey(record map[string]db.Fingerprint, held []Material, ring Kind) bool {
	for _, m := range held {
		if _, ok := record[m.Name()]; ok && m.Kind == ring {
			return true
		}
	}
	return false
}

// settingOf returns the setting of held's first material of the kind.
func settingOf(held []Material, kind Kind) string {
	for _, m := range held {
		if m.Kind == kind {
			return m.Setting
		}
	}
	return ""
}
