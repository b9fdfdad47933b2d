package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Audit outcomes (AuditEvent.Outcome).
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditEvent is one security event of the audit log (table
// audit_events): what happened, who did it, to whom, when, from where
// and how it ended. It never holds a secret, code, token or mail
// address: Data carries only the details documented for its Type.
type AuditEvent struct {
	// ID is a UUIDv7 (NewID), so events sort in creation order. Required.
	ID string
	// TimeMs is when it happened, Unix ms. Required.
	TimeMs int64
	// Type names the event, "login.failed" say: 1 to 64 bytes. Required.
	Type string
	// Outcome is AuditSuccess or AuditFailure. Required.
	Outcome string
	// Reason is a stable code saying why a failure failed (at most 64
	// bytes), "" for none.
	Reason string
	// ActorUserID and ActorClientID name who acted: the signed-in user
	// and the API client the request came through; "" when unknown (a
	// failed sign-in has no actor yet).
	ActorUserID   string
	ActorClientID string
	// SubjectUserID is the user the event is about, "" for none.
	SubjectUserID string
	// OrgID is the organization the event is about, "" for none.
	OrgID string
	// IP is the client address the request came from, "" for none.
	IP string
	// Data holds the event's documented details; nil for none. Encoded,
	// at most 4096 bytes.
	Data map[string]string
}

// maxAuditData is the largest encoded AuditEvent.Data.
const maxAuditData = 4096

// InsertAuditEvent stores e. It fails with ErrInvalid for a missing ID,
// time or type, an unknown outcome, or a field over its column's width,
// and with ErrDuplicate for an ID stored before.
func (s *DB) InsertAuditEvent(ctx context.Context, e AuditEvent) error {
	if err := requireID("audit event ID", e.ID); err != nil {
		return err
	}
	if err := requireMs("audit event time", e.TimeMs); err != nil {
		return err
	}
	data, err := auditData(e.Data)
	if err != nil {
		return err
	}
	switch {
	case e.Type == "" || len(e.Type) > 64:
		return fmt.Errorf("%w: audit event type %q must be 1 to 64 bytes", ErrInvalid, e.Type)
	case e.Outcome != AuditSuccess && e.Outcome != AuditFailure:
		return fmt.Errorf("%w: audit event outcome %q", ErrInvalid, e.Outcome)
	case len(e.ID) > 36 || len(e.Reason) > 64 || len(e.ActorUserID) > 36 || len(e.ActorClientID) > 36 ||
		len(e.SubjectUserID) > 36 || len(e.OrgID) > 36 || len(e.IP) > 45:
		return fmt.Errorf("%w: an audit event field is over its width", ErrInvalid)
	}
	_, err = s.sql.ExecContext(ctx,
		`INSERT INTO audit_events (id, time_ms, type, outcome, reason, actor_user_id, actor_client_id, subject_user_id, org_id, ip, data)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.TimeMs, e.Type, e.Outcome, e.Reason, e.ActorUserID, e.ActorClientID, e.SubjectUserID, e.OrgID, e.IP, data)
	return classify(err)
}

// auditData encodes an AuditEvent's Data as a JSON object.
func auditData(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("%w: audit event data: %v", ErrInvalid, err)
	}
	if len(b) > maxAuditData {
		return "", fmt.Errorf("%w: audit event data is %d bytes, over %d", ErrInvalid, len(b), maxAuditData)
	}
	return string(b), nil
}

// scanAuditData decodes the data column into an AuditEvent's Data: nil
// for "{}".
func scanAuditData(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("db: audit event data: %w", err)
	}
	return m, nil
}

// MaxAuditTypes bounds the types one AuditFilter names.
const MaxAuditTypes = 32

// AuditFilter selects audit events; a zero field selects everything.
type AuditFilter struct {
	// UserID keeps the events the user did or that were done to them
	// (actor or subject).
	UserID string
	// OrgID keeps the events about the organization.
	OrgID string
	// Types keeps the events of these types (at most MaxAuditTypes).
	Types []string
	// SinceMs and UntilMs keep the events at or after SinceMs and before
	// UntilMs (Unix ms); 0 for no bound.
	SinceMs, UntilMs int64
}

// where returns the filter as an SQL condition and its arguments. The
// values only ever travel as arguments, never in the statement. It fails
// with ErrInvalid for a field over its column's width, too many types, a
// negative time or an empty range.
func (f AuditFilter) where() (string, []any, error) {
	conds := []string{"1 = 1"}
	var args []any
	switch {
	case len(f.UserID) > 36 || len(f.OrgID) > 36:
		return "", nil, fmt.Errorf("%w: audit filter: an ID is over 36 bytes", ErrInvalid)
	case len(f.Types) > MaxAuditTypes:
		return "", nil, fmt.Errorf("%w: audit filter: more than %d types", ErrInvalid, MaxAuditTypes)
	case f.SinceMs < 0 || f.UntilMs < 0:
		return "", nil, fmt.Errorf("%w: audit filter: negative time", ErrInvalid)
	case f.UntilMs != 0 && f.UntilMs <= f.SinceMs:
		return "", nil, fmt.Errorf("%w: audit filter: until is not after since", ErrInvalid)
	}
	if f.UserID != "" {
		conds = append(conds, "(actor_user_id = ? OR subject_user_id = ?)")
		args = append(args, f.UserID, f.UserID)
	}
	if f.OrgID != "" {
		conds = append(conds, "org_id = ?")
		args = append(args, f.OrgID)
	}
	if len(f.Types) > 0 {
		marks := make([]string, len(f.Types))
		for i, t := range f.Types {
			if t == "" || len(t) > 64 {
				return "", nil, fmt.Errorf("%w: audit filter: type %q must be 1 to 64 bytes", ErrInvalid, t)
			}
			marks[i] = "?"
			args = append(args, t)
		}
		conds = append(conds, "type IN ("+strings.Join(marks, ", ")+")")
	}
	if f.SinceMs > 0 {
		conds = append(conds, "time_ms >= ?")
		args = append(args, f.SinceMs)
	}
	if f.UntilMs > 0 {
		conds = append(conds, "time_ms < ?")
		args = append(args, f.UntilMs)
	}
	return strings.Join(conds, " AND "), args, nil
}

// auditCols is the select list scanAuditEvent reads.
const auditCols = "id, time_ms, type, outcome, reason, actor_user_id, actor_client_id, subject_user_id, org_id, ip, data"

// scanAuditEvent reads one row of auditCols.
func scanAuditEvent(rows *sql.Rows) (AuditEvent, error) {
	var e AuditEvent
	var data string
	if err := rows.Scan(&e.ID, &e.TimeMs, &e.Type, &e.Outcome, &e.Reason, &e.ActorUserID, &e.ActorClientID,
		&e.SubjectUserID, &e.OrgID, &e.IP, &data); err != nil {
		return e, err
	}
	m, err := scanAuditData(data)
	e.Data = m
	return e, err
}

// ListAuditEvents returns the page p of the events f selects, in
// creation order (oldest first, as every paged list). It fails with
// ErrInvalid for a bad filter, page size or cursor.
func (s *DB) ListAuditEvents(ctx context.Context, f AuditFilter, p Page) ([]AuditEvent, PageInfo, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, PageInfo{}, err
	}
	return listPage(ctx, s.sql, p, keyset{cols: auditCols, from: "audit_events", where: where, args: args, id: "id"},
		func(rows *sql.Rows) (AuditEvent, string, error) {
			e, err := scanAuditEvent(rows)
			return e, e.ID, err
		})
}

// TailAuditEvents returns, oldest first, up to limit events f selects:
// with afterID "", the newest ones; otherwise the first ones after the
// event afterID (a follower's next poll). It fails with ErrInvalid for a
// bad filter or a limit outside 1..MaxPageSize*10.
func (s *DB) TailAuditEvents(ctx context.Context, f AuditFilter, afterID string, limit int) ([]AuditEvent, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxPageSize*10 || len(afterID) > 36 {
		return nil, fmt.Errorf("%w: audit tail: limit %d or after ID", ErrInvalid, limit)
	}
	order := "DESC"
	if afterID != "" {
		where += " AND id > ?"
		args = append(args, afterID)
		order = "ASC"
	}
	rows, err := s.sql.QueryContext(ctx, "SELECT "+auditCols+" FROM audit_events WHERE "+where+" ORDER BY id "+order+" LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, classify(err)
	}
	var out []AuditEvent
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			_ = rows.Close()
			return nil, classify(err)
		}
		out = append(out, e)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, classify(err)
	}
	if order == "DESC" {
		slices.Reverse(out)
	}
	return out, nil
}
