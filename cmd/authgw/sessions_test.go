package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
)

// TestSessionsRevoke ends sessions from the command line: one, a user's,
// then all; each writes the revocations the gateways poll.
func TestSessionsRevoke(t *testing.T) {
	dsn := migratedDSN(t)
	ctx := context.Background()
	d, err := db.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	now := fixedNow
	seq := 0
	id := func() string {
		seq++
		return fmt.Sprintf("01a20320-a200-7000-8000-%012d", seq)
	}
	users := map[string][]string{}
	var ids []string
	for _, name := range []string{"ann", "bob"} {
		u, err := d.CreateUser(ctx, db.NewUser{User: db.User{ID: id(), Name: name, CreatedMs: now.UnixMilli()},
			Email: db.Email{ID: id(), Email: name + "@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			s := db.Session{ID: id(), UserID: u.ID, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli()}
			if err := d.CreateSession(ctx, s, db.RefreshToken{Hash: id(), CreatedMs: s.CreatedMs, ExpiresMs: s.ExpiresMs}); err != nil {
				t.Fatal(err)
			}
			users[u.ID] = append(users[u.ID], s.ID)
		}
		ids = append(ids, u.ID)
	}
	ann, bob := ids[0], ids[1]
	live := func() int {
		n := 0
		for _, sessions := range users {
			for _, sid := range sessions {
				if s, err := d.GetSession(ctx, sid); err == nil && s.InvalidatedMs == 0 {
					n++
				}
			}
		}
		return n
	}

	tests := []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectStdout string
		expectStderr string
		expectLive   int
	}{
		{name: "no selector", whenArgs: []string{"sessions", "revoke"}, expectCode: exitUsage, expectStderr: "exactly one of", expectLive: 6},
		{name: "two selectors", whenArgs: []string{"sessions", "revoke", "--all", "--user", ann}, expectCode: exitUsage, expectStderr: "exactly one of", expectLive: 6},
		{name: "unknown session", whenArgs: []string{"sessions", "revoke", "--session", "nope"}, expectCode: exitFailure, expectStderr: "session nope", expectLive: 6},
		{name: "unknown user", whenArgs: []string{"sessions", "revoke", "--user", "typo-user"}, expectCode: exitFailure, expectStderr: "user typo-user", expectLive: 6},
		{name: "malformed --redis: a usage error before anything is revoked", whenArgs: []string{"sessions", "revoke", "--all", "--redis", "redis://:Sup3rSecret@127.0.0.1:notaport/0"},
			expectCode: exitUsage, expectStderr: "not a valid redis:// or rediss:// URL", expectLive: 6},
		{name: "one session", whenArgs: []string{"sessions", "revoke", "--session", users[ann][0]}, expectStdout: "revoked session " + users[ann][0], expectLive: 5},
		{name: "a user's sessions", whenArgs: []string{"sessions", "revoke", "--user", ann}, expectStdout: "revoked 2 sessions of user " + ann, expectLive: 3},
		{name: "all", whenArgs: []string{"sessions", "revoke", "--all", "--reason", "key-leak"}, expectStdout: "revoked 3 sessions", expectLive: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, args(append(tt.whenArgs, "--database", dsn)...))
			if r.code != tt.expectCode || !strings.Contains(r.stdout, tt.expectStdout) || !strings.Contains(r.stderr, tt.expectStderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "Sup3rSecret") {
				t.Errorf("stderr shows the Redis password: %q", r.stderr)
			}
			if got := live(); got != tt.expectLive {
				t.Fatalf("%d live sessions, want %d", got, tt.expectLive)
			}
		})
	}
	if s, _ := d.GetSession(ctx, users[bob][0]); s.InvalidatedReason != "key-leak" {
		t.Errorf("reason %q, want key-leak", s.InvalidatedReason)
	}
	// The gateways' feed holds a revocation for each.
	revs, err := d.RevocationsSince(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	// One session; ann's two sessions and ann (a user's sessions are each
	// revoked too, so that a refresh racing the revocation cannot mint
	// working tokens); bob's three sessions.
	if len(revs) != 7 {
		t.Errorf("%d revocations in the feed, want 7: %+v", len(revs), revs)
	}
}
