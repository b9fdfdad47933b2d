package accounts_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// userSessionRow stores a live session of u, as a login would, and
// returns its ID.
func (s *stack) userSessionRow(u db.User) string {
	s.t.Helper()
	now := s.clock.Now()
	id := s.id()
	sum := sha256.Sum256([]byte("refresh-of-" + id))
	if err := s.d.CreateSession(s.ctx, db.Session{ID: id, UserID: u.ID, IP: "192.0.2.9", UserAgent: "users-test",
		CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli()},
		db.RefreshToken{Hash: hex.EncodeToString(sum[:]), CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(time.Hour).UnixMilli()}); err != nil {
		s.t.Fatal(err)
	}
	return id
}

// expectSessionState fails the test unless the session is invalidated for
// reason (when reason is not "") or still live (when it is "").
func (s *stack) expectSessionState(t testing.TB, id, reason string) {
	t.Helper()
	sess, err := s.d.GetSession(s.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case reason == "" && sess.InvalidatedMs != 0:
		t.Fatalf("session %s invalidated (%q), want it live", id, sess.InvalidatedReason)
	case reason != "" && (sess.InvalidatedMs == 0 || sess.InvalidatedReason != reason):
		t.Fatalf("session %s: invalidated at %d for %q, want invalidated for %q", id, sess.InvalidatedMs, sess.InvalidatedReason, reason)
	}
}

