package db

import (
	"context"
	"database/sql"
	"fmt"
)

// ErrMailLimit means a subject had its quota of mails within the window:
// a *MailLimitError tells when the next one may go. It wraps ErrConflict.
var ErrMailLimit = fmt.Errorf("db: mail limit reached: %w", ErrConflict)

// MailLimitError is the error TakeMailQuota returns over a quota.
type MailLimitError struct {
	// Subject is the subject over its quota.
	Subject string
	// RetryMs is when (Unix ms) the oldest mail counted leaves the window.
	RetryMs int64
}

// Error says which subject is over its quota (a subject is a hash or an
// ID, never an address).
func (e *MailLimitError) Error() string {
	return fmt.Sprintf("db: mail limit reached for %s until %d", e.Subject, e.RetryMs)
}

// Unwrap is ErrMailLimit.
func (e *MailLimitError) Unwrap() error { return ErrMailLimit }

// MailQuota is one windowed counter TakeMailQuota checks.
type MailQuota struct {
	// ID is the ID of the row that counts the mail. Required.
	ID string
	// Subject names what is counted (at most 80 characters), e.g.
	// "address:<hash>" or "user:<id>". Required.
	Subject string
	// Limit is how many mails the subject may have sent within the
	// window. Required: at least 1.
	Limit int
}

// TakeMailQuota counts one mail sent at window.NowMs against each quota, in one
// transaction, unless a quota already counts Limit mails since
// window.StartMs: then nothing is counted and it fails with a
// *MailLimitError for the quota that frees up last. Rows of the
// subjects older than the window are deleted. It fails with ErrInvalid
// for a missing ID, an empty subject or a limit under 1.
func (s *DB) TakeMailQuota(ctx context.Context, quotas []MailQuota, window MailWindow) error {
	windowStartMs, nowMs := window.StartMs, window.NowMs
	for _, q := range quotas {
		if q.Subject == "" || len(q.Subject) > 80 || q.Limit < 1 {
			return fmt.Errorf("%w: mail quota %q limit %d", ErrInvalid, q.Subject, q.Limit)
		}
		if err := requireID("mail quota ID", q.ID); err != nil {
			return err
		}
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var over *MailLimitError
		for _, q := range quotas {
			if _, err := tx.ExecContext(ctx, "DELETE FROM mail_sends WHERE subject = ? AND sent_ms <= ?", q.Subject, windowStartMs); err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx,
				"SELECT sent_ms FROM mail_sends WHERE subject = ? AND sent_ms > ? ORDER BY sent_ms DESC"+s.forUpdate(), q.Subject, windowStartMs)
			if err != nil {
				return err
			}
			var sent []int64
			for rows.Next() {
				var ms int64
				if err := rows.Scan(&ms); err != nil {
					rows.Close()
					return err
				}
				sent = append(sent, ms)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(sent) >= q.Limit {
				// The Limit-th newest mail must leave the window first.
				retry := sent[q.Limit-1] + (nowMs - windowStartMs)
				if over == nil || retry > over.RetryMs {
					over = &MailLimitError{Subject: q.Subject, RetryMs: retry}
				}
			}
		}
		if over != nil {
			return over
		}
		for _, q := range quotas {
			if _, err := tx.ExecContext(ctx, "INSERT INTO mail_sends (id, subject, sent_ms) VALUES (?, ?, ?)", q.ID, q.Subject, nowMs); err != nil {
				return err
			}
		}
		return nil
	})
}
