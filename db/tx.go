package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// querier is what both *sql.DB and *sql.Tx offer, so a store function can
// run inside or outside a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var (
	_ querier = (*sql.DB)(nil)
	_ querier = (*sql.Tx)(nil)
)

// inTx runs fn in a transaction: committed when fn returns nil, rolled
// back otherwise, so a multi-row write is all or nothing. Errors are
// classified (ErrDuplicate, ErrForeignKey, ...). fn must use tx only: on
// SQLite the pool's single connection is held by the transaction.
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return fmt.Errorf("%w (rollback: %v)", classify(err), rbErr)
		}
		return classify(err)
	}
	return classify(tx.Commit())
}

// affectedOne turns an UPDATE or DELETE result into ErrNotFound when no
// row matched.
func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return classify(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// nullMs maps the "0 means unset" convention of the records to NULL.
func nullMs(ms int64) sql.NullInt64 {
	return sql.NullInt64{Int64: ms, Valid: ms != 0}
}

// nullString maps "" to NULL.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
