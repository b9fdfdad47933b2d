package db_test

import (
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestDeleteRevokesSessions checks the README's "Authorization": deleting a user or a client
// invalidates its live sessions and feeds the revocations to the gateways,
// in the same transaction as the deletion.
func TestDeleteRevokesSessions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		w.org("o1", 0)
		w.client("c1", "o1", 0)
		w.session("s-u1", "u1", authNow+3_600_000, authHash("r-u1"))
		w.session("s-u2", "u2", authNow+3_600_000, authHash("r-u2"))
		w.exec("UPDATE sessions SET client_id = ? WHERE id = ?", "c1", "s-u2")
		const later = authNow + 1000
		const revExpires = authNow + 900_000

		if err := d.DeleteUser(w.ctx, "u1", db.Revoking{AtMs: later, ExpiresMs: revExpires}); err != nil {
			t.Fatal(err)
		}
		if got := w.count("SELECT COUNT(*) FROM sessions WHERE id = ? AND invalidated_ms = ?", "s-u1", later); got != 1 {
			t.Errorf("user's session invalidated: %d rows, want 1", got)
		}
		if got := w.count("SELECT COUNT(*) FROM revocations WHERE kind = 'user' AND subject = ? AND not_before_ms = ? AND expires_ms = ?", "u1", later, revExpires); got != 1 {
			t.Errorf("user revocation rows = %d, want 1", got)
		}

		if err := d.DeleteClient(w.ctx, "c1", db.Revoking{AtMs: later, ExpiresMs: revExpires}); err != nil {
			t.Fatal(err)
		}
		if got := w.count("SELECT COUNT(*) FROM sessions WHERE id = ? AND invalidated_ms = ?", "s-u2", later); got != 1 {
			t.Errorf("client's session invalidated: %d rows, want 1", got)
		}
		if got := w.count("SELECT COUNT(*) FROM revocations WHERE kind = 'session' AND subject = ?", "s-u2"); got != 1 {
			t.Errorf("session revocation rows = %d, want 1", got)
		}
		feed, err := d.RevocationsSince(w.ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		// The user's session, the user, the client's session.
		if len(feed) != 3 {
			t.Errorf("feed has %d entries, want 3: %+v", len(feed), feed)
		}
	})
}

// TestDeleteIsAllOrNothing checks that a deletion whose revocation cannot
// be written leaves the user and the client as they were.
func TestDeleteIsAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.org("o1", 0)
		w.client("c1", "o1", 0)
		w.session("s1", "u1", authNow+3_600_000, authHash("r1"))
		w.exec("UPDATE sessions SET client_id = ? WHERE id = ?", "c1", "s1")
		w.refuseInserts("revocations")

		if err := d.DeleteUser(w.ctx, "u1", db.Revoking{AtMs: authNow + 1, ExpiresMs: authNow + 2}); err == nil {
			t.Fatal("DeleteUser succeeded although its revocation could not be written")
		}
		if err := d.DeleteClient(w.ctx, "c1", db.Revoking{AtMs: authNow + 1, ExpiresMs: authNow + 2}); err == nil {
			t.Fatal("DeleteClient succeeded although its revocation could not be written")
		}
		if got := w.count("SELECT COUNT(*) FROM users WHERE id = 'u1' AND deleted_ms IS NULL"); got != 1 {
			t.Error("the user was deleted by a failed transaction")
		}
		if got := w.count("SELECT COUNT(*) FROM emails WHERE user_id = 'u1'") + w.count("SELECT COUNT(*) FROM clients WHERE id = 'c1' AND deleted_ms IS NULL"); got != 1 {
			t.Errorf("rows changed by a failed transaction (emails + live client = %d, want 1)", got)
		}
		if got := w.count("SELECT COUNT(*) FROM sessions WHERE invalidated_ms IS NOT NULL"); got != 0 {
			t.Errorf("%d sessions invalidated by a failed transaction", got)
		}
	})
}