// userRolesOf returns the user's roles as stored.
func (s *stack) userRolesOf(t testing.TB, u db.User) []string {
	t.Helper()
	roles, err := s.d.UserRoles(s.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return roles
}

// obstructionCodes returns the codes of an error answer's obstructions.
func (r response) obstructionCodes() []string {
	e, _ := r.Body["error"].(map[string]any)
	obs, _ := e["obstructions"].([]any)
	var codes []string
	for _, o := range obs {
		m, _ := o.(map[string]any)
		c, _ := m["code"].(string)
		codes = append(codes, c)
	}
	return codes
}

func TestRegistration(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		home := s.org("Home", ann)
		app := s.client(home)
		other := s.client(home)
		const strong = "a long enough passphrase"

		t.Run("anonymous caller registers and verifies the address", func(t *testing.T) {
			res := s.do(anonymous(app), "POST", "/users", map[string]any{
				"type": "users", "name": "Zoe", "email": "  Zoe@Example.COM ", "password": strong,
			}).expect(t, http.StatusCreated)
			// With a password, registration logs the user in: the answer
			// is the session.
			got := res.data()
			if res.Body["t"] != "session" || got["refresh"] == nil || got["macaroons"] == nil {
				t.Fatalf("registration answer = %s", res.Raw)
			}
			u, e, err := d.GetUserByUnprovenEmail(s.ctx, "Zoe@example.com")
			if err != nil {
				t.Fatal(err)
			}
			me := s.do(by(app, u), "GET", "/users/current", nil).expect(t, http.StatusOK).data()
			if me["type"] != "users" || me["name"] != "Zoe" || me["2fa"] != false ||
				me["createdMs"] != float64(startTime.UnixMilli()) || !slices.Equal(anyStrings(me["roles"]), []string{"user"}) {
				t.Fatalf("registered user = %v", me)
			}
			if u.ID != got["userId"] || e.VerifiedMs != 0 {
				t.Fatalf("stored user %s with address verified at %d, answered %s", u.ID, e.VerifiedMs, res.Raw)
			}
			if ok, _, err := password.Verify(strong, u.PasswordHash, fastPassword); err != nil || !ok {
				t.Fatalf("the stored hash does not verify the password: %v", err)
			}
			code := s.lastCode(t, "Zoe@example.com")
			if containsText(res.Raw, code) || containsText([]byte(s.logs.String()), code) {
				t.Fatal("the verification code was answered or logged")
			}
			verified := s.do(by(app, u), "POST", "/users/current/emails/"+e.ID+"/verify", map[string]any{"code": code}).expect(t, http.StatusOK)
			if verified.data()["verifiedMs"] != float64(startTime.UnixMilli()) || verified.data()["email"] != "Zoe@example.com" {
				t.Fatalf("verified address = %s", verified.Raw)
			}
		})

		t.Run("without a password", func(t *testing.T) {
			res := s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Yves", "email": "yves@example.com"}).expect(t, http.StatusCreated)
			u, err := d.GetUser(s.ctx, res.data()["id"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if u.PasswordHash != "" {
				t.Fatalf("password hash %q, want none", u.PasswordHash)
			}
			s.lastCode(t, "yves@example.com")
		})

		t.Run("with another client as referrer", func(t *testing.T) {
			s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Xena", "email": "xena@example.com", "referrer": other.ID}).
				expect(t, http.StatusCreated)
		})

		tests := []struct {
			name              string
			givenBody         map[string]any
			expectStatus      int
			expectCode        string
			expectFields      []string
			expectObstruction string
			// expectAbsent is the address that must not belong to a user
			// afterwards ("" to skip).
			expectAbsent string
		}{
			{name: "common password", givenBody: map[string]any{"name": "Carl", "email": "carl@example.com", "password": "password"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"password"}, expectObstruction: "WEAK-PASSWORD", expectAbsent: "carl@example.com"},
			{name: "password too short", givenBody: map[string]any{"name": "Carl", "email": "carl@example.com", "password": "abc"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"password"}, expectObstruction: "WEAK-PASSWORD", expectAbsent: "carl@example.com"},
			{name: "password is the address's local part", givenBody: map[string]any{"name": "Carl", "email": "carl.the.great@example.com", "password": "Carl.The.Great"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"password"}, expectObstruction: "WEAK-PASSWORD", expectAbsent: "carl.the.great@example.com"},
			{name: "password is the name", givenBody: map[string]any{"name": "Carl Gustav Jung", "email": "cgj@example.com", "password": "carl gustav jung"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"password"}, expectObstruction: "WEAK-PASSWORD", expectAbsent: "cgj@example.com"},
			{name: "duplicate email, domain in capitals", givenBody: map[string]any{"name": "Ann again", "email": "ann@EXAMPLE.com", "password": strong},
				expectStatus: 409, expectCode: "DUPLICATE-EMAIL"},
			{name: "unknown referrer", givenBody: map[string]any{"name": "Carl", "email": "carl@example.com", "referrer": "0190a0b0-0000-7000-8000-000000000000"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"referrer"}, expectObstruction: "INVALID", expectAbsent: "carl@example.com"},
			{name: "nobody picks their own roles", givenBody: map[string]any{"name": "Carl", "email": "carl@example.com", "roles": []string{"sysadmin"}},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"roles"}, expectObstruction: "UNKNOWN-FIELD", expectAbsent: "carl@example.com"},
			{name: "not an address", givenBody: map[string]any{"name": "Carl", "email": "carl at example.com"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"email"}, expectObstruction: "INVALID"},
			{name: "an address no mail can reach", givenBody: map[string]any{"name": "Carl", "email": "cärl@example.com"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"email"}, expectObstruction: "INVALID", expectAbsent: "cärl@example.com"},
			{name: "every problem at once", givenBody: map[string]any{"type": "clients", "password": "password"},
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"email", "name", "password", "type"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := s.do(anonymous(app), "POST", "/users", tt.givenBody).expect(t, tt.expectStatus, tt.expectCode)
				if tt.expectFields != nil && !equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if tt.expectObstruction != "" && !slices.Contains(res.obstructionCodes(), tt.expectObstruction) {
					t.Fatalf("obstruction codes %v, want %s: %s", res.obstructionCodes(), tt.expectObstruction, res.Raw)
				}
				if tt.expectAbsent != "" {
					if _, _, err := d.GetUserByEmail(s.ctx, tt.expectAbsent); !errors.Is(err, db.ErrNotFound) {
						t.Fatalf("a refused registration left a user behind: %v", err)
					}
					if n := len(s.mailTo(t, tt.expectAbsent)); n != 0 {
						t.Fatalf("a refused registration sent %d messages", n)
					}
				}
			})
		}
	})
}

