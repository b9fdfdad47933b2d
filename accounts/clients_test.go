package accounts_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// clientsPath is /organizations/:id/clients followed by the parts.
func clientsPath(org db.Organization, parts ...string) string {
	return "/organizations/" + org.ID + "/clients" + strings.Join(append([]string{""}, parts...), "/")
}

// createdClient creates a client through the service as who, with the
// fields of body, and returns the client (ID and the secret shown once).
func (s *stack) createdClient(who as, org db.Organization, body map[string]any) appClient {
	s.t.Helper()
	res := s.do(who, "POST", clientsPath(org), body).expect(s.t, http.StatusCreated)
	id, _ := res.data()["id"].(string)
	secret, _ := res.data()["secret"].(string)
	if id == "" || secret == "" {
		s.t.Fatalf("created client without id or secret: %s", res.Raw)
	}
	return appClient{ID: id, Secret: secret}
}

// expectAnnounced fails unless the service announced a change since
// before.
func (s *stack) expectAnnounced(t *testing.T, before int64, what string) {
	t.Helper()
	if s.announced.Load() <= before {
		t.Fatalf("%s: no change announced (count %d)", what, before)
	}
}

func TestClientsCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")   // owner: every flag
		rita := s.user("Rita") // reader
		nora := s.user("Nora") // no member
		home := s.org("Home", ann)
		other := s.org("Other", nora)
		s.member(home, rita, "read")
		app := s.client(home)

		before := s.announced.Load()
		created := s.do(by(app, ann), "POST", clientsPath(home), map[string]any{"type": "clients", "name": "Billing"}).expect(t, http.StatusCreated)
		s.expectAnnounced(t, before, "create")
		c := created.data()
		id, _ := c["id"].(string)
		org, _ := c["organization"].(map[string]any)
		orgData, _ := org["data"].(map[string]any)
		roles, _ := c["roles"].([]any)
		switch {
		case id == "" || c["type"] != "clients" || c["name"] != "Billing":
			t.Fatalf("created = %s", created.Raw)
		case c["reqsPerSec"] != float64(10):
			t.Fatalf("reqsPerSec = %v, want the default 10", c["reqsPerSec"])
		case orgData["type"] != "organizations" || orgData["id"] != home.ID:
			t.Fatalf("organization = %v", org)
		case len(roles) != 1 || roles[0] != db.ClientRoleExternal:
			t.Fatalf("roles = %v, want [external]", roles)
		case c["secret"] == nil || c["secret"] == "":
			t.Fatalf("no secret in the answer of create: %s", created.Raw)
		case c["createdMs"] != float64(startTime.UnixMilli()):
			t.Fatalf("createdMs = %v", c["createdMs"])
		}

		tests := []struct {
			name         string
			givenCaller  as
			whenMethod   string
			whenPath     string
			whenBody     any
			expectStatus int
			expectCode   string
			expectFields []string
		}{
			{name: "reader gets it without its secret", givenCaller: by(app, rita), whenMethod: "GET", whenPath: clientsPath(home, id), expectStatus: 200},
			{name: "reader lists", givenCaller: by(app, rita), whenMethod: "GET", whenPath: clientsPath(home), expectStatus: 200},
			{name: "reader may not create", givenCaller: by(app, rita), whenMethod: "POST", whenPath: clientsPath(home),
				whenBody: map[string]any{"name": "Mine"}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "reader may not rename", givenCaller: by(app, rita), whenMethod: "PATCH", whenPath: clientsPath(home, id),
				whenBody: map[string]any{"name": "Mine"}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "reader may not refresh the secret", givenCaller: by(app, rita), whenMethod: "POST", whenPath: clientsPath(home, id, "refresh-secret"),
				expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "reader may not delete", givenCaller: by(app, rita), whenMethod: "DELETE", whenPath: clientsPath(home, id), expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "non-member does not see the list", givenCaller: by(app, nora), whenMethod: "GET", whenPath: clientsPath(home), expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "non-member does not see the client", givenCaller: by(app, nora), whenMethod: "GET", whenPath: clientsPath(home, id), expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "client under another organization", givenCaller: by(app, nora), whenMethod: "GET", whenPath: clientsPath(other, id), expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "name is required", givenCaller: by(app, ann), whenMethod: "POST", whenPath: clientsPath(home),
				whenBody: map[string]any{"type": "clients"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"name"}},
			{name: "every problem at once", givenCaller: by(app, ann), whenMethod: "POST", whenPath: clientsPath(home),
				whenBody: map[string]any{"type": "users", "name": 5, "secret": "mine"}, expectStatus: 400, expectCode: "USER_DATA_INVALID",
				expectFields: []string{"name", "secret", "type"}},
			{name: "PATCH id must match", givenCaller: by(app, ann), whenMethod: "PATCH", whenPath: clientsPath(home, id),
				whenBody: map[string]any{"type": "clients", "id": app.ID, "name": "X"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"id"}},
			{name: "PATCH empty name", givenCaller: by(app, ann), whenMethod: "PATCH", whenPath: clientsPath(home, id),
				whenBody: map[string]any{"name": ""}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"name"}},
			{name: "manager renames", givenCaller: by(app, ann), whenMethod: "PATCH", whenPath: clientsPath(home, id),
				whenBody: map[string]any{"type": "clients", "id": id, "name": "Invoices"}, expectStatus: 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := s.do(tt.givenCaller, tt.whenMethod, tt.whenPath, tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectFields != nil && !slices.Equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if res.data()["secret"] != nil {
					t.Fatalf("the secret is shown again: %s", res.Raw)
				}
				for _, it := range res.list() {
					if it["secret"] != nil {
						t.Fatalf("the list shows a secret: %s", res.Raw)
					}
				}
			})
		}

		got := s.do(by(app, rita), "GET", clientsPath(home, id), nil).expect(t, http.StatusOK)
		if got.data()["name"] != "Invoices" || got.data()["reqsPerSec"] != float64(10) {
			t.Fatalf("after rename = %s", got.Raw)
		}
		list := s.do(by(app, rita), "GET", clientsPath(home), nil).expect(t, http.StatusOK)
		var ids []string
		for _, it := range list.list() {
			ids = append(ids, it["id"].(string))
		}
		// IDs made in the same millisecond of the fixed clock have no
		// defined order.
		slices.Sort(ids)
		if want := []string{app.ID, id}; !slices.Equal(ids, slices.Sorted(slices.Values(want))) {
			t.Fatalf("list ids = %v, want [%s %s]", ids, app.ID, id)
		}

		before = s.announced.Load()
		del := s.do(by(app, ann), "DELETE", clientsPath(home, id), nil).expect(t, http.StatusOK)
		if del.Body["t"] != "null" {
			t.Fatalf("delete answered %s", del.Raw)
		}
		s.expectAnnounced(t, before, "delete")
		s.do(by(app, ann), "GET", clientsPath(home, id), nil).expect(t, http.StatusNotFound, "NOT-FOUND")
		s.do(by(app, ann), "DELETE", clientsPath(home, id), nil).expect(t, http.StatusNotFound)
		if _, err := d.GetClient(s.ctx, id); err == nil {
			t.Fatal("the store still has the deleted client")
		}
	})
}

