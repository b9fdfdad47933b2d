package db

import (
	"context"
	"database/sql"
	"fmt"
)

// Recovery codes of the second factor: a user with TOTP holds a batch of
// single-use codes, any one of which replaces a TOTP code once at login.
// The store keeps the SHA-256 hash of each (the caller hashes), never the
// code; a used code keeps its row (used_ms set) until the batch is
// replaced, so the user can see how many are left.

// MaxRecoveryCodes bounds a batch of recovery codes.
const MaxRecoveryCodes = 32

// RecoveryCodesStatus is what the user may know of their recovery codes:
// how many are still unused, and when the batch was made (0 when the user
// has none).
type RecoveryCodesStatus struct {
	Left      int
	CreatedMs int64
}

// ReplaceRecoveryCodes replaces all of the user's recovery codes by the
// batch hashes, made at createdMs, in one transaction: the old codes stop
// working when the new ones exist. It fails with ErrInvalid when the
// batch is empty, has more than MaxRecoveryCodes hashes or a hash over 64
// bytes, ErrDuplicate when two hashes are equal, ErrForeignKey when the
// user does not exist.
func (s *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, createdMs int64) error {
	if len(hashes) == 0 || len(hashes) > MaxRecoveryCodes {
		return fmt.Errorf("db: %d recovery codes, want 1 to %d: %w", len(hashes), MaxRecoveryCodes, ErrInvalid)
	}
	for _, h := range hashes {
		if h == "" || len(h) > 64 {
			return fmt.Errorf("db: recovery code hash of %d bytes: %w", len(h), ErrInvalid)
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM factor_recovery_codes WHERE user_id = ?", userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx,
				"INSERT INTO factor_recovery_codes (user_id, code_hash, created_ms, used_ms) VALUES (?, ?, ?, NULL)",
				userID, h, createdMs); err != nil {
				return err
			}
		}
		return nil
	})
}

// UseRecoveryCode spends the user's unused recovery code of hash hash at
// nowMs with a single conditional UPDATE, so of any number of concurrent
// uses of one code exactly one succeeds, and returns how many unused
// codes the user has left after it. It fails with ErrNotFound when the
// user has no such unused code (wrong, used or replaced).
func (s *DB) UseRecoveryCode(ctx context.Context, userID, hash string, nowMs int64) (left int, err error) {
	if err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE factor_recovery_codes SET used_ms = ? WHERE user_id = ? AND code_hash = ? AND used_ms IS NULL",
		nowMs, userID, hash)); err != nil {
		return 0, err
	}
	st, err := s.GetRecoveryCodesStatus(ctx, userID)
	return st.Left, err
}

// GetRecoveryCodesStatus returns how many of the user's recovery codes are
// unused and when the batch was made; a user without codes (or an unknown
// user) has the zero status.
func (s *DB) GetRecoveryCodesStatus(ctx context.Context, userID string) (RecoveryCodesStatus, error) {
	var (
		st      RecoveryCodesStatus
		created sql.NullInt64
	)
	err := s.sql.QueryRowContext(ctx,
		"SELECT COUNT(CASE WHEN used_ms IS NULL THEN 1 END), MAX(created_ms) FROM factor_recovery_codes WHERE user_id = ?", userID,
	).Scan(&st.Left, &created)
	st.CreatedMs = created.Int64
	return st, classify(err)
}

// DeleteRecoveryCodes removes all of the user's recovery codes and
// returns how many rows went (used ones included); none is no error.
func (s *DB) DeleteRecoveryCodes(ctx context.Context, userID string) (int64, error) {
	res, err := s.sql.ExecContext(ctx, "DELETE FROM factor_recovery_codes WHERE user_id = ?", userID)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}
