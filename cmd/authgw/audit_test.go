package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// auditEventAt is a stored event n minutes before fixedNow.
func auditEventAt(n int, typ, subject string) db.AuditEvent {
	return db.AuditEvent{ID: fmt.Sprintf("01a20320-a200-7000-8000-%012d", 100-n), TimeMs: fixedNow.Add(-time.Duration(n) * time.Minute).UnixMilli(),
		Type: typ, Outcome: db.AuditFailure, Reason: "INCORRECT-PASSWORD", ActorClientID: "c1", SubjectUserID: subject, IP: "203.0.113.9",
		Data: map[string]string{"step": "password"}}
}

// auditDatabase is a migrated database holding the events: its DSN and
// an open handle, closed when the test ends.
func auditDatabase(t *testing.T, events ...db.AuditEvent) (string, *db.DB) {
	t.Helper()
	dsn := migratedDSN(t)
	d, err := db.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, e := range events {
		if err := d.InsertAuditEvent(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, d
}

// TestAuditTail prints the stored events, the newest last, filtered by
// the flags; bad flags are usage errors.
func TestAuditTail(t *testing.T) {
	dsn, _ := auditDatabase(t, auditEventAt(90, "login.failed", "ann"), auditEventAt(30, "login.failed", "bob"), auditEventAt(10, "user.banned", "ann"))
	for _, tt := range []struct {
		name           string
		whenArgs       []string
		expectCode     int
		expectSubjects []string
		expectStderr   string
	}{
		{name: "all, newest last", whenArgs: nil, expectSubjects: []string{"ann", "bob", "ann"}},
		{name: "limit keeps the newest", whenArgs: []string{"--limit", "2"}, expectSubjects: []string{"bob", "ann"}},
		{name: "a type", whenArgs: []string{"--type", "user.banned"}, expectSubjects: []string{"ann"}},
		{name: "types repeated", whenArgs: []string{"--type", "user.banned", "--type", "login.failed"}, expectSubjects: []string{"ann", "bob", "ann"}},
		{name: "a user", whenArgs: []string{"--user", "bob"}, expectSubjects: []string{"bob"}},
		{name: "since a duration", whenArgs: []string{"--since", "1h"}, expectSubjects: []string{"bob", "ann"}},
		{name: "since a time", whenArgs: []string{"--since", fixedNow.Add(-15 * time.Minute).Format(time.RFC3339)}, expectSubjects: []string{"ann"}},
		{name: "unknown type", whenArgs: []string{"--type", "login.nope"}, expectCode: exitUsage, expectStderr: "not an event type"},
		{name: "bad since", whenArgs: []string{"--since", "yesterday"}, expectCode: exitUsage, expectStderr: "--since"},
		{name: "bad limit", whenArgs: []string{"--limit", "0"}, expectCode: exitUsage, expectStderr: "--limit"},
		{name: "no subcommand", whenArgs: []string{}, expectCode: exitUsage, expectStderr: "audit tail"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			argv := append([]string{"audit", "tail"}, tt.whenArgs...)
			if tt.name == "no subcommand" {
				argv = []string{"audit"}
			}
			r := runCLI(t, args(append(argv, "--database", dsn)...))
			if r.code != tt.expectCode || !strings.Contains(r.stderr, tt.expectStderr) {
				t.Fatalf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.expectCode, tt.expectStderr)
			}
			if tt.expectCode != exitOK {
				return
			}
			var subjects []string
			for line := range strings.SplitSeq(strings.TrimSpace(r.stdout), "\n") {
				_, rest, _ := strings.Cut(line, " subject=")
				subject, _, _ := strings.Cut(rest, " ")
				subjects = append(subjects, subject)
				if !strings.Contains(line, "reason=INCORRECT-PASSWORD") && !strings.Contains(line, "user.banned") || !strings.Contains(line, "ip=203.0.113.9") {
					t.Errorf("line %q lacks its fields", line)
				}
			}
			if strings.Join(subjects, ",") != strings.Join(tt.expectSubjects, ",") {
				t.Fatalf("subjects %v, want %v:\n%s", subjects, tt.expectSubjects, r.stdout)
			}
		})
	}

	// --json: one object per line, the API's shape.
	out := mustRun(t, args("audit", "tail", "--json", "--type", "user.banned", "--database", dsn))
	var got struct {
		Event, SubjectUserID, IP string
		Data                     map[string]string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Event != "user.banned" || got.SubjectUserID != "ann" || got.Data["step"] != "password" {
		t.Fatalf("--json printed %q (%v)", out, err)
	}
}

// lineWriter is a writer that tells each complete line written.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
		w.lines <- s[:i]
	}
	return len(p), nil
}