func TestClientReqsPerSec(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		eve := s.user("Eve", db.RoleEmployee)
		home := s.org("Home", ann)
		app := s.client(home)
		system := s.client(home, db.ClientRoleSystem)
		internal := s.client(home, db.ClientRoleInternal)
		target := s.createdClient(by(app, ann), home, map[string]any{"name": "Target"})

		tests := []struct {
			name         string
			givenCaller  as
			whenMethod   string // POST creates a client, PATCH changes target
			whenBody     map[string]any
			expectStatus int
			expectCode   string
			expectRate   int // read back, when expectStatus is 2xx
		}{
			{name: "absent is the default", givenCaller: by(app, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A"}, expectStatus: 201, expectRate: 10},
			{name: "manager without staff may not set it", givenCaller: by(app, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 37}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "manager may not set even the default", givenCaller: by(app, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 10}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "system client without its secret is not staff", givenCaller: as{client: system, user: &ann}, whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 37}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "system client with a user is staff", givenCaller: by(system, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 37}, expectStatus: 201, expectRate: 37},
			{name: "internal client with an employee is staff", givenCaller: by(internal, eve), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": -1}, expectStatus: 201, expectRate: -1},
			{name: "staff out of range", givenCaller: by(system, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 1000001}, expectStatus: 400, expectCode: "USER_DATA_INVALID"},
			{name: "staff below unlimited", givenCaller: by(system, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": -2}, expectStatus: 400, expectCode: "USER_DATA_INVALID"},
			{name: "staff with a fraction", givenCaller: by(system, ann), whenMethod: "POST",
				whenBody: map[string]any{"name": "A", "reqsPerSec": 1.5}, expectStatus: 400, expectCode: "USER_DATA_INVALID"},
			{name: "manager may not change it", givenCaller: by(app, ann), whenMethod: "PATCH",
				whenBody: map[string]any{"reqsPerSec": 500}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "staff changes it", givenCaller: by(internal, eve), whenMethod: "PATCH",
				whenBody: map[string]any{"reqsPerSec": 1000000}, expectStatus: 200, expectRate: 1000000},
			{name: "a rename keeps it", givenCaller: by(app, ann), whenMethod: "PATCH",
				whenBody: map[string]any{"name": "Renamed"}, expectStatus: 200, expectRate: 1000000},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				path := clientsPath(home)
				if tt.whenMethod == "PATCH" {
					path = clientsPath(home, target.ID)
				}
				res := s.do(tt.givenCaller, tt.whenMethod, path, tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectStatus >= 300 {
					return
				}
				if res.data()["reqsPerSec"] != float64(tt.expectRate) {
					t.Fatalf("answer's reqsPerSec = %v, want %d", res.data()["reqsPerSec"], tt.expectRate)
				}
				id, _ := res.data()["id"].(string)
				back := s.do(by(app, ann), "GET", clientsPath(home, id), nil).expect(t, http.StatusOK)
				if back.data()["reqsPerSec"] != float64(tt.expectRate) {
					t.Fatalf("read back reqsPerSec = %v, want %d", back.data()["reqsPerSec"], tt.expectRate)
				}
				stored, err := d.GetClient(s.ctx, id)
				if err != nil || stored.ReqsPerSec != tt.expectRate {
					t.Fatalf("stored reqsPerSec = %d (%v), want %d", stored.ReqsPerSec, err, tt.expectRate)
				}
			})
		}

		// The gateway limits a client at the rate stored.
		limited := s.createdClient(by(system, ann), home, map[string]any{"name": "Limited", "reqsPerSec": 37})
		s.refresh()
		res := s.do(by(limited, ann), "GET", "/organizations/"+home.ID, nil).expect(t, http.StatusOK)
		if got := res.Header.Get("RateLimit-Limit"); got != "37" {
			t.Fatalf("RateLimit-Limit = %q, want 37", got)
		}
	})
}

func TestClientSecret(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		home := s.org("Home", ann)
		app := s.client(home)
		orgPath := "/organizations/" + home.ID

		c := s.createdClient(by(app, ann), home, map[string]any{"type": "clients", "name": "Web"})
		stored, err := d.GetClient(s.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.SecretHash != sha256Hex(c.Secret) {
			t.Fatalf("stored hash %q is not the SHA-256 of the secret shown", stored.SecretHash)
		}
		if got := s.do(by(app, ann), "GET", clientsPath(home, c.ID), nil).expect(t, http.StatusOK); strings.Contains(string(got.Raw), c.Secret) || got.data()["secret"] != nil {
			t.Fatalf("GET shows the secret: %s", got.Raw)
		}

		s.refresh()
		s.do(by(c, ann), "GET", orgPath, nil).expect(t, http.StatusOK)
		wrong := c
		wrong.Secret = "not-it"
		s.do(by(wrong, ann), "GET", orgPath, nil).expect(t, http.StatusUnauthorized, "INVALID-CLIENT-SECRET")

		before := s.announced.Load()
		res := s.do(by(app, ann), "POST", clientsPath(home, c.ID, "refresh-secret"), nil).expect(t, http.StatusOK)
		s.expectAnnounced(t, before, "refresh-secret")
		fresh := appClient{ID: c.ID}
		fresh.Secret, _ = res.data()["secret"].(string)
		if fresh.Secret == "" || fresh.Secret == c.Secret || res.data()["id"] != c.ID {
			t.Fatalf("refresh-secret answered %s", res.Raw)
		}
		s.refresh()
		s.do(by(c, ann), "GET", orgPath, nil).expect(t, http.StatusUnauthorized, "INVALID-CLIENT-SECRET")
		s.do(by(fresh, ann), "GET", orgPath, nil).expect(t, http.StatusOK)

		s.do(by(app, ann), "DELETE", clientsPath(home, c.ID), nil).expect(t, http.StatusOK)
		s.refresh()
		s.do(by(fresh, ann), "GET", orgPath, nil).expect(t, http.StatusUnauthorized, "UNKNOWN-CLIENT")
		s.do(by(app, ann), "POST", clientsPath(home, c.ID, "refresh-secret"), nil).expect(t, http.StatusNotFound)
	})
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestClientRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		sam := s.user("Sam", db.RoleSysadmin)
		home := s.org("Home", ann)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)
		target := s.createdClient(by(app, ann), home, map[string]any{"name": "Target"})
		rolesPath := clientsPath(home, target.ID, "roles")
		sysint := by(internal, sam)

		tests := []struct {
			name         string
			givenCaller  as
			whenMethod   string
			whenPath     string
			whenBody     any
			expectStatus int
			expectCode   string
			expectFields []string
			expectRoles  []string // the client's roles afterwards
		}{
			{name: "SYSINT lists", givenCaller: sysint, whenMethod: "GET", whenPath: rolesPath, expectStatus: 200, expectRoles: []string{"external"}},
			{name: "manager may not list", givenCaller: by(app, ann), whenMethod: "GET", whenPath: rolesPath, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "sysadmin through an external client is not SYSINT", givenCaller: by(app, sam), whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "client-roles", "id": "internal"}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "manager may not add", givenCaller: by(app, ann), whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "client-roles", "id": "system"}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "SYSINT adds", givenCaller: sysint, whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "client-roles", "id": "internal"}, expectStatus: 201, expectRoles: []string{"external", "internal"}},
			{name: "duplicate", givenCaller: sysint, whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "client-roles", "id": "internal"}, expectStatus: 409, expectCode: "DUPLICATE", expectRoles: []string{"external", "internal"}},
			{name: "unknown role", givenCaller: sysint, whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "client-roles", "id": "admin"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"id"}},
			{name: "missing role and wrong type", givenCaller: sysint, whenMethod: "POST", whenPath: rolesPath,
				whenBody: map[string]any{"type": "user-roles"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"id", "type"}},
			{name: "manager may not remove", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: rolesPath + "/internal", expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "SYSINT removes", givenCaller: sysint, whenMethod: "DELETE", whenPath: rolesPath + "/external", expectStatus: 200, expectRoles: []string{"internal"}},
			{name: "removing a role it lacks", givenCaller: sysint, whenMethod: "DELETE", whenPath: rolesPath + "/external", expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "removing an unknown role", givenCaller: sysint, whenMethod: "DELETE", whenPath: rolesPath + "/root", expectStatus: 404, expectCode: "NOT-FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := s.announced.Load()
				res := s.do(tt.givenCaller, tt.whenMethod, tt.whenPath, tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectFields != nil && !slices.Equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if tt.whenMethod != "GET" && tt.expectStatus < 300 {
					s.expectAnnounced(t, before, tt.name)
				}
				if tt.expectRoles == nil {
					return
				}
				list := s.do(sysint, "GET", rolesPath, nil).expect(t, http.StatusOK)
				var got []string
				for _, it := range list.list() {
					if it["type"] != "client-roles" {
						t.Fatalf("role item %v", it)
					}
					got = append(got, it["id"].(string))
				}
				if !slices.Equal(got, tt.expectRoles) {
					t.Fatalf("roles %v, want %v", got, tt.expectRoles)
				}
				client := s.do(by(app, ann), "GET", clientsPath(home, target.ID), nil).expect(t, http.StatusOK)
				var shown []string
				for _, r := range client.data()["roles"].([]any) {
					shown = append(shown, r.(string))
				}
				if !slices.Equal(shown, tt.expectRoles) {
					t.Fatalf("client shows roles %v, want %v", shown, tt.expectRoles)
				}
			})
		}
	})
}

