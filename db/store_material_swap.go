package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FingerprintSwap is one change of SwapFingerprints: the row New.Name,
// from the value Old to New.
type FingerprintSwap struct {
	// Old is the value the row must hold. 64 hex digits.
	Old string
	// New is the row after the swap.
	New Fingerprint
}

// SwapFingerprints makes every swap in one transaction, only if each row
// still holds its Old value (a compare-and-swap: of two instances
// recording the same change at once, one swaps and the other finds it
// done), and reports whether it did; when any row differs (or is
// missing), nothing changes. Old and new value must differ. It fails with
// ErrInvalid for a name or value out of bounds.
func (s *DB) SwapFingerprints(ctx context.Context, swaps ...FingerprintSwap) (bool, error) {
	for _, sw := range swaps {
		f := sw.New
		if f.Name == "" || len(f.Name) > 80 || len(f.Value) != 64 || len(sw.Old) != 64 {
			return false, fmt.Errorf("%w: fingerprint %q", ErrInvalid, f.Name)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, sw := range swaps {
			res, err := tx.ExecContext(ctx, "UPDATE shared_material SET fingerprint = ?, created_ms = ? WHERE name = ? AND fingerprint = ?",
				sw.New.Value, sw.New.CreatedMs, sw.New.Name, sw.Old)
			if err := affectedOne(res, err); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
