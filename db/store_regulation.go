package db

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"time"
)

// Subject kinds of brute-force regulation (the README's "Brute force and enumeration").
const (
	// RegulateAccount regulates an account; the subject is the user ID
	// or the normalized email address that was tried.
	RegulateAccount = "account"
	// RegulateIP regulates a client source: an IPv4 address or an IPv6
	// /64.
	RegulateIP = "ip"
	// RegulateAccountIP regulates one account from one source; the
	// subject is a hash of both.
	RegulateAccountIP = "account-ip"
	// RegulateMail counts the login codes asked for an address.
	RegulateMail = "mail"
	// RegulateMailIP counts the login codes asked from a source.
	RegulateMailIP = "mail-ip"
	// RegulateFactor regulates an account at the steps only someone past
	// its first factor reaches (the TOTP login step, the proofs of an
	// authenticated user); the subject is the user ID.
	RegulateFactor = "factor"
	// RegulateMailPair counts the login codes asked for one address from
	// one source; the subject is a hash of both.
	RegulateMailPair = "mail-pair"
)

// RecordFailure records one failed login step (password, code, totp...,
// at most 16 characters) of the subject (one of the Regulate kinds;
// subject at most 320 characters) at ms. The row's ID is a
// UUIDv7 of ms with random bits from crypto/rand; nothing refers to it.
// It fails with ErrInvalid for an unknown kind or a value too long.
func (s *DB) RecordFailure(ctx context.Context, kind, subject, step string, ms int64) error {
	id := NewID(time.UnixMilli(ms), rand.Reader)
	_, err := s.sql.ExecContext(ctx,
		"INSERT INTO regulation_failures (id, subject_kind, subject, step, failed_ms) VALUES (?, ?, ?, ?, ?)",
		id, kind, subject, step, ms)
	return classify(err)
}

// CountFailures returns how many failures of the subject were recorded at
// or after sinceMs, all steps together.
func (s *DB) CountFailures(ctx context.Context, kind, subject string, sinceMs int64) (int, error) {
	var n int
	err := s.sql.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM regulation_failures WHERE subject_kind = ? AND subject = ? AND failed_ms >= ?",
		kind, subject, sinceMs).Scan(&n)
	return n, classify(err)
}

// Ban bans the subject until untilMs. An existing ban keeps the later of
// its end and untilMs, so a short ban never shortens a long one. It fails
// with ErrInvalid for an unknown kind or a subject too long.
func (s *DB) Ban(ctx context.Context, kind, subject string, untilMs int64) error {
	query := "INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES (?, ?, ?)" +
		" ON CONFLICT (subject_kind, subject) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)"
	args := []any{kind, subject, untilMs}
	if s.dialect == DialectMySQL {
		query = "INSERT INTO regulation_bans (subject_kind, subject, until_ms) VALUES (?, ?, ?)" +
			" ON DUPLICATE KEY UPDATE until_ms = GREATEST(until_ms, ?)"
		args = append(args, untilMs)
	}
	_, err := s.sql.ExecContext(ctx, query, args...)
	return classify(err)
}

// BannedUntil returns when the subject's ban ends, or 0 when it has none.
// A ban whose end has passed (but is not pruned yet) is returned as it
// is: the subject is banned while nowMs < BannedUntil.
func (s *DB) BannedUntil(ctx context.Context, kind, subject string) (int64, error) {
	var until int64
	err := s.sql.QueryRowContext(ctx,
		"SELECT until_ms FROM regulation_bans WHERE subject_kind = ? AND subject = ?", kind, subject).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return until, classify(err)
}

// PruneRegulation deletes the failures recorded before beforeMs and the
// bans that ended before beforeMs, in one transaction, and returns how
// many rows it deleted. Pass a time older than the longest counting
// window.
func (s *DB) PruneRegulation(ctx context.Context, beforeMs int64) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, query := range []string{
			"DELETE FROM regulation_failures WHERE failed_ms < ?",
			"DELETE FROM regulation_bans WHERE until_ms < ?",
		} {
			res, err := tx.ExecContext(ctx, query, beforeMs)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// RecentLoginIPs returns the IP addresses (as stored, newest first, at
// most limit) of the sessions created or refreshed at or after sinceMs by
// the user whose verified address has the key emailKey (see EmailKey).
// An address nobody verified has none; sessions whose IP the purge
// cleared (older than the personal-data retention) give none. It is one query, whether or not
// the address has an account.
func (s *DB) RecentLoginIPs(ctx context.Context, emailKey string, sinceMs int64, limit int) ([]string, error) {
	rows, err := s.sql.QueryContext(ctx,
		"SELECT s.ip FROM sessions s JOIN emails e ON e.user_id = s.user_id"+
			" WHERE e.verified_key = ? AND (s.created_ms >= ? OR s.refreshed_ms >= ?) AND s.ip <> ''"+
			" ORDER BY s.refreshed_ms DESC LIMIT ?",
		emailKey, sinceMs, sinceMs, limit)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var ips []string
	for rows.Next() {
		var ip string
		if err := rows.Scan(&ip); err != nil {
			return nil, classify(err)
		}
		ips = append(ips, ip)
	}
	return ips, classify(rows.Err())
}
