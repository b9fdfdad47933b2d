package changes_test

import (
	"context"
	"testing"
	"time"

	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/gateway/changes"
)

// TestForward: a notice announced on a real Redis reaches the channel,
// and notices that arrive while one is pending are merged into it.
func TestForward(t *testing.T) {
	client := dbtest.Redis(t) // skips without Redis
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(chan struct{}, 1)
	changes.Forward(ctx, client, out)
	// The subscription is confirmed asynchronously: announce until the
	// first notice arrives.
	deadline := time.After(5 * time.Second)
	for received := false; !received; {
		if err := changes.Announce(ctx, client, "test"); err != nil {
			t.Fatal(err)
		}
		select {
		case <-out:
			received = true
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("no notice reached the channel within 5 s")
		}
	}
	// Late copies of the announcements above drain first.
	time.Sleep(200 * time.Millisecond)
	select {
	case <-out:
	default:
	}
	for range 5 {
		if err := changes.Announce(ctx, client, "test"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case <-out:
	default:
		t.Fatal("the five notices did not reach the channel")
	}
	select {
	case <-out:
		t.Fatal("five notices arriving while one was pending gave two reloads; want them merged into one")
	case <-time.After(200 * time.Millisecond):
	}
}
