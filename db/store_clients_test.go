package db_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// clientsEqual compares clients field by field, roles included.
func clientsEqual(a, b db.Client) bool {
	return a.ID == b.ID && a.OrganizationID == b.OrganizationID && a.Name == b.Name && a.SecretHash == b.SecretHash &&
		a.ReqsPerSec == b.ReqsPerSec && a.CreatedMs == b.CreatedMs && a.UpdatedMs == b.UpdatedMs &&
		a.DeletedMs == b.DeletedMs && slices.Equal(a.Roles, b.Roles) && len(a.Restrictions) == len(b.Restrictions)
}

// TestClients_create checks what CreateClient writes, that reqsPerSec is
// stored as given (the original stored 10 whatever was asked), the
// default role, and that a failed create writes nothing.
func TestClients_create(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		org := e.org("Org", e.user("Ann", "ann@example.com"))
		deletedOrg := e.org("Deleted", e.user("Bob", "bob@example.com"))
		if err := d.DeleteOrganization(e.ctx, deletedOrg.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name        string
			givenClient func(c *db.Client)
			expectErr   error
			expectRoles []string
		}{
			{"default role external", func(c *db.Client) {}, nil, []string{db.ClientRoleExternal}},
			{"roles sorted without repeats", func(c *db.Client) {
				c.Roles = []string{db.ClientRoleSystem, db.ClientRoleInternal, db.ClientRoleSystem}
			}, nil, []string{db.ClientRoleInternal, db.ClientRoleSystem}},
			{"unlimited rate", func(c *db.Client) { c.ReqsPerSec = db.UnlimitedReqsPerSec }, nil, []string{db.ClientRoleExternal}},
			{"rate 0", func(c *db.Client) { c.ReqsPerSec = 0 }, nil, []string{db.ClientRoleExternal}},
			{"rate 1", func(c *db.Client) { c.ReqsPerSec = 1 }, nil, []string{db.ClientRoleExternal}},
			{"rate 250", func(c *db.Client) { c.ReqsPerSec = 250 }, nil, []string{db.ClientRoleExternal}},
			{"largest rate", func(c *db.Client) { c.ReqsPerSec = 1<<31 - 1 }, nil, []string{db.ClientRoleExternal}},
			{"rate over INT", func(c *db.Client) { c.ReqsPerSec = 1 << 31 }, db.ErrInvalid, nil},
			{"rate below -1", func(c *db.Client) { c.ReqsPerSec = -2 }, db.ErrInvalid, nil},
			{"unknown role", func(c *db.Client) { c.Roles = []string{db.ClientRoleExternal, "admin"} }, db.ErrInvalid, nil},
			{"missing organization", func(c *db.Client) { c.OrganizationID = "no-such-org" }, db.ErrForeignKey, nil},
			{"deleted organization", func(c *db.Client) { c.OrganizationID = deletedOrg.ID }, db.ErrForeignKey, nil},
			{"no secret hash", func(c *db.Client) { c.SecretHash = "" }, db.ErrInvalid, nil},
			{"no ID", func(c *db.Client) { c.ID = "" }, db.ErrInvalid, nil},
			{"no time", func(c *db.Client) { c.CreatedMs = 0 }, db.ErrInvalid, nil},
			{"name too long", func(c *db.Client) { c.Name = strings.Repeat("n", 256) }, db.ErrInvalid, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clients, roles := e.count("clients"), e.count("client_roles")
				c := db.Client{ID: e.id(), OrganizationID: org.ID, Name: "App " + tt.name, SecretHash: strings.Repeat("ab", 32), ReqsPerSec: 10, CreatedMs: e.now()}
				tt.givenClient(&c)
				got, err := d.CreateClient(e.ctx, c)
				expectErr(t, "CreateClient", err, tt.expectErr)
				if tt.expectErr != nil {
					if n := e.count("clients"); n != clients {
						t.Errorf("%d clients after the failure, want %d", n, clients)
					}
					if n := e.count("client_roles"); n != roles {
						t.Errorf("%d client roles after the failure, want %d", n, roles)
					}
					return
				}
				want := c
				want.UpdatedMs, want.Roles = c.CreatedMs, tt.expectRoles
				if !clientsEqual(got, want) {
					t.Errorf("CreateClient = %+v, want %+v", got, want)
				}
				if read, err := d.GetClient(e.ctx, c.ID); err != nil || !clientsEqual(read, want) {
					t.Errorf("GetClient = %+v, %v; want %+v", read, err, want)
				}
			})
		}
		t.Run("duplicate ID", func(t *testing.T) {
			c := e.client(org.ID, "first")
			_, err := d.CreateClient(e.ctx, db.Client{ID: c.ID, OrganizationID: org.ID, Name: "second", SecretHash: "h", CreatedMs: e.now()})
			expectErr(t, "CreateClient", err, db.ErrDuplicate)
			if got, _ := d.GetClient(e.ctx, c.ID); got.Name != "first" {
				t.Errorf("the first client became %+v", got)
			}
		})
		t.Run("missing", func(t *testing.T) {
			_, err := d.GetClient(e.ctx, "nope")
			expectErr(t, "GetClient", err, db.ErrNotFound)
		})
	})
}

