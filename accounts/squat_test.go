package accounts_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMemberships_invitationSquatting is review finding 7: a stranger
// creates an organization, invites the victim and leaves it, 25 times
// (his own bound never fills). The victim's invitation bound must not
// fill: leaving withdraws the invitations the leaver made, so a
// legitimate invitation afterwards is 201, not 409. A stranger who stays
// a manager instead has at most db.MaxInvitationsPerInviter invitations
// waiting for one user.
func TestMemberships_invitationSquatting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// Room for all of Mallory's organizations: the bound of organizations
		// one user creates (default 10) would stop him sooner, and this
		// test is about the invitations of those he can create.
		s := newStack(t, d, func(c *accounts.Config) { c.MaxOrganizationsPerUser = 2 * accounts.DefaultMaxMemberships })
		owner := s.user("Owner")
		home := s.org("Home", owner)
		app := s.client(home)
		victim := s.user("Victim")
		mallory := s.user("Mallory")
		create := func(name string) string {
			t.Helper()
			res := s.do(by(app, mallory), "POST", "/organizations", map[string]any{"type": "organizations", "name": name}).expect(t, http.StatusCreated)
			id, _ := res.data()["id"].(string)
			return id
		}
		invite := func(inviter db.User, orgID string) response {
			t.Helper()
			return s.do(by(app, inviter), "POST", "/organizations/"+orgID+"/memberships", memberBody(victim, "read"))
		}
		leave := func(orgID string) {
			t.Helper()
			m, err := d.GetUserMembership(s.ctx, orgID, mallory.ID)
			if err != nil {
				t.Fatal(err)
			}
			s.do(by(app, mallory), "DELETE", "/org-memberships/"+m.ID, nil).expect(t, http.StatusOK)
			// Leaving revokes Mallory's tokens issued up to now; the
			// harness mints his next ones on the stack's clock.
			s.clock.Advance(time.Millisecond)
		}
		for i := range accounts.DefaultMaxMemberships {
			org := create(fmt.Sprintf("Trap %d", i))
			if res := invite(mallory, org).expect(t, http.StatusCreated); res.data()["pending"] != true {
				t.Fatalf("round %d: the invitation is not pending: %s", i, res.Raw)
			}
			leave(org)
		}
		invite(owner, home.ID).expect(t, http.StatusCreated)
		if mine := s.do(by(app, victim), "GET", "/users/current/memberships", nil).expect(t, http.StatusOK); len(mine.list()) != 1 {
			t.Errorf("the victim's invitations: %s, want the legitimate one alone", mine.Raw)
		}

		// Staying a manager: the fourth invitation of one inviter waiting
		// for the same user is refused; leaving one organization withdraws
		// its invitation and makes room.
		var traps []string
		for i := range db.MaxInvitationsPerInviter + 1 {
			org := create(fmt.Sprintf("Kept %d", i))
			traps = append(traps, org)
			res := invite(mallory, org)
			if i < db.MaxInvitationsPerInviter {
				res.expect(t, http.StatusCreated)
			} else {
				res.expect(t, http.StatusConflict, accounts.CodeTooManyMemberships)
			}
		}
		leave(traps[0])
		invite(mallory, traps[db.MaxInvitationsPerInviter]).expect(t, http.StatusCreated)
	})
}

// TestMemberships_lastManagerWithdrawsInvitations checks that when the
// organization's last accepted manager leaves or drops the manage flag,
// its pending invitations go, whoever made them (invitations made before
// the inviter was recorded included), and that they stay while a
// manager is left.
func TestMemberships_lastManagerWithdrawsInvitations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		owner := s.user("Owner")
		org := s.org("Acme", owner)
		app := s.client(org)
		second := s.user("Second")
		secondM := s.member(org, second, "read", "manage")
		invitee := s.user("Invitee")
		// An invitation without a recorded inviter, as before migration 0007.
		inv := db.Membership{ID: s.id(), OrganizationID: org.ID, UserID: invitee.ID, Read: true, CreatedMs: s.clock.Now().UnixMilli(), Pending: true}
		if err := d.AddMembership(s.ctx, inv, 0); err != nil {
			t.Fatal(err)
		}
		ownerM, err := d.GetUserMembership(s.ctx, org.ID, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		s.do(by(app, owner), "DELETE", "/org-memberships/"+ownerM.ID, nil).expect(t, http.StatusOK)
		if _, err := d.GetMembership(s.ctx, inv.ID); err != nil {
			t.Fatalf("the invitation went while a manager is left: %v", err)
		}
		s.clock.Advance(time.Millisecond)
		s.do(by(app, second), "PATCH", "/org-memberships/"+secondM.ID, map[string]any{"manage": false}).expect(t, http.StatusOK)
		if _, err := d.GetMembership(s.ctx, inv.ID); err == nil {
			t.Error("the invitation stays in an organization nobody manages")
		}
	})
}