// countingReader counts the bytes read from crypto/rand through it.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestRegistrationTakenAddressCostsNoHash: registering a taken address
// with a password answers 409 before hashing the password, so probing
// addresses through registration (whose 409 the README's "Email addresses" documents) does not
// buy an argon2id computation per guess. No salt is drawn: the service's
// randomness is not read at all.
func TestRegistrationTakenAddressCostsNoHash(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		random := &countingReader{}
		s := newStack(t, d, func(c *accounts.Config) { c.Rand = random })
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		before := random.n.Load()
		s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Ann again", "email": "ann@EXAMPLE.com", "password": "a long enough passphrase"}).
			expect(t, http.StatusConflict, "DUPLICATE-EMAIL")
		if read := random.n.Load() - before; read != 0 {
			t.Errorf("a registration of a taken address read %d random bytes: it hashed the password or made IDs", read)
		}
		// A free address still registers, with a hash.
		s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Bea", "email": "bea@example.com", "password": "a long enough passphrase"}).
			expect(t, http.StatusCreated)
		if u, _, err := d.GetUserByUnprovenEmail(s.ctx, "bea@example.com"); err != nil || u.PasswordHash == "" {
			t.Fatalf("the new user: %+v, %v", u, err)
		}
	})
}

func TestUserReadUpdate(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)

		tests := []struct {
			name         string
			givenCaller  as
			givenPath    string
			expectGet    int
			expectPatch  int
			expectRename bool
		}{
			{name: "self", givenCaller: by(app, ann), givenPath: "/users/" + ann.ID, expectGet: 200, expectPatch: 200, expectRename: true},
			{name: "self as current", givenCaller: by(app, ann), givenPath: "/users/current", expectGet: 200, expectPatch: 200, expectRename: true},
			{name: "another user", givenCaller: by(app, bob), givenPath: "/users/" + ann.ID, expectGet: 404, expectPatch: 404},
			{name: "sysadmin through an internal client (STAFF)", givenCaller: by(internal, admin), givenPath: "/users/" + ann.ID, expectGet: 200, expectPatch: 200, expectRename: true},
			{name: "sysadmin through an external client (not STAFF)", givenCaller: by(app, admin), givenPath: "/users/" + ann.ID, expectGet: 403, expectPatch: 200, expectRename: true},
			{name: "employee through an internal client (STAFF)", givenCaller: by(internal, emp), givenPath: "/users/" + ann.ID, expectGet: 200, expectPatch: 403},
			{name: "employee through an external client", givenCaller: by(app, emp), givenPath: "/users/" + ann.ID, expectGet: 403, expectPatch: 403},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := s.do(tt.givenCaller, "GET", tt.givenPath, nil).expect(t, tt.expectGet)
				if tt.expectGet == 200 && (got.data()["id"] != ann.ID || got.data()["type"] != "users" ||
					!slices.Equal(anyStrings(got.data()["roles"]), []string{"user"})) {
					t.Fatalf("GET = %s", got.Raw)
				}
				before, err := d.GetUser(s.ctx, ann.ID)
				if err != nil {
					t.Fatal(err)
				}
				newName := "Ann (" + tt.name + ")"
				res := s.do(tt.givenCaller, "PATCH", tt.givenPath, map[string]any{"type": "users", "id": ann.ID, "name": newName}).expect(t, tt.expectPatch)
				after, err := d.GetUser(s.ctx, ann.ID)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tt.expectRename && (after.Name != newName || res.data()["name"] != newName):
					t.Fatalf("after PATCH the name is %q, answered %s", after.Name, res.Raw)
				case !tt.expectRename && after.Name != before.Name:
					t.Fatalf("a refused PATCH renamed the user to %q", after.Name)
				}
			})
		}

		t.Run("PATCH refuses another id and any roles", func(t *testing.T) {
			res := s.do(by(app, ann), "PATCH", "/users/current", map[string]any{"id": bob.ID, "roles": []string{"sysadmin"}}).
				expect(t, http.StatusBadRequest, "USER_DATA_INVALID")
			if !equal(res.obstructionFields(), []string{"id", "roles"}) {
				t.Fatalf("obstructions on %v: %s", res.obstructionFields(), res.Raw)
			}
			if roles := s.userRolesOf(t, ann); !slices.Equal(roles, []string{"user"}) {
				t.Fatalf("roles = %v", roles)
			}
		})

		t.Run("list", func(t *testing.T) {
			s.do(by(app, ann), "GET", "/users", nil).expect(t, http.StatusForbidden, "FORBIDDEN")
			s.do(by(app, admin), "GET", "/users", nil).expect(t, http.StatusForbidden, "FORBIDDEN")
			all := s.do(by(internal, emp), "GET", "/users", nil).expect(t, http.StatusOK)
			if ids := anyIDs(all.list()); !slices.Equal(ids, []string{admin.ID, emp.ID, ann.ID, bob.ID}) {
				t.Fatalf("listed %v: %s", ids, all.Raw)
			}
			first := s.do(by(internal, admin), "GET", "/users?pg[size]=3", nil).expect(t, http.StatusOK)
			meta, _ := first.Body["meta"].(map[string]any)
			pg, _ := meta["pg"].(map[string]any)
			next, _ := pg["nextCursor"].(string)
			if len(first.list()) != 3 || next == "" {
				t.Fatalf("first page = %s", first.Raw)
			}
			rest := s.do(by(internal, admin), "GET", "/users?pg[size]=3&pg[cursor]="+next, nil).expect(t, http.StatusOK)
			if ids := anyIDs(rest.list()); !slices.Equal(ids, []string{bob.ID}) {
				t.Fatalf("second page %v: %s", ids, rest.Raw)
			}
			s.do(by(internal, emp), "GET", "/users?pg[size]=0", nil).expect(t, http.StatusBadRequest, "BAD-QUERY")
		})
	})
}

