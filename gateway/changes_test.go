package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
)

// notifyingSource tells each snapshot load on a channel.
type notifyingSource struct {
	gateway.SnapshotSource
	loads chan struct{}
}

func (n notifyingSource) LoadSnapshot(ctx context.Context, nowMs int64) (gateway.Snapshot, error) {
	n.loads <- struct{}{}
	return n.SnapshotSource.LoadSnapshot(ctx, nowMs)
}

// TestRunReloadsOnChange checks that a change notice reloads the snapshot
// at once, long before the refresh interval.
func TestRunReloadsOnChange(t *testing.T) {
	loads := make(chan struct{}, 10)
	changes := make(chan struct{})
	e := newEnv(t, func(c *gateway.Config) {
		c.Snapshots = notifyingSource{SnapshotSource: c.Snapshots, loads: loads}
		c.Changes = changes
		c.RefreshInterval = time.Hour
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.gw.Run(ctx)
	expectLoad := func(what string) {
		t.Helper()
		select {
		case <-loads:
		case <-time.After(2 * time.Second):
			t.Fatalf("no snapshot load %s", what)
		}
	}
	expectLoad("at start")
	changes <- struct{}{}
	expectLoad("after a change notice (the interval is an hour)")
}
