package db_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier"
)

// TestRefreshRacesPasswordChange (issue 12, point 9): a refresh racing a
// password change (which invalidates the user's sessions) must not end
// with working tokens. Each trial races RotateRefreshToken against
// InvalidateUserSessions on a fresh session; a refresh that wins mints
// its tokens afterwards, so later than the change's not-before. After
// both, the revocation feed, read into a gateway's set, must refuse the
// session's tokens whoever won.
func TestRefreshRacesPasswordChange(t *testing.T) {
	const trials = 100
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		const (
			rotateAt     = authNow + 10
			invalidateAt = authNow + 15
			mintedAt     = authNow + 20 // after the rotation returned
		)
		rotated := 0
		for i := range trials {
			user, sess := authSeq("race-user", i), authSeq("race-sess", i)
			w.users(user)
			w.session(sess, user, authNow+3_600_000, authHash(sess))
			errs := authRace(2, func(g int) error {
				if g == 0 {
					_, err := d.RotateRefreshToken(w.ctx, authHash(sess), db.RefreshToken{Hash: authHash(sess + "-next"), CreatedMs: rotateAt, ExpiresMs: authNow + 3_600_000}, rotateAt)
					return err
				}
				// Staggered start, so both orders and the overlap occur.
				time.Sleep(time.Duration(i%5) * 250 * time.Microsecond)
				_, err := d.InvalidateUserSessions(w.ctx, user, "password-changed", db.Revoking{AtMs: invalidateAt, ExpiresMs: invalidateAt + time.Hour.Milliseconds()})
				return err
			})
			if errs[1] != nil {
				t.Fatalf("trial %d: InvalidateUserSessions: %v", i, errs[1])
			}
			switch {
			case errs[0] == nil:
				rotated++
			case errors.Is(errs[0], db.ErrSessionInvalid):
				continue // the change came first: the refresh minted nothing
			default:
				t.Fatalf("trial %d: RotateRefreshToken: %v", i, errs[0])
			}
			set := verifier.NewRevocationSet()
			feed, err := d.RevocationsSince(w.ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range feed {
				switch r.Kind {
				case db.RevokeSession:
					set.RevokeSession(r.Subject, time.UnixMilli(r.ExpiresMs))
				case db.RevokeUser:
					set.RevokeUserBefore(r.Subject, time.UnixMilli(r.NotBeforeMs), time.UnixMilli(r.ExpiresMs))
				}
			}
			if !set.Revoked(sess, user, time.UnixMilli(mintedAt)) {
				t.Fatalf("trial %d: the refresh won the race and the tokens it minted after the password change are not revoked", i)
			}
		}
		t.Logf("%d of %d refreshes won the race", rotated, trials)
		if rotated == 0 {
			t.Errorf("no refresh won the race in %d trials: the test checked nothing", trials)
		}
	})
}
