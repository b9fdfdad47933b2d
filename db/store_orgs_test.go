package db_test

import (
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestOrganizations_createGetUpdateDelete checks an organization's life:
// created with its creator as a full member in one transaction, read,
// renamed, soft-deleted and then hidden everywhere.
func TestOrganizations_createGetUpdateDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		org := db.Organization{ID: e.id(), Name: "Acme", CreatedMs: e.now()}
		creator := db.Membership{ID: e.id(), UserID: ann.ID, OrganizationID: "ignored", Read: false}
		if err := d.CreateOrganization(e.ctx, org, creator); err != nil {
			t.Fatal(err)
		}
		got, err := d.GetOrganization(e.ctx, org.ID)
		if err != nil || got != org {
			t.Errorf("GetOrganization = %+v, %v; want %+v", got, err, org)
		}
		m, err := d.GetMembership(e.ctx, creator.ID)
		want := db.Membership{ID: creator.ID, OrganizationID: org.ID, UserID: ann.ID, Read: true, Edit: true, Manage: true, Delete: true, CreatedMs: org.CreatedMs}
		if err != nil || m != want {
			t.Errorf("creator's membership = %+v, %v; want %+v", m, err, want)
		}

		if err := d.UpdateOrganization(e.ctx, org.ID, "Acme Ltd"); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetOrganization(e.ctx, org.ID); got.Name != "Acme Ltd" {
			t.Errorf("renamed organization = %+v", got)
		}

		client := e.client(org.ID, "app")
		if err := d.DeleteOrganization(e.ctx, org.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		after := []struct {
			name      string
			when      func() error
			expectErr error
		}{
			{"GetOrganization says deleted", func() error { _, err := d.GetOrganization(e.ctx, org.ID); return err }, db.ErrDeleted},
			{"GetOrganization says not found", func() error { _, err := d.GetOrganization(e.ctx, org.ID); return err }, db.ErrNotFound},
			{"UpdateOrganization", func() error { return d.UpdateOrganization(e.ctx, org.ID, "x") }, db.ErrNotFound},
			{"DeleteOrganization again", func() error { return d.DeleteOrganization(e.ctx, org.ID, e.now()) }, db.ErrNotFound},
			{"GetMembership", func() error { _, err := d.GetMembership(e.ctx, creator.ID); return err }, db.ErrNotFound},
			{"GetUserMembership", func() error { _, err := d.GetUserMembership(e.ctx, org.ID, ann.ID); return err }, db.ErrNotFound},
			{"UpdateMembershipFlags", func() error {
				return d.UpdateMembershipFlags(e.ctx, creator.ID, db.MembershipFlags{Read: true, Edit: true, Manage: true, Delete: true})
			}, db.ErrNotFound},
			{"DeleteMembership", func() error { return d.DeleteMembership(e.ctx, creator.ID) }, db.ErrNotFound},
			{"ListOrgMemberships", func() error { _, _, err := d.ListOrgMemberships(e.ctx, org.ID, db.Page{}); return err }, db.ErrDeleted},
			{"UpsertMembership", func() error {
				_, err := d.UpsertMembership(e.ctx, db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: ann.ID, CreatedMs: e.now()})
				return err
			}, db.ErrForeignKey},
			{"GetClient of the organization", func() error { _, err := d.GetClient(e.ctx, client.ID); return err }, db.ErrDeleted},
			{"ListClients", func() error { _, _, err := d.ListClients(e.ctx, org.ID, db.Page{}); return err }, db.ErrDeleted},
			{"CreateClient", func() error {
				_, err := d.CreateClient(e.ctx, db.Client{ID: e.id(), OrganizationID: org.ID, Name: "x", SecretHash: "h", CreatedMs: e.now()})
				return err
			}, db.ErrForeignKey},
			{"UpdateClient", func() error { return d.UpdateClient(e.ctx, client.ID, "x", 1, e.now()) }, db.ErrNotFound},
			{"ClientRoles", func() error { _, err := d.ClientRoles(e.ctx, client.ID); return err }, db.ErrNotFound},
			{"AddClientRole", func() error { return d.AddClientRole(e.ctx, client.ID, db.ClientRoleSystem) }, db.ErrForeignKey},
		}
		for _, tt := range after {
			t.Run("after delete/"+tt.name, func(t *testing.T) {
				expectErr(t, tt.name, tt.when(), tt.expectErr)
			})
		}
		t.Run("after delete/lists", func(t *testing.T) {
			orgs, _, err := d.ListOrganizations(e.ctx, db.Page{})
			if err != nil || len(orgs) != 0 {
				t.Errorf("ListOrganizations = %v, %v; want none", orgs, err)
			}
			orgs, _, err = d.ListUserOrganizations(e.ctx, ann.ID, db.Page{})
			if err != nil || len(orgs) != 0 {
				t.Errorf("ListUserOrganizations = %v, %v; want none", orgs, err)
			}
			ms, err := d.ListUserMemberships(e.ctx, ann.ID)
			if err != nil || len(ms) != 0 {
				t.Errorf("ListUserMemberships = %v, %v; want none", ms, err)
			}
		})
		t.Run("the rows stay", func(t *testing.T) {
			if n := e.count("organizations WHERE id = ? AND deleted_ms IS NOT NULL", org.ID); n != 1 {
				t.Errorf("%d soft-deleted organization rows, want 1", n)
			}
			if n := e.count("org_memberships WHERE organization_id = ?", org.ID); n != 1 {
				t.Errorf("%d membership rows, want 1", n)
			}
		})
	})
}