// restrictionsPath is the access-restrictions path of a client of org,
// followed by the parts.
func restrictionsPath(org db.Organization, clientID string, parts ...string) string {
	return clientsPath(org, append([]string{clientID, "access-restrictions"}, parts...)...)
}

func TestRestrictionsAdd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		sam := s.user("Sam", db.RoleSysadmin)
		home := s.org("Home", ann)
		app := s.client(home)
		target := s.createdClient(by(app, ann), home, map[string]any{"name": "Target"})
		if err := d.CreateAPI(s.ctx, db.API{Name: "orders", Version: 1, URL: "http://orders.example", Active: true, CreatedMs: startTime.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		path := restrictionsPath(home, target.ID)
		manager, admin := by(app, ann), by(app, sam)

		tests := []struct {
			name         string
			givenCaller  as
			givenType    string // the restriction type's prefix: ip, host, api
			givenValue   any
			givenBody    map[string]any // instead of type and value
			expectStatus int
			expectCode   string
			expectFields []string
			expectValue  string // as stored, for a 201
		}{
			{name: "single IPv4", givenCaller: manager, givenType: "ip", givenValue: "192.0.2.7", expectStatus: 201, expectValue: "192.0.2.7/32"},
			{name: "CIDR is masked", givenCaller: manager, givenType: "ip", givenValue: " 10.1.2.3/8 ", expectStatus: 201, expectValue: "10.0.0.0/8"},
			{name: "single IPv6 in canonical form", givenCaller: manager, givenType: "ip", givenValue: "2001:DB8:0::1", expectStatus: 201, expectValue: "2001:db8::1/128"},
			{name: "IPv4-mapped CIDR is the IPv4 one: duplicate", givenCaller: manager, givenType: "ip", givenValue: "::ffff:10.9.9.9/104", expectStatus: 409, expectCode: "DUPLICATE"},
			{name: "address out of range", givenCaller: manager, givenType: "ip", givenValue: "10.0.0.300", expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"value"}},
			{name: "prefix too long", givenCaller: manager, givenType: "ip", givenValue: "10.0.0.0/33", expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"value"}},
			{name: "IPv6 zone", givenCaller: manager, givenType: "ip", givenValue: "fe80::1%eth0", expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"value"}},
			{name: "host name a range", givenCaller: manager, givenType: "ip", givenValue: "example.com", expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"value"}},
			{name: "host is lower-cased without trailing dot", givenCaller: manager, givenType: "host", givenValue: "App.Example.COM.", expectStatus: 201, expectValue: "app.example.com"},
			{name: "same host written otherwise: duplicate", givenCaller: manager, givenType: "host", givenValue: "APP.example.com", expectStatus: 409, expectCode: "DUPLICATE"},
			{name: "wildcard host", givenCaller: manager, givenType: "host", givenValue: "*.Example.org", expectStatus: 201, expectValue: "*.example.org"},
			{name: "IPv6 host", givenCaller: manager, givenType: "host", givenValue: "[2001:DB8::1]", expectStatus: 201, expectValue: "2001:db8::1"},
			{name: "IPv4 host", givenCaller: manager, givenType: "host", givenValue: "127.0.0.1", expectStatus: 201, expectValue: "127.0.0.1"},
			{name: "wildcard over a top-level domain", givenCaller: manager, givenType: "host", givenValue: "*.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "wildcard inside", givenCaller: manager, givenType: "host", givenValue: "a.*.example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "partial wildcard", givenCaller: manager, givenType: "host", givenValue: "app*.example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host with port", givenCaller: manager, givenType: "host", givenValue: "example.com:443", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host with scheme", givenCaller: manager, givenType: "host", givenValue: "https://example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host with path", givenCaller: manager, givenType: "host", givenValue: "example.com/app", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host with underscore", givenCaller: manager, givenType: "host", givenValue: "my_app.example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host label ending in hyphen", givenCaller: manager, givenType: "host", givenValue: "app-.example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "host with empty label", givenCaller: manager, givenType: "host", givenValue: "app..example.com", expectStatus: 400, expectFields: []string{"value"}},
			{name: "unicode host", givenCaller: manager, givenType: "host", givenValue: "bücher.example", expectStatus: 400, expectFields: []string{"value"}},
			{name: "api by a plain manager", givenCaller: manager, givenType: "api", givenValue: "orders", expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "api by a sysadmin", givenCaller: admin, givenType: "api", givenValue: "orders", expectStatus: 201, expectValue: "orders"},
			{name: "the accounts service", givenCaller: admin, givenType: "api", givenValue: "accounts", expectStatus: 201, expectValue: "accounts"},
			{name: "unknown api", givenCaller: admin, givenType: "api", givenValue: "billing", expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"value"}},
			{name: "api names are exact", givenCaller: admin, givenType: "api", givenValue: "Orders", expectStatus: 400, expectFields: []string{"value"}},
			{name: "type is required", givenCaller: manager, givenBody: map[string]any{"value": "10.0.0.0/8"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"type"}},
			{name: "unknown type", givenCaller: manager, givenBody: map[string]any{"type": "clients", "value": "10.0.0.0/8"}, expectStatus: 400, expectFields: []string{"type"}},
			{name: "every problem at once", givenCaller: manager, givenBody: map[string]any{"type": "ip-access-restrictions", "value": "nope", "color": "red"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"color", "value"}},
			{name: "value is required", givenCaller: manager, givenType: "host", givenValue: "", expectStatus: 400, expectFields: []string{"value"}},
			{name: "value is a string", givenCaller: manager, givenType: "ip", givenValue: 10, expectStatus: 400, expectFields: []string{"value"}},
		}
		var added []string
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := tt.givenBody
				if body == nil {
					body = map[string]any{"type": tt.givenType + "-access-restrictions", "value": tt.givenValue}
				}
				before := s.announced.Load()
				res := s.do(tt.givenCaller, "POST", path, body).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectFields != nil && !slices.Equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if tt.expectStatus != http.StatusCreated {
					if s.announced.Load() != before {
						t.Fatal("a refused change was announced")
					}
					return
				}
				s.expectAnnounced(t, before, tt.name)
				x := res.data()
				client, _ := x["client"].(map[string]any)
				clientData, _ := client["data"].(map[string]any)
				switch {
				case x["type"] != tt.givenType+"-access-restrictions" || x["value"] != tt.expectValue:
					t.Fatalf("added %s, want type %s and value %q", res.Raw, tt.givenType, tt.expectValue)
				case x["id"] == nil || x["id"] == "" || x["createdMs"] == nil:
					t.Fatalf("added %s without id or createdMs", res.Raw)
				case clientData["type"] != "clients" || clientData["id"] != target.ID:
					t.Fatalf("added %s for another client", res.Raw)
				}
				added = append(added, tt.givenType+" "+tt.expectValue)
			})
		}

		list := s.do(manager, "GET", path, nil).expect(t, http.StatusOK)
		var got []string
		for _, it := range list.list() {
			got = append(got, strings.TrimSuffix(it["type"].(string), "-access-restrictions")+" "+it["value"].(string))
		}
		slices.Sort(got)
		slices.Sort(added)
		if !slices.Equal(got, added) {
			t.Fatalf("restrictions %v, want %v", got, added)
		}
	})
}

