package db_test

import (
	"errors"
	"fmt"
	"slices"
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

// TestListAndTailAuditEvents: the filters narrow on both databases,
// values only ever travel as arguments (SQL in a filter matches
// nothing), a bad filter is ErrInvalid, and the tail reads the newest
// events, then the ones after the last seen.
func TestListAndTailAuditEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		ev := func(n int, typ, actor, subject, org string) db.AuditEvent {
			return db.AuditEvent{ID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", n), TimeMs: int64(1000 * n), Type: typ,
				Outcome: db.AuditSuccess, ActorUserID: actor, SubjectUserID: subject, OrgID: org}
		}
		all := []db.AuditEvent{
			ev(1, "login.failed", "", "ann", ""),
			ev(2, "session.created", "", "ann", ""),
			ev(3, "role.added", "admin", "bob", ""),
			ev(4, "membership.added", "admin", "ann", "org1"),
			ev(5, "client.created", "bob", "", "org2"),
		}
		for _, e := range all {
			if err := d.InsertAuditEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(es []db.AuditEvent) []int {
			var out []int
			for _, e := range es {
				var n int
				fmt.Sscanf(e.ID[len(e.ID)-12:], "%d", &n)
				out = append(out, n)
			}
			return out
		}
		for _, tt := range []struct {
			name        string
			givenFilter db.AuditFilter
			expectIDs   []int
		}{
			{name: "none", expectIDs: []int{1, 2, 3, 4, 5}},
			{name: "user as subject or actor", givenFilter: db.AuditFilter{UserID: "bob"}, expectIDs: []int{3, 5}},
			{name: "organization", givenFilter: db.AuditFilter{OrgID: "org1"}, expectIDs: []int{4}},
			{name: "types", givenFilter: db.AuditFilter{Types: []string{"login.failed", "role.added"}}, expectIDs: []int{1, 3}},
			{name: "time range", givenFilter: db.AuditFilter{SinceMs: 2000, UntilMs: 4000}, expectIDs: []int{2, 3}},
			{name: "all at once", givenFilter: db.AuditFilter{UserID: "ann", Types: []string{"membership.added"}, SinceMs: 1}, expectIDs: []int{4}},
			{name: "SQL is a value", givenFilter: db.AuditFilter{UserID: "' OR '1'='1", OrgID: "x' OR 1=1 --"}, expectIDs: nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, _, err := d.ListAuditEvents(ctx, tt.givenFilter, db.Page{Size: 10})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), tt.expectIDs) {
					t.Fatalf("listed %v, want %v", ids(got), tt.expectIDs)
				}
			})
		}
		for name, f := range map[string]db.AuditFilter{
			"long user":       {UserID: strings.Repeat("u", 37)},
			"empty type":      {Types: []string{""}},
			"too many types":  {Types: slices.Repeat([]string{"login.failed"}, db.MaxAuditTypes+1)},
			"until not after": {SinceMs: 5, UntilMs: 5},
			"negative time":   {SinceMs: -1},
		} {
			if _, _, err := d.ListAuditEvents(ctx, f, db.Page{}); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		// Pages follow the shared keyset cursors.
		p1, info, err := d.ListAuditEvents(ctx, db.AuditFilter{}, db.Page{Size: 3})
		if err != nil || info.Next == "" {
			t.Fatalf("first page: %v, %+v", err, info)
		}
		p2, _, err := d.ListAuditEvents(ctx, db.AuditFilter{}, db.Page{Size: 3, Cursor: info.Next})
		if err != nil || !slices.Equal(append(ids(p1), ids(p2)...), []int{1, 2, 3, 4, 5}) {
			t.Fatalf("pages %v %v, %v", ids(p1), ids(p2), err)
		}

		// The tail: the newest two, oldest first; then what follows.
		tail, err := d.TailAuditEvents(ctx, db.AuditFilter{}, "", 2)
		if err != nil || !slices.Equal(ids(tail), []int{4, 5}) {
			t.Fatalf("tail %v, %v", ids(tail), err)
		}
		after, err := d.TailAuditEvents(ctx, db.AuditFilter{Types: []string{"session.created", "client.created"}}, all[1].ID, 10)
		if err != nil || !slices.Equal(ids(after), []int{5}) {
			t.Fatalf("after %v, %v", ids(after), err)
		}
		if _, err := d.TailAuditEvents(ctx, db.AuditFilter{}, "", 0); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("limit 0: %v, want ErrInvalid", err)
		}
	})
}

// TestPurgeAuditEvents: the purge deletes the events older than the
// audit cutoff, in batches, and keeps the newer ones.
func TestPurgeAuditEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		for n := 1; n <= 5; n++ {
			if err := d.InsertAuditEvent(ctx, db.AuditEvent{ID: fmt.Sprintf("0190a000-0000-7000-8000-%012d", n), TimeMs: int64(1000 * n),
				Type: "login.failed", Outcome: db.AuditFailure}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := d.Purge(ctx, db.PurgePolicy{AuditEventsBeforeMs: 3500, Batch: 2})
		if err != nil || res.AuditEvents != 3 || res.Total() != 3 {
			t.Fatalf("purge: %+v, %v; want 3 audit events", res, err)
		}
		left, err := d.TailAuditEvents(ctx, db.AuditFilter{}, "", 10)
		if err != nil || len(left) != 2 || left[0].TimeMs != 4000 {
			t.Fatalf("left %+v, %v", left, err)
		}
	})
}
