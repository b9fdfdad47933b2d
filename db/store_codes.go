package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrCodeSpent means a code can no longer be used: it was consumed,
// invalidated (a newer code replaced it, or it ran out of attempts) or
// has expired. It wraps ErrConflict; retrying does not help.
var ErrCodeSpent = fmt.Errorf("db: code consumed, invalidated or expired: %w", ErrConflict)

// codeColumns is the column list scanCode reads, in its order.
const codeColumns = "id, code_hash, kind, user_id, email_id, state, created_ms, expires_ms, attempts, consumed_ms, invalidated_ms, amr"

// scanCode reads the codeColumns of one row.
func scanCode(scan func(dest ...any) error) (Code, error) {
	var (
		c                         Code
		userID, emailID, state    sql.NullString
		consumedMs, invalidatedMs sql.NullInt64
	)
	err := scan(&c.ID, &c.Hash, &c.Kind, &userID, &emailID, &state, &c.CreatedMs, &c.ExpiresMs, &c.Attempts, &consumedMs, &invalidatedMs, &c.AMR)
	c.UserID, c.EmailID, c.State = userID.String, emailID.String, state.String
	c.ConsumedMs, c.InvalidatedMs = consumedMs.Int64, invalidatedMs.Int64
	return c, classify(err)
}

// CreateCode stores a new code and, in the same transaction, invalidates
// (invalidated_ms = c.CreatedMs) the older codes it replaces, those
// neither consumed nor invalidated yet:
//   - CodeEmailVerification: the codes of the same kind for c.EmailID
//     (required);
//   - CodeRecovery: the codes of the same kind for c.EmailID (required,
//     as is c.UserID);
//   - CodeLogin and CodeTOTPFlow: the codes of the same kind for c.State
//     (required), the login the code belongs to.
//
// So only the newest code of an address or a login can be used. It fails
// with ErrInvalid when the kind is unknown or the field it needs is
// empty, ErrDuplicate when the ID or hash exists, ErrForeignKey when the
// user or email does not.
func (s *DB) CreateCode(ctx context.Context, c Code) error {
	var replaces, key string
	switch c.Kind {
	case CodeEmailVerification:
		replaces, key = "email_id", c.EmailID
	case CodeRecovery:
		if c.UserID == "" {
			return fmt.Errorf("%w: a %s code needs its user_id", ErrInvalid, c.Kind)
		}
		replaces, key = "email_id", c.EmailID
	case CodeLogin, CodeTOTPFlow:
		replaces, key = "state", c.State
	default:
		return fmt.Errorf("%w: unknown code kind %q", ErrInvalid, c.Kind)
	}
	if key == "" {
		return fmt.Errorf("%w: a %s code needs its %s", ErrInvalid, c.Kind, replaces)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"UPDATE verification_codes SET invalidated_ms = ? WHERE kind = ? AND "+replaces+" = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL",
			c.CreatedMs, c.Kind, key); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			"INSERT INTO verification_codes ("+codeColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c.ID, c.Hash, c.Kind, nullString(c.UserID), nullString(c.EmailID), nullString(c.State),
			c.CreatedMs, c.ExpiresMs, c.Attempts, nullMs(c.ConsumedMs), nullMs(c.InvalidatedMs), c.AMR)
		return err
	})
}

// GetCodeByHash returns the code with the given hash, usable or not (the
// caller checks its kind, state or email, and ConsumeCode checks the
// rest). It fails with ErrNotFound when there is none.
func (s *DB) GetCodeByHash(ctx context.Context, hash string) (Code, error) {
	return scanCode(s.sql.QueryRowContext(ctx, "SELECT "+codeColumns+" FROM verification_codes WHERE code_hash = ?", hash).Scan)
}

// GetPendingCode returns the newest code of the kind for key (the email
// ID for CodeEmailVerification and CodeRecovery, the login state
// otherwise) that is
// neither consumed nor invalidated, expired or not: the code a wrong
// guess counts against (RecordCodeAttempt), since a wrong code has no row
// of its own. It fails with ErrNotFound when there is none, ErrInvalid
// for an unknown kind.
func (s *DB) GetPendingCode(ctx context.Context, kind, key string) (Code, error) {
	var column string
	switch kind {
	case CodeEmailVerification, CodeRecovery:
		column = "email_id"
	case CodeLogin, CodeTOTPFlow:
		column = "state"
	default:
		return Code{}, fmt.Errorf("%w: unknown code kind %q", ErrInvalid, kind)
	}
	return scanCode(s.sql.QueryRowContext(ctx,
		"SELECT "+codeColumns+" FROM verification_codes WHERE kind = ? AND "+column+" = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL ORDER BY created_ms DESC, id DESC LIMIT 1",
		kind, key).Scan)
}

// RecordCodeAttempt counts one failed attempt against the code, atomically,
// and returns how many attempts remain (maxAttempts minus the attempts
// made). The attempt that reaches maxAttempts also invalidates the code
// at nowMs, so it can never be consumed. It fails with ErrNotFound when
// there is no such code, ErrCodeSpent (remaining 0) when the code was
// already consumed, invalidated or out of attempts, ErrInvalid when
// maxAttempts < 1.
func (s *DB) RecordCodeAttempt(ctx context.Context, id string, maxAttempts int, nowMs int64) (int, error) {
	if maxAttempts < 1 {
		return 0, fmt.Errorf("%w: maxAttempts %d < 1", ErrInvalid, maxAttempts)
	}
	var attempts int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// invalidated_ms is assigned first: MySQL evaluates a single-table
		// UPDATE's assignments left to right, each seeing the previous
		// ones, while SQLite sees the old row; in this order both read the
		// old attempts.
		res, err := tx.ExecContext(ctx,
			"UPDATE verification_codes SET invalidated_ms = CASE WHEN attempts + 1 >= ? THEN ? ELSE NULL END, attempts = attempts + 1"+
				" WHERE id = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL AND attempts < ?",
			maxAttempts, nowMs, id, maxAttempts)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT attempts FROM verification_codes WHERE id = ?", id).Scan(&attempts); err != nil {
			return err
		}
		if n == 0 {
			return ErrCodeSpent
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return max(maxAttempts-attempts, 0), nil
}

// ConsumeCode uses the code once, at nowMs: a single conditional UPDATE
// (not consumed, not invalidated, not expired), so of any number of
// concurrent consumers exactly one succeeds. A code invalidated by
// RecordCodeAttempt (out of attempts) or by a newer code cannot be
// consumed. It fails with ErrNotFound when there is no such code, and
// ErrCodeSpent (an ErrConflict) when it is consumed, invalidated or
// expired.
func (s *DB) ConsumeCode(ctx context.Context, id string, nowMs int64) error {
	err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE verification_codes SET consumed_ms = ? WHERE id = ? AND consumed_ms IS NULL AND invalidated_ms IS NULL AND expires_ms > ?",
		nowMs, id, nowMs))
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	var one int
	if err := s.sql.QueryRowContext(ctx, "SELECT 1 FROM verification_codes WHERE id = ?", id).Scan(&one); err != nil {
		return classify(err)
	}
	return ErrCodeSpent
}