// TestClients_update checks UpdateClient, SetClientSecretHash and
// DeleteClient, and that a deleted client is hidden.
func TestClients_update(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		org := e.org("Org", e.user("Ann", "ann@example.com"))
		c := e.client(org.ID, "app", db.ClientRoleInternal)
		other := e.client(org.ID, "other")
		rates := []struct {
			name      string
			givenRate int
			expectErr error
		}{
			{"500", 500, nil},
			{"unlimited", db.UnlimitedReqsPerSec, nil},
			{"zero", 0, nil},
			{"10", 10, nil},
			{"below -1", -5, db.ErrInvalid},
		}
		for _, tt := range rates {
			t.Run("rate "+tt.name, func(t *testing.T) {
				before, err := d.GetClient(e.ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				ms := e.now()
				err = d.UpdateClient(e.ctx, c.ID, "app "+tt.name, tt.givenRate, ms)
				expectErr(t, "UpdateClient", err, tt.expectErr)
				got, gerr := d.GetClient(e.ctx, c.ID)
				if gerr != nil {
					t.Fatal(gerr)
				}
				switch {
				case tt.expectErr != nil && (got.ReqsPerSec != before.ReqsPerSec || got.Name != before.Name):
					t.Errorf("a refused update changed the client: %+v", got)
				case tt.expectErr == nil && (got.ReqsPerSec != tt.givenRate || got.Name != "app "+tt.name || got.UpdatedMs != ms):
					t.Errorf("GetClient = %+v, want rate %d stored as given", got, tt.givenRate)
				}
			})
		}
		t.Run("secret hash", func(t *testing.T) {
			ms := e.now()
			if err := d.SetClientSecretHash(e.ctx, c.ID, strings.Repeat("cd", 32), ms); err != nil {
				t.Fatal(err)
			}
			if got, err := d.GetClient(e.ctx, c.ID); err != nil || got.SecretHash != strings.Repeat("cd", 32) || got.UpdatedMs != ms {
				t.Errorf("GetClient = %+v, %v", got, err)
			}
			expectErr(t, "empty hash", d.SetClientSecretHash(e.ctx, c.ID, "", e.now()), db.ErrInvalid)
			expectErr(t, "missing client", d.SetClientSecretHash(e.ctx, "nope", "h", e.now()), db.ErrNotFound)
			expectErr(t, "UpdateClient of a missing client", d.UpdateClient(e.ctx, "nope", "x", 1, e.now()), db.ErrNotFound)
		})
		restriction := db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8", CreatedMs: e.now()}
		if err := d.AddRestriction(e.ctx, restriction); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteClient(e.ctx, c.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
			t.Fatal(err)
		}
		after := []struct {
			name      string
			when      func() error
			expectErr error
		}{
			{"GetClient says deleted", func() error { _, err := d.GetClient(e.ctx, c.ID); return err }, db.ErrDeleted},
			{"GetClient says not found", func() error { _, err := d.GetClient(e.ctx, c.ID); return err }, db.ErrNotFound},
			{"DeleteClient again", func() error { return d.DeleteClient(e.ctx, c.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}) }, db.ErrNotFound},
			{"UpdateClient", func() error { return d.UpdateClient(e.ctx, c.ID, "x", 1, e.now()) }, db.ErrNotFound},
			{"SetClientSecretHash", func() error { return d.SetClientSecretHash(e.ctx, c.ID, "h", e.now()) }, db.ErrNotFound},
			{"ClientRoles", func() error { _, err := d.ClientRoles(e.ctx, c.ID); return err }, db.ErrNotFound},
			{"AddClientRole", func() error { return d.AddClientRole(e.ctx, c.ID, db.ClientRoleSystem) }, db.ErrForeignKey},
			{"RemoveClientRole", func() error { return d.RemoveClientRole(e.ctx, c.ID, db.ClientRoleInternal) }, db.ErrNotFound},
			{"ListRestrictions", func() error { _, err := d.ListRestrictions(e.ctx, c.ID); return err }, db.ErrNotFound},
			{"AddRestriction", func() error {
				return d.AddRestriction(e.ctx, db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionHost, Value: "x", CreatedMs: e.now()})
			}, db.ErrForeignKey},
			{"DeleteRestriction", func() error { return d.DeleteRestriction(e.ctx, c.ID, restriction.ID) }, db.ErrNotFound},
		}
		for _, tt := range after {
			t.Run("after delete/"+tt.name, func(t *testing.T) {
				expectErr(t, tt.name, tt.when(), tt.expectErr)
			})
		}
		t.Run("after delete/ListClients", func(t *testing.T) {
			clients, _, err := d.ListClients(e.ctx, org.ID, db.Page{})
			if err != nil || len(clients) != 1 || !clientsEqual(clients[0], other) {
				t.Errorf("ListClients = %+v, %v; want only %+v", clients, err, other)
			}
		})
		t.Run("after delete/the rows stay", func(t *testing.T) {
			if n := e.count("clients WHERE id = ? AND deleted_ms IS NOT NULL", c.ID); n != 1 {
				t.Errorf("%d soft-deleted client rows, want 1", n)
			}
		})
	})
}

