package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Errors of the session store, checked with errors.Is (and errors.As for
// *RefreshReusedError).
var (
	// ErrSessionInvalid means the session was invalidated (logout,
	// revocation, reuse detection) or has expired, or the refresh token
	// presented has expired: the caller must log in again. It is not
	// retried.
	ErrSessionInvalid = errors.New("db: session invalidated or expired")
	// ErrRefreshReused means a refresh token was presented after it had
	// already been rotated. It wraps ErrConflict. The error returned is a
	// *RefreshReusedError that says when the token was consumed and which
	// session it belongs to, so that the caller can tell two racing tabs
	// (within its grace window) from a replayed token (revoke the session).
	ErrRefreshReused = fmt.Errorf("db: refresh token already used: %w", ErrConflict)
)

// RefreshReusedError is the error RotateRefreshToken returns when the
// token had already been consumed. It unwraps to ErrRefreshReused (and so
// to ErrConflict).
type RefreshReusedError struct {
	// SessionID is the session the token belongs to.
	SessionID string
	// Family is the token's rotation family.
	Family string
	// ConsumedMs is when the token was rotated the first time.
	ConsumedMs int64
	// ReplacedBy is the hash of the token that replaced it.
	ReplacedBy string
}

// Error says which session the reused token belongs to; it holds no
// token or hash.
func (e *RefreshReusedError) Error() string {
	return fmt.Sprintf("%v (session %s, consumed at %d ms)", ErrRefreshReused, e.SessionID, e.ConsumedMs)
}

// Unwrap returns ErrRefreshReused.
func (e *RefreshReusedError) Unwrap() error { return ErrRefreshReused }

// RotateResult is what a successful RotateRefreshToken did.
type RotateResult struct {
	// Session is the token's session, with RefreshedMs set to the
	// rotation time.
	Session Session
	// Previous is the consumed token, with ConsumedMs and ReplacedBy set.
	Previous RefreshToken
	// Next is the token stored in its place, with the session and family
	// of Previous.
	Next RefreshToken
	// Inputs are what the session's new tokens are minted from, read in
	// the rotation's transaction under the user's lock (see MintInputs).
	Inputs MintInputs
}

// Live reports whether the session is usable at nowMs: neither
// invalidated nor expired.
func (s Session) Live(nowMs int64) bool {
	return s.InvalidatedMs == 0 && s.ExpiresMs > nowMs
}

// Limits of ListSessions.
const (
	// sessionListDefault is the page size when the caller asks for 0.
	sessionListDefault = 100
	// sessionListMax is the largest page size accepted.
	sessionListMax = 1000
)

// sessionColumns is the column list scanSession reads, in its order.
const sessionColumns = "id, user_id, client_id, ip, user_agent, created_ms, expires_ms, refreshed_ms, invalidated_ms, invalidated_reason, secret_verified, amr, auth_time_ms"

// scanSession reads the sessionColumns of one row.
func scanSession(scan func(dest ...any) error) (Session, error) {
	var (
		s         Session
		clientID  sql.NullString
		invalidMs sql.NullInt64
		reason    sql.NullString
	)
	err := scan(&s.ID, &s.UserID, &clientID, &s.IP, &s.UserAgent, &s.CreatedMs, &s.ExpiresMs, &s.RefreshedMs, &invalidMs, &reason, &s.SecretVerified, &s.AMR, &s.AuthTimeMs)
	s.ClientID, s.InvalidatedMs, s.InvalidatedReason = clientID.String, invalidMs.Int64, reason.String
	return s, classify(err)
}

// tokenColumns is the column list scanToken reads, in its order.
const tokenColumns = "token_hash, session_id, family, created_ms, expires_ms, consumed_ms, replaced_by"

// scanToken reads the tokenColumns of one row.
func scanToken(scan func(dest ...any) error) (RefreshToken, error) {
	var (
		t          RefreshToken
		consumedMs sql.NullInt64
		replacedBy sql.NullString
	)
	err := scan(&t.Hash, &t.SessionID, &t.Family, &t.CreatedMs, &t.ExpiresMs, &consumedMs, &replacedBy)
	t.ConsumedMs, t.ReplacedBy = consumedMs.Int64, replacedBy.String
	return t, classify(err)
}

// forUpdate is the locking-read suffix of a SELECT inside a transaction:
// " FOR UPDATE" on MySQL, so the row read is the latest committed one and
// stays locked until the end of the transaction; "" on SQLite, whose
// transactions (BEGIN IMMEDIATE) already hold the database's write lock.
func (s *DB) forUpdate() string {
	if s.dialect == DialectMySQL {
		return " FOR UPDATE"
	}
	return ""
}

// CreateSession stores a new session and its first refresh token in one
// transaction: both rows or neither. first.SessionID and first.Family
// default to sess.ID; sess.RefreshedMs defaults to sess.CreatedMs. It
// fails with ErrDuplicate when the session ID or the token hash exists,
// ErrForeignKey when the user or client does not, ErrInvalid when a value
// breaks a column's limits or first names another session.
func (s *DB) CreateSession(ctx context.Context, sess Session, first RefreshToken) error {
	if first.SessionID == "" {
		first.SessionID = sess.ID
	}
	if first.SessionID != sess.ID {
		return fmt.Errorf("%w: the first refresh token names session %q, not %q", ErrInvalid, first.SessionID, sess.ID)
	}
	if first.Family == "" {
		first.Family = sess.ID
	}
	if sess.RefreshedMs == 0 {
		sess.RefreshedMs = sess.CreatedMs
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertSession(ctx, tx, sess); err != nil {
			return err
		}
		return insertToken(ctx, tx, first)
	})
}

