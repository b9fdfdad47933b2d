package db_test

import (
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMigration0004_upgradesAFilledDatabase applies 0004 on a database
// that 0001 to 0003 made and that holds rows: the rows stay, the new regulation
// kinds are accepted, an unknown kind is still refused.
func TestMigration0004_upgradesAFilledDatabase(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0003"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range fixture {
			if _, err := d.SQL().ExecContext(ctx, f.query, f.args...); err != nil {
				t.Fatalf("fixture %s: %v", f.query, err)
			}
		}
		if err := d.Ban(ctx, db.RegulateAccount, "ann@example.com", 5); err != nil {
			t.Fatal(err)
		}
		db.SetMigrations(d, db.EmbeddedMigrations(d.Dialect()))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp on a filled database: %v", err)
		}
		if n, err := d.CountFailures(ctx, db.RegulateIP, "192.0.2.1", 0); err != nil || n != 1 {
			t.Errorf("the failure row after the upgrade: %d, %v; want 1", n, err)
		}
		if u, err := d.BannedUntil(ctx, db.RegulateAccount, "ann@example.com"); err != nil || u != 5 {
			t.Errorf("the ban row after the upgrade: %d, %v; want 5", u, err)
		}
		for _, kind := range []string{db.RegulateAccountIP, db.RegulateMail, db.RegulateMailIP} {
			if err := d.RecordFailure(ctx, kind, "x", "password", 1); err != nil {
				t.Errorf("RecordFailure(%s) = %v", kind, err)
			}
			if err := d.Ban(ctx, kind, "x", 1); err != nil {
				t.Errorf("Ban(%s) = %v", kind, err)
			}
		}
		if err := d.RecordFailure(ctx, "bogus", "x", "password", 1); err == nil {
			t.Error("RecordFailure of an unknown kind succeeded")
		}
	})
}
