package audit_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestRecord stores one row and logs one line per event, on both
// databases: the actor and IP come from the context unless the event
// names them; an undocumented data key and a value with an @ are dropped
// and reported; fanned_out is left to the webhook dispatcher (0).
func TestRecord(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var logs bytes.Buffer
		now := time.UnixMilli(1_800_000_000_000)
		r, err := audit.New(audit.Config{Store: d, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := audit.WithActor(t.Context(), audit.Actor{UserID: "admin", ClientID: "app", IP: "198.51.100.4"})
		for _, tt := range []struct {
			name        string
			givenEvent  audit.Event
			expectActor string
			expectIP    string
			expectData  map[string]string
			expectLog   []string
		}{
			{name: "actor from the context", givenEvent: audit.Event{Type: audit.RoleAdded, SubjectUserID: "ann", Data: map[string]string{"role": "employee"}},
				expectActor: "admin", expectIP: "198.51.100.4", expectData: map[string]string{"role": "employee"},
				expectLog: []string{"msg=audit", "type=role.added", "outcome=success", "actor=admin", "client=app", "subject=ann", "ip=198.51.100.4", "data.role=employee"}},
			{name: "the event's own IP", givenEvent: audit.Event{Type: audit.LoginFailed, Failed: true, Reason: "INCORRECT-PASSWORD", IP: "203.0.113.1", Data: map[string]string{"step": "password"}},
				expectActor: "admin", expectIP: "203.0.113.1", expectData: map[string]string{"step": "password"},
				expectLog: []string{"outcome=failure", "reason=INCORRECT-PASSWORD", "ip=203.0.113.1"}},
			{name: "undocumented key and address dropped", givenEvent: audit.Event{Type: audit.LoginFailed, Data: map[string]string{"email": "x", "step": "ann@example.com"}},
				expectActor: "admin", expectIP: "198.51.100.4",
				expectLog: []string{"undocumented data key is dropped", "may be a mail address is dropped"}},
		} {
			// Events sort by their UUIDv7: one millisecond apart.
			now = now.Add(time.Millisecond)
			t.Run(tt.name, func(t *testing.T) {
				logs.Reset()
				row := r.Record(ctx, tt.givenEvent)
				got, err := d.TailAuditEvents(t.Context(), db.AuditFilter{}, "", 1)
				if err != nil || len(got) != 1 || got[0].ID != row.ID {
					t.Fatalf("stored %+v, %v; want %s", got, err, row.ID)
				}
				e := got[0]
				if e.ActorUserID != tt.expectActor || e.ActorClientID != "app" || e.IP != tt.expectIP || e.TimeMs != now.UnixMilli() || len(e.Data) != len(tt.expectData) {
					t.Fatalf("stored %+v", e)
				}
				for k, v := range tt.expectData {
					if e.Data[k] != v {
						t.Errorf("data[%s] = %q, want %q", k, e.Data[k], v)
					}
				}
				for _, want := range tt.expectLog {
					if !strings.Contains(logs.String(), want) {
						t.Errorf("log lacks %q:\n%s", want, logs.String())
					}
				}
				if strings.Contains(logs.String(), "ann@example.com") {
					t.Errorf("the address was logged:\n%s", logs.String())
				}
				var fanned int
				if err := d.SQL().QueryRowContext(t.Context(), "SELECT fanned_out FROM audit_events WHERE id = ?", row.ID).Scan(&fanned); err != nil || fanned != 0 {
					t.Errorf("fanned_out = %d, %v; want 0", fanned, err)
				}
			})
		}
	})
}

// TestEveryTypeIsDotted: the types are unique dotted nouns and verbs
// within the column's width, each documented.
func TestEveryTypeIsDotted(t *testing.T) {
	seen := map[string]bool{}
	for _, ty := range audit.Types {
		noun, verb, ok := strings.Cut(ty.Name, ".")
		if !ok || noun == "" || verb == "" || strings.Count(ty.Name, ".") != 1 || len(ty.Name) > 64 || strings.ToLower(ty.Name) != ty.Name {
			t.Errorf("%q is not a dotted noun and verb", ty.Name)
		}
		if seen[ty.Name] || ty.About == "" {
			t.Errorf("%q is listed twice or undocumented", ty.Name)
		}
		seen[ty.Name] = true
		if !audit.Known(ty.Name) {
			t.Errorf("%q is not Known", ty.Name)
		}
	}
	if audit.Known("login.nope") {
		t.Error("an unknown type is Known")
	}
}
