package db_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMigration0009_upgradesAFilledDatabase: 0009 gives each existing
// organization the member written with it as its creator (none when that
// member left), so the creation bound counts organizations made before
// the upgrade; and it goes down again.
func TestMigration0009_upgradesAFilledDatabase(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0008"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('user-1', 'Ann', 1, 1), ('user-2', 'Bob', 1, 1)",
			"INSERT INTO organizations (id, name, created_ms) VALUES ('org-1', 'Ann''s', 10), ('org-2', 'Left', 20)",
			// org-1: Ann's creator membership, and Bob invited later.
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, created_ms) VALUES ('m-1', 'org-1', 'user-1', 1, 10), ('m-2', 'org-1', 'user-2', 1, 11)",
			// org-2: its creator left; Bob joined later.
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, created_ms) VALUES ('m-3', 'org-2', 'user-2', 1, 21)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("fixture %s: %v", q, err)
			}
		}
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0009"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp on a filled database: %v", err)
		}
		for id, want := range map[string]string{"org-1": "user-1", "org-2": ""} {
			var by sql.NullString
			if err := d.SQL().QueryRowContext(ctx, "SELECT created_by FROM organizations WHERE id = ?", id).Scan(&by); err != nil {
				t.Fatal(err)
			}
			if by.String != want {
				t.Errorf("%s created_by = %q, want %q", id, by.String, want)
			}
		}
		// Ann's one organization counts against her bound of 1; Bob's none.
		org := db.Organization{ID: "org-3", Name: "More", CreatedMs: 30}
		if err := d.CreateOrganizationBounded(ctx, org, db.Membership{ID: "m-4", UserID: "user-1", CreatedMs: 30}, 0, 1); !errors.Is(err, db.ErrOrganizationLimit) {
			t.Errorf("Ann's second organization: %v, want ErrOrganizationLimit", err)
		}
		if err := d.CreateOrganizationBounded(ctx, org, db.Membership{ID: "m-4", UserID: "user-2", CreatedMs: 30}, 0, 1); err != nil {
			t.Errorf("Bob's first organization: %v", err)
		}
		if _, err := d.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown to 0008: %v", err)
		}
		var n int
		if err := d.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM organizations").Scan(&n); err != nil || n != 3 {
			t.Errorf("organizations after going down: %d, %v; want 3", n, err)
		}
	})
}
