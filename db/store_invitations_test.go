package db_test

import (
	"errors"
	"io/fs"
	"slices"
	"sync"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMemberships_invitationsAndLimit checks pending invitations (they
// grant nothing: no organization listed for the user) and the bound on
// memberships, enforced when a membership is made.
func TestMemberships_invitationsAndLimit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		owner := e.user("Owner", "owner@example.com")
		ann := e.user("Ann", "ann@example.com")
		orgs := make([]db.Organization, 4)
		for i := range orgs {
			orgs[i] = e.org("Org"+string(rune('A'+i)), owner)
		}
		invite := func(org db.Organization, limit int) (db.Membership, error) {
			m := db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: ann.ID, Read: true, CreatedMs: e.now(), Pending: true}
			return m, d.AddMembership(e.ctx, m, limit)
		}

		m0, err := invite(orgs[0], 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := d.GetMembership(e.ctx, m0.ID); err != nil || !got.Pending {
			t.Fatalf("invitation = %+v, %v; want pending", got, err)
		}
		if list, _, err := d.ListUserOrganizations(e.ctx, ann.ID, db.Page{}); err != nil || len(list) != 0 {
			t.Errorf("ListUserOrganizations with a pending invitation = %v, %v; want none", list, err)
		}
		if _, err := invite(orgs[0], 2); !errors.Is(err, db.ErrDuplicate) {
			t.Errorf("a second invitation to the same organization: %v, want ErrDuplicate", err)
		}
		m1, err := invite(orgs[1], 2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := invite(orgs[2], 2); !errors.Is(err, db.ErrMembershipLimit) {
			t.Errorf("a third pending invitation at limit 2: %v, want ErrMembershipLimit", err)
		}

		// Accepting is bounded by the accepted memberships, not the pending ones.
		if err := d.AcceptMembership(e.ctx, m0.ID, 1); err != nil {
			t.Fatal(err)
		}
		if err := d.AcceptMembership(e.ctx, m0.ID, 1); err != nil {
			t.Errorf("accepting twice: %v, want nil (nothing to do)", err)
		}
		if err := d.AcceptMembership(e.ctx, m1.ID, 1); !errors.Is(err, db.ErrMembershipLimit) {
			t.Errorf("accepting past limit 1: %v, want ErrMembershipLimit", err)
		}
		if list, _, err := d.ListUserOrganizations(e.ctx, ann.ID, db.Page{}); err != nil || len(list) != 1 || list[0].ID != orgs[0].ID {
			t.Errorf("ListUserOrganizations after accepting = %v, %v; want %s only", list, err, orgs[0].ID)
		}
		if err := d.AcceptMembership(e.ctx, "no-such", 1); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("accepting a missing invitation: %v, want ErrNotFound", err)
		}

		// A direct membership (not pending) counts against the accepted bound.
		direct := db.Membership{ID: e.id(), OrganizationID: orgs[3].ID, UserID: ann.ID, CreatedMs: e.now()}
		if err := d.AddMembership(e.ctx, direct, 1); !errors.Is(err, db.ErrMembershipLimit) {
			t.Errorf("a direct membership past limit 1: %v, want ErrMembershipLimit", err)
		}
		if err := d.AddMembership(e.ctx, direct, 2); err != nil {
			t.Fatal(err)
		}
		// Creating an organization counts too.
		org := db.Organization{ID: e.id(), Name: "Mine", CreatedMs: e.now()}
		if err := d.CreateOrganizationWithin(e.ctx, org, db.Membership{ID: e.id(), UserID: ann.ID}, 2); !errors.Is(err, db.ErrMembershipLimit) {
			t.Errorf("creating an organization at the limit: %v, want ErrMembershipLimit", err)
		}
		if _, err := d.GetOrganization(e.ctx, org.ID); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("the refused organization exists: %v", err)
		}
		if err := d.CreateOrganizationWithin(e.ctx, org, db.Membership{ID: e.id(), UserID: ann.ID}, 3); err != nil {
			t.Fatal(err)
		}
		// A deleted organization frees its place.
		if err := d.DeleteOrganization(e.ctx, org.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		if err := d.AcceptMembership(e.ctx, m1.ID, 3); err != nil {
			t.Errorf("accepting after an organization was deleted: %v", err)
		}
		ms, err := d.ListUserMemberships(e.ctx, ann.ID)
		if err != nil || len(ms) != 3 || slices.ContainsFunc(ms, func(m db.Membership) bool { return m.Pending }) {
			t.Errorf("ListUserMemberships = %+v, %v; want 3 accepted", ms, err)
		}
	})
}

