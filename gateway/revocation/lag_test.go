package revocation_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/verifier"
)

// observations records what the poller reports as lag.
type observations []float64

func (o *observations) Observe(v float64) { *o = append(*o, v) }

// TestPollerLag: an entry written after the first poll is reported with
// the time from its creation to the poll that applied it; entries the
// first poll reads back (applied long ago, by instances then running) and
// entries re-read by creation time are not, nor is one from a writer
// whose clock runs ahead reported as a negative lag.
func TestPollerLag(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.UnixMilli(1_800_000_000_000)
		add := func(subject string, created time.Time) {
			t.Helper()
			if _, err := d.AddRevocation(ctx, db.Revocation{Kind: db.RevokeSession, Subject: subject,
				NotBeforeMs: created.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli(), CreatedMs: created.UnixMilli()}); err != nil {
				t.Fatal(err)
			}
		}
		var lag observations
		p, err := revocation.New(revocation.Config{Feed: gatewaystore.New(d), Set: verifier.NewRevocationSet(),
			Now: func() time.Time { return now }, Lag: &lag})
		if err != nil {
			t.Fatal(err)
		}
		add("old", now.Add(-time.Hour))
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if len(lag) != 0 {
			t.Fatalf("first poll reported %v, want nothing", lag)
		}
		add("late", now.Add(500*time.Millisecond))
		add("ahead", now.Add(3*time.Second)) // the writer's clock runs ahead
		now = now.Add(2 * time.Second)
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second) // a poll re-reading both by creation time
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if want := []float64{1.5, 0}; !slices.Equal(lag, want) {
			t.Errorf("lag = %v, want %v", lag, want)
		}
	})
}