// TestClientRoles checks adding, removing and listing a client's roles.
func TestClientRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		org := e.org("Org", e.user("Ann", "ann@example.com"))
		c := e.client(org.ID, "app")
		steps := []struct {
			name        string
			when        func() error
			expectErr   error
			expectRoles []string
		}{
			{"add system", func() error { return d.AddClientRole(e.ctx, c.ID, db.ClientRoleSystem) }, nil, []string{"external", "system"}},
			{"add internal", func() error { return d.AddClientRole(e.ctx, c.ID, db.ClientRoleInternal) }, nil, []string{"external", "internal", "system"}},
			{"add a role twice", func() error { return d.AddClientRole(e.ctx, c.ID, db.ClientRoleSystem) }, db.ErrDuplicate, []string{"external", "internal", "system"}},
			{"add an unknown role", func() error { return d.AddClientRole(e.ctx, c.ID, "admin") }, db.ErrInvalid, []string{"external", "internal", "system"}},
			{"add a role to a missing client", func() error { return d.AddClientRole(e.ctx, "nope", db.ClientRoleSystem) }, db.ErrForeignKey, []string{"external", "internal", "system"}},
			{"remove external", func() error { return d.RemoveClientRole(e.ctx, c.ID, db.ClientRoleExternal) }, nil, []string{"internal", "system"}},
			{"remove a role the client lacks", func() error { return d.RemoveClientRole(e.ctx, c.ID, db.ClientRoleExternal) }, db.ErrNotFound, []string{"internal", "system"}},
			{"remove a role of a missing client", func() error { return d.RemoveClientRole(e.ctx, "nope", db.ClientRoleSystem) }, db.ErrNotFound, []string{"internal", "system"}},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, tt.name, tt.when(), tt.expectErr)
				roles, err := d.ClientRoles(e.ctx, c.ID)
				if err != nil || !slices.Equal(roles, tt.expectRoles) {
					t.Errorf("ClientRoles = %v, %v; want %v", roles, err, tt.expectRoles)
				}
				if got, err := d.GetClient(e.ctx, c.ID); err != nil || !slices.Equal(got.Roles, tt.expectRoles) {
					t.Errorf("GetClient roles = %v, %v; want %v", got.Roles, err, tt.expectRoles)
				}
			})
		}
		t.Run("listed with their roles", func(t *testing.T) {
			clients, _, err := d.ListClients(e.ctx, org.ID, db.Page{})
			if err != nil || len(clients) != 1 || !slices.Equal(clients[0].Roles, []string{"internal", "system"}) {
				t.Errorf("ListClients = %+v, %v", clients, err)
			}
		})
		_, err := d.ClientRoles(e.ctx, "nope")
		expectErr(t, "ClientRoles of a missing client", err, db.ErrNotFound)
	})
}

