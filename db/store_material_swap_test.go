package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestSwapFingerprints: the swaps happen only while every recorded value
// is the one expected, all or none (of two instances swapping at once, one
// wins), and names and values out of bounds are refused.
func TestSwapFingerprints(t *testing.T) {
	a, b, c := strings.Repeat("a", 64), strings.Repeat("b", 64), strings.Repeat("c", 64)
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if ok, err := d.SwapFingerprints(ctx, db.FingerprintSwap{Old: a, New: db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 1}}); err != nil || ok {
			t.Fatalf("swap of a row that does not exist: %v %v", ok, err)
		}
		if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "info-key", Value: a, CreatedMs: 1}); err != nil {
			t.Fatal(err)
		}
		if ok, err := d.SwapFingerprints(ctx, db.FingerprintSwap{Old: c, New: db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 2}}); err != nil || ok {
			t.Fatalf("swap from a value not recorded: %v %v", ok, err)
		}
		if ok, err := d.SwapFingerprints(ctx, db.FingerprintSwap{Old: a, New: db.Fingerprint{Name: "info-key", Value: b, CreatedMs: 2}}); err != nil || !ok {
			t.Fatalf("swap: %v %v", ok, err)
		}
		if ok, _ := d.SwapFingerprints(ctx, db.FingerprintSwap{Old: a, New: db.Fingerprint{Name: "info-key", Value: c, CreatedMs: 3}}); ok {
			t.Fatal("a second swap from the old value succeeded")
		}
		got, err := d.SharedMaterial(ctx)
		if err != nil || got["info-key"].Value != b || got["info-key"].CreatedMs != 2 {
			t.Fatalf("recorded %+v, %v", got["info-key"], err)
		}
		// Two rows: one of them differs, so neither changes.
		if _, err := d.RecordFingerprint(ctx, db.Fingerprint{Name: "info-key-previous", Value: a, CreatedMs: 1}); err != nil {
			t.Fatal(err)
		}
		if ok, err := d.SwapFingerprints(ctx,
			db.FingerprintSwap{Old: b, New: db.Fingerprint{Name: "info-key", Value: c, CreatedMs: 4}},
			db.FingerprintSwap{Old: c, New: db.Fingerprint{Name: "info-key-previous", Value: b, CreatedMs: 4}}); err != nil || ok {
			t.Fatalf("two swaps, the second stale: %v %v", ok, err)
		}
		if got, _ := d.SharedMaterial(ctx); got["info-key"].Value != b || got["info-key-previous"].Value != a {
			t.Fatalf("a failed pair of swaps changed a row: %+v", got)
		}
		if ok, err := d.SwapFingerprints(ctx,
			db.FingerprintSwap{Old: b, New: db.Fingerprint{Name: "info-key", Value: c, CreatedMs: 4}},
			db.FingerprintSwap{Old: a, New: db.Fingerprint{Name: "info-key-previous", Value: b, CreatedMs: 4}}); err != nil || !ok {
			t.Fatalf("two swaps: %v %v", ok, err)
		}
		if got, _ := d.SharedMaterial(ctx); got["info-key"].Value != c || got["info-key-previous"].Value != b {
			t.Fatalf("after two swaps: %+v", got)
		}
		for _, f := range []db.Fingerprint{{Name: "", Value: b}, {Name: strings.Repeat("n", 81), Value: b}, {Name: "x", Value: "short"}} {
			if _, err := d.SwapFingerprints(ctx, db.FingerprintSwap{Old: a, New: f}); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("%q: %v, want ErrInvalid", f.Name, err)
			}
		}
	})
}
