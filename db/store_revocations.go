package db

import (
	"context"
	"fmt"
)

// Limits of RevocationsSince.
const (
	// revocationPageDefault is the page size when the caller asks for 0.
	revocationPageDefault = 1000
	// revocationPageMax is the largest page size accepted.
	revocationPageMax = 10000
)

// revocationColumns is the column list scanRevocation reads, in its order.
const revocationColumns = "id, kind, subject, not_before_ms, expires_ms, created_ms"

// AddRevocation appends r to the revocation feed and returns its cursor.
// r.Cursor is ignored. Cursors only grow: both dialects never hand out an
// ID again, even after the newest row was pruned (SQLite AUTOINCREMENT;
// InnoDB keeps its counter across restarts since MySQL 8 and MariaDB
// 10.2.4). It fails with ErrInvalid for an unknown kind or a subject over
// 36 characters.
//
// Sessions are revoked with InvalidateSession and InvalidateUserSessions,
// which append their row in the same transaction as the session change;
// AddRevocation is for revocations with no session row to change.
func (s *DB) AddRevocation(ctx context.Context, r Revocation) (int64, error) {
	cursor, err := insertRevocation(ctx, s.sql, r)
	return cursor, classify(err)
}

// insertRevocation inserts r and returns its cursor.
func insertRevocation(ctx context.Context, q querier, r Revocation) (int64, error) {
	res, err := q.ExecContext(ctx,
		"INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES (?, ?, ?, ?, ?)",
		r.Kind, r.Subject, r.NotBeforeMs, r.ExpiresMs, r.CreatedMs)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// RevocationsSince returns up to limit revocations with a cursor above
// afterCursor (0 for all), in cursor order. Call it again with the last
// cursor returned until a page is shorter than limit. limit 0 means
// 1000; a negative limit or one above 10000 is ErrInvalid.
//
// # Polling the feed
//
// A cursor alone can miss a row on MySQL: an AUTO_INCREMENT ID is taken
// at insert but visible only at commit, so a poll can return cursor 11
// while the transaction that took 10 is still open, and the next poll
// asks for cursors above 11. A gateway therefore combines two reads per
// poll, and applies what both return (applying a revocation twice is
// harmless):
//
//	started := now()
//	for { // the new rows
//		page, err := store.RevocationsSince(ctx, cursor, 1000)
//		apply(page)
//		if len(page) > 0 { cursor = page[len(page)-1].Cursor }
//		if len(page) < 1000 { break }
//	}
//	if lastPoll != 0 { // the late commits below the cursor
//		late, err := store.RevocationsCreatedSince(ctx, lastPoll-overlap)
//		apply(late)
//	}
//	lastPoll = started
//
// created_ms is the writer's clock when it built the row, so overlap
// must exceed the longest revocation transaction plus the clock skew
// between the instances that write and the one that polls; 10 s is
// ample for the short transactions of this store. On SQLite, where a
// committed ID is never below a visible one, the second read only
// repeats rows, but the same loop is correct for both dialects.
func (s *DB) RevocationsSince(ctx context.Context, afterCursor int64, limit int) ([]Revocation, error) {
	switch {
	case limit < 0 || limit > revocationPageMax:
		return nil, fmt.Errorf("%w: limit %d is outside 0..%d", ErrInvalid, limit, revocationPageMax)
	case limit == 0:
		limit = revocationPageDefault
	}
	return s.queryRevocations(ctx, "SELECT "+revocationColumns+" FROM revocations WHERE id > ? ORDER BY id LIMIT ?", afterCursor, limit)
}

// RevocationsCreatedSince returns every revocation whose created_ms is at
// or after sinceMs, in cursor order: the overlap re-read of a poller (see
// RevocationsSince), served by revocations_created_idx.
func (s *DB) RevocationsCreatedSince(ctx context.Context, sinceMs int64) ([]Revocation, error) {
	return s.queryRevocations(ctx, "SELECT "+revocationColumns+" FROM revocations WHERE created_ms >= ? ORDER BY id", sinceMs)
}

// queryRevocations runs a query of revocationColumns.
func (s *DB) queryRevocations(ctx context.Context, query string, args ...any) ([]Revocation, error) {
	rows, err := s.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		var r Revocation
		if err := rows.Scan(&r.Cursor, &r.Kind, &r.Subject, &r.NotBeforeMs, &r.ExpiresMs, &r.CreatedMs); err != nil {
			return nil, classify(err)
		}
		out = append(out, r)
	}
	return out, classify(rows.Err())
}

// PruneRevocations deletes the revocations whose expires_ms is before
// beforeExpiresMs (no token they could refuse is still valid) and returns
// how many it deleted. A gateway that polls after a prune misses nothing
// it needs.
func (s *DB) PruneRevocations(ctx context.Context, beforeExpiresMs int64) (int64, error) {
	res, err := s.sql.ExecContext(ctx, "DELETE FROM revocations WHERE expires_ms < ?", beforeExpiresMs)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	return n, classify(err)
}