// TestAuditTailFollow: --follow prints the stored events, then each new
// one as it is recorded, until stopped.
func TestAuditTailFollow(t *testing.T) {
	dsn, d := auditDatabase(t, auditEventAt(20, "login.failed", "ann"))
	ctx := context.Background()
	stop, cancel := context.WithCancel(ctx)
	out := &lineWriter{lines: make(chan string, 10)}
	done := make(chan int)
	go func() {
		var stderr strings.Builder
		done <- run([]string{"audit", "tail", "--follow", "--interval", "10ms", "--database", dsn}, strings.NewReader(""), out, &stderr,
			environment{lookupEnv: func(string) (string, bool) { return "", false }, now: func() time.Time { return fixedNow }, stop: stop})
	}()
	next := func() string {
		t.Helper()
		select {
		case l := <-out.lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line printed")
			return ""
		}
	}
	if l := next(); !strings.Contains(l, "subject=ann") {
		t.Fatalf("first line %q", l)
	}
	if err := d.InsertAuditEvent(ctx, auditEventAt(5, "user.banned", "bob")); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.Contains(l, "user.banned") || !strings.Contains(l, "subject=bob") {
		t.Fatalf("followed line %q", l)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d after stop", code)
	}
}

// TestSessionsRevokeIsAudited: sessions ended from the command line are
// in the audit log with the reason given, naming their user, with no
// actor (a command line has none).
func TestSessionsRevokeIsAudited(t *testing.T) {
	dsn, d := auditDatabase(t)
	ctx := t.Context()
	u, err := d.CreateUser(ctx, db.NewUser{User: db.User{ID: "01a20320-a200-7000-8000-0000000000a1", Name: "ann", CreatedMs: fixedNow.UnixMilli()},
		Email: db.Email{ID: "01a20320-a200-7000-8000-0000000000a2", Email: "ann@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	sess := db.Session{ID: "01a20320-a200-7000-8000-0000000000a3", UserID: u.ID, CreatedMs: fixedNow.UnixMilli(), ExpiresMs: fixedNow.Add(time.Hour).UnixMilli()}
	if err := d.CreateSession(ctx, sess, db.RefreshToken{Hash: "h", CreatedMs: sess.CreatedMs, ExpiresMs: sess.ExpiresMs}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, args("sessions", "revoke", "--session", sess.ID, "--reason", "key-leak", "--database", dsn))
	later := args("sessions", "revoke", "--user", u.ID, "--database", dsn)
	later.now = fixedNow.Add(time.Second) // events sort by time
	mustRun(t, later)
	events, err := d.TailAuditEvents(ctx, db.AuditFilter{}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Type+" "+e.Reason+" "+e.SubjectUserID+" "+e.Data["session"]+" actor="+e.ActorUserID+e.ActorClientID)
	}
	want := []string{"session.revoked key-leak " + u.ID + " " + sess.ID + " actor=", "sessions.revoked revoked-by-admin " + u.ID + "  actor="}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestAuditTailTerminalSafe: a value an attacker chose reaches a row (a
// form.refused event's path holds the form's URL path, whose {id}
// segment the gateway lets hold %C2%9B, the 8-bit CSI, or %E2%80%AE, a
// right-to-left override); audit tail prints it escaped, so it can
// neither drive the operator's terminal nor reorder the line.
func TestAuditTailTerminalSafe(t *testing.T) {
	for _, tt := range []struct {
		name      string
		givenPath string
		expectOut string
	}{
		{"given a C1 control sequence in a path, when tailed, expect it escaped", "/accounts/v1/settings/emails/\u009b2J\u009b31m/verify", `path="/accounts/v1/settings/emails/\u009b2J\u009b31m/verify"`},
		{"given a bidi override in a path, when tailed, expect it escaped", "/accounts/v1/settings/emails/\u202eTAMPERED/verify", `path="/accounts/v1/settings/emails/\u202eTAMPERED/verify"`},
		{"given a plain path, when tailed, expect it as it is", "/accounts/v1/login", "path=/accounts/v1/login"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := auditEventAt(5, "form.refused", "")
			e.Reason, e.Data = "CSRF-REFUSED", map[string]string{"path": tt.givenPath}
			dsn, _ := auditDatabase(t, e)
			out := mustRun(t, args("audit", "tail", "--database", dsn))
			if !strings.Contains(out, tt.expectOut) {
				t.Fatalf("printed %q, want it to hold %s", out, tt.expectOut)
			}
			if strings.ContainsAny(out, "\u009b\u202e\x1b") {
				t.Fatalf("printed a raw control or bidi character: %q", out)
			}
		})
	}
}
