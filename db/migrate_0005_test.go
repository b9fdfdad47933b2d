package db_test

import (
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMigration0005_upgradesAFilledDatabase: 0005 adds the regulation
// kinds factor and mail-pair to a database that 0004 filled, keeping its
// rows; going down drops the rows of the new kinds only.
func TestMigration0005_upgradesAFilledDatabase(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0004"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, f := range fixture {
			if _, err := d.SQL().ExecContext(ctx, f.query, f.args...); err != nil {
				t.Fatalf("fixture %s: %v", f.query, err)
			}
		}
		if err := d.Ban(ctx, db.RegulateMail, "ann@example.com", 5); err != nil {
			t.Fatal(err)
		}
		if err := d.RecordFailure(ctx, db.RegulateFactor, "user-1", "totp", 1); err == nil {
			t.Fatal("0004 accepted the factor kind: the test proves nothing")
		}
		// Up to 0005 only, so that the one step down below reverts 0005
		// whatever migrations follow it.
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0005"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp on a filled database: %v", err)
		}
		if n, err := d.CountFailures(ctx, db.RegulateIP, "192.0.2.1", 0); err != nil || n != 1 {
			t.Errorf("the failure row after the upgrade: %d, %v; want 1", n, err)
		}
		if u, err := d.BannedUntil(ctx, db.RegulateMail, "ann@example.com"); err != nil || u != 5 {
			t.Errorf("the ban row after the upgrade: %d, %v; want 5", u, err)
		}
		for _, kind := range []string{db.RegulateFactor, db.RegulateMailPair} {
			if err := d.RecordFailure(ctx, kind, "x", "totp", 1); err != nil {
				t.Errorf("RecordFailure(%s) = %v", kind, err)
			}
			if err := d.Ban(ctx, kind, "x", 1); err != nil {
				t.Errorf("Ban(%s) = %v", kind, err)
			}
		}
		if _, err := d.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown to 0004: %v", err)
		}
		if n, err := d.CountFailures(ctx, db.RegulateIP, "192.0.2.1", 0); err != nil || n != 1 {
			t.Errorf("the failure row after going down: %d, %v; want 1", n, err)
		}
		if u, err := d.BannedUntil(ctx, db.RegulateMail, "ann@example.com"); err != nil || u != 5 {
			t.Errorf("the ban row after going down: %d, %v; want 5", u, err)
		}
		if n, err := d.CountFailures(ctx, db.RegulateFactor, "x", 0); err != nil || n != 0 {
			t.Errorf("factor rows after going down: %d, %v; want 0", n, err)
		}
	})
}

// TestRecentLoginIPs: the IPs of the recent sessions of the account whose
// verified address has the key; nothing for an unknown or unverified
// address, nor for sessions older than sinceMs (unless refreshed since).
func TestRecentLoginIPs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1), ('user-2', 'Bob', 1, 1)",
			"INSERT INTO emails (id, user_id, email, email_key, verified_key, verified_ms, created_ms) VALUES ('email-1', 'user-1', 'Ann@example.com', 'ann@example.com', 'ann@example.com', 1, 1)",
			"INSERT INTO emails (id, user_id, email, email_key, created_ms) VALUES ('email-2', 'user-2', 'bob@example.com', 'bob@example.com', 1)",
			"INSERT INTO sessions (id, user_id, ip, created_ms, expires_ms, refreshed_ms) VALUES " +
				"('s1', 'user-1', '192.0.2.1', 1000, 9000, 1000), ('s2', 'user-1', '2001:db8::1', 10, 9000, 2000), " +
				"('s3', 'user-1', '198.51.100.1', 10, 900, 10), ('s4', 'user-2', '203.0.113.1', 1000, 9000, 1000)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		tests := []struct {
			name      string
			whenKey   string
			expectIPs []string
		}{
			{name: "a verified address", whenKey: "ann@example.com", expectIPs: []string{"192.0.2.1", "2001:db8::1"}},
			{name: "an unverified address", whenKey: "bob@example.com"},
			{name: "an unknown address", whenKey: "carol@example.com"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ips, err := d.RecentLoginIPs(ctx, tc.whenKey, 500, 10)
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(ips)
				if !slices.Equal(ips, tc.expectIPs) {
					t.Errorf("RecentLoginIPs = %q, want %q", ips, tc.expectIPs)
				}
			})
		}
	})
}
