package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ListTOTPSecrets returns up to limit TOTP secrets, confirmed or not, of
// user IDs after after, in user ID order: a page of a walk over every
// secret (start with after ""), for re-sealing them under a new key.
func (s *DB) ListTOTPSecrets(ctx context.Context, after string, limit int) ([]TOTPSecret, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: limit %d", ErrInvalid, limit)
	}
	rows, err := s.sql.QueryContext(ctx,
		"SELECT user_id, secret_ciphertext, confirmed_ms, last_used_step, created_ms FROM totp_secrets WHERE user_id > ? ORDER BY user_id LIMIT ?",
		after, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []TOTPSecret
	for rows.Next() {
		var (
			t         TOTPSecret
			confirmed sql.NullInt64
		)
		if err := rows.Scan(&t.UserID, &t.Ciphertext, &confirmed, &t.LastUsedStep, &t.CreatedMs); err != nil {
			return nil, classify(err)
		}
		t.ConfirmedMs = confirmed.Int64
		out = append(out, t)
	}
	return out, classify(rows.Err())
}

// ReplaceTOTPCiphertext replaces the user's sealed TOTP secret old by
// resealed (the same secret sealed under another key), only if the row
// still holds old: an enrolment or a removal since old was read wins,
// and the call returns false. Nothing else of the row changes.
func (s *DB) ReplaceTOTPCiphertext(ctx context.Context, userID string, old, resealed []byte) (bool, error) {
	if len(resealed) > 255 {
		return false, fmt.Errorf("%w: ciphertext over 255 bytes", ErrInvalid)
	}
	err := affectedOne(s.sql.ExecContext(ctx,
		"UPDATE totp_secrets SET secret_ciphertext = ? WHERE user_id = ? AND secret_ciphertext = ?", resealed, userID, old))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
