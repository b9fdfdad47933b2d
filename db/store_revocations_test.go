package db_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// revocationSubjects returns the subjects of revs, in order.
func revocationSubjects(revs []db.Revocation) []string {
	out := []string{}
	for _, r := range revs {
		out = append(out, r.Subject)
	}
	return out
}

// TestRevocationFeed checks appending, paging by cursor, reading by
// creation time and pruning.
func TestRevocationFeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		var cursors []int64
		for i, r := range []db.Revocation{
			{Kind: db.RevokeSession, Subject: "s1", NotBeforeMs: authNow, ExpiresMs: authNow + 100, CreatedMs: authNow},
			{Kind: db.RevokeUser, Subject: "u1", NotBeforeMs: authNow + 1, ExpiresMs: authNow + 300, CreatedMs: authNow + 1},
			{Kind: db.RevokeSession, Subject: "s2", NotBeforeMs: authNow + 2, ExpiresMs: authNow + 200, CreatedMs: authNow + 2},
			{Cursor: 999, Kind: db.RevokeSession, Subject: "s3", NotBeforeMs: authNow + 3, ExpiresMs: authNow + 300, CreatedMs: authNow + 3},
		} {
			c, err := d.AddRevocation(w.ctx, r)
			if err != nil {
				t.Fatalf("AddRevocation %d: %v", i, err)
			}
			if len(cursors) > 0 && c <= cursors[len(cursors)-1] {
				t.Fatalf("cursor %d after %d: not increasing", c, cursors[len(cursors)-1])
			}
			cursors = append(cursors, c)
		}

		tests := []struct {
			name           string
			when           func() ([]db.Revocation, error)
			expectSubjects []string
			expectErr      error
		}{
			{name: "from the start, one page", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, 0, 0) }, expectSubjects: []string{"s1", "u1", "s2", "s3"}},
			{name: "first page of two", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, 0, 2) }, expectSubjects: []string{"s1", "u1"}},
			{name: "next page", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, cursors[1], 2) }, expectSubjects: []string{"s2", "s3"}},
			{name: "nothing new", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, cursors[3], 2) }, expectSubjects: []string{}},
			{name: "negative limit", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, 0, -1) }, expectErr: db.ErrInvalid},
			{name: "limit too large", when: func() ([]db.Revocation, error) { return d.RevocationsSince(w.ctx, 0, 10001) }, expectErr: db.ErrInvalid},
			{name: "created since", when: func() ([]db.Revocation, error) { return d.RevocationsCreatedSince(w.ctx, authNow+1) }, expectSubjects: []string{"u1", "s2", "s3"}},
			{name: "created since, none", when: func() ([]db.Revocation, error) { return d.RevocationsCreatedSince(w.ctx, authNow+4) }, expectSubjects: []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.when()
				expectAuthErr(t, err, tt.expectErr)
				if tt.expectErr == nil && !slices.Equal(revocationSubjects(got), tt.expectSubjects) {
					t.Errorf("subjects = %v, want %v", revocationSubjects(got), tt.expectSubjects)
				}
			})
		}
		t.Run("rows read back whole", func(t *testing.T) {
			got, err := d.RevocationsSince(w.ctx, cursors[0], 1)
			want := db.Revocation{Cursor: cursors[1], Kind: db.RevokeUser, Subject: "u1", NotBeforeMs: authNow + 1, ExpiresMs: authNow + 300, CreatedMs: authNow + 1}
			if err != nil || len(got) != 1 || got[0] != want {
				t.Errorf("RevocationsSince = %+v, %v; want [%+v]", got, err, want)
			}
		})
		t.Run("invalid rows", func(t *testing.T) {
			for _, r := range []db.Revocation{
				{Kind: "client", Subject: "c1", ExpiresMs: 1, CreatedMs: 1},
				{Kind: db.RevokeSession, Subject: strings.Repeat("s", 37), ExpiresMs: 1, CreatedMs: 1},
			} {
				if _, err := d.AddRevocation(w.ctx, r); err == nil {
					t.Errorf("AddRevocation(%+v) succeeded", r)
				} else {
					expectAuthErr(t, err, db.ErrInvalid)
				}
			}
		})
		t.Run("prune, then cursors still grow", func(t *testing.T) {
			n, err := d.PruneRevocations(w.ctx, authNow+300)
			if err != nil || n != 2 {
				t.Fatalf("PruneRevocations = %d, %v; want 2 (s1, s2)", n, err)
			}
			if got, _ := d.RevocationsSince(w.ctx, 0, 0); !slices.Equal(revocationSubjects(got), []string{"u1", "s3"}) {
				t.Errorf("left: %v, want [u1 s3]", revocationSubjects(got))
			}
			// Pruning the newest row must not hand its cursor out again.
			if _, err := d.PruneRevocations(w.ctx, authNow+301); err != nil {
				t.Fatal(err)
			}
			c, err := d.AddRevocation(w.ctx, db.Revocation{Kind: db.RevokeSession, Subject: "s4", ExpiresMs: authNow + 400, CreatedMs: authNow + 4})
			if err != nil || c <= cursors[3] {
				t.Errorf("cursor after pruning = %d, %v; want above %d", c, err, cursors[3])
			}
		})
	})
}

// TestRevocationFeed_lateCommit shows the MySQL case the overlap re-read
// exists for: a row whose transaction commits after a later row was
// polled has a cursor below the poller's, and only
// RevocationsCreatedSince finds it. SQLite's single writer cannot
// produce it.
func TestRevocationFeed_lateCommit(t *testing.T) {
	d := dbtest.MariaDB(t)
	w := newAuthWorld(t, d)

	// A slow writer takes cursor A and does not commit yet.
	slow, err := d.SQL().BeginTx(w.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = slow.Rollback() }()
	if _, err := slow.ExecContext(w.ctx,
		"INSERT INTO revocations (kind, subject, not_before_ms, expires_ms, created_ms) VALUES ('session', 'slow', ?, ?, ?)",
		authNow, authNow+1000, authNow); err != nil {
		t.Fatal(err)
	}
	// A fast writer takes cursor B > A and commits.
	if _, err := d.AddRevocation(w.ctx, db.Revocation{Kind: db.RevokeSession, Subject: "fast", NotBeforeMs: authNow, ExpiresMs: authNow + 1000, CreatedMs: authNow + 1}); err != nil {
		t.Fatal(err)
	}
	// The poller, at authNow+2, sees B only and moves its cursor past A.
	first, err := d.RevocationsSince(w.ctx, 0, 0)
	if err != nil || !slices.Equal(revocationSubjects(first), []string{"fast"}) {
		t.Fatalf("first poll = %v, %v; want [fast]", revocationSubjects(first), err)
	}
	cursor, lastPoll := first[0].Cursor, authNow+2
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	// The next poll: by cursor, nothing; the overlap re-read finds A.
	byCursor, err := d.RevocationsSince(w.ctx, cursor, 0)
	if err != nil || len(byCursor) != 0 {
		t.Fatalf("poll by cursor = %v, %v; want nothing", revocationSubjects(byCursor), err)
	}
	const overlap = 10_000
	late, err := d.RevocationsCreatedSince(w.ctx, lastPoll-overlap)
	if err != nil || !slices.Contains(revocationSubjects(late), "slow") {
		t.Errorf("overlap re-read = %v, %v; want it to hold slow", revocationSubjects(late), err)
	}
}
