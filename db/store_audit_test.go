package db_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestInsertAuditEvent: an event is stored once (the same ID again is
// ErrDuplicate); a missing or over-wide field is ErrInvalid, on both
// databases.
func TestInsertAuditEvent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		e := db.AuditEvent{ID: "0190a000-0000-7000-8000-000000000001", TimeMs: 1700000000000, Type: "login.failed",
			Outcome: db.AuditFailure, Reason: "bad-password", IP: "203.0.113.7", Data: map[string]string{"factor": "password"}}
		if err := d.InsertAuditEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := d.InsertAuditEvent(ctx, e); !errors.Is(err, db.ErrDuplicate) {
			t.Errorf("again: %v, want ErrDuplicate", err)
		}
		for name, mod := range map[string]func(*db.AuditEvent){
			"no ID":        func(e *db.AuditEvent) { e.ID = "" },
			"no time":      func(e *db.AuditEvent) { e.TimeMs = 0 },
			"no type":      func(e *db.AuditEvent) { e.Type = "" },
			"long type":    func(e *db.AuditEvent) { e.Type = strings.Repeat("x", 65) },
			"bad outcome":  func(e *db.AuditEvent) { e.Outcome = "maybe" },
			"long reason":  func(e *db.AuditEvent) { e.Reason = strings.Repeat("x", 65) },
			"long IP":      func(e *db.AuditEvent) { e.IP = strings.Repeat("1", 46) },
			"long data":    func(e *db.AuditEvent) { e.Data = map[string]string{"k": strings.Repeat("x", 4096)} },
			"long subject": func(e *db.AuditEvent) { e.SubjectUserID = strings.Repeat("x", 37) },
		} {
			bad := e
			bad.ID = "0190a000-0000-7000-8000-000000000002"
			mod(&bad)
			if err := d.InsertAuditEvent(ctx, bad); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
	})
}
