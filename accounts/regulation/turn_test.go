package regulation_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/regulation"
)

// TestTurn: one guess per account at a time. Two regulators on one
// storage are two processes: with Redis they share the turns; with the
// SQL store alone each process has its own (documented).
func TestTurn(t *testing.T) {
	eachBackend(t, func(t *testing.T, cfg regulation.Config, _ func(regulation.Subject) int) {
		a, b := newRegulator(t, cfg), newRegulator(t, cfg)
		ctx := t.Context()
		release, err := a.Turn(ctx, ann, 0)
		if err != nil {
			t.Fatalf("the first turn = %v", err)
		}
		if _, err := a.Turn(ctx, ann, 50*time.Millisecond); !errors.Is(err, regulation.ErrBusy) {
			t.Fatalf("a second turn in the same process = %v, want ErrBusy", err)
		}
		bRelease, err := b.Turn(ctx, ann, 50*time.Millisecond)
		if shared := cfg.Redis != nil; shared != errors.Is(err, regulation.ErrBusy) {
			t.Fatalf("a turn in another process (shared: %v) = %v", shared, err)
		}
		if bRelease != nil {
			bRelease()
		}
		if other, err := a.Turn(ctx, bob, 0); err != nil {
			t.Fatalf("another account's turn = %v", err)
		} else {
			other()
		}
		release()
		if _, err := a.Turn(ctx, ip, 0); !errors.Is(err, regulation.ErrInvalid) {
			t.Errorf("an IP's turn = %v, want ErrInvalid", err)
		}

		// Concurrent guesses wait their turns: never two at once.
		var inFlight, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			r := a
			if i%2 == 1 && cfg.Redis != nil {
				r = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				release, err := r.Turn(ctx, annUp, 5*time.Second)
				if err != nil {
					t.Errorf("a waiting turn = %v", err)
					return
				}
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(10 * time.Millisecond)
				inFlight.Add(-1)
				release()
			}()
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Errorf("%d guesses at one account were in flight at once, want 1", most.Load())
		}
	})
}
