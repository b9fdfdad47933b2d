package revocation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/verifier"
)

func TestPollerFeedsTheSet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.UnixMilli(1_800_000_000_000)
		clock := func() time.Time { return now }
		set := verifier.NewRevocationSet()
		p, err := revocation.New(revocation.Config{Feed: gatewaystore.New(d), Set: set, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if set.Revoked("s1", "u1", now.Add(-time.Minute)) {
			t.Fatal("revoked before any revocation was written")
		}
		expires := now.Add(time.Hour).UnixMilli()
		if _, err := d.AddRevocation(ctx, db.Revocation{Kind: db.RevokeSession, Subject: "s1", NotBeforeMs: now.UnixMilli(), ExpiresMs: expires, CreatedMs: now.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.AddRevocation(ctx, db.Revocation{Kind: db.RevokeUser, Subject: "u2", NotBeforeMs: now.UnixMilli(), ExpiresMs: expires, CreatedMs: now.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name          string
			session, user string
			issuedAt      time.Time
			expectRevoked bool
		}{
			{"revoked session", "s1", "u1", now.Add(-time.Minute), true},
			{"other session of another user", "s2", "u1", now.Add(-time.Minute), false},
			{"user token issued before the revocation", "s3", "u2", now.Add(-time.Minute), true},
			{"user token issued after the revocation", "s4", "u2", now.Add(time.Second), false},
		}
		for _, tt := range tests {
			if got := set.Revoked(tt.session, tt.user, tt.issuedAt); got != tt.expectRevoked {
				t.Errorf("%s: Revoked = %v, want %v", tt.name, got, tt.expectRevoked)
			}
		}
		// Past the entries' expiry they are pruned: no token they could
		// refuse is still valid.
		now = now.Add(2 * time.Hour)
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if set.Prune(now) != 0 {
			t.Error("expired revocations were kept")
		}
	})
}

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := revocation.New(revocation.Config{}); err == nil {
		t.Fatal("New accepted a config without Feed and Set")
	}
}

// failingFeed is the database's feed until down is set.
type failingFeed struct {
	revocation.Feed
	down bool
}

func (f *failingFeed) RevocationsSince(ctx context.Context, cursor int64, limit int) ([]revocation.Entry, error) {
	if f.down {
		return nil, errors.New("database down")
	}
	return f.Feed.RevocationsSince(ctx, cursor, limit)
}

// TestPollerDegraded: failing polls are reported, since the first of the
// run, with the last good poll; a good poll clears it.
func TestPollerDegraded(t *testing.T) {
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	feed := &failingFeed{Feed: gatewaystore.New(dbtest.SQLite(t))}
	p, err := revocation.New(revocation.Config{Feed: feed, Set: verifier.NewRevocationSet(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Poll(ctx); err != nil || p.Degraded() != "" {
		t.Fatalf("good poll: %v, Degraded %q", err, p.Degraded())
	}
	good := now
	feed.down = true
	for range 3 {
		now = now.Add(time.Second)
		if err := p.Poll(ctx); err == nil {
			t.Fatal("a poll of a failing feed succeeded")
		}
	}
	want := "revocation feed: polls failing since " + good.Add(time.Second).UTC().Format(time.RFC3339) +
		" (last good poll: " + good.UTC().Format(time.RFC3339) + "): database down"
	if got := p.Degraded(); got != want {
		t.Errorf("Degraded %q, want %q", got, want)
	}
	feed.down = false
	if err := p.Poll(ctx); err != nil || p.Degraded() != "" {
		t.Errorf("after recovery: %v, Degraded %q", err, p.Degraded())
	}
}
