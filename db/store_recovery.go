package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// RecoverPassword sets a user's password with the recovery code codeID
// (a CodeRecovery code), in one transaction: the code must be usable
// (neither consumed nor invalidated, and not expired at nowMs) and the
// address it was mailed to must still be a verified address of its
// user, who must not be deleted; then the password hash is set, the code
// is consumed and every other pending recovery code of the user is
// invalidated (one reset ends them all). So a code is spent at most once,
// and only together with the password change.
//
// It fails with ErrCodeSpent when the code is consumed, invalidated or
// expired, or is not a recovery code; ErrNotFound when there is no such
// code or its address or user is gone (or the address is no longer
// verified); ErrInvalid for an empty hash or an unset time. It returns
// the code as it was before.
func (s *DB) RecoverPassword(ctx context.Context, codeID, passwordHash string, nowMs int64) (Code, error) {
	if err := errors.Join(checkText("password hash", passwordHash), requireMs("nowMs", nowMs)); err != nil {
		return Code{}, err
	}
	if passwordHash == "" {
		return Code{}, fmt.Errorf("%w: an empty password hash", ErrInvalid)
	}
	var c Code
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCode(tx.QueryRowContext(ctx, "SELECT "+codeColumns+" FROM verification_codes WHERE id = ?"+s.forUpdate(), codeID).Scan)
		switch {
		case err != nil:
			return err
		case c.Kind != CodeRecovery || c.ConsumedMs != 0 || c.InvalidatedMs != 0 || c.ExpiresMs <= nowMs:
			return ErrCodeSpent
		case c.UserID == "" || c.EmailID == "":
			return ErrNotFound
		}
		var one int
		if err := tx.QueryRowContext(ctx,
			"SELECT 1 FROM emails e JOIN users u ON u.id = e.user_id WHERE e.id = ? AND e.user_id = ? AND e.verified_ms IS NOT NULL AND u.deleted_ms IS NULL"+s.forUpdate(),
			c.EmailID, c.UserID).Scan(&one); err != nil {
			return err
		}
		if err := affectedOne(tx.ExecContext(ctx,
			"UPDATE users SET password_hash = ?, updated_ms = ? WHERE id = ? AND deleted_ms IS NULL", passwordHash, nowMs, c.UserID)); err != nil {
			return err
		}
		if err := affectedOne(tx.ExecContext(ctx,
			"UPDATE verification_codes SET consumed_ms = ? WHERE id = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL AND expires_ms > ?",
			nowMs, c.ID, nowMs)); err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrCodeSpent
			}
			return err
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE verification_codes SET invalidated_ms = ? WHERE user_id = ? AND kind = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL",
			nowMs, c.UserID, CodeRecovery)
		return err
	})
	if err != nil {
		return Code{}, err
	}
	return c, nil
}