// insertSession inserts one session.
func insertSession(ctx context.Context, q querier, sess Session) error {
	_, err := q.ExecContext(ctx,
		"INSERT INTO sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sess.ID, sess.UserID, nullString(sess.ClientID), sess.IP, sess.UserAgent,
		sess.CreatedMs, sess.ExpiresMs, sess.RefreshedMs, nullMs(sess.InvalidatedMs), nullString(sess.InvalidatedReason),
		sess.SecretVerified, sess.AMR, sess.AuthTimeMs,
	)
	return err
}

// insertToken inserts one refresh token.
func insertToken(ctx context.Context, q querier, t RefreshToken) error {
	_, err := q.ExecContext(ctx,
		"INSERT INTO session_tokens ("+tokenColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
		t.Hash, t.SessionID, t.Family, t.CreatedMs, t.ExpiresMs, nullMs(t.ConsumedMs), nullString(t.ReplacedBy),
	)
	return err
}

// GetSession returns the session with the given ID, live or not (see
// Session.Live). It fails with ErrNotFound when there is none.
func (s *DB) GetSession(ctx context.Context, id string) (Session, error) {
	return scanSession(s.sql.QueryRowContext(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = ?", id).Scan)
}

// ListSessions returns up to limit sessions, live or not, with IDs
// greater than afterID ("" for the first page), ordered by ID (UUIDv7, so
// by creation time). The next page starts after the last ID returned; a
// page shorter than limit is the last. limit 0 means 100; a negative
// limit or one above 1000 is ErrInvalid.
func (s *DB) ListSessions(ctx context.Context, afterID string, limit int) ([]Session, error) {
	switch {
	case limit < 0 || limit > sessionListMax:
		return nil, fmt.Errorf("%w: limit %d is outside 0..%d", ErrInvalid, limit, sessionListMax)
	case limit == 0:
		limit = sessionListDefault
	}
	return s.querySessions(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id > ? ORDER BY id LIMIT ?", afterID, limit)
}

// ListUserSessions returns every session of the user, live or not, oldest
// first. A user with no sessions (or no user) gives an empty list.
func (s *DB) ListUserSessions(ctx context.Context, userID string) ([]Session, error) {
	return s.querySessions(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE user_id = ? ORDER BY created_ms, id", userID)
}

// querySessions runs a query of sessionColumns.
func (s *DB) querySessions(ctx context.Context, query string, args ...any) ([]Session, error) {
	rows, err := s.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		sess, err := scanSession(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, sess)
	}
	return out, classify(rows.Err())
}

// GetRefreshToken returns the refresh token with the given hash, consumed
// or not. It fails with ErrNotFound when there is none.
func (s *DB) GetRefreshToken(ctx context.Context, hash string) (RefreshToken, error) {
	return scanToken(s.sql.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM session_tokens WHERE token_hash = ?", hash).Scan)
}

// RotateRefreshToken consumes the refresh token oldHash and stores next in
// its place, in one transaction. The consumption is a single conditional
// UPDATE (not consumed yet, not expired at nowMs), so of any number of
// concurrent rotations of one token exactly one succeeds. next.SessionID
// and next.Family are taken from the old token; the session's
// refreshed_ms becomes nowMs.
//
// It fails, writing nothing, with:
//   - ErrNotFound when no token has that hash;
//   - a *RefreshReusedError (ErrRefreshReused, ErrConflict) when the token
//     was already consumed, which is what every loser of a race gets;
//   - ErrSessionInvalid when the token has expired, or its session was
//     invalidated or has expired;
//   - ErrDuplicate when next.Hash exists.
//
// In the same transaction, under the user's lock, it reads the user's
// roles and accepted memberships for the new tokens (RotateResult.Inputs):
// a membership change either comes before and is seen, or comes after
// and revokes the tokens minted from them.
func (s *DB) RotateRefreshToken(ctx context.Context, oldHash string, next RefreshToken, nowMs int64) (*RotateResult, error) {
	// The session's user never changes: read it first, without a lock, so
	// that the user's lock is taken before the token's and the session's
	// (the order a user's deletion takes: its row, then its sessions).
	var userID string
	if err := s.sql.QueryRowContext(ctx, "SELECT s.user_id FROM session_tokens t JOIN sessions s ON s.id = t.session_id "+
		"WHERE t.token_hash = ?", oldHash).Scan(&userID); err != nil {
		return nil, classify(err)
	}
	var out RotateResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The user's lock is the one the membership writes take: the
		// inputs read below and a lowering change are ordered by it.
		floor, err := s.lockUserFloor(ctx, tx, userID)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: the user is deleted", ErrSessionInvalid)
		}
		if err != nil {
			return err
		}
		consumed, err := tx.ExecContext(ctx,
			"UPDATE session_tokens SET consumed_ms = ?, replaced_by = ? WHERE token_hash = ? AND consumed_ms IS NULL AND expires_ms > ?",
			nowMs, next.Hash, oldHash, nowMs)
		if err != nil {
			return err
		}
		won, err := consumed.RowsAffected()
		if err != nil {
			return err
		}
		// On MySQL a loser's UPDATE waited for the winner's row lock and
		// matched nothing; this locking read then sees the winner's commit.
		old, err := scanToken(tx.QueryRowContext(ctx,
			"SELECT "+tokenColumns+" FROM session_tokens WHERE token_hash = ?"+s.forUpdate(), oldHash).Scan)
		if err != nil {
			return err
		}
		if won == 0 {
			if old.ConsumedMs != 0 {
				return &RefreshReusedError{SessionID: old.SessionID, Family: old.Family, ConsumedMs: old.ConsumedMs, ReplacedBy: old.ReplacedBy}
			}
			return fmt.Errorf("%w: the refresh token has expired", ErrSessionInvalid)
		}
		// Lock order: the token, then its session (InvalidateSession
		// locks only the session), so rotations and invalidations never
		// deadlock each other.
		sess, err := scanSession(tx.QueryRowContext(ctx,
			"SELECT "+sessionColumns+" FROM sessions WHERE id = ?"+s.forUpdate(), old.SessionID).Scan)
		if err != nil {
			return err
		}
		if !sess.Live(nowMs) {
			return ErrSessionInvalid
		}
		next.SessionID, next.Family = old.SessionID, old.Family
		next.ConsumedMs, next.ReplacedBy = 0, ""
		if err := insertToken(ctx, tx, next); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET refreshed_ms = ? WHERE id = ?", nowMs, sess.ID); err != nil {
			return err
		}
		sess.RefreshedMs = nowMs
		in, err := s.readMintInputs(ctx, tx, userID, floor, nowMs)
		if err != nil {
			return err
		}
		out = RotateResult{Session: sess, Previous: old, Next: next, Inputs: in}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// InvalidateSession invalidates the session at at.AtMs for reason (at most
// 32 characters: "logout", "refresh-reuse", ...) and appends a session
// revocation (not before at.AtMs, useless after at.ExpiresMs, the
// end of the longest macaroon lifetime) to the feed, in one transaction:
// both rows or neither. A session already invalidated is left as it was,
// with no new revocation, and is not an error. It fails with ErrNotFound
// when there is no such session, ErrInvalid when reason is too long.
func (s *DB) InvalidateSession(ctx context.Context, id, reason string, at Revoking) error {
	nowMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"UPDATE sessions SET invalidated_ms = ?, invalidated_reason = ? WHERE id = ? AND invalidated_ms IS NULL",
			nowMs, nullString(reason), id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var one int
			// Not found, or invalidated before: tell them apart.
			return tx.QueryRowContext(ctx, "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one)
		}
		_, err = insertRevocation(ctx, tx, Revocation{
			Kind: RevokeSession, Subject: id, NotBeforeMs: nowMs, ExpiresMs: revocationExpiresMs, CreatedMs: nowMs,
		})
		return err
	})
}

// InvalidateUserSessions invalidates every live session of the user (not
// invalidated, not expired at at.AtMs) for reason, and appends to the feed
// a session revocation for each of them and one user revocation,
// refusing every token of the user issued before at.AtMs, all until
// at.ExpiresMs, in one transaction. The user revocation is
// appended even when no session was live, since tokens may outlive their
// session's row. The session revocations cut each session's whole
// family, whenever its tokens were minted: a refresh that rotated a
// token just before this transaction (RotateRefreshToken locks the
// session row, which this waits for) mints its tokens after at.AtMs, which
// the user revocation alone would let through; a refresh after it finds
// the session invalidated. It returns the number of sessions
// invalidated. It does not check that the user exists (revoking a
// deleted user is the point); it fails with ErrInvalid when reason is
// too long.
func (s *DB) InvalidateUserSessions(ctx context.Context, userID, reason string, at Revoking) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = s.invalidateUserSessions(ctx, tx, userID, reason, at)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// invalidateUserSessions is InvalidateUserSessions inside the caller's
// transaction, so a user's deletion and its revocation are one write.
func (s *DB) invalidateUserSessions(ctx context.Context, tx *sql.Tx, userID, reason string, at Revoking) (int64, error) {
	n, err := s.invalidateSessionsWhere(ctx, tx, "user_id", userID, reason, at)
	if err != nil {
		return 0, err
	}
	_, err = insertRevocation(ctx, tx, Revocation{
		Kind: RevokeUser, Subject: userID, NotBeforeMs: at.AtMs, ExpiresMs: at.ExpiresMs, CreatedMs: at.AtMs,
	})
	return n, err
}

// invalidateClientSessions invalidates, inside the caller's transaction,
// every live session made with the client, and appends one session
// revocation for each, so the gateways refuse their tokens.
func (s *DB) invalidateClientSessions(ctx context.Context, tx *sql.Tx, clientID, reason string, at Revoking) (int64, error) {
	return s.invalidateSessionsWhere(ctx, tx, "client_id", clientID, reason, at)
}

// invalidateSessionsWhere invalidates, inside the caller's transaction,
// every live session whose column (user_id or client_id) is value,
// locking their rows, and appends one session revocation for each.
func (s *DB) invalidateSessionsWhere(ctx context.Context, tx *sql.Tx, column, value, reason string, at Revoking) (int64, error) {
	nowMs, revocationExpiresMs := at.AtMs, at.ExpiresMs
	if column != "user_id" && column != "client_id" {
		return 0, fmt.Errorf("%w: sessions by %q", ErrInvalid, column)
	}
	rows, err := tx.QueryContext(ctx,
		"SELECT id FROM sessions WHERE "+column+" = ? AND invalidated_ms IS NULL AND expires_ms > ?"+s.forUpdate(),
		value, nowMs)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx,
			"UPDATE sessions SET invalidated_ms = ?, invalidated_reason = ? WHERE id = ? AND invalidated_ms IS NULL",
			nowMs, nullString(reason), id); err != nil {
			return 0, err
		}
		if _, err := insertRevocation(ctx, tx, Revocation{
			Kind: RevokeSession, Subject: id, NotBeforeMs: nowMs, ExpiresMs: revocationExpiresMs, CreatedMs: nowMs,
		}); err != nil {
			return 0, err
		}
	}
	return int64(len(ids)), nil
}

// TouchSession sets the session's refreshed_ms. It fails with ErrNotFound
// when there is no such session.
func (s *DB) TouchSession(ctx context.Context, id string, refreshedMs int64) error {
	return affectedOne(s.sql.ExecContext(ctx, "UPDATE sessions SET refreshed_ms = ? WHERE id = ?", refreshedMs, id))
}
