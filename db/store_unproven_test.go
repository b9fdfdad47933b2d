package db_test

import (
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestListUnprovenHolders: every never-verified registration holding an
// address nobody verified, newest first, whatever the case; not an
// account that verified another address, not a deleted one; none once
// the address is verified.
func TestListUnprovenHolders(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		register := func(name, addr string) db.User {
			t.Helper()
			u, err := d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: name, CreatedMs: e.now()}, Email: db.Email{ID: e.id(), Email: addr}})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		first := register("First", "Shared@example.com")
		second := register("Second", "shared@example.com")
		gone := register("Gone", "shared@example.com")
		if err := d.DeleteUser(e.ctx, gone.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now() + 1000}); err != nil {
			t.Fatal(err)
		}
		verifiedElsewhere := e.user("Verified", "v@example.com")
		if err := d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: verifiedElsewhere.ID, Email: "shared@example.com", CreatedMs: e.now()}); err != nil {
			t.Fatal(err)
		}
		hs, err := d.ListUnprovenHolders(e.ctx, "SHARED@example.com")
		if err != nil || len(hs) != 2 || hs[0].User.ID != second.ID || hs[1].User.ID != first.ID || hs[1].Email.Email != "Shared@example.com" {
			t.Fatalf("ListUnprovenHolders = %+v, %v; want Second then First", hs, err)
		}
		if _, err := d.ProveEmailByLogin(e.ctx, hs[0].Email.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now() + 1000}); err != nil {
			t.Fatal(err)
		}
		if hs, err := d.ListUnprovenHolders(e.ctx, "shared@example.com"); err != nil || len(hs) != 0 {
			t.Fatalf("after the proof: %+v, %v", hs, err)
		}
	})
}
