package db

// The accounts store: organizations and memberships (store_orgs.go),
// users, their roles and emails (store_users.go), API clients, their
// roles and access restrictions (store_clients.go) and the APIs registry
// (store_apis.go). This file holds what they share.
//
// Conventions of these methods:
//
//   - Every method takes the request's context first and stops when it
//     ends (context.Canceled or context.DeadlineExceeded, unwrapped).
//   - The caller supplies IDs (NewID) and times (UTC milliseconds from its
//     injected clock); the store never reads the clock. A write whose
//     record lacks its ID or CreatedMs fails with ErrInvalid before any
//     SQL runs.
//   - Soft-deleted users, organizations and clients are hidden: a Get
//     returns ErrDeleted (which is also ErrNotFound), lists leave them
//     out, updates return ErrNotFound, and whatever belongs to them is
//     hidden too (a deleted organization's clients and memberships, a
//     deleted user's memberships, roles and emails).
//   - A write that refers to a missing or soft-deleted parent (a
//     membership of a missing organization, a role of a deleted user)
//     fails with ErrForeignKey and writes nothing.
//   - Multi-row writes run in one transaction: all or nothing.
//   - Text must be valid UTF-8 (ErrInvalid otherwise: MySQL refuses
//     invalid UTF-8 and SQLite would store it, so the store checks first).
//     Lengths are the columns' widths in characters, enforced by both
//     dialects: one character more is ErrInvalid.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrDeleted is returned for a row that exists but was soft-deleted (or
// whose organization was) by GetUser, GetOrganization and GetClient, and
// for the parent row of ListClients, ListOrgMemberships and
// ListUserOrganizations. It wraps ErrNotFound, so callers that do not
// care why a row is gone test errors.Is(err, ErrNotFound) only; the other
// methods return plain ErrNotFound for deleted rows.
var ErrDeleted error = deletedError{}

// deletedError is ErrDeleted's type: it unwraps to ErrNotFound.
type deletedError struct{}

func (deletedError) Error() string { return "db: not found: deleted" }
func (deletedError) Unwrap() error { return ErrNotFound }

// scanner is a *sql.Row or a *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// requireID fails with ErrInvalid when an ID the caller must supply is
// empty.
func requireID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	return nil
}

// requireMs fails with ErrInvalid when a time the caller must supply is
// not set.
func requireMs(what string, ms int64) error {
	if ms <= 0 {
		return fmt.Errorf("%w: %s is not set", ErrInvalid, what)
	}
	return nil
}

// checkText fails with ErrInvalid when s is not valid UTF-8.
func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalid, what)
	}
	return nil
}

// checkKey checks a string that a unique key compares (a restriction
// value, an API name): valid UTF-8, not empty, no control characters and
// no leading or trailing white space. MySQL's PAD SPACE collations treat
// "a" and "a " as equal and SQLite does not; refusing trailing spaces
// keeps the dialects' duplicate checks the same.
func checkKey(what, s string) error {
	if err := checkText(what, s); err != nil {
		return err
	}
	if s == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	if strings.TrimFunc(s, unicode.IsSpace) != s {
		return fmt.Errorf("%w: %s has leading or trailing white space", ErrInvalid, what)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%w: %s contains a control character", ErrInvalid, what)
	}
	return nil
}

// boolInt is the 0/1 that boolean columns hold.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// normalizeRoles returns roles sorted and without repeats, or
// defaultRole alone when roles is empty.
func normalizeRoles(roles []string, defaultRole string) []string {
	if len(roles) == 0 {
		return []string{defaultRole}
	}
	out := make([]string, 0, len(roles))
	seen := make(map[string]bool, len(roles))
	for _, r := range roles {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	// Byte-wise, the order of the binary collations.
	slices.Sort(out)
	return out
}

// placeholders returns "?, ?, ..." for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// rolesOf reads the roles of the rows ids from a role table (user_roles
// or client_roles, whose owner column is col), sorted.
func rolesOf(ctx context.Context, q querier, table, col string, ids []string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := q.QueryContext(ctx,
		"SELECT "+col+", role FROM "+table+" WHERE "+col+" IN ("+placeholders(len(ids))+") ORDER BY "+col+", role", args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, role string
		if err := rows.Scan(&id, &role); err != nil {
			return nil, classify(err)
		}
		out[id] = append(out[id], role)
	}
	return out, classify(rows.Err())
}

// attachRoles reads the roles of items from a role table (see rolesOf)
// and gives each its own sorted, never nil, list.
func attachRoles[T any](ctx context.Context, q querier, table, col string, items []T, id func(*T) string, roles func(*T) *[]string) error {
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = id(&items[i])
	}
	byID, err := rolesOf(ctx, q, table, col, ids)
	if err != nil {
		return err
	}
	for i := range items {
		*roles(&items[i]) = append([]string{}, byID[ids[i]]...)
	}
	return nil
}

// listOwned runs query, a LEFT JOIN of one live parent row to its
// children, and scans each row with scan, which reports false when the
// row's child columns are NULL (a parent without children). No row at
// all means no live parent: ErrNotFound.
func listOwned[T any](ctx context.Context, q querier, query string, args []any, scan func(*sql.Rows) (T, bool, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	parent := false
	out := []T{}
	for rows.Next() {
		parent = true
		item, ok, err := scan(rows)
		if err != nil {
			return nil, classify(err)
		}
		if ok {
			out = append(out, item)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	if !parent {
		return nil, ErrNotFound
	}
	return out, nil
}

// scanRole reads a nullable role column of a LEFT JOIN.
func scanRole(rows *sql.Rows) (string, bool, error) {
	var role sql.NullString
	err := rows.Scan(&role)
	return role.String, role.Valid, err
}

// insertedOne turns the result of an INSERT ... SELECT FROM parent WHERE
// parent is live into ErrForeignKey when no row was inserted: the parent
// is missing or soft-deleted.
func insertedOne(res sql.Result, err error, parent string) error {
	err = affectedOne(res, err)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %s does not exist or is deleted", ErrForeignKey, parent)
	}
	return err
}
