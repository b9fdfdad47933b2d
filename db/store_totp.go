package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Errors of the TOTP store, checked with errors.Is. Both wrap ErrConflict.
var (
	// ErrTOTPStepUsed means the TOTP step was already accepted for the
	// user, or a later one was: a code is never accepted twice.
	ErrTOTPStepUsed = fmt.Errorf("db: TOTP step already used: %w", ErrConflict)
	// ErrTOTPConfirmed means the user's TOTP secret is already confirmed:
	// it cannot be confirmed again nor replaced by a new enrolment
	// without DeleteTOTP first.
	ErrTOTPConfirmed = fmt.Errorf("db: TOTP already confirmed: %w", ErrConflict)
)

// SaveTOTPSecret stores an unconfirmed TOTP secret for the user (an
// enrolment), replacing an earlier unconfirmed one. Only UserID,
// Ciphertext and CreatedMs are read; last_used_step is kept when a
// secret is replaced, so no step accepted before is accepted again. It
// fails with ErrTOTPConfirmed when the user's secret is already
// confirmed (turning TOTP off takes DeleteTOTP, an explicit act),
// ErrForeignKey when the user does not exist, ErrInvalid when the
// ciphertext is over 255 bytes.
func (s *DB) SaveTOTPSecret(ctx context.Context, secret TOTPSecret) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var confirmed sql.NullInt64
		err := tx.QueryRowContext(ctx, "SELECT confirmed_ms FROM totp_secrets WHERE user_id = ?"+s.forUpdate(), secret.UserID).Scan(&confirmed)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err := tx.ExecContext(ctx,
				"INSERT INTO totp_secrets (user_id, secret_ciphertext, confirmed_ms, last_used_step, created_ms) VALUES (?, ?, NULL, 0, ?)",
				secret.UserID, secret.Ciphertext, secret.CreatedMs)
			return err
		case err != nil:
			return err
		case confirmed.Valid:
			return ErrTOTPConfirmed
		}
		_, err = tx.ExecContext(ctx,
			"UPDATE totp_secrets SET secret_ciphertext = ?, created_ms = ? WHERE user_id = ?",
			secret.Ciphertext, secret.CreatedMs, secret.UserID)
		return err
	})
}

// GetTOTPSecret returns the user's TOTP secret, confirmed or not
// (ConfirmedMs 0). It fails with ErrNotFound when the user has none.
func (s *DB) GetTOTPSecret(ctx context.Context, userID string) (TOTPSecret, error) {
	var (
		t         TOTPSecret
		confirmed sql.NullInt64
	)
	err := s.sql.QueryRowContext(ctx,
		"SELECT user_id, secret_ciphertext, confirmed_ms, last_used_step, created_ms FROM totp_secrets WHERE user_id = ?", userID,
	).Scan(&t.UserID, &t.Ciphertext, &confirmed, &t.LastUsedStep, &t.CreatedMs)
	t.ConfirmedMs = confirmed.Int64
	return t, classify(err)
}

// ConfirmTOTP marks the user's TOTP secret confirmed at ms: from then on
// the user's logins ask for a TOTP code. The caller has checked a code
// against the secret, and should spend its step with UseTOTPStep. It
// fails with ErrNotFound when the user has no secret, ErrTOTPConfirmed
// when it is already confirmed.
func (s *DB) ConfirmTOTP(ctx context.Context, userID string, ms int64) error {
	err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE totp_secrets SET confirmed_ms = ? WHERE user_id = ? AND confirmed_ms IS NULL", ms, userID))
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := s.GetTOTPSecret(ctx, userID); err != nil {
		return err
	}
	return ErrTOTPConfirmed
}

// DeleteTOTP removes the user's TOTP secret, confirmed or not, turning
// TOTP off, and the user's recovery codes with it, in one transaction: a
// code of the old second factor must not outlive it. It fails with
// ErrNotFound when the user has no secret (and then deletes nothing).
func (s *DB) DeleteTOTP(ctx context.Context, userID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := affectedOne(tx.ExecContext(ctx, "DELETE FROM totp_secrets WHERE user_id = ?", userID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM factor_recovery_codes WHERE user_id = ?", userID)
		return err
	})
}

// UseTOTPStep records step (the 30 s time step of the code the user just
// proved) as the user's last accepted step, atomically and only if it is
// later than the last one: a single conditional UPDATE, so of any number
// of concurrent uses of one step exactly one succeeds. The caller
// accepts the code only when this returns nil. It fails with
// ErrTOTPStepUsed (an ErrConflict) when that step or a later one was
// already accepted, ErrNotFound when the user has no secret.
func (s *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE totp_secrets SET last_used_step = ? WHERE user_id = ? AND last_used_step < ?", step, userID, step))
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	if _, err := s.GetTOTPSecret(ctx, userID); err != nil {
		return err
	}
	return ErrTOTPStepUsed
}
