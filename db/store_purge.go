package db

import (
	"context"
	"fmt"
)

// DefaultPurgeBatch is the default of PurgePolicy.Batch.
const DefaultPurgeBatch = 1000

// PurgePolicy says what Purge deletes: each cutoff is a time in Unix ms,
// and a row is purged when its time is before the cutoff. A zero cutoff
// purges nothing of its kind.
type PurgePolicy struct {
	// SessionsEndedBeforeMs: sessions that expired or were ended before
	// it are deleted with their refresh tokens, and refresh tokens that
	// expired before it are deleted from sessions still running.
	SessionsEndedBeforeMs int64
	// CodesExpiredBeforeMs: verification, login and TOTP-flow codes
	// that expired before it are deleted, consumed or not (a code is
	// consumed before it expires, so consumed codes go too), and so are
	// the OpenID provider's authorization requests (with their codes) and
	// the external sign-ins in progress that expired before it.
	CodesExpiredBeforeMs int64
	// RegulationBeforeMs: login failures recorded before it and bans
	// that ended before it are deleted (failures and bans name the
	// addresses and sources that were tried). Pass a time older than the
	// longest counting window.
	RegulationBeforeMs int64
	// MailSendsBeforeMs: mail counters of mails sent before it are
	// deleted. Pass a time older than the mail window.
	MailSendsBeforeMs int64
	// RevocationsExpiredBeforeMs: revocations whose expires_ms is before
	// it are deleted. expires_ms already covers the longest token
	// lifetime and the clock skew the verifiers allow, so a revocation
	// past it refuses no token that would otherwise be accepted: pass
	// the current time (or earlier).
	RevocationsExpiredBeforeMs int64
	// PersonalDataBeforeMs: the IP address and user agent of sessions
	// neither created nor refreshed since it are cleared (set to "").
	PersonalDataBeforeMs int64
	// AuditEventsBeforeMs: audit events that happened before it are
	// deleted (the audit log's retention).
	AuditEventsBeforeMs int64
	// Batch is how many rows one statement deletes or updates at most:
	// Purge repeats a statement until it touches fewer, so that no one
	// statement holds its table's locks for long. Optional. Default
	// DefaultPurgeBatch.
	Batch int
}

// PurgeResult counts the rows Purge deleted (or, for SessionIPsCleared,
// updated), per table.
type PurgeResult struct {
	Sessions           int64
	SessionTokens      int64
	VerificationCodes  int64
	RegulationFailures int64
	RegulationBans     int64
	MailSends          int64
	Revocations        int64
	SessionIPsCleared  int64
	OIDCAuthRequests   int64
	OIDCSignIns        int64
	AuditEvents        int64
}

// Total is the sum of the counts.
func (r PurgeResult) Total() int64 {
	return r.Sessions + r.SessionTokens + r.VerificationCodes + r.RegulationFailures +
		r.RegulationBans + r.MailSends + r.Revocations + r.SessionIPsCleared + r.OIDCAuthRequests + r.OIDCSignIns + r.AuditEvents
}

// Purge deletes the rows past their retention (see PurgePolicy) in
// batches of at most p.Batch rows, each batch its own statement (no
// transaction across batches), and returns how many rows it deleted per
// table. Deletes are idempotent: several instances purging one database
// at once only share the work. On an error (or when ctx ends) it returns
// the counts so far with the error. It fails with ErrInvalid for a
// negative batch.
func (s *DB) Purge(ctx context.Context, p PurgePolicy) (PurgeResult, error) {
	var res PurgeResult
	if p.Batch < 0 {
		return res, fmt.Errorf("%w: purge batch %d", ErrInvalid, p.Batch)
	}
	if p.Batch == 0 {
		p.Batch = DefaultPurgeBatch
	}
	steps := []struct {
		table, where string
		cutoff       int64
		count        *int64
		update       string
	}{
		// Tokens first: a session's delete then cascades over fewer rows.
		{"session_tokens", "expires_ms < ?", p.SessionsEndedBeforeMs, &res.SessionTokens, ""},
		{"sessions", "expires_ms < ?", p.SessionsEndedBeforeMs, &res.Sessions, ""},
		{"sessions", "invalidated_ms < ?", p.SessionsEndedBeforeMs, &res.Sessions, ""},
		{"verification_codes", "expires_ms < ?", p.CodesExpiredBeforeMs, &res.VerificationCodes, ""},
		{"oidc_auth_requests", "expires_ms < ?", p.CodesExpiredBeforeMs, &res.OIDCAuthRequests, ""},
		{"oidc_rp_flows", "expires_ms < ?", p.CodesExpiredBeforeMs, &res.OIDCSignIns, ""},
		{"regulation_failures", "failed_ms < ?", p.RegulationBeforeMs, &res.RegulationFailures, ""},
		{"regulation_bans", "until_ms < ?", p.RegulationBeforeMs, &res.RegulationBans, ""},
		{"mail_sends", "sent_ms < ?", p.MailSendsBeforeMs, &res.MailSends, ""},
		{"revocations", "expires_ms < ?", p.RevocationsExpiredBeforeMs, &res.Revocations, ""},
		// refreshed_ms is never before created_ms (a session starts
		// refreshed at its creation): one indexed column says both.
		{"sessions", "refreshed_ms < ? AND (ip <> '' OR user_agent <> '')", p.PersonalDataBeforeMs,
			&res.SessionIPsCleared, "ip = '', user_agent = ''"},
		{"audit_events", "time_ms < ?", p.AuditEventsBeforeMs, &res.AuditEvents, ""},
	}
	for _, st := range steps {
		if st.cutoff <= 0 {
			continue
		}
		query := s.batchQuery(st.table, st.where, st.update)
		for {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			r, err := s.sql.ExecContext(ctx, query, st.cutoff, p.Batch)
			if err != nil {
				return res, fmt.Errorf("purging %s: %w", st.table, classify(err))
			}
			n, err := r.RowsAffected()
			if err != nil {
				return res, fmt.Errorf("purging %s: %w", st.table, classify(err))
			}
			*st.count += n
			if n < int64(p.Batch) {
				break
			}
		}
	}
	return res, nil
}

// batchQuery is a DELETE (or, with set, an UPDATE) of at most ? rows of
// table matching where (whose one placeholder is the cutoff). MariaDB
// takes LIMIT on a one-table DELETE or UPDATE but not in an IN
// subquery; SQLite (as built here) takes it only in the subquery.
func (s *DB) batchQuery(table, where, set string) string {
	if s.dialect == DialectMySQL {
		if set != "" {
			return "UPDATE " + table + " SET " + set + " WHERE " + where + " LIMIT ?"
		}
		return "DELETE FROM " + table + " WHERE " + where + " LIMIT ?"
	}
	sub := "rowid IN (SELECT rowid FROM " + table + " WHERE " + where + " LIMIT ?)"
	if set != "" {
		return "UPDATE " + table + " SET " + set + " WHERE " + sub
	}
	return "DELETE FROM " + table + " WHERE " + sub
}
