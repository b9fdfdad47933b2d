package main

import (
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// eachDSN runs fn on a bootstrapped SQLite file and on a bootstrapped
// MariaDB database (skipped without a server, failed under CI), each
// given by its --database DSN, with what bootstrap printed.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string, creds bootstrapOutput)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "authgw.db") }},
		{"mariadb", func(t *testing.T) string { return dbtest.MariaDBDSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(t)
			out := mustRun(t, invocation{args: bootstrapArgs(dsn), stdin: goodPassword + "\n"})
			var creds bootstrapOutput
			if err := json.Unmarshal([]byte(out), &creds); err != nil || creds.UserID == "" {
				t.Fatalf("bootstrap: %v %s", err, out)
			}
			fn(t, dsn, creds)
		})
	}
}

// adminStep is one command of a sequence run on one database.
type adminStep struct {
	name         string
	whenArgs     []string
	expectCode   int
	expectStdout []string
	expectStderr []string
	// expectNot are strings that must be on neither stream.
	expectNot []string
}

// runSteps runs the steps in order with --database dsn, and stops at
// the first that fails: the later ones depend on it.
func runSteps(t *testing.T, dsn string, steps []adminStep) {
	t.Helper()
	for _, st := range steps {
		r := runCLI(t, args(append(st.whenArgs, "--database", dsn)...))
		expectResult(t, r, st.expectCode, st.expectStdout, st.expectStderr)
		for _, s := range st.expectNot {
			if strings.Contains(r.stdout+r.stderr, s) {
				t.Errorf("output shows %q: stdout %q stderr %q", s, r.stdout, r.stderr)
			}
		}
		if t.Failed() {
			t.Fatalf("step %q failed", st.name)
		}
	}
}

// newUser creates a user with a verified address and the roles given
// (the role user by default), and n live sessions, straight in the
// store: the fixture of the users commands.
func newUser(t *testing.T, d *db.DB, name, addr string, sessions int, roles ...string) (userID string, sessionIDs []string) {
	t.Helper()
	ctx := t.Context()
	ms := fixedNow.UnixMilli()
	id := func() string { return db.NewID(fixedNow, rand.Reader) }
	u, err := d.CreateUser(ctx, db.NewUser{User: db.User{ID: id(), Name: name, CreatedMs: ms},
		Email: db.Email{ID: id(), Email: addr, VerifiedMs: ms, CreatedMs: ms}, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	for range sessions {
		s := db.Session{ID: id(), UserID: u.ID, CreatedMs: ms, ExpiresMs: fixedNow.Add(time.Hour).UnixMilli()}
		if err := d.CreateSession(ctx, s, db.RefreshToken{Hash: id(), CreatedMs: ms, ExpiresMs: s.ExpiresMs}); err != nil {
			t.Fatal(err)
		}
		sessionIDs = append(sessionIDs, s.ID)
	}
	return u.ID, sessionIDs
}

// nextCursor finds the cursor a table's last line offers.
var nextCursor = regexp.MustCompile(`--cursor (\S+)`)
