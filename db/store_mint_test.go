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
				_, err := d.RemoveMembership(w.ctx, mem, at, at+time.Hour.Milliseconds())
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
		if _, err := d.RemoveMembership(w.ctx, "nope", authNow, authNow+1); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("RemoveMembership of a missing membership: %v, want ErrNotFound", err)
		}
		if _, _, err := d.SetMembershipFlags(w.ctx, "nope", true, false, false, false, authNow, authNow+1); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("SetMembershipFlags of a missing membership: %v, want ErrNotFound", err)
		}
	})
}
