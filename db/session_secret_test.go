package db_test

import (
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMigration0008_upgradeWithData applies 0008 to a database with a
// live session written at 0007: the session keeps working and is marked
// as made without the client's secret (it refreshes as before); a new
// session keeps the mark it is given; down and up again.
func TestMigration0008_upgradeWithData(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0007"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1)",
			"INSERT INTO sessions (id, user_id, created_ms, expires_ms, refreshed_ms) VALUES ('s1', 'u1', 1, 9999999999999, 1)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0008"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp to 0008: %v", err)
		}
		// The schema is 0008's, not the code's: read and write in SQL.
		if verified, err := secretVerifiedAt0008(t, d, "s1"); err != nil || verified {
			t.Fatalf("old session after 0008: secret_verified %v, %v; want without the secret mark", verified, err)
		}
		for _, id := range []string{"s2", "s3"} {
			verified := id == "s2"
			if _, err := d.SQL().ExecContext(ctx, "INSERT INTO sessions (id, user_id, created_ms, expires_ms, refreshed_ms, secret_verified) VALUES (?, 'u1', 2, 9999999999999, 2, ?)",
				id, verified); err != nil {
				t.Fatal(err)
			}
			if got, err := secretVerifiedAt0008(t, d, id); err != nil || got != verified {
				t.Fatalf("session %s: secret_verified %v, %v; want %v", id, got, err, verified)
			}
		}
		if v, err := d.MigrateDown(ctx); err != nil || v != 8 {
			t.Fatalf("MigrateDown = %d, %v; want version 8 reverted", v, err)
		}
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp again: %v", err)
		}
		if got, err := secretVerifiedAt0008(t, d, "s2"); err != nil || got {
			t.Fatalf("s2 after down and up: secret_verified %v, %v; want the mark gone (down drops it)", got, err)
		}
	})
}

// secretVerifiedAt0008 reads a session's secret_verified in SQL.
func secretVerifiedAt0008(t *testing.T, d *db.DB, id string) (bool, error) {
	t.Helper()
	var v bool
	err := d.SQL().QueryRowContext(t.Context(), "SELECT secret_verified FROM sessions WHERE id = ?", id).Scan(&v)
	return v, err
}