// TestOrganizations_createIsAtomic checks that CreateOrganization writes
// nothing when the creator's membership cannot be written.
func TestOrganizations_createIsAtomic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		deleted := e.user("Del", "del@example.com")
		if err := d.DeleteUser(e.ctx, deleted.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
			t.Fatal(err)
		}
		existing := e.org("Existing", ann)
		existingMemb, err := d.GetUserMembership(e.ctx, existing.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name         string
			givenOrgID   string
			givenCreator db.Membership
			expectErr    error
		}{
			{"missing creator", e.id(), db.Membership{ID: e.id(), UserID: "nobody"}, db.ErrForeignKey},
			{"deleted creator", e.id(), db.Membership{ID: e.id(), UserID: deleted.ID}, db.ErrForeignKey},
			{"membership ID taken", e.id(), db.Membership{ID: existingMemb.ID, UserID: ann.ID}, db.ErrDuplicate},
			{"organization ID taken", existing.ID, db.Membership{ID: e.id(), UserID: ann.ID}, db.ErrDuplicate},
			{"no membership ID", e.id(), db.Membership{UserID: ann.ID}, db.ErrInvalid},
			{"no organization ID", "", db.Membership{ID: e.id(), UserID: ann.ID}, db.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				orgs, memberships := e.count("organizations"), e.count("org_memberships")
				err := d.CreateOrganization(e.ctx, db.Organization{ID: tt.givenOrgID, Name: "New", CreatedMs: e.now()}, tt.givenCreator)
				expectErr(t, "CreateOrganization", err, tt.expectErr)
				if n := e.count("organizations"); n != orgs {
					t.Errorf("%d organizations after the failure, want %d", n, orgs)
				}
				if n := e.count("org_memberships"); n != memberships {
					t.Errorf("%d memberships after the failure, want %d", n, memberships)
				}
			})
		}
		if got, err := d.GetOrganization(e.ctx, existing.ID); err != nil || got.Name != "Existing" {
			t.Errorf("existing organization = %+v, %v", got, err)
		}
	})
}

