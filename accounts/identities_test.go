package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestIdentities lists and unlinks the external identities linked to a
// user: self (with a proof) or a sysadmin; never another user.
func TestIdentities(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		bob := s.user("Bob")
		admin := s.user("Admin", db.RoleSysadmin)
		home := s.org("Home", admin)
		app := s.client(home)
		link := func(u db.User, sub string) string {
			t.Helper()
			id := s.id()
			if err := d.CreateOIDCIdentity(s.ctx, db.OIDCIdentity{ID: id, UserID: u.ID, ProviderID: "corp", Issuer: "https://sso.example.com",
				Subject: sub, Email: "ann@corp.example.com", CreatedMs: s.clock.Now().UnixMilli()}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		first, second := link(ann, "ann-1"), link(ann, "ann-2")
		bobs := link(bob, "bob-1")

		for _, tt := range []struct {
			name         string
			givenCaller  as
			givenPath    string
			expectStatus int
			expectIDs    []string
		}{
			{name: "self", givenCaller: by(app, ann), givenPath: "/users/current/identities", expectStatus: 200, expectIDs: []string{first, second}},
			{name: "sysadmin", givenCaller: by(app, admin), givenPath: "/users/" + ann.ID + "/identities", expectStatus: 200, expectIDs: []string{first, second}},
			{name: "another user", givenCaller: by(app, bob), givenPath: "/users/" + ann.ID + "/identities", expectStatus: 404},
			{name: "no user", givenCaller: anonymous(app), givenPath: "/users/" + ann.ID + "/identities", expectStatus: 401},
		} {
			t.Run("list: "+tt.name, func(t *testing.T) {
				res := s.do(tt.givenCaller, "GET", tt.givenPath, nil).expect(t, tt.expectStatus)
				if tt.expectStatus != 200 {
					return
				}
				list := res.list()
				if len(list) != len(tt.expectIDs) {
					t.Fatalf("%d identities: %s", len(list), res.Raw)
				}
				for i, it := range list {
					if it["id"] != tt.expectIDs[i] || it["type"] != "identities" || it["providerId"] != "corp" || it["issuer"] != "https://sso.example.com" ||
						it["email"] != "ann@corp.example.com" {
						t.Errorf("identity %d: %v", i, it)
					}
				}
			})
		}

		path := "/users/" + ann.ID + "/identities/" + first
		s.do(by(app, bob), "DELETE", path, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
		s.do(by(app, bob), "DELETE", "/users/"+bob.ID+"/identities/"+first, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
		s.do(by(app, ann), "DELETE", path, map[string]any{}).expect(t, http.StatusBadRequest)
		s.do(by(app, ann), "DELETE", path, map[string]any{"currentPassword": "wrong"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
		s.do(by(app, ann), "DELETE", path, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
		if _, err := d.GetOIDCIdentity(s.ctx, "https://sso.example.com", "ann-1"); err == nil {
			t.Error("the identity is still linked")
		}
		if n := s.mailsWith(t, "ann@example.com", "corp identity no longer signs in"); n != 1 {
			t.Errorf("%d removal notices to Ann", n)
		}
		s.do(by(app, ann), "DELETE", path, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusNotFound)
		// A sysadmin unlinks another user's identity without a proof.
		s.do(by(app, admin), "DELETE", "/users/"+bob.ID+"/identities/"+bobs, nil).expect(t, http.StatusOK)
		if list := s.do(by(app, bob), "GET", "/users/current/identities", nil).expect(t, 200).list(); len(list) != 0 {
			t.Errorf("Bob still has %v", list)
		}
	})
}

// TestFederatedStepNotReachableFromOutside: the login step of an external
// provider's identity exists only for in-process calls; from outside it
// is an unknown step, whatever the body says.
func TestFederatedStepNotReachableFromOutside(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	admin := s.user("Admin", db.RoleSysadmin)
	app := s.client(s.org("Home", admin))
	for _, body := range []map[string]any{
		{"state": "0123456789abcdef0123456789abcdef"},
		{"state": "0123456789abcdef0123456789abcdef", "issuer": "https://sso.example.com", "subject": "x", "email": "admin@example.com"},
	} {
		s.do(anonymous(app), "POST", "/sessions/login/"+accounts.StepFederated, body).expect(t, http.StatusNotFound, accounts.CodeUnknownEndpoint)
	}
}