func TestUserDelete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)

		tests := []struct {
			name          string
			givenCaller   func(target, other db.User) as
			givenCurrent  bool
			expectStatus  int
			expectDeleted bool
		}{
			{name: "self", givenCaller: func(target, _ db.User) as { return by(app, target) }, expectStatus: 200, expectDeleted: true},
			{name: "self as current", givenCaller: func(target, _ db.User) as { return by(app, target) }, givenCurrent: true, expectStatus: 200, expectDeleted: true},
			{name: "sysadmin", givenCaller: func(db.User, db.User) as { return by(app, admin) }, expectStatus: 200, expectDeleted: true},
			{name: "another user", givenCaller: func(_, other db.User) as { return by(app, other) }, expectStatus: 404},
			{name: "employee (STAFF, not sysadmin)", givenCaller: func(db.User, db.User) as { return by(internal, emp) }, expectStatus: 403},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				target := s.user("Target" + string(rune('a'+i)))
				other := s.user("Other" + string(rune('a'+i)))
				sess := s.userSessionRow(target)
				path := "/users/" + target.ID
				if tt.givenCurrent {
					path = "/users/current"
				}
				// The user deleting themselves proves who they are again.
				s.do(tt.givenCaller(target, other), "DELETE", path, map[string]any{"currentPassword": testPassword}).expect(t, tt.expectStatus)
				_, err := d.GetUser(s.ctx, target.ID)
				if tt.expectDeleted {
					if !errors.Is(err, db.ErrNotFound) {
						t.Fatalf("GetUser after DELETE: %v, want not found", err)
					}
					s.expectSessionState(t, sess, "user-deleted")
					s.do(by(app, admin), "GET", "/users/"+target.ID, nil).expect(t, http.StatusNotFound)
					// The address is free again.
					addr := "target" + string(rune('a'+i)) + "@example.com"
					s.do(anonymous(app), "POST", "/users", map[string]any{"name": "New", "email": addr}).expect(t, http.StatusCreated)
					return
				}
				if err != nil {
					t.Fatalf("a refused DELETE: GetUser: %v", err)
				}
				s.expectSessionState(t, sess, "")
			})
		}
	})
}

func TestUserRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)
		bobSession := s.userSessionRow(bob)
		role := func(id string) map[string]any { return map[string]any{"type": "user-roles", "id": id} }

		// Steps run in order: each starts from the state the previous left.
		steps := []struct {
			name         string
			givenCaller  as
			whenMethod   string
			whenPath     string
			whenBody     any
			expectStatus int
			expectCode   string
			expectBob    []string // bob's roles afterwards
			expectAdmin  []string // admin's roles afterwards
		}{
			{name: "sysadmin adds a role to another user", givenCaller: by(app, admin), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("employee"),
				expectStatus: 201, expectBob: []string{"employee", "user"}},
			{name: "the same role again is a conflict, not a 500", givenCaller: by(app, admin), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("employee"),
				expectStatus: 409, expectCode: "DUPLICATE", expectBob: []string{"employee", "user"}},
			{name: "no such role", givenCaller: by(app, admin), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("king"),
				expectStatus: 400, expectCode: "USER_DATA_INVALID", expectBob: []string{"employee", "user"}},
			{name: "sysadmin may not add a role to themselves", givenCaller: by(app, admin), whenMethod: "POST", whenPath: "/users/current/roles", whenBody: role("employee"),
				expectStatus: 403, expectCode: "FORBIDDEN", expectAdmin: []string{"sysadmin"}},
			{name: "a user may not give themselves a role", givenCaller: by(app, bob), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("sysadmin"),
				expectStatus: 403, expectCode: "FORBIDDEN", expectBob: []string{"employee", "user"}},
			{name: "a user may not give another a role", givenCaller: by(app, ann), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("sysadmin"),
				expectStatus: 404, expectBob: []string{"employee", "user"}},
			{name: "an employee (STAFF) may not give a role", givenCaller: by(internal, emp), whenMethod: "POST", whenPath: "/users/" + bob.ID + "/roles", whenBody: role("sysadmin"),
				expectStatus: 403, expectBob: []string{"employee", "user"}},
			{name: "a user may not drop their own role", givenCaller: by(app, bob), whenMethod: "DELETE", whenPath: "/users/current/roles/employee",
				expectStatus: 403, expectBob: []string{"employee", "user"}},
			{name: "a user may not drop another's role", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: "/users/" + bob.ID + "/roles/employee",
				expectStatus: 404, expectBob: []string{"employee", "user"}},
			{name: "sysadmin may not drop their own role", givenCaller: by(app, admin), whenMethod: "DELETE", whenPath: "/users/" + admin.ID + "/roles/sysadmin",
				expectStatus: 403, expectAdmin: []string{"sysadmin"}},
			{name: "sysadmin removes another user's role, not a 500", givenCaller: by(app, admin), whenMethod: "DELETE", whenPath: "/users/" + bob.ID + "/roles/employee",
				expectStatus: 200, expectBob: []string{"user"}},
			{name: "a role the user lacks", givenCaller: by(app, admin), whenMethod: "DELETE", whenPath: "/users/" + bob.ID + "/roles/employee",
				expectStatus: 404, expectCode: "NOT-FOUND", expectBob: []string{"user"}},
			{name: "no such role name", givenCaller: by(app, admin), whenMethod: "DELETE", whenPath: "/users/" + bob.ID + "/roles/king",
				expectStatus: 404, expectCode: "NOT-FOUND", expectBob: []string{"user"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				res := s.do(st.givenCaller, st.whenMethod, st.whenPath, st.whenBody).expect(t, st.expectStatus)
				if st.expectCode != "" && res.code() != st.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), st.expectCode, res.Raw)
				}
				if st.expectBob != nil && !slices.Equal(s.userRolesOf(t, bob), st.expectBob) {
					t.Fatalf("bob's roles %v, want %v", s.userRolesOf(t, bob), st.expectBob)
				}
				if st.expectAdmin != nil && !slices.Equal(s.userRolesOf(t, admin), st.expectAdmin) {
					t.Fatalf("admin's roles %v, want %v", s.userRolesOf(t, admin), st.expectAdmin)
				}
				if st.expectStatus == 201 && (res.data()["type"] != "user-roles" || res.data()["id"] != "employee") {
					t.Fatalf("answer %s", res.Raw)
				}
			})
		}

		t.Run("removing a role revoked the user's sessions", func(t *testing.T) {
			s.expectSessionState(t, bobSession, "roles-changed")
		})

		t.Run("list", func(t *testing.T) {
			for _, tt := range []struct {
				name         string
				givenCaller  as
				expectStatus int
			}{
				{"self", by(app, bob), 200},
				{"STAFF", by(internal, emp), 200},
				{"another user", by(app, ann), 404},
			} {
				t.Run(tt.name, func(t *testing.T) {
					res := s.do(tt.givenCaller, "GET", "/users/"+bob.ID+"/roles", nil).expect(t, tt.expectStatus)
					if tt.expectStatus == 200 && (len(res.list()) != 1 || res.list()[0]["type"] != "user-roles" || res.list()[0]["id"] != "user") {
						t.Fatalf("roles = %s", res.Raw)
					}
				})
			}
		})
	})
}

func TestChangePassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)
		const newPassword = "a brand new passphrase"

		tests := []struct {
			name              string
			givenNoPassword   bool
			givenCaller       func(target, other db.User) as
			whenBody          map[string]any
			expectStatus      int
			expectCode        string
			expectObstruction string
			expectChanged     bool
		}{
			{name: "self with the current password", givenCaller: func(u, _ db.User) as { return by(app, u) },
				whenBody: map[string]any{"currentPassword": testPassword, "newPassword": newPassword}, expectStatus: 200, expectChanged: true},
			{name: "self with a wrong current password", givenCaller: func(u, _ db.User) as { return by(app, u) },
				whenBody: map[string]any{"currentPassword": "not my password", "newPassword": newPassword}, expectStatus: 403, expectCode: "INCORRECT-PASSWORD"},
			{name: "self without the current password", givenCaller: func(u, _ db.User) as { return by(app, u) },
				whenBody: map[string]any{"newPassword": newPassword}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectObstruction: "REQUIRED"},
			{name: "self with a weak new password", givenCaller: func(u, _ db.User) as { return by(app, u) },
				whenBody: map[string]any{"currentPassword": testPassword, "newPassword": "12345678"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectObstruction: "WEAK-PASSWORD"},
			{name: "self without a password cannot use one", givenNoPassword: true, givenCaller: func(u, _ db.User) as { return by(app, u) },
				whenBody: map[string]any{"currentPassword": "a guess", "newPassword": newPassword}, expectStatus: 403, expectCode: "INCORRECT-PASSWORD"},
			{name: "sysadmin for another user needs no current password", givenCaller: func(db.User, db.User) as { return by(app, admin) },
				whenBody: map[string]any{"newPassword": newPassword}, expectStatus: 200, expectChanged: true},
			{name: "sysadmin for a user without a password", givenNoPassword: true, givenCaller: func(db.User, db.User) as { return by(app, admin) },
				whenBody: map[string]any{"newPassword": newPassword}, expectStatus: 200, expectChanged: true},
			{name: "another user", givenCaller: func(_, other db.User) as { return by(app, other) },
				whenBody: map[string]any{"newPassword": newPassword}, expectStatus: 404},
			{name: "employee (STAFF, not sysadmin)", givenCaller: func(db.User, db.User) as { return by(internal, emp) },
				whenBody: map[string]any{"newPassword": newPassword}, expectStatus: 403, expectCode: "FORBIDDEN"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				target := s.user("Pat" + string(rune('a'+i)))
				if tt.givenNoPassword {
					if err := d.SetPasswordHash(s.ctx, target.ID, "", s.clock.Now().UnixMilli()); err != nil {
						t.Fatal(err)
					}
				}
				other := s.user("Other" + string(rune('a'+i)))
				sess := s.userSessionRow(target)
				res := s.do(tt.givenCaller(target, other), "POST", "/users/"+target.ID+"/change-password", tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectObstruction != "" && !slices.Contains(res.obstructionCodes(), tt.expectObstruction) {
					t.Fatalf("obstructions %v, want %s: %s", res.obstructionCodes(), tt.expectObstruction, res.Raw)
				}
				after, err := d.GetUser(s.ctx, target.ID)
				if err != nil {
					t.Fatal(err)
				}
				changed := false
				if after.PasswordHash != "" {
					changed, _, err = password.Verify(newPassword, after.PasswordHash, fastPassword)
					if err != nil {
						t.Fatal(err)
					}
				}
				if changed != tt.expectChanged {
					t.Fatalf("password changed: %v, want %v", changed, tt.expectChanged)
				}
				if tt.expectChanged {
					s.expectSessionState(t, sess, "password-changed")
				} else {
					s.expectSessionState(t, sess, "")
				}
			})
		}
	})
}

// anyStrings converts a decoded JSON array of strings.
func anyStrings(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, _ := it.(string)
		out = append(out, s)
	}
	return out
}

// anyIDs returns the "id" members of a collection's items.
func anyIDs(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}