// TestMemberships checks upserts, lookups, flag updates and deletion of
// memberships, and the errors of each.
func TestMemberships(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		bob := e.user("Bob", "bob@example.com")
		org := e.org("Org", ann)
		other := e.org("Other", ann)

		first := db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: bob.ID, Read: true, CreatedMs: e.now()}
		stored, err := d.UpsertMembership(e.ctx, first)
		if err != nil || stored != first {
			t.Fatalf("UpsertMembership (insert) = %+v, %v; want %+v", stored, err, first)
		}
		t.Run("upsert of an existing pair updates its flags, keeping ID and time", func(t *testing.T) {
			again := db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: bob.ID, Edit: true, Manage: true, CreatedMs: e.now()}
			got, err := d.UpsertMembership(e.ctx, again)
			want := db.Membership{ID: first.ID, OrganizationID: org.ID, UserID: bob.ID, Edit: true, Manage: true, CreatedMs: first.CreatedMs}
			if err != nil || got != want {
				t.Errorf("UpsertMembership (update) = %+v, %v; want %+v", got, err, want)
			}
			if n := e.count("org_memberships WHERE organization_id = ? AND user_id = ?", org.ID, bob.ID); n != 1 {
				t.Errorf("%d rows for the pair, want 1", n)
			}
			if got, _ := d.GetMembership(e.ctx, first.ID); got != want {
				t.Errorf("GetMembership = %+v, want %+v", got, want)
			}
		})

		annOrg, err := d.GetUserMembership(e.ctx, org.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		errorCases := []struct {
			name      string
			givenM    db.Membership
			expectErr error
		}{
			{"missing organization", db.Membership{ID: e.id(), OrganizationID: "no-such-org", UserID: bob.ID, CreatedMs: e.now()}, db.ErrForeignKey},
			{"missing user", db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: "no-such-user", CreatedMs: e.now()}, db.ErrForeignKey},
			{"ID of another pair's membership", db.Membership{ID: annOrg.ID, OrganizationID: other.ID, UserID: bob.ID, CreatedMs: e.now()}, db.ErrDuplicate},
			{"no ID", db.Membership{OrganizationID: other.ID, UserID: bob.ID, CreatedMs: e.now()}, db.ErrInvalid},
			{"no time", db.Membership{ID: e.id(), OrganizationID: other.ID, UserID: bob.ID}, db.ErrInvalid},
		}
		for _, tt := range errorCases {
			t.Run("upsert with "+tt.name, func(t *testing.T) {
				before := e.count("org_memberships")
				_, err := d.UpsertMembership(e.ctx, tt.givenM)
				expectErr(t, "UpsertMembership", err, tt.expectErr)
				if n := e.count("org_memberships"); n != before {
					t.Errorf("%d memberships, want %d", n, before)
				}
			})
		}
		t.Run("the other pair's membership kept its flags", func(t *testing.T) {
			if got, err := d.GetMembership(e.ctx, annOrg.ID); err != nil || got != annOrg {
				t.Errorf("GetMembership = %+v, %v; want %+v", got, err, annOrg)
			}
		})
		t.Run("a raw duplicate (organization, user) is ErrDuplicate", func(t *testing.T) {
			_, err := d.SQL().ExecContext(e.ctx,
				"INSERT INTO org_memberships (id, organization_id, user_id, created_ms) VALUES (?, ?, ?, 1)", e.id(), org.ID, bob.ID)
			expectErr(t, "raw insert", db.Classify(err), db.ErrDuplicate)
		})

		t.Run("flags", func(t *testing.T) {
			if err := d.UpdateMembershipFlags(e.ctx, first.ID, db.MembershipFlags{Read: false, Edit: false, Manage: false, Delete: true}); err != nil {
				t.Fatal(err)
			}
			got, err := d.GetUserMembership(e.ctx, org.ID, bob.ID)
			if err != nil || got.Read || got.Edit || got.Manage || !got.Delete {
				t.Errorf("after UpdateMembershipFlags = %+v, %v; want delete only", got, err)
			}
			expectErr(t, "UpdateMembershipFlags of a missing membership", d.UpdateMembershipFlags(e.ctx, "nope", db.MembershipFlags{Read: true, Edit: true, Manage: true, Delete: true}), db.ErrNotFound)
		})
		t.Run("lists", func(t *testing.T) {
			if _, err := d.UpsertMembership(e.ctx, db.Membership{ID: e.id(), OrganizationID: other.ID, UserID: bob.ID, Read: true, CreatedMs: e.now()}); err != nil {
				t.Fatal(err)
			}
			ms, err := d.ListUserMemberships(e.ctx, bob.ID)
			if err != nil || len(ms) != 2 || ms[0].OrganizationID != org.ID || ms[1].OrganizationID != other.ID {
				t.Errorf("ListUserMemberships = %+v, %v; want Org then Other", ms, err)
			}
			members, _, err := d.ListOrgMemberships(e.ctx, org.ID, db.Page{})
			if err != nil || len(members) != 2 || members[0].UserID != ann.ID || members[1].UserID != bob.ID {
				t.Errorf("ListOrgMemberships = %+v, %v; want Ann then Bob", members, err)
			}
			orgs, _, err := d.ListUserOrganizations(e.ctx, bob.ID, db.Page{})
			if err != nil || len(orgs) != 2 || orgs[0].ID != org.ID || orgs[1].ID != other.ID {
				t.Errorf("ListUserOrganizations = %+v, %v", orgs, err)
			}
			ms, err = d.ListUserMemberships(e.ctx, e.user("Cid", "cid@example.com").ID)
			if err != nil || ms == nil || len(ms) != 0 {
				t.Errorf("ListUserMemberships of a user without any = %#v, %v; want an empty list", ms, err)
			}
			_, err = d.ListUserMemberships(e.ctx, "nobody")
			expectErr(t, "ListUserMemberships of a missing user", err, db.ErrNotFound)
		})
		t.Run("a deleted user's memberships are hidden", func(t *testing.T) {
			cid := e.user("Cid", "cid2@example.com")
			m, err := d.UpsertMembership(e.ctx, db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: cid.ID, Read: true, CreatedMs: e.now()})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.DeleteUser(e.ctx, cid.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
				t.Fatal(err)
			}
			_, err = d.GetMembership(e.ctx, m.ID)
			expectErr(t, "GetMembership", err, db.ErrNotFound)
			members, _, err := d.ListOrgMemberships(e.ctx, org.ID, db.Page{})
			for _, member := range members {
				if member.UserID == cid.ID {
					t.Errorf("ListOrgMemberships lists the deleted user: %+v", members)
				}
			}
			if err != nil {
				t.Error(err)
			}
			_, err = d.ListUserMemberships(e.ctx, cid.ID)
			expectErr(t, "ListUserMemberships of the deleted user", err, db.ErrNotFound)
		})
		t.Run("delete", func(t *testing.T) {
			if err := d.DeleteMembership(e.ctx, first.ID); err != nil {
				t.Fatal(err)
			}
			_, err := d.GetMembership(e.ctx, first.ID)
			expectErr(t, "GetMembership after delete", err, db.ErrNotFound)
			expectErr(t, "DeleteMembership again", d.DeleteMembership(e.ctx, first.ID), db.ErrNotFound)
			if _, err := d.GetUserMembership(e.ctx, other.ID, bob.ID); err != nil {
				t.Errorf("Bob's other membership: %v", err)
			}
		})
	})
}
