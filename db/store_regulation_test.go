package db_test

import (
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestRegulation_failures checks that failures are counted per subject
// over a window.
func TestRegulation_failures(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		longSubject := strings.Repeat("ü", 320)
		for _, f := range []struct {
			kind, subject, step string
			ms                  int64
		}{
			{db.RegulateAccount, "ann@example.com", "password", authNow - 400_000},
			{db.RegulateAccount, "ann@example.com", "password", authNow - 200_000},
			{db.RegulateAccount, "ann@example.com", "code", authNow - 100_000},
			{db.RegulateAccount, "ann@example.com", "totp", authNow},
			// The same millisecond twice: two rows.
			{db.RegulateIP, "192.0.2.1", "password", authNow},
			{db.RegulateIP, "192.0.2.1", "password", authNow},
			{db.RegulateAccount, longSubject, "password", authNow},
		} {
			if err := d.RecordFailure(w.ctx, f.kind, f.subject, f.step, f.ms); err != nil {
				t.Fatalf("RecordFailure %+v: %v", f, err)
			}
		}
		tests := []struct {
			name         string
			givenKind    string
			givenSubject string
			givenSince   int64
			expectCount  int
		}{
			{name: "last five minutes", givenKind: db.RegulateAccount, givenSubject: "ann@example.com", givenSince: authNow - 300_000, expectCount: 3},
			{name: "window starts at a failure: counted", givenKind: db.RegulateAccount, givenSubject: "ann@example.com", givenSince: authNow - 200_000, expectCount: 3},
			{name: "all", givenKind: db.RegulateAccount, givenSubject: "ann@example.com", givenSince: 0, expectCount: 4},
			{name: "same millisecond twice", givenKind: db.RegulateIP, givenSubject: "192.0.2.1", givenSince: authNow, expectCount: 2},
			{name: "kinds are apart", givenKind: db.RegulateIP, givenSubject: "ann@example.com", givenSince: 0, expectCount: 0},
			{name: "subjects compare exactly", givenKind: db.RegulateAccount, givenSubject: "Ann@example.com", givenSince: 0, expectCount: 0},
			{name: "longest subject", givenKind: db.RegulateAccount, givenSubject: longSubject, givenSince: 0, expectCount: 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n, err := d.CountFailures(w.ctx, tt.givenKind, tt.givenSubject, tt.givenSince)
				if err != nil || n != tt.expectCount {
					t.Errorf("CountFailures = %d, %v; want %d", n, err, tt.expectCount)
				}
			})
		}
		t.Run("invalid failures", func(t *testing.T) {
			expectAuthErr(t, d.RecordFailure(w.ctx, "planet", "x", "password", authNow), db.ErrInvalid)
			expectAuthErr(t, d.RecordFailure(w.ctx, db.RegulateIP, longSubject+"x", "password", authNow), db.ErrInvalid)
			expectAuthErr(t, d.RecordFailure(w.ctx, db.RegulateIP, "x", strings.Repeat("s", 17), authNow), db.ErrInvalid)
		})
	})
}

// TestBan checks that a ban keeps the later end, per subject.
func TestBan(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		tests := []struct {
			name        string
			givenKind   string
			givenUntil  int64 // 0: no Ban call
			expectUntil int64
			expectErr   error
		}{
			{name: "not banned", givenKind: db.RegulateAccount, expectUntil: 0},
			{name: "first ban", givenKind: db.RegulateAccount, givenUntil: authNow + 900_000, expectUntil: authNow + 900_000},
			{name: "shorter ban keeps the longer", givenKind: db.RegulateAccount, givenUntil: authNow + 1, expectUntil: authNow + 900_000},
			{name: "longer ban extends", givenKind: db.RegulateAccount, givenUntil: authNow + 1_800_000, expectUntil: authNow + 1_800_000},
			{name: "same subject, other kind", givenKind: db.RegulateIP, expectUntil: 0},
			{name: "unknown kind", givenKind: "planet", givenUntil: authNow, expectErr: db.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.givenUntil != 0 {
					expectAuthErr(t, d.Ban(w.ctx, tt.givenKind, "ann@example.com", tt.givenUntil), tt.expectErr)
				}
				until, err := d.BannedUntil(w.ctx, tt.givenKind, "ann@example.com")
				if err != nil || until != tt.expectUntil {
					t.Errorf("BannedUntil = %d, %v; want %d", until, err, tt.expectUntil)
				}
			})
		}
	})
}

// TestPruneRegulation checks that old failures and ended bans go, and
// the rest stays.
func TestPruneRegulation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		for _, ms := range []int64{authNow - 2, authNow - 1, authNow, authNow + 1} {
			if err := d.RecordFailure(w.ctx, db.RegulateIP, "192.0.2.1", "password", ms); err != nil {
				t.Fatal(err)
			}
		}
		for subject, until := range map[string]int64{"ended": authNow - 1, "ends-now": authNow, "later": authNow + 1} {
			if err := d.Ban(w.ctx, db.RegulateIP, subject, until); err != nil {
				t.Fatal(err)
			}
		}
		n, err := d.PruneRegulation(w.ctx, authNow)
		if err != nil || n != 3 {
			t.Fatalf("PruneRegulation = %d, %v; want 3 rows (2 failures, 1 ban)", n, err)
		}
		if got, _ := d.CountFailures(w.ctx, db.RegulateIP, "192.0.2.1", 0); got != 2 {
			t.Errorf("%d failures left, want 2", got)
		}
		for subject, want := range map[string]int64{"ended": 0, "ends-now": authNow, "later": authNow + 1} {
			if got, err := d.BannedUntil(w.ctx, db.RegulateIP, subject); err != nil || got != want {
				t.Errorf("BannedUntil(%s) = %d, %v; want %d", subject, got, err, want)
			}
		}
	})
}
