package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestSelfServiceCreationBounds: a user creates at most
// MaxOrganizationsPerUser standing organizations (leaving one frees
// nothing, deleting one does) and an organization has at most
// MaxClientsPerOrganization live clients; staff are exempt from both.
func TestSelfServiceCreationBounds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, func(c *accounts.Config) {
			c.MaxOrganizationsPerUser = 2
			c.MaxClientsPerOrganization = 2
		})
		admin := s.user("Admin", db.RoleSysadmin)
		owner := s.user("Owner")
		home := s.org("Home", owner)
		app := s.client(home)
		ann := s.user("Ann")
		newOrg := func(who db.User, name string) response {
			return s.do(by(app, who), "POST", "/organizations", map[string]any{"type": "organizations", "name": name})
		}

		var ids []string
		for _, name := range []string{"One", "Two"} {
			id, _ := newOrg(ann, name).expect(t, http.StatusCreated).data()["id"].(string)
			ids = append(ids, id)
		}
		newOrg(ann, "Three").expect(t, http.StatusConflict, accounts.CodeTooManyOrganizations)

		// Leaving an organization she created frees nothing: it stands,
		// with its clients and their budgets.
		ms, err := d.ListUserMemberships(s.ctx, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.OrganizationID == ids[0] {
				s.do(by(app, ann), "DELETE", "/org-memberships/"+m.ID, nil).expect(t, http.StatusOK)
			}
		}
		newOrg(ann, "Three").expect(t, http.StatusConflict, accounts.CodeTooManyOrganizations)
		// Deleting one does.
		s.do(by(app, ann), "DELETE", "/organizations/"+ids[1], nil).expect(t, http.StatusOK)
		three, _ := newOrg(ann, "Three").expect(t, http.StatusCreated).data()["id"].(string)
		// Staff are exempt.
		for _, name := range []string{"A1", "A2", "A3"} {
			newOrg(admin, name).expect(t, http.StatusCreated)
		}

		// Clients: two per organization, whoever creates them.
		org := db.Organization{ID: three}
		for _, name := range []string{"c1", "c2"} {
			s.do(by(app, ann), "POST", clientsPath(org), map[string]any{"type": "clients", "name": name}).expect(t, http.StatusCreated)
		}
		s.do(by(app, ann), "POST", clientsPath(org), map[string]any{"type": "clients", "name": "c3"}).
			expect(t, http.StatusConflict, accounts.CodeTooManyClients)
		// Home already has its app client: one more, then the bound.
		s.do(by(app, owner), "POST", clientsPath(home), map[string]any{"type": "clients", "name": "h2"}).expect(t, http.StatusCreated)
		s.do(by(app, owner), "POST", clientsPath(home), map[string]any{"type": "clients", "name": "h3"}).
			expect(t, http.StatusConflict, accounts.CodeTooManyClients)
		// Staff are exempt.
		s.do(by(app, admin), "POST", clientsPath(org), map[string]any{"type": "clients", "name": "c3"}).expect(t, http.StatusCreated)
		// A deleted client frees its place.
		cs, _, err := d.ListClients(s.ctx, home.ID, db.Page{Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Name == "h2" {
				s.do(by(app, owner), "DELETE", clientsPath(home, c.ID), nil).expect(t, http.StatusOK)
			}
		}
		s.do(by(app, owner), "POST", clientsPath(home), map[string]any{"type": "clients", "name": "h3"}).expect(t, http.StatusCreated)
	})
}