func TestRestrictionsEnforcedByGateway(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		sam := s.user("Sam", db.RoleSysadmin)
		home := s.org("Home", ann)
		app := s.client(home)
		if err := d.CreateAPI(s.ctx, db.API{Name: "orders", Version: 1, URL: "http://orders.example", Active: true, CreatedMs: startTime.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
		web := s.createdClient(by(app, ann), home, map[string]any{"name": "Web"})
		path := restrictionsPath(home, web.ID)
		orgPath := "/organizations/" + home.ID
		s.refresh()
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusOK)

		add := func(caller as, typ, value string) string {
			t.Helper()
			res := s.do(caller, "POST", path, map[string]any{"type": typ + "-access-restrictions", "value": value}).expect(t, http.StatusCreated)
			s.refresh()
			return res.data()["id"].(string)
		}
		remove := func(caller as, id string) {
			t.Helper()
			s.do(caller, "DELETE", path+"/"+id, nil).expect(t, http.StatusOK)
			s.refresh()
		}

		// The test's requests come from 127.0.0.1 to the Host 127.0.0.1:port.
		ipOther := add(by(app, ann), "ip", "10.0.0.0/8")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusUnauthorized, "ACCESS-RESTRICTION-IP")
		ipLocal := add(by(app, ann), "ip", "127.0.0.1")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusOK)
		remove(by(app, ann), ipOther)
		remove(by(app, ann), ipLocal)

		hostOther := add(by(app, ann), "host", "*.example.com")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusUnauthorized, "ACCESS-RESTRICTION-HOST")
		hostLocal := add(by(app, ann), "host", "127.0.0.1.")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusOK)
		remove(by(app, ann), hostOther)
		remove(by(app, ann), hostLocal)

		// A client restricted to other APIs cannot call the accounts
		// service, unless "accounts" is one of its APIs.
		apiOrders := add(by(app, sam), "api", "orders")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusForbidden, "ACCESS-RESTRICTION-API")
		apiAccounts := add(by(app, sam), "api", "accounts")
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusOK)

		// Removing an api restriction also needs ISC or a sysadmin.
		s.do(by(app, ann), "DELETE", path+"/"+apiAccounts, nil).expect(t, http.StatusForbidden, "FORBIDDEN")
		remove(by(app, sam), apiAccounts)
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusForbidden, "ACCESS-RESTRICTION-API")
		remove(by(app, sam), apiOrders)
		s.do(by(web, ann), "GET", orgPath, nil).expect(t, http.StatusOK)
	})
}

