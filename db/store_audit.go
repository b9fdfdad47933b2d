package db

import (
	"context"
	"encoding/json"
	"fmt"
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