// TestRestrictions checks adding, listing and deleting access
// restrictions, including that a client cannot delete another client's
// restriction (the original did not check who owned it).
func TestRestrictions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		org := e.org("Org", e.user("Ann", "ann@example.com"))
		otherOrg := e.org("Other", e.user("Bob", "bob@example.com"))
		c := e.client(org.ID, "app")
		sibling := e.client(org.ID, "sibling")
		foreign := e.client(otherOrg.ID, "foreign")
		ip := db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8", CreatedMs: e.now()}
		host := db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionHost, Value: "app.example.com", CreatedMs: e.now()}
		foreignIP := db.Restriction{ID: e.id(), ClientID: foreign.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8", CreatedMs: e.now()}
		adds := []struct {
			name       string
			givenR     db.Restriction
			expectErr  error
			expectRows int // of client c
		}{
			{"ip", ip, nil, 1},
			{"host", host, nil, 2},
			{"the same value for another client", foreignIP, nil, 2},
			{"the same value as another type", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionAPI, Value: "10.0.0.0/8", CreatedMs: e.now()}, nil, 3},
			{"duplicate (client, type, value)", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8", CreatedMs: e.now()}, db.ErrDuplicate, 3},
			{"duplicate ID", db.Restriction{ID: ip.ID, ClientID: c.ID, Type: db.RestrictionIP, Value: "192.0.2.0/24", CreatedMs: e.now()}, db.ErrDuplicate, 3},
			{"unknown type", db.Restriction{ID: e.id(), ClientID: c.ID, Type: "port", Value: "443", CreatedMs: e.now()}, db.ErrInvalid, 3},
			{"value with a trailing space", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8 ", CreatedMs: e.now()}, db.ErrInvalid, 3},
			{"empty value", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionHost, Value: "", CreatedMs: e.now()}, db.ErrInvalid, 3},
			{"value with a newline", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionHost, Value: "a\nb", CreatedMs: e.now()}, db.ErrInvalid, 3},
			{"missing client", db.Restriction{ID: e.id(), ClientID: "nope", Type: db.RestrictionIP, Value: "10.0.0.1", CreatedMs: e.now()}, db.ErrForeignKey, 3},
			{"no time", db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionIP, Value: "10.0.0.2"}, db.ErrInvalid, 3},
		}
		for _, tt := range adds {
			t.Run("add "+tt.name, func(t *testing.T) {
				expectErr(t, "AddRestriction", d.AddRestriction(e.ctx, tt.givenR), tt.expectErr)
				if n := e.count("client_access_restrictions WHERE client_id = ?", c.ID); n != tt.expectRows {
					t.Errorf("%d restrictions of the client, want %d", n, tt.expectRows)
				}
			})
		}
		t.Run("list", func(t *testing.T) {
			rs, err := d.ListRestrictions(e.ctx, c.ID)
			if err != nil || len(rs) != 3 || rs[0] != ip || rs[1] != host || rs[2].Type != db.RestrictionAPI {
				t.Errorf("ListRestrictions = %+v, %v", rs, err)
			}
			rs, err = d.ListRestrictions(e.ctx, sibling.ID)
			if err != nil || rs == nil || len(rs) != 0 {
				t.Errorf("ListRestrictions of a client without any = %#v, %v; want empty", rs, err)
			}
			_, err = d.ListRestrictions(e.ctx, "nope")
			expectErr(t, "ListRestrictions of a missing client", err, db.ErrNotFound)
		})
		deletes := []struct {
			name          string
			givenClientID string
			givenID       string
			expectErr     error
		}{
			{"another client's restriction, same organization", sibling.ID, ip.ID, db.ErrNotFound},
			{"another organization's restriction", c.ID, foreignIP.ID, db.ErrNotFound},
			{"a missing restriction", c.ID, "nope", db.ErrNotFound},
			{"the client's own restriction", c.ID, ip.ID, nil},
			{"the same again", c.ID, ip.ID, db.ErrNotFound},
		}
		for _, tt := range deletes {
			t.Run("delete "+tt.name, func(t *testing.T) {
				before := e.count("client_access_restrictions")
				expectErr(t, "DeleteRestriction", d.DeleteRestriction(e.ctx, tt.givenClientID, tt.givenID), tt.expectErr)
				want := before
				if tt.expectErr == nil {
					want--
				}
				if n := e.count("client_access_restrictions"); n != want {
					t.Errorf("%d restrictions, want %d", n, want)
				}
			})
		}
		if rs, err := d.ListRestrictions(e.ctx, foreign.ID); err != nil || len(rs) != 1 || rs[0] != foreignIP {
			t.Errorf("the foreign client's restrictions = %+v, %v", rs, err)
		}
	})
}

