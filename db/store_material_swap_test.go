package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestSwapFingerprint: the swap happens only while the recorded value is
// the one expected (of two instances swapping at once, one wins), and
// refuses names and values out of bounds.
func TestSwapFingerprint(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if ok, err := d.SwapFingerprint(ctx, a, db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 1}); err != nil || ok {
			t.Fatalf("swap of a row that does not exist: %v %v", ok, err)
		}
		if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "info-key", Value: a, CreatedMs: 1}); err != nil {
			t.Fatal(err)
		}
		if ok, err := d.SwapFingerprint(ctx, c, db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 2}); err != nil || ok {
			t.Fatalf("swap from a value not recorded: %v %v", ok, err)
		}
		if ok, err := d.SwapFingerprint(ctx, a, db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 2}); err != nil || !ok {
			t.Fatalf("swap: %v %v", ok, err)
		}
		if ok, _ := d.SwapFingerprint(ctx, a, db.Fingerprint{Name: "info-key", Value: c, CreatedMs: 3}); ok {
			t.Fatal("a second swap from the old value succeeded")
		}
		got, err := d.SharedMaterial(ctx)
		if err != nil || got["info-key"].Value != b || got["info-key"].CreatedMs != 2 {
			t.Fatalf("recorded %+v, %v", got["info-key"], err)
		}
		for _, f := range []db.Fingerprint{{Name: "", Value: b}, {Name: strings.Repeat("n", 81), Value: b}, {Name: "x", Value: "short"}} {
			if _, err := d.SwapFingerprint(ctx, a, f); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", f.Name, err)
			}
		}
	})
}
