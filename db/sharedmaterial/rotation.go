package sharedmaterial

import (
	"context"
	"crypto/hmac"
	"fmt"
	"time"

	"github.com/authgw/authgw/db"
)

// noPreviousInfoKey is the Secret of a PreviousInfoKey material when the
// instance publishes no previous key: no DER encoding of a key is these
// bytes, so its fingerprint differs from every key's.
var noPreviousInfoKey = []byte("no previous request-info key")

// PreviousInfoKeyMaterial returns the PreviousInfoKey material of an
// instance whose request-info key file holds the previous key of DER
// (PKIX public key) previousDER, or no previous key when previousDER is
// empty, from setting.
func PreviousInfoKeyMaterial(previousDER []byte, setting string) Material {
	if len(previousDER) == 0 {
		previousDER = noPreviousInfoKey
	}
	return Material{Kind: PreviousInfoKey, Setting: setting, Secret: previousDER}
}

// advanceInfoKey records a rotation of the request-info key that held
// carries (an InfoKey and a PreviousInfoKey material), before Check
// compares: a rotation is the only change of the key that a start
// records without --replace-shared-material, and it only goes forward:
//
//   - held signs with a new key and holds the recorded signing key as its
//     previous one: both rows are swapped to held's;
//   - held signs with the recorded key, holds no previous key, and the
//     record has one: the previous row is swapped to "none".
//
// Anything else is left for Check's comparison, which refuses an
// instance still on the key before a rotation, or still publishing a
// previous key the others dropped. Swaps are compare-and-swap (both rows
// of a rotation in one transaction), so instances starting together
// agree. It returns the rows it changed.
func advanceInfoKey(ctx context.Context, store Store, before map[string]db.Fingerprint, held []Material, now time.Time) ([]db.Fingerprint, error) {
	var signing, previous *Material
	for i := range held {
		switch held[i].Kind {
		case InfoKey:
			signing = &held[i]
		case PreviousInfoKey:
			previous = &held[i]
		}
	}
	recSigning, ok := before[nameInfoKey]
	if signing == nil || previous == nil || !ok {
		return nil, nil
	}
	recPrevious, hasRecPrevious := before[namePreviousInfoKey]
	heldSigning := signing.fingerprint(now)
	heldPrevious := previous.fingerprint(now)
	noPrevious := PreviousInfoKeyMaterial(nil, "").fingerprint(now)
	same := func(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

	switch {
	case !same(recSigning.Value, heldSigning.Value):
		// Rotated: held's previous key is the recorded signing key.
		if hmac.Equal(previous.Secret, noPreviousInfoKey) || !same(Fingerprint(nameInfoKey, previous.Secret), recSigning.Value) {
			return nil, nil
		}
		if hasRecPrevious && !same(recPrevious.Value, noPrevious.Value) {
			// The record still publishes an older key: rotating again
			// before dropping it is what the key file refuses too.
			return nil, nil
		}
		if !hasRecPrevious {
			// Before the first rotation an upgraded release may not have
			// recorded it: the record's previous key is none.
			var err error
			if recPrevious, err = store.RecordFingerprint(ctx, noPrevious); err != nil {
				return nil, fmt.Errorf("recording the rotation of the request-info key: %w", err)
			}
			if !same(recPrevious.Value, noPrevious.Value) {
				return nil, nil // another instance recorded one meanwhile: Check compares
			}
		}
		swapped, err := store.SwapFingerprints(ctx,
			db.FingerprintSwap{Old: recSigning.Value, New: heldSigning},
			db.FingerprintSwap{Old: recPrevious.Value, New: heldPrevious})
		if err != nil {
			return nil, fmt.Errorf("recording the rotation of the request-info key: %w", err)
		}
		if !swapped {
			return nil, nil // another instance changed it: Check compares
		}
		return []db.Fingerprint{heldSigning, heldPrevious}, nil
	case hasRecPrevious && same(heldPrevious.Value, noPrevious.Value) && !same(recPrevious.Value, noPrevious.Value):
		swapped, err := store.SwapFingerprints(ctx, db.FingerprintSwap{Old: recPrevious.Value, New: heldPrevious})
		if err != nil {
			return nil, fmt.Errorf("recording that the previous request-info key was dropped: %w", err)
		}
		if swapped {
			return []db.Fingerprint{heldPrevious}, nil
		}
	}
	return nil, nil
}