func TestRestrictionsDeleteOnlyTheClients(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		home := s.org("Home", ann)
		app := s.client(home)
		mine := s.createdClient(by(app, ann), home, map[string]any{"name": "Mine"})
		theirs := s.createdClient(by(app, ann), home, map[string]any{"name": "Theirs"})
		res := s.do(by(app, ann), "POST", restrictionsPath(home, theirs.ID), map[string]any{"type": "ip-access-restrictions", "value": "10.0.0.0/8"}).expect(t, http.StatusCreated)
		id := res.data()["id"].(string)
		count := func() int {
			t.Helper()
			return len(s.do(by(app, ann), "GET", restrictionsPath(home, theirs.ID), nil).expect(t, http.StatusOK).list())
		}

		tests := []struct {
			name         string
			whenPath     string
			expectStatus int
			expectLeft   int
		}{
			{name: "through another client's URL", whenPath: restrictionsPath(home, mine.ID, id), expectStatus: 404, expectLeft: 1},
			{name: "unknown restriction", whenPath: restrictionsPath(home, theirs.ID, s.id()), expectStatus: 404, expectLeft: 1},
			{name: "through its own client's URL", whenPath: restrictionsPath(home, theirs.ID, id), expectStatus: 200, expectLeft: 0},
			{name: "again", whenPath: restrictionsPath(home, theirs.ID, id), expectStatus: 404, expectLeft: 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := s.announced.Load()
				s.do(by(app, ann), "DELETE", tt.whenPath, nil).expect(t, tt.expectStatus)
				if got := count(); got != tt.expectLeft {
					t.Fatalf("%d restrictions left, want %d", got, tt.expectLeft)
				}
				if changed := s.announced.Load() != before; changed != (tt.expectStatus == 200) {
					t.Fatalf("announced = %v after %d", changed, tt.expectStatus)
				}
			})
		}
	})
}
