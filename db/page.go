package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Page sizes of the paged lists (ListOrganizations, ListUsers, ...).
const (
	// DefaultPageSize is the size of a page whose Page.Size is 0.
	DefaultPageSize = 25
	// MaxPageSize is the largest Page.Size accepted.
	MaxPageSize = 100
)

// Paged lists use keyset pagination on the rows' IDs: a page is the rows
// of the list whose ID follows (or precedes) the ID in the cursor, in
// ascending ID order. UUIDv7 IDs (NewID) sort in creation order, so a list
// is in creation order; a row inserted or deleted between two requests
// neither shifts a page nor makes another row appear twice, as OFFSET
// would.
//
// A cursor is opaque to callers: the base64url (unpadded) encoding of a
// direction byte, '>' ("the rows after") or '<' ("the rows before"),
// followed by the ID of the row it starts from. PageInfo.Next is always
// a '>' cursor and PageInfo.Prev a '<' cursor.
const (
	cursorAfter  = '>'
	cursorBefore = '<'
	// maxCursorID is the longest ID a cursor may carry: the ID columns'
	// width.
	maxCursorID = 36
)

// pageSize returns the number of rows p asks for: DefaultPageSize for 0.
// It fails with ErrInvalid for a negative size or one above MaxPageSize.
func (p Page) pageSize() (int, error) {
	switch {
	case p.Size == 0:
		return DefaultPageSize, nil
	case p.Size < 0:
		return 0, fmt.Errorf("%w: page size %d is negative", ErrInvalid, p.Size)
	case p.Size > MaxPageSize:
		return 0, fmt.Errorf("%w: page size %d is above the maximum of %d", ErrInvalid, p.Size, MaxPageSize)
	}
	return p.Size, nil
}

// validate fails with ErrInvalid for a bad size or cursor, so that a
// list that first checks its parent row refuses a bad page first.
func (p Page) validate() error {
	if _, err := p.pageSize(); err != nil {
		return err
	}
	_, err := decodeCursor(p.Cursor)
	return err
}

// cursor is a decoded Page.Cursor; the zero value is the first page.
type cursor struct {
	before bool
	id     string
}

// encodeCursor returns the opaque cursor for the rows after (or before)
// the row id.
func encodeCursor(before bool, id string) string {
	dir := byte(cursorAfter)
	if before {
		dir = cursorBefore
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte{dir}, id...))
}

// decodeCursor parses a Page.Cursor. "" is the first page. It fails with
// ErrInvalid when s is not base64url, has no known direction, or carries
// an empty ID, one longer than an ID column, or one with bytes outside
// printable ASCII.
func decodeCursor(s string) (cursor, error) {
	if s == "" {
		return cursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, fmt.Errorf("%w: malformed page cursor", ErrInvalid)
	}
	if len(raw) < 2 || len(raw) > 1+maxCursorID || (raw[0] != cursorAfter && raw[0] != cursorBefore) {
		return cursor{}, fmt.Errorf("%w: malformed page cursor", ErrInvalid)
	}
	for _, c := range raw[1:] {
		if c <= ' ' || c > '~' {
			return cursor{}, fmt.Errorf("%w: malformed page cursor", ErrInvalid)
		}
	}
	return cursor{before: raw[0] == cursorBefore, id: string(raw[1:])}, nil
}

// keyset describes one paged list: the rows of "SELECT cols FROM from
// WHERE where", ordered by the column id.
type keyset struct {
	// cols is the select list; the scan function reads it.
	cols string
	// from is the FROM clause, joins included, without "FROM".
	from string
	// where filters the rows (without "WHERE"); "1 = 1" for none.
	where string
	// args are where's arguments.
	args []any
	// id is the qualified ID column ("o.id") the list is ordered by.
	id string
}

// listPage reads the page p of the list ks. scan reads one row and
// returns it with its ID.
//
// A page with a '>' cursor (or none) holds the first rows after the
// cursor's ID; one with a '<' cursor the last rows before it, in
// ascending order too. PageInfo.Next is set when rows follow the page,
// PageInfo.Prev when rows precede it: Prev asks for the (up to) Size
// rows just before this page's first row, so following Prev from the
// last page walks back over the same pages as Next walked forward when
// every page was full, and always ends at the list's first row. An empty
// page has neither.
//
// listPage fails with ErrInvalid for a bad page size or cursor, and with
// the query's classified error otherwise.
func listPage[T any](ctx context.Context, q querier, p Page, ks keyset, scan func(*sql.Rows) (T, string, error)) ([]T, PageInfo, error) {
	size, err := p.pageSize()
	if err != nil {
		return nil, PageInfo{}, err
	}
	cur, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, PageInfo{}, err
	}
	var b strings.Builder
	b.WriteString("SELECT " + ks.cols + " FROM " + ks.from + " WHERE (" + ks.where + ")")
	args := slices.Clone(ks.args)
	order := "ASC"
	switch {
	case cur.id == "":
	case cur.before:
		b.WriteString(" AND " + ks.id + " < ?")
		args = append(args, cur.id)
		order = "DESC"
	default:
		b.WriteString(" AND " + ks.id + " > ?")
		args = append(args, cur.id)
	}
	b.WriteString(" ORDER BY " + ks.id + " " + order + " LIMIT ?")
	args = append(args, size+1)

	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, PageInfo{}, classify(err)
	}
	items := make([]T, 0, size+1)
	ids := make([]string, 0, size+1)
	for rows.Next() {
		item, id, err := scan(rows)
		if err != nil {
			_ = rows.Close()
			return nil, PageInfo{}, classify(err)
		}
		items = append(items, item)
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, PageInfo{}, classify(err)
	}
	more := len(items) > size
	if more {
		items, ids = items[:size], ids[:size]
	}
	if cur.before {
		slices.Reverse(items)
		slices.Reverse(ids)
	}
	var info PageInfo
	if len(items) == 0 {
		return items, info, nil
	}
	first, last := ids[0], ids[len(ids)-1]
	switch {
	case cur.id == "":
		// The first page: nothing precedes it.
		if more {
			info.Next = encodeCursor(false, last)
		}
	case cur.before:
		if more {
			info.Prev = encodeCursor(true, first)
		}
		after, err := anyBeyond(ctx, q, ks, last, ">")
		if err != nil {
			return nil, PageInfo{}, err
		}
		if after {
			info.Next = encodeCursor(false, last)
		}
	default:
		if more {
			info.Next = encodeCursor(false, last)
		}
		before, err := anyBeyond(ctx, q, ks, first, "<")
		if err != nil {
			return nil, PageInfo{}, err
		}
		if before {
			info.Prev = encodeCursor(true, first)
		}
	}
	return items, info, nil
}

// anyBeyond reports whether the list ks has a row whose ID is op ("<" or
// ">") id.
func anyBeyond(ctx context.Context, q querier, ks keyset, id, op string) (bool, error) {
	query := "SELECT 1 FROM " + ks.from + " WHERE (" + ks.where + ") AND " + ks.id + " " + op + " ? LIMIT 1"
	var one int
	err := q.QueryRowContext(ctx, query, append(slices.Clone(ks.args), id)...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, classify(err)
	}
	return true, nil
}
