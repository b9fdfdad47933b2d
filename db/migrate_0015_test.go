package db_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMigration0015_upgradesAFilledDatabase: 0015 gives an existing
// session an unknown amr and its creation time as its auth time, an
// existing organization no second-factor requirement; sessions, flow
// codes and organizations then keep what they are given; down and up
// again.
func TestMigration0015_upgradesAFilledDatabase(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0014"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1)",
			"INSERT INTO sessions (id, user_id, created_ms, expires_ms, refreshed_ms) VALUES ('s1', 'u1', 1234, 9999999999999, 1234)",
			"INSERT INTO organizations (id, name, created_ms) VALUES ('org-1', 'Ann''s', 10)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// Up to 0015 only, so that the one step down below reverts 0015
		// whatever migrations follow it.
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0015"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp to 0015: %v", err)
		}
		old, err := d.GetSession(ctx, "s1")
		if err != nil || old.AMR != "" || old.AuthTimeMs != 1234 || !old.Live(2000) {
			t.Fatalf("old session after 0015 = %+v, %v; want live, amr unknown, auth time = created", old, err)
		}
		if o, err := d.GetOrganization(ctx, "org-1"); err != nil || o.RequireSecondFactor {
			t.Fatalf("old organization after 0015 = %+v, %v; want no requirement", o, err)
		}
		if err := d.CreateSession(ctx, db.Session{ID: "s2", UserID: "u1", CreatedMs: 2, ExpiresMs: 9999999999999, AMR: "pwd otp mfa", AuthTimeMs: 2},
			db.RefreshToken{Hash: "h-s2", CreatedMs: 2, ExpiresMs: 9999999999999}); err != nil {
			t.Fatal(err)
		}
		if got, err := d.GetSession(ctx, "s2"); err != nil || got.AMR != "pwd otp mfa" || got.AuthTimeMs != 2 {
			t.Fatalf("new session = %+v, %v", got, err)
		}
		if err := d.CreateCode(ctx, db.Code{ID: "c1", Hash: "hash-c1", Kind: db.CodeTOTPFlow, UserID: "u1", State: "0123456789abcdef0123456789abcdef",
			CreatedMs: 2, ExpiresMs: 9999999999999, AMR: "mail"}); err != nil {
			t.Fatal(err)
		}
		if c, err := d.GetCodeByHash(ctx, "hash-c1"); err != nil || c.AMR != "mail" {
			t.Fatalf("flow code = %+v, %v; want amr mail", c, err)
		}
		if v, err := d.MigrateDown(ctx); err != nil || v != 15 {
			t.Fatalf("MigrateDown = %d, %v; want version 15 reverted", v, err)
		}
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp again: %v", err)
		}
		if got, err := d.GetSession(ctx, "s2"); err != nil || got.AMR != "" || got.AuthTimeMs != 2 {
			t.Fatalf("s2 after down and up = %+v, %v; want amr gone (down drops it), auth time = created", got, err)
		}
	})
}

// TestSecondFactorOrgs: an organization's requirement is set and read
// back; it applies to accepted members of live organizations only.
func TestSecondFactorOrgs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1), ('u2', 'Bob', 1, 1), ('u3', 'Cy', 1, 1)",
			"INSERT INTO organizations (id, name, created_ms) VALUES ('org-1', 'One', 10), ('org-2', 'Two', 10)",
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, created_ms, pending) VALUES ('m-1', 'org-1', 'u1', 1, 10, 0), ('m-2', 'org-1', 'u2', 1, 10, 1), ('m-3', 'org-2', 'u3', 1, 10, 0)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, v := range []bool{true, true} { // the second time sets what is there
			if err := d.SetOrganizationSecondFactor(ctx, "org-1", v); err != nil {
				t.Fatal(err)
			}
		}
		if o, err := d.GetOrganization(ctx, "org-1"); err != nil || !o.RequireSecondFactor {
			t.Fatalf("org-1 = %+v, %v; want the requirement", o, err)
		}
		if err := d.SetOrganizationSecondFactor(ctx, "org-x", true); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("a missing organization: %v, want ErrNotFound", err)
		}
		for user, want := range map[string]bool{"u1": true, "u2": false, "u3": false, "nobody": false} {
			if got, err := d.UserInSecondFactorOrg(ctx, user); err != nil || got != want {
				t.Errorf("UserInSecondFactorOrg(%s) = %v, %v; want %v (u2's invitation is pending, u3's organization requires nothing)", user, got, err, want)
			}
		}
		if err := d.DeleteOrganization(ctx, "org-1", 20); err != nil {
			t.Fatal(err)
		}
		if got, err := d.UserInSecondFactorOrg(ctx, "u1"); err != nil || got {
			t.Errorf("member of a deleted organization: %v, %v; want false", got, err)
		}
		if err := d.SetOrganizationSecondFactor(ctx, "org-1", false); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("a deleted organization: %v, want ErrNotFound", err)
		}
	})
}
