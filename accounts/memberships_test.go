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

// memberBody is the body of POST /organizations/:id/memberships.
func memberBody(u db.User, flags ...string) map[string]any {
	body := map[string]any{"type": "org-memberships", "user": map[string]any{"data": map[string]any{"type": "users", "id": u.ID}}}
	for _, f := range flags {
		body[f] = true
	}
	return body
}

// TestMemberships_invitation checks that a manager's new membership is
// an invitation: it shows nothing to the invitee until they accept, and
// then the organization is theirs to see.
func TestMemberships_invitation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		owner := s.user("Owner")
		org := s.org("Acme", owner)
		app := s.client(org)
		joiner := s.user("Joiner")

		res := s.do(by(app, owner), "POST", "/organizations/"+org.ID+"/memberships", memberBody(joiner, "read", "edit")).expect(t, http.StatusCreated)
		if res.data()["pending"] != true {
			t.Fatalf("the manager's membership is not pending: %s", res.Raw)
		}
		id, _ := res.data()["id"].(string)
		// Pending grants nothing.
		s.do(by(app, joiner), "GET", "/organizations/"+org.ID, nil).expect(t, http.StatusNotFound, accounts.CodeNotFound)
		if list := s.do(by(app, joiner), "GET", "/organizations", nil).expect(t, http.StatusOK); len(list.list()) != 0 {
			t.Errorf("the invitee's organizations before accepting: %s", list.Raw)
		}
		// The invitee sees it among their memberships, and accepts.
		mine := s.do(by(app, joiner), "GET", "/users/current/memberships", nil).expect(t, http.StatusOK)
		if len(mine.list()) != 1 || mine.list()[0]["pending"] != true {
			t.Fatalf("the invitee's memberships: %s", mine.Raw)
		}
		acc := s.do(by(app, joiner), "POST", "/org-memberships/"+id+"/accept", nil).expect(t, http.StatusOK)
		if acc.data()["pending"] != false || acc.data()["edit"] != true {
			t.Errorf("accepted: %s", acc.Raw)
		}
		s.do(by(app, joiner), "GET", "/organizations/"+org.ID, nil).expect(t, http.StatusOK)

		// Declining: the invitee deletes the invitation.
		other := s.user("Other")
		res = s.do(by(app, owner), "POST", "/organizations/"+org.ID+"/memberships", memberBody(other, "read")).expect(t, http.StatusCreated)
		id, _ = res.data()["id"].(string)
		s.do(by(app, other), "DELETE", "/org-memberships/"+id, nil).expect(t, http.StatusOK)
		if _, err := d.GetMembership(s.ctx, id); err == nil {
			t.Error("the declined invitation is still stored")
		}
	})
}

// TestMemberships_bound checks that the bound on memberships is enforced
// when a membership is made, with 409 TOO-MANY-MEMBERSHIPS: creating an
// organization, a staff addition, an invitation past the bound of
// pending ones, and accepting.
func TestMemberships_bound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, func(c *accounts.Config) { c.MaxMemberships = 2 })
		admin := s.user("Admin", db.RoleSysadmin)
		owner := s.user("Owner")
		home := s.org("Home", owner)
		app := s.client(home)
		ann := s.user("Ann")

		for _, name := range []string{"One", "Two"} {
			s.do(by(app, ann), "POST", "/organizations", map[string]any{"type": "organizations", "name": name}).expect(t, http.StatusCreated)
		}
		s.do(by(app, ann), "POST", "/organizations", map[string]any{"type": "organizations", "name": "Three"}).
			expect(t, http.StatusConflict, accounts.CodeTooManyMemberships)
		s.do(by(app, admin), "POST", "/organizations/"+home.ID+"/memberships", memberBody(ann, "read")).
			expect(t, http.StatusConflict, accounts.CodeTooManyMemberships)

		// Invitations have their own bound, and accepting one needs room.
		extra := []db.Organization{s.org("X", owner), s.org("Y", owner), s.org("Z", owner)}
		var invitation string
		for i, org := range extra {
			res := s.do(by(app, owner), "POST", "/organizations/"+org.ID+"/memberships", memberBody(ann, "read"))
			if i < 2 {
				res.expect(t, http.StatusCreated)
				invitation, _ = res.data()["id"].(string)
				continue
			}
			res.expect(t, http.StatusConflict, accounts.CodeTooManyMemberships)
		}
		s.do(by(app, ann), "POST", "/org-memberships/"+invitation+"/accept", nil).expect(t, http.StatusConflict, accounts.CodeTooManyMemberships)
		// Ann's login is never what fails.
		s.do(by(app, ann), "GET", "/users/current", nil).expect(t, http.StatusOK)
	})
}

