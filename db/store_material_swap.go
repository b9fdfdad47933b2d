package db

import (
	"context"
	"fmt"
)

// SwapFingerprint replaces the fingerprint recorded under f.Name with f,
// only if the recorded value is still old (a compare-and-swap: of two
// instances recording the same change at once, one swaps and the other
// finds it done), and reports whether it did. It fails with ErrInvalid for
// a name or value out of bounds.
func (s *DB) SwapFingerprint(ctx context.Context, old string, f Fingerprint) (bool, error) {
	if f.Name == "" || len(f.Name) > 80 || len(f.Value) != 64 || len(old) != 64 {
		return false, fmt.Errorf("%w: fingerprint %q", ErrInvalid, f.Name)
	}
	res, err := s.sql.ExecContext(ctx, "UPDATE shared_material SET fingerprint = ?, created_ms = ? WHERE name = ? AND fingerprint = ?",
		f.Value, f.CreatedMs, f.Name, old)
	if err != nil {
		return false, classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, classify(err)
	}
	return n == 1, nil
}