// TestBootstrap: the first user, organization and client are written in
// one transaction; a failure in the last part leaves nothing, and a
// second bootstrap is refused.
func TestBootstrap(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newAccountsEnv(t, d)
		ids := e.id
		first := func(clientRoles ...string) (db.NewUser, db.Organization, db.Client) {
			u := db.NewUser{User: db.User{ID: ids(), Name: "Root", CreatedMs: 1}, Email: db.Email{ID: ids(), Email: "root@example.com"},
				Roles: []string{db.RoleSysadmin}}
			org := db.Organization{ID: ids(), Name: "Acme", CreatedMs: 1}
			c := db.Client{ID: ids(), Name: "system", SecretHash: "h", ReqsPerSec: -1, CreatedMs: 1, Roles: clientRoles}
			return u, org, c
		}
		u, org, c := first("system", "no-such-role")
		if err := d.Bootstrap(ctx, u, org, db.Membership{ID: ids()}, c); !errors.Is(err, db.ErrInvalid) {
			t.Fatalf("bad client role: %v, want ErrInvalid", err)
		}
		u, org, c = first("system", "internal")
		c.Name = strings.Repeat("x", 300) // too long for the column: the last insert fails
		if err := d.Bootstrap(ctx, u, org, db.Membership{ID: ids()}, c); err == nil {
			t.Fatal("a client name too long was accepted")
		}
		if users, _, err := d.ListUsers(ctx, db.Page{}); err != nil || len(users) != 0 {
			t.Fatalf("after a failed bootstrap: users %v, %v", users, err)
		}
		if _, err := d.GetOrganization(ctx, org.ID); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("after a failed bootstrap the organization exists: %v", err)
		}
		u, org, c = first("system", "internal")
		if err := d.Bootstrap(ctx, u, org, db.Membership{ID: ids()}, c); err != nil {
			t.Fatal(err)
		}
		got, err := d.GetClient(ctx, c.ID)
		if err != nil || got.OrganizationID != org.ID || !slices.Equal(got.Roles, []string{"internal", "system"}) {
			t.Fatalf("client %+v, %v", got, err)
		}
		m, err := d.GetUserMembership(ctx, org.ID, u.User.ID)
		if err != nil || !(m.Read && m.Edit && m.Manage && m.Delete) {
			t.Fatalf("membership %+v, %v", m, err)
		}
		u2, org2, c2 := first("system")
		u2.Email.Email = "other@example.com"
		if err := d.Bootstrap(ctx, u2, org2, db.Membership{ID: ids()}, c2); !errors.Is(err, db.ErrBootstrapped) {
			t.Fatalf("second bootstrap: %v, want ErrBootstrapped", err)
		}
	})
}

// TestBootstrapConcurrent: of bootstraps run at once (two operators, two
// deploy jobs) exactly one sets the database up; the others fail with
// ErrBootstrapped, or ErrConflict when MySQL breaks the tie as a deadlock.
func TestBootstrapConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newAccountsEnv(t, d)
		const n = 8
		type input struct {
			u   db.NewUser
			org db.Organization
			m   db.Membership
			c   db.Client
		}
		inputs := make([]input, n)
		for i := range inputs {
			inputs[i] = input{
				u: db.NewUser{User: db.User{ID: e.id(), Name: "Root", CreatedMs: 1},
					Email: db.Email{ID: e.id(), Email: fmt.Sprintf("root%d@example.com", i)}, Roles: []string{db.RoleSysadmin}},
				org: db.Organization{ID: e.id(), Name: "Acme", CreatedMs: 1},
				m:   db.Membership{ID: e.id()},
				c:   db.Client{ID: e.id(), Name: "system", SecretHash: "h", ReqsPerSec: -1, CreatedMs: 1, Roles: []string{"system"}},
			}
		}
		errs := authRace(n, func(i int) error {
			in := inputs[i]
			return d.Bootstrap(ctx, in.u, in.org, in.m, in.c)
		})
		expectOneWinner(t, errs, db.ErrBootstrapped, db.ErrConflict)
		if users, _, err := d.ListUsers(ctx, db.Page{}); err != nil || len(users) != 1 {
			t.Fatalf("%d users (%v) after the bootstraps, want 1", len(users), err)
		}
	})
}