// TestMemberships_loweringRevokes checks that clearing a flag, removing a
// membership and deleting the organization each put a not-before for the
// member's tokens on the revocation feed, and that raising a flag or
// withdrawing an invitation does not.
func TestMemberships_loweringRevokes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		owner := s.user("Owner")
		org := s.org("Acme", owner)
		app := s.client(org)
		feed := func() []db.Revocation {
			t.Helper()
			rs, err := d.RevocationsSince(s.ctx, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			return rs
		}
		revokedUsers := func(from int) map[string]int {
			out := map[string]int{}
			for _, r := range feed()[from:] {
				if r.Kind == db.RevokeUser {
					out[r.Subject]++
				}
			}
			return out
		}
		tests := []struct {
			name         string
			when         func(member db.User, m db.Membership)
			expectRevoke bool
		}{
			{"a flag cleared", func(_ db.User, m db.Membership) {
				s.do(by(app, owner), "PATCH", "/org-memberships/"+m.ID, map[string]any{"edit": false}).expect(t, http.StatusOK)
			}, true},
			{"a flag cleared by upsert", func(u db.User, _ db.Membership) {
				s.do(by(app, admin), "POST", "/organizations/"+org.ID+"/memberships", map[string]any{
					"user": map[string]any{"data": map[string]any{"type": "users", "id": u.ID}}, "edit": false}).expect(t, http.StatusOK)
			}, true},
			{"the member leaves", func(u db.User, m db.Membership) {
				s.do(by(app, u), "DELETE", "/org-memberships/"+m.ID, nil).expect(t, http.StatusOK)
			}, true},
			{"a flag raised", func(_ db.User, m db.Membership) {
				s.do(by(app, owner), "PATCH", "/org-memberships/"+m.ID, map[string]any{"manage": true}).expect(t, http.StatusOK)
			}, false},
			{"an unchanged write", func(_ db.User, m db.Membership) {
				s.do(by(app, owner), "PATCH", "/org-memberships/"+m.ID, map[string]any{"read": true}).expect(t, http.StatusOK)
			}, false},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := s.user(fmt.Sprintf("Member%d", i))
				m := s.member(org, u, "read", "edit")
				before := len(feed())
				tt.when(u, m)
				got := revokedUsers(before)[u.ID] > 0
				if got != tt.expectRevoke {
					t.Errorf("member's tokens revoked = %v, want %v", got, tt.expectRevoke)
				}
				if got && !s.revokedNow(u) {
					t.Error("a token minted before the change still passes the gateway's revocation set")
				}
			})
		}
		t.Run("the organization deleted", func(t *testing.T) {
			doomed := s.org("Doomed", owner)
			u := s.user("Leaver")
			s.member(doomed, u, "read")
			invitee := s.user("Invitee")
			if err := d.AddMembership(s.ctx, db.Membership{ID: s.id(), OrganizationID: doomed.ID, UserID: invitee.ID, Read: true,
				CreatedMs: s.clock.Now().UnixMilli(), Pending: true}, 0); err != nil {
				t.Fatal(err)
			}
			before := len(feed())
			s.do(by(app, owner), "DELETE", "/organizations/"+doomed.ID, nil).expect(t, http.StatusOK)
			got := revokedUsers(before)
			if got[u.ID] == 0 || got[owner.ID] == 0 {
				t.Errorf("revoked %v, want the member %s and the owner %s", got, u.ID, owner.ID)
			}
			if got[invitee.ID] != 0 {
				t.Errorf("the invitee, who was never a member, was revoked")
			}
		})
	})
}

// revokedNow polls the feed into the gateway's set and reports whether a
// token of u issued just before the stack's current time (the change) is
// refused.
func (s *stack) revokedNow(u db.User) bool {
	s.t.Helper()
	s.pollRevocations()
	return s.revoked.Revoked("", u.ID, s.clock.Now().Add(-time.Millisecond))
}
