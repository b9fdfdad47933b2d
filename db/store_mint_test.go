package db_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier"
)

// TestRotationRacesMembershipRemoval (review finding 1): a refresh's
// rotation reads the memberships its tokens carry; a removal of one of
// them, racing it in the same millisecond, must either be seen by the
// read or revoke the tokens stamped by it (MintInputs.IssuedMs), never
// neither; and a rotation that saw the removal must not be revoked by
// it. Each trial races RotateRefreshToken against RemoveMembership.
func TestRotationRacesMembershipRemoval(t *testing.T) {
	const trials = 100
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.org("race-org", 0)
		const at = authNow + 10 // both sides' clock: the same millisecond
		sawIt, missedIt := 0, 0
		for i := range trials {
			user, sess, mem := authSeq("mrace-user", i), authSeq("mrace-sess", i), authSeq("mrace-mem", i)
			w.users(user)
			if _, err := d.UpsertMembership(w.ctx, db.Membership{ID: mem, OrganizationID: "race-org", UserID: user, Read: true, CreatedMs: authNow}); err != nil {
				t.Fatal(err)
			}
			w.session(sess, user, authNow+3_600_000, authHash(sess))
			var res *db.RotateResult
			errs := authRace(2, func(g int) error {
				if g == 0 {
					var err error
					res, err = d.RotateRefreshToken(w.ctx, authHash(sess), db.RefreshToken{Hash: authHash(sess + "-next"), CreatedMs: at, ExpiresMs: authNow + 3_600_000}, at)
					return err
				}
				time.Sleep(time.Duration(i%5) * 250 * time.Microsecond)
				_, err := d.RemoveMembership(w.ctx, mem, db.Revoking{AtMs: at, ExpiresMs: at + time.Hour.Milliseconds()})
				return err
			})
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("trial %d: rotate: %v, remove: %v", i, errs[0], errs[1])
			}
			set := verifier.NewRevocationSet()
			feed, err := d.RevocationsSince(w.ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range feed {
				if r.Kind == db.RevokeUser {
					set.RevokeUserBefore(r.Subject, time.UnixMilli(r.NotBeforeMs), time.UnixMilli(r.ExpiresMs))
				}
			}
			carries := len(res.Inputs.Memberships) > 0
			revoked := set.Revoked(sess, user, time.UnixMilli(res.Inputs.IssuedMs))
			switch {
			case carries && !revoked:
				t.Fatalf("trial %d: the rotation read the membership before its removal and its tokens are not revoked", i)
			case !carries && revoked:
				t.Fatalf("trial %d: the rotation read the memberships after the removal and its tokens are revoked", i)
			case carries:
				missedIt++
			default:
				sawIt++
			}
		}
		t.Logf("rotation first %d, removal first %d, of %d", missedIt, sawIt, trials)
		if missedIt == 0 || sawIt == 0 {
			t.Errorf("only one order occurred in %d trials: the test checked less than it should", trials)
		}
	})
}

// TestRemoveMembership_errors checks the lowering writes on a missing
// membership.
func TestRemoveMembership_errors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		if _, err := d.RemoveMembership(w.ctx, "nope", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1}); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("RemoveMembership of a missing membership: %v, want ErrNotFound", err)
		}
		if _, _, err := d.SetMembershipFlags(w.ctx, "nope", db.MembershipFlags{Read: true, Edit: false, Manage: false, Delete: false}, db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1}); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("SetMembershipFlags of a missing membership: %v, want ErrNotFound", err)
		}
	})
}

// TestMigration0007_upgradeWithData applies 0007 to a database with a
// user, an organization and a pending invitation written at 0004: every
// user's floor is 0 (nothing refused by the upgrade), the invitation's
// inviter unknown, and the store then works on them; down and up again.
func TestMigration0007_upgradeWithData(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0004"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1)",
			"INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u2', 'Bob', 1, 1)",
			"INSERT INTO organizations (id, name, created_ms) VALUES ('o1', 'Old', 1)",
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, can_edit, can_manage, can_delete, created_ms) VALUES ('m1', 'o1', 'u1', 1, 1, 1, 1, 1)",
			"INSERT INTO org_memberships (id, organization_id, user_id, can_read, can_edit, can_manage, can_delete, created_ms, pending) VALUES ('m2', 'o1', 'u2', 1, 0, 0, 0, 1, 1)",
		} {
			if _, err := d.SQL().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		db.SetMigrations(d, embeddedUpTo(t, d.Dialect(), "0007"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp to 0007: %v", err)
		}
		var floor int64
		if err := d.SQL().QueryRowContext(ctx, "SELECT tokens_floor_ms FROM users WHERE id = 'u1'").Scan(&floor); err != nil || floor != 0 {
			t.Fatalf("floor after 0007 = %d, %v; want 0", floor, err)
		}
		// The owner leaves: the old invitation (no inviter) goes with the
		// last manager, and the owner's tokens are revoked.
		rev, err := d.RemoveMembership(ctx, "m1", db.Revoking{AtMs: authNow, ExpiresMs: authNow + 1000})
		if err != nil || rev == nil || rev.NotBeforeMs != authNow+1 {
			t.Fatalf("RemoveMembership = %+v, %v; want a revocation before %d", rev, err, authNow+1)
		}
		if _, err := d.GetMembership(ctx, "m2"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("the old invitation after its organization's last manager left: %v, want ErrNotFound", err)
		}
		if v, err := d.MigrateDown(ctx); err != nil || v != 7 {
			t.Fatalf("MigrateDown = %d, %v; want version 7 reverted", v, err)
		}
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp again: %v", err)
		}
	})
}