// TestMemberships_limitHoldsUnderConcurrency checks that concurrent adds
// cannot pass the bound together.
func TestMemberships_limitHoldsUnderConcurrency(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		owner := e.user("Owner", "owner@example.com")
		ann := e.user("Ann", "ann@example.com")
		const limit, tries = 3, 8
		orgs := make([]db.Organization, tries)
		ids := make([]string, tries)
		for i := range orgs {
			orgs[i] = e.org("Org", owner)
			ids[i] = e.id()
		}
		now := e.now() // the env's clock is not for concurrent use
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				// Conflicts with a concurrent writer are an acceptable
				// refusal; passing the bound is not.
				_ = d.AddMembership(e.ctx, db.Membership{ID: ids[i], OrganizationID: orgs[i].ID, UserID: ann.ID, CreatedMs: now}, limit)
			})
		}
		wg.Wait()
		ms, err := d.ListUserMemberships(e.ctx, ann.ID)
		if err != nil || len(ms) > limit || len(ms) == 0 {
			t.Errorf("%d memberships after %d concurrent adds at limit %d (%v)", len(ms), tries, limit, err)
		}
	})
}

// TestMigration0002_keepsExistingMemberships applies 0001, writes a
// membership, then applies 0002: the membership stays a membership (not
// an invitation), and down then up again works with data in place.
func TestMigration0002_keepsExistingMemberships(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		only := func(max string) fs.FS { return embeddedUpTo(t, d.Dialect(), max) }
		db.SetMigrations(d, only("0001"))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		// Rows written as a 0001 binary wrote them: the store of this
		// binary expects the newest schema.
		e := newAccountsEnv(t, d)
		ann := db.User{ID: e.id()}
		if _, err := d.SQL().ExecContext(ctx, "INSERT INTO users (id, name, created_ms, updated_ms) VALUES (?, 'Ann', ?, ?)", ann.ID, e.now(), e.now()); err != nil {
			t.Fatal(err)
		}
		org := db.Organization{ID: e.id(), Name: "Old", CreatedMs: e.now()}
		creator := db.Membership{ID: e.id(), UserID: ann.ID}
		if _, err := d.SQL().ExecContext(ctx, "INSERT INTO organizations (id, name, created_ms) VALUES (?, ?, ?)", org.ID, org.Name, org.CreatedMs); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SQL().ExecContext(ctx, "INSERT INTO org_memberships (id, organization_id, user_id, can_read, can_edit, can_manage, can_delete, created_ms) VALUES (?, ?, ?, 1, 0, 0, 0, ?)",
			creator.ID, org.ID, ann.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		db.SetMigrations(d, only("0002"))
		if applied, err := d.MigrateUp(ctx); err != nil || !slices.Equal(applied, []int{2}) {
			t.Fatalf("MigrateUp to 0002 = %v, %v", applied, err)
		}
		m, err := d.GetMembership(ctx, creator.ID)
		if err != nil || m.Pending || !m.Read {
			t.Fatalf("the membership after 0002 = %+v, %v; want accepted, read", m, err)
		}
		if v, err := d.MigrateDown(ctx); err != nil || v != 2 {
			t.Fatalf("MigrateDown = %d, %v; want version 2 reverted", v, err)
		}
		var n int
		if err := d.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM org_memberships").Scan(&n); err != nil || n != 1 {
			t.Fatalf("memberships after down = %d, %v; want the accepted one kept", n, err)
		}
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp again: %v", err)
		}
	})
}
