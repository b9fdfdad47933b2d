package sharedmaterial

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authgw/authgw/db"
)

// ErrNotShared is the root of every refusal: this instance's key
// material is not the one the other instances on the database share.
// The typed errors below wrap it; match them with errors.Is and
// errors.As.
var ErrNotShared = errors.New("the key material is not the one the instances on this database share")

// MissingError refuses to generate material (Missing): this instance
// has none of the kind, and the other instances on the database share
// some.
type MissingError struct {
	// Kind is the material the instance lacks.
	Kind Kind
	// Setting is the setting to name (Missing's argument).
	Setting string
	// KeyIDs are the recorded keys of the ring, sorted, for a ring kind.
	KeyIDs []string
	// Recorded is a recorded fingerprint of the kind: of a ring, the
	// first row in name order.
	Recorded db.Fingerprint
}

// Error says what is missing and what generating it would do.
func (e *MissingError) Error() string {
	switch e.Kind {
	case TokenKey:
		return fmt.Sprintf("%sthis instance has no key ring, and the other instances on this database use keys %s: "+
			"it would make its own and refuse their tokens", prefix(e.Setting), strings.Join(e.KeyIDs, ", "))
	case TOTPKey:
		return fmt.Sprintf("%sthis instance has none, and the other instances on this database share a TOTP key ring (fingerprint %s…, recorded %s): "+
			"it would make its own", prefix(e.Setting), ShortFingerprint(e.Recorded.Value), recordedAt(e.Recorded))
	}
	return fmt.Sprintf("%sthis instance has none, and the other instances on this database share one (fingerprint %s…, recorded %s): "+
		"it would make its own", prefix(e.Setting), ShortFingerprint(e.Recorded.Value), recordedAt(e.Recorded))
}

// Unwrap returns ErrNotShared.
func (e *MissingError) Unwrap() error { return ErrNotShared }

// NoSharedKeyError refuses a ring (Check) that shares no key with the
// recorded one: it could verify none of the other instances' tokens, or
// open none of the stored TOTP secrets. A rotation adds a key to the
// shared ring instead.
type NoSharedKeyError struct {
	// Kind is the ring: TokenKey or TOTPKey.
	Kind Kind
	// Setting is the setting the ring came from.
	Setting string
}

// Error says which ring shares no key and what that breaks.
func (e *NoSharedKeyError) Error() string {
	if e.Kind == TOTPKey {
		return prefix(e.Setting) + "the TOTP key ring shares no key with the other instances on this database: " +
			"it could open none of the stored TOTP secrets"
	}
	return prefix(e.Setting) + "the key ring shares no key with the other instances on this database: " +
		"it could verify none of their tokens"
}

// Unwrap returns ErrNotShared.
func (e *NoSharedKeyError) Unwrap() error { return ErrNotShared }

// DiffersError refuses a material (Check, Compare) whose fingerprint
// differs from the recorded one of the same name: the server ID, the
// request-info key, or a key ID of a ring with another secret.
type DiffersError struct {
	// Kind is the material that differs.
	Kind Kind
	// KeyID is the key's ID, for a ring kind.
	KeyID string
	// Setting is the setting the material came from.
	Setting string
	// Recorded is the fingerprint the database holds.
	Recorded db.Fingerprint
	// Fingerprint is this instance's.
	Fingerprint string
}

// Error names the material, both fingerprints' starts and what differing
// material breaks.
func (e *DiffersError) Error() string {
	return fmt.Sprintf("%s%s differs from the one the other instances on this database share (fingerprint %s…, recorded %s; this instance's is %s…): "+
		"tokens or TOTP secrets of one would fail at the others",
		prefix(e.Setting), what(e.Kind, e.KeyID), ShortFingerprint(e.Recorded.Value), recordedAt(e.Recorded), ShortFingerprint(e.Fingerprint))
}

// Unwrap returns ErrNotShared.
func (e *DiffersError) Unwrap() error { return ErrNotShared }

// NotRecordedError refuses a key of a ring (Compare) that no instance on
// the database has started with, while others of the ring are recorded.
type NotRecordedError struct {
	// Kind is the ring: TokenKey or TOTPKey.
	Kind Kind
	// KeyID is the key's ID.
	KeyID string
	// Setting is the setting the key came from.
	Setting string
}

// Error names the key no instance has started with.
func (e *NotRecordedError) Error() string {
	key := fmt.Sprintf("key %q", e.KeyID)
	if e.Kind == TOTPKey {
		key = "TOTP " + key
	}
	return fmt.Sprintf("%sno instance on this database has started with %s yet", prefix(e.Setting), key)
}

// Unwrap returns ErrNotShared.
func (e *NotRecordedError) Unwrap() error { return ErrNotShared }

// prefix starts a refusal with the setting it names, if any.
func prefix(setting string) string {
	if setting == "" {
		return ""
	}
	return setting + ": "
}

// what names a material in a refusal.
func what(kind Kind, keyID string) string {
	switch kind {
	case TokenKey:
		return fmt.Sprintf("key %q of the ring", keyID)
	case TOTPKey:
		return fmt.Sprintf("TOTP key %q of the ring", keyID)
	}
	return Material{Kind: kind}.Name()
}

// recordedAt is when a fingerprint was recorded, in UTC.
func recordedAt(f db.Fingerprint) string {
	return time.UnixMilli(f.CreatedMs).UTC().Format(time.RFC3339)
}
