package db_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestNormalizeEmail checks the stored form of addresses and the ones
// refused.
func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name        string
		givenEmail  string
		expectEmail string
		expectErr   error
	}{
		{name: "already normalized", givenEmail: "ann@example.com", expectEmail: "ann@example.com"},
		{name: "domain lower-cased, local part kept", givenEmail: "Ann.Lee@Example.COM", expectEmail: "Ann.Lee@example.com"},
		{name: "trimmed", givenEmail: " \t ann@example.com\r\n", expectEmail: "ann@example.com"},
		{name: "non-breaking spaces trimmed", givenEmail: "\u00a0ann@example.com\u3000", expectEmail: "ann@example.com"},
		{name: "unicode domain lower-cased", givenEmail: "jörg@BÜCHER.DE", expectEmail: "jörg@bücher.de"},
		{name: "plus address", givenEmail: "ann+tag@example.com", expectEmail: "ann+tag@example.com"},
		{name: "320 characters", givenEmail: strings.Repeat("a", 308) + "@EXAMPLE.COM", expectEmail: strings.Repeat("a", 308) + "@example.com"},
		{name: "320 characters after trimming", givenEmail: "  " + strings.Repeat("é", 308) + "@example.com  ", expectEmail: strings.Repeat("é", 308) + "@example.com"},
		{name: "321 characters", givenEmail: strings.Repeat("a", 309) + "@example.com", expectErr: db.ErrInvalid},
		{name: "empty", givenEmail: "", expectErr: db.ErrInvalid},
		{name: "blank", givenEmail: "   ", expectErr: db.ErrInvalid},
		{name: "no @", givenEmail: "ann.example.com", expectErr: db.ErrInvalid},
		{name: "two @", givenEmail: "ann@lee@example.com", expectErr: db.ErrInvalid},
		{name: "nothing before @", givenEmail: "@example.com", expectErr: db.ErrInvalid},
		{name: "nothing after @", givenEmail: "ann@", expectErr: db.ErrInvalid},
		{name: "inner space", givenEmail: "ann lee@example.com", expectErr: db.ErrInvalid},
		{name: "inner tab", givenEmail: "ann@exa\tmple.com", expectErr: db.ErrInvalid},
		{name: "NUL", givenEmail: "ann\x00@example.com", expectErr: db.ErrInvalid},
		{name: "newline (header injection)", givenEmail: "ann@example.com\nBcc: eve@example.com", expectErr: db.ErrInvalid},
		{name: "DEL control character", givenEmail: "ann\x7f@example.com", expectErr: db.ErrInvalid},
		{name: "C1 control character", givenEmail: "ann\u0085x@example.com", expectErr: db.ErrInvalid},
		{name: "line separator", givenEmail: "ann\u2028@example.com", expectErr: db.ErrInvalid},
		{name: "invalid UTF-8", givenEmail: "ann\xff@example.com", expectErr: db.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.NormalizeEmail(tt.givenEmail)
			expectErr(t, "NormalizeEmail", err, tt.expectErr)
			if got != tt.expectEmail {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.givenEmail, got, tt.expectEmail)
			}
			if tt.expectErr == nil {
				if again, err := db.NormalizeEmail(got); err != nil || again != got {
					t.Errorf("normalizing twice = %q, %v; want %q", again, err, got)
				}
			}
		})
	}
}

// TestUsers_create checks what CreateUser writes and what the lookups
// read back.
func TestUsers_create(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		owner := e.user("Owner", "owner@example.com")
		org := e.org("Org", owner)
		tests := []struct {
			name             string
			givenRoles       []string
			givenPassword    string
			givenMembership  bool
			expectRoles      []string
			expectMembership bool
		}{
			{name: "defaults", expectRoles: []string{db.RoleUser}},
			{name: "roles sorted without repeats", givenRoles: []string{db.RoleUser, db.RoleSysadmin, db.RoleUser, db.RoleEmployee}, expectRoles: []string{db.RoleEmployee, db.RoleSysadmin, db.RoleUser}},
			{name: "password and membership", givenPassword: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", givenMembership: true, expectRoles: []string{db.RoleUser}, expectMembership: true},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				created := e.now()
				nu := db.NewUser{
					User:  db.User{ID: e.id(), Name: "User " + tt.name, PasswordHash: tt.givenPassword, CreatedMs: created},
					Email: db.Email{ID: e.id(), Email: "user" + string(rune('a'+i)) + "@example.com", VerifiedMs: created},
					Roles: tt.givenRoles,
				}
				if tt.givenMembership {
					nu.Membership = &db.Membership{ID: e.id(), OrganizationID: org.ID, Read: true}
				}
				u, err := d.CreateUser(e.ctx, nu)
				if err != nil {
					t.Fatal(err)
				}
				want := db.User{ID: nu.ID, Name: nu.Name, PasswordHash: tt.givenPassword, CreatedMs: created, UpdatedMs: created, Roles: tt.expectRoles}
				if !usersEqual(u, want) {
					t.Errorf("CreateUser = %+v, want %+v", u, want)
				}
				got, err := d.GetUser(e.ctx, u.ID)
				if err != nil || !usersEqual(got, want) {
					t.Errorf("GetUser = %+v, %v; want %+v", got, err, want)
				}
				byEmail, email, err := d.GetUserByEmail(e.ctx, nu.Email.Email)
				wantEmail := db.Email{ID: nu.Email.ID, UserID: u.ID, Email: nu.Email.Email, VerifiedMs: created, CreatedMs: created}
				if err != nil || !usersEqual(byEmail, want) || email != wantEmail {
					t.Errorf("GetUserByEmail = %+v, %+v, %v; want %+v, %+v", byEmail, email, err, want, wantEmail)
				}
				m, err := d.GetUserMembership(e.ctx, org.ID, u.ID)
				if tt.expectMembership {
					if err != nil || m.ID != nu.Membership.ID || !m.Read || m.Edit || m.CreatedMs != created {
						t.Errorf("membership = %+v, %v", m, err)
					}
				} else {
					expectErr(t, "GetUserMembership", err, db.ErrNotFound)
				}
			})
		}
		t.Run("TOTP enabled once a confirmed secret exists", func(t *testing.T) {
			u := e.user("Totp", "totp@example.com")
			if _, err := d.SQL().ExecContext(e.ctx, "INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES (?, ?, 1)", u.ID, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if got, err := d.GetUser(e.ctx, u.ID); err != nil || got.TOTPEnabled {
				t.Errorf("unconfirmed secret: TOTPEnabled = %v, %v; want false", got.TOTPEnabled, err)
			}
			if _, err := d.SQL().ExecContext(e.ctx, "UPDATE totp_secrets SET confirmed_ms = 2 WHERE user_id = ?", u.ID); err != nil {
				t.Fatal(err)
			}
			if got, err := d.GetUser(e.ctx, u.ID); err != nil || !got.TOTPEnabled {
				t.Errorf("confirmed secret: TOTPEnabled = %v, %v; want true", got.TOTPEnabled, err)
			}
			if got, _, err := d.GetUserByEmail(e.ctx, "totp@example.com"); err != nil || !got.TOTPEnabled {
				t.Errorf("GetUserByEmail: TOTPEnabled = %v, %v; want true", got.TOTPEnabled, err)
			}
			users, _, err := d.ListUsers(e.ctx, db.Page{Size: 100})
			if i := slices.IndexFunc(users, func(x db.User) bool { return x.ID == u.ID }); err != nil || i < 0 || !users[i].TOTPEnabled || !slices.Equal(users[i].Roles, []string{db.RoleUser}) {
				t.Errorf("ListUsers: %+v, %v; want the user with TOTP and role user", users, err)
			}
		})
		t.Run("missing", func(t *testing.T) {
			_, err := d.GetUser(e.ctx, "nobody")
			expectErr(t, "GetUser", err, db.ErrNotFound)
			_, _, err = d.GetUserByEmail(e.ctx, "nobody@example.com")
			expectErr(t, "GetUserByEmail", err, db.ErrNotFound)
			// An address is one identity whatever its case.
			if got, _, err := d.GetUserByEmail(e.ctx, "OWNER@example.com"); err != nil || got.ID != owner.ID {
				t.Errorf("GetUserByEmail with another case = %+v, %v; want the owner", got, err)
			}
		})
	})
}

// usersEqual compares users field by field, roles included.
func usersEqual(a, b db.User) bool {
	return a.ID == b.ID && a.Name == b.Name && a.PasswordHash == b.PasswordHash && a.BannedMs == b.BannedMs &&
		a.DeletedMs == b.DeletedMs && a.CreatedMs == b.CreatedMs && a.UpdatedMs == b.UpdatedMs &&
		a.TOTPEnabled == b.TOTPEnabled && slices.Equal(a.Roles, b.Roles)
}

// TestUsers_createIsAtomic checks that a CreateUser that fails in any
// part leaves no user, email, role or membership row behind.
func TestUsers_createIsAtomic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		org := e.org("Org", ann)
		deletedOrg := e.org("Deleted", ann)
		if err := d.DeleteOrganization(e.ctx, deletedOrg.ID, e.now()); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name      string
			givenUser func(nu *db.NewUser)
			expectErr error
		}{
			{"duplicate email", func(nu *db.NewUser) { nu.Email.Email = "ann@example.com" }, db.ErrDuplicate},
			{"duplicate email ID", func(nu *db.NewUser) { nu.Email.ID = mustEmails(e, ann.ID)[0].ID }, db.ErrDuplicate},
			{"duplicate user ID", func(nu *db.NewUser) { nu.ID = ann.ID }, db.ErrDuplicate},
			{"unknown role", func(nu *db.NewUser) { nu.Roles = []string{db.RoleUser, "root"} }, db.ErrInvalid},
			{"role in another case", func(nu *db.NewUser) { nu.Roles = []string{"Sysadmin"} }, db.ErrInvalid},
			{"membership of a missing organization", func(nu *db.NewUser) {
				nu.Membership = &db.Membership{ID: e.id(), OrganizationID: "no-such-org"}
			}, db.ErrForeignKey},
			{"membership of a deleted organization", func(nu *db.NewUser) {
				nu.Membership = &db.Membership{ID: e.id(), OrganizationID: deletedOrg.ID}
			}, db.ErrForeignKey},
			{"membership ID taken", func(nu *db.NewUser) {
				m, err := d.GetUserMembership(e.ctx, org.ID, ann.ID)
				if err != nil {
					t.Fatal(err)
				}
				nu.Membership = &db.Membership{ID: m.ID, OrganizationID: org.ID}
			}, db.ErrDuplicate},
			{"email not normalized", func(nu *db.NewUser) { nu.Email.Email = "new@EXAMPLE.com" }, db.ErrInvalid},
			{"no email", func(nu *db.NewUser) { nu.Email = db.Email{} }, db.ErrInvalid},
			{"no user ID", func(nu *db.NewUser) { nu.ID = "" }, db.ErrInvalid},
			{"no time", func(nu *db.NewUser) { nu.CreatedMs = 0 }, db.ErrInvalid},
			{"name too long", func(nu *db.NewUser) { nu.Name = strings.Repeat("n", 256) }, db.ErrInvalid},
		}
		counted := []string{"users", "emails", "user_roles", "org_memberships"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := map[string]int{}
				for _, table := range counted {
					before[table] = e.count(table)
				}
				nu := db.NewUser{
					User:       db.User{ID: e.id(), Name: "New", CreatedMs: e.now()},
					Email:      db.Email{ID: e.id(), Email: "new@example.com"},
					Roles:      []string{db.RoleUser, db.RoleEmployee},
					Membership: &db.Membership{ID: e.id(), OrganizationID: org.ID, Read: true},
				}
				tt.givenUser(&nu)
				_, err := d.CreateUser(e.ctx, nu)
				expectErr(t, "CreateUser", err, tt.expectErr)
				for _, table := range counted {
					if n := e.count(table); n != before[table] {
						t.Errorf("%s: %d rows after the failed CreateUser, want %d", table, n, before[table])
					}
				}
				if nu.ID != ann.ID {
					_, err := d.GetUser(e.ctx, nu.ID)
					expectErr(t, "GetUser of the failed user", err, db.ErrNotFound)
				}
			})
		}
		if got, err := d.GetUser(e.ctx, ann.ID); err != nil || got.Name != "Ann" || !slices.Equal(got.Roles, []string{db.RoleUser}) {
			t.Errorf("Ann after the failures = %+v, %v", got, err)
		}
	})
}

// mustEmails lists a user's addresses.
func mustEmails(e *accountsEnv, userID string) []db.Email {
	e.t.Helper()
	emails, err := e.d.ListEmails(e.ctx, userID)
	if err != nil || len(emails) == 0 {
		e.t.Fatalf("ListEmails = %v, %v", emails, err)
	}
	return emails
}

// TestUsers_update checks renaming, password hashes and bans, and their
// errors.
func TestUsers_update(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		steps := []struct {
			name      string
			when      func(ms int64) error
			expectErr error
			expect    func(u db.User, ms int64) bool
		}{
			{"rename", func(ms int64) error { return d.UpdateUserName(e.ctx, ann.ID, "Anne", ms) }, nil,
				func(u db.User, ms int64) bool { return u.Name == "Anne" && u.UpdatedMs == ms }},
			{"set a password hash", func(ms int64) error { return d.SetPasswordHash(e.ctx, ann.ID, "$argon2id$hash", ms) }, nil,
				func(u db.User, ms int64) bool { return u.PasswordHash == "$argon2id$hash" && u.UpdatedMs == ms }},
			{"remove the password", func(ms int64) error { return d.SetPasswordHash(e.ctx, ann.ID, "", ms) }, nil,
				func(u db.User, ms int64) bool { return u.PasswordHash == "" && u.UpdatedMs == ms }},
			{"ban", func(ms int64) error { return d.BanUser(e.ctx, ann.ID, ms) }, nil,
				func(u db.User, ms int64) bool { return u.BannedMs == ms && u.UpdatedMs == ms }},
			{"unban", func(ms int64) error { return d.UnbanUser(e.ctx, ann.ID, ms) }, nil,
				func(u db.User, ms int64) bool { return u.BannedMs == 0 && u.UpdatedMs == ms }},
			{"rename a missing user", func(ms int64) error { return d.UpdateUserName(e.ctx, "nobody", "x", ms) }, db.ErrNotFound, nil},
			{"password of a missing user", func(ms int64) error { return d.SetPasswordHash(e.ctx, "nobody", "x", ms) }, db.ErrNotFound, nil},
			{"ban a missing user", func(ms int64) error { return d.BanUser(e.ctx, "nobody", ms) }, db.ErrNotFound, nil},
			{"unban a missing user", func(ms int64) error { return d.UnbanUser(e.ctx, "nobody", ms) }, db.ErrNotFound, nil},
			{"ban without a time", func(int64) error { return d.BanUser(e.ctx, ann.ID, 0) }, db.ErrInvalid, nil},
			{"password hash too long", func(ms int64) error { return d.SetPasswordHash(e.ctx, ann.ID, strings.Repeat("h", 256), ms) }, db.ErrInvalid, nil},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				ms := e.now()
				expectErr(t, tt.name, tt.when(ms), tt.expectErr)
				if tt.expect != nil {
					if u, err := d.GetUser(e.ctx, ann.ID); err != nil || !tt.expect(u, ms) {
						t.Errorf("GetUser = %+v, %v", u, err)
					}
				}
			})
		}
	})
}

// TestUsers_delete checks that a soft-deleted user is hidden everywhere,
// frees its addresses, and that its row stays.
func TestUsers_delete(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com", db.RoleEmployee)
		bob := e.user("Bob", "bob@example.com")
		emailID := mustEmails(e, ann.ID)[0].ID
		deletedMs := e.now()
		if err := d.DeleteUser(e.ctx, ann.ID, db.Revoking{AtMs: deletedMs, ExpiresMs: deletedMs}); err != nil {
			t.Fatal(err)
		}
		after := []struct {
			name      string
			when      func() error
			expectErr error
		}{
			{"GetUser says deleted", func() error { _, err := d.GetUser(e.ctx, ann.ID); return err }, db.ErrDeleted},
			{"GetUser says not found", func() error { _, err := d.GetUser(e.ctx, ann.ID); return err }, db.ErrNotFound},
			{"GetUserByEmail", func() error { _, _, err := d.GetUserByEmail(e.ctx, "ann@example.com"); return err }, db.ErrNotFound},
			{"DeleteUser again", func() error { return d.DeleteUser(e.ctx, ann.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}) }, db.ErrNotFound},
			{"UpdateUserName", func() error { return d.UpdateUserName(e.ctx, ann.ID, "x", e.now()) }, db.ErrNotFound},
			{"SetPasswordHash", func() error { return d.SetPasswordHash(e.ctx, ann.ID, "x", e.now()) }, db.ErrNotFound},
			{"BanUser", func() error { return d.BanUser(e.ctx, ann.ID, e.now()) }, db.ErrNotFound},
			{"UserRoles", func() error { _, err := d.UserRoles(e.ctx, ann.ID); return err }, db.ErrNotFound},
			{"AddUserRole", func() error { return d.AddUserRole(e.ctx, ann.ID, db.RoleSysadmin) }, db.ErrForeignKey},
			{"RemoveUserRole", func() error { return d.RemoveUserRole(e.ctx, ann.ID, db.RoleEmployee) }, db.ErrNotFound},
			{"ListEmails", func() error { _, err := d.ListEmails(e.ctx, ann.ID); return err }, db.ErrNotFound},
			{"GetEmail", func() error { _, err := d.GetEmail(e.ctx, ann.ID, emailID); return err }, db.ErrNotFound},
			{"MarkEmailVerified", func() error { return d.MarkEmailVerified(e.ctx, emailID, e.now()) }, db.ErrNotFound},
			{"AddEmail", func() error {
				return d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: ann.ID, Email: "ann2@example.com", CreatedMs: e.now()})
			}, db.ErrForeignKey},
			{"ListUserOrganizations", func() error { _, _, err := d.ListUserOrganizations(e.ctx, ann.ID, db.Page{}); return err }, db.ErrDeleted},
		}
		for _, tt := range after {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, tt.name, tt.when(), tt.expectErr)
			})
		}
		t.Run("ListUsers", func(t *testing.T) {
			users, _, err := d.ListUsers(e.ctx, db.Page{})
			if err != nil || len(users) != 1 || users[0].ID != bob.ID {
				t.Errorf("ListUsers = %+v, %v; want Bob only", users, err)
			}
		})
		t.Run("the address can be registered again", func(t *testing.T) {
			again := e.user("Ann again", "ann@example.com")
			got, _, err := d.GetUserByEmail(e.ctx, "ann@example.com")
			if err != nil || got.ID != again.ID {
				t.Errorf("GetUserByEmail = %+v, %v; want the new user", got, err)
			}
		})
		t.Run("the row stays, marked", func(t *testing.T) {
			if n := e.count("users WHERE id = ? AND deleted_ms = ?", ann.ID, deletedMs); n != 1 {
				t.Errorf("%d deleted rows, want 1", n)
			}
			if n := e.count("user_roles WHERE user_id = ?", ann.ID); n != 1 {
				t.Errorf("%d role rows, want 1 (kept, hidden)", n)
			}
		})
	})
}

// TestUserRoles checks adding, removing and listing a user's roles.
func TestUserRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		steps := []struct {
			name        string
			when        func() error
			expectErr   error
			expectRoles []string
		}{
			{"add employee", func() error { return d.AddUserRole(e.ctx, ann.ID, db.RoleEmployee) }, nil, []string{"employee", "user"}},
			{"add sysadmin", func() error { return d.AddUserRole(e.ctx, ann.ID, db.RoleSysadmin) }, nil, []string{"employee", "sysadmin", "user"}},
			{"add a role twice", func() error { return d.AddUserRole(e.ctx, ann.ID, db.RoleEmployee) }, db.ErrDuplicate, []string{"employee", "sysadmin", "user"}},
			{"add an unknown role", func() error { return d.AddUserRole(e.ctx, ann.ID, "root") }, db.ErrInvalid, []string{"employee", "sysadmin", "user"}},
			{"add a role to a missing user", func() error { return d.AddUserRole(e.ctx, "nobody", db.RoleUser) }, db.ErrForeignKey, []string{"employee", "sysadmin", "user"}},
			{"remove sysadmin", func() error { return d.RemoveUserRole(e.ctx, ann.ID, db.RoleSysadmin) }, nil, []string{"employee", "user"}},
			{"remove a role the user lacks", func() error { return d.RemoveUserRole(e.ctx, ann.ID, db.RoleSysadmin) }, db.ErrNotFound, []string{"employee", "user"}},
			{"remove an unknown role", func() error { return d.RemoveUserRole(e.ctx, ann.ID, "root") }, db.ErrNotFound, []string{"employee", "user"}},
			{"remove a role of a missing user", func() error { return d.RemoveUserRole(e.ctx, "nobody", db.RoleUser) }, db.ErrNotFound, []string{"employee", "user"}},
			{"remove every role", func() error {
				return errorsJoin(d.RemoveUserRole(e.ctx, ann.ID, db.RoleUser), d.RemoveUserRole(e.ctx, ann.ID, db.RoleEmployee))
			}, nil, []string{}},
		}
		for _, tt := range steps {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, tt.name, tt.when(), tt.expectErr)
				roles, err := d.UserRoles(e.ctx, ann.ID)
				if err != nil || roles == nil || !slices.Equal(roles, tt.expectRoles) {
					t.Errorf("UserRoles = %#v, %v; want %v", roles, err, tt.expectRoles)
				}
			})
		}
		_, err := d.UserRoles(e.ctx, "nobody")
		expectErr(t, "UserRoles of a missing user", err, db.ErrNotFound)
		if u, err := d.GetUser(e.ctx, ann.ID); err != nil || u.Roles == nil || len(u.Roles) != 0 {
			t.Errorf("GetUser of a user without roles = %#v, %v; want empty roles", u.Roles, err)
		}
	})
}

// errorsJoin returns the first non-nil error.
func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestEmails checks adding, reading, listing, verifying and deleting a
// user's addresses, ownership included.
func TestEmails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		bob := e.user("Bob", "bob@example.com")
		annFirst, bobFirst := mustEmails(e, ann.ID)[0], mustEmails(e, bob.ID)[0]
		second := db.Email{ID: e.id(), UserID: ann.ID, Email: "Ann.Work@example.org", CreatedMs: e.now()}
		if err := d.AddEmail(e.ctx, second); err != nil {
			t.Fatal(err)
		}
		adds := []struct {
			name       string
			givenEmail db.Email
			expectErr  error
		}{
			{"the user's own address again", db.Email{ID: e.id(), UserID: ann.ID, Email: "ann@example.com", CreatedMs: e.now()}, db.ErrDuplicate},
			{"another user's address", db.Email{ID: e.id(), UserID: ann.ID, Email: "bob@example.com", CreatedMs: e.now()}, db.ErrDuplicate},
			{"an address not normalized", db.Email{ID: e.id(), UserID: ann.ID, Email: "bob@EXAMPLE.com", CreatedMs: e.now()}, db.ErrInvalid},
			{"an address with spaces around", db.Email{ID: e.id(), UserID: ann.ID, Email: " cid@example.com", CreatedMs: e.now()}, db.ErrInvalid},
			{"no @", db.Email{ID: e.id(), UserID: ann.ID, Email: "cid", CreatedMs: e.now()}, db.ErrInvalid},
			{"a missing user", db.Email{ID: e.id(), UserID: "nobody", Email: "cid@example.com", CreatedMs: e.now()}, db.ErrForeignKey},
			{"no ID", db.Email{UserID: ann.ID, Email: "cid@example.com", CreatedMs: e.now()}, db.ErrInvalid},
			{"no time", db.Email{ID: e.id(), UserID: ann.ID, Email: "cid@example.com"}, db.ErrInvalid},
			{"an address differing in the local part's case", db.Email{ID: e.id(), UserID: bob.ID, Email: "ANN@example.com", CreatedMs: e.now()}, db.ErrDuplicate},
			{"the user's own address in another case", db.Email{ID: e.id(), UserID: ann.ID, Email: "ANN.WORK@example.org", CreatedMs: e.now()}, db.ErrDuplicate},
			{"another user's unverified address (until one proves it)", db.Email{ID: e.id(), UserID: bob.ID, Email: "ann.work@example.org", CreatedMs: e.now()}, nil},
		}
		for _, tt := range adds {
			t.Run("add "+tt.name, func(t *testing.T) {
				before := e.count("emails")
				err := d.AddEmail(e.ctx, tt.givenEmail)
				expectErr(t, "AddEmail", err, tt.expectErr)
				want := before
				if tt.expectErr == nil {
					want++
				}
				if n := e.count("emails"); n != want {
					t.Errorf("%d addresses, want %d", n, want)
				}
			})
		}
		t.Run("list", func(t *testing.T) {
			emails, err := d.ListEmails(e.ctx, ann.ID)
			if err != nil || len(emails) != 2 || emails[0] != annFirst || emails[1] != second {
				t.Errorf("ListEmails = %+v, %v; want %+v, %+v", emails, err, annFirst, second)
			}
			_, err = d.ListEmails(e.ctx, "nobody")
			expectErr(t, "ListEmails of a missing user", err, db.ErrNotFound)
		})
		t.Run("get", func(t *testing.T) {
			if got, err := d.GetEmail(e.ctx, ann.ID, second.ID); err != nil || got != second {
				t.Errorf("GetEmail = %+v, %v; want %+v", got, err, second)
			}
			_, err := d.GetEmail(e.ctx, ann.ID, bobFirst.ID)
			expectErr(t, "GetEmail of another user's address", err, db.ErrNotFound)
			_, err = d.GetEmail(e.ctx, ann.ID, "nope")
			expectErr(t, "GetEmail of a missing address", err, db.ErrNotFound)
		})
		t.Run("verify", func(t *testing.T) {
			first := e.now()
			if err := d.MarkEmailVerified(e.ctx, second.ID, first); err != nil {
				t.Fatal(err)
			}
			if err := d.MarkEmailVerified(e.ctx, second.ID, e.now()); err != nil {
				t.Fatal(err)
			}
			if got, err := d.GetEmail(e.ctx, ann.ID, second.ID); err != nil || got.VerifiedMs != first {
				t.Errorf("VerifiedMs = %d, %v; want the first verification %d", got.VerifiedMs, err, first)
			}
			expectErr(t, "MarkEmailVerified of a missing address", d.MarkEmailVerified(e.ctx, "nope", e.now()), db.ErrNotFound)
			expectErr(t, "MarkEmailVerified without a time", d.MarkEmailVerified(e.ctx, second.ID, 0), db.ErrInvalid)
		})
		t.Run("delete", func(t *testing.T) {
			expectErr(t, "DeleteEmail of another user's address", d.DeleteEmail(e.ctx, ann.ID, bobFirst.ID), db.ErrNotFound)
			if _, err := d.GetEmail(e.ctx, bob.ID, bobFirst.ID); err != nil {
				t.Errorf("Bob's address after Ann's attempt: %v", err)
			}
			if err := d.DeleteEmail(e.ctx, ann.ID, second.ID); err != nil {
				t.Fatal(err)
			}
			expectErr(t, "DeleteEmail again", d.DeleteEmail(e.ctx, ann.ID, second.ID), db.ErrNotFound)
			if emails := mustEmails(e, ann.ID); len(emails) != 1 || emails[0] != annFirst {
				t.Errorf("ListEmails after delete = %+v", emails)
			}
			expectErr(t, "DeleteEmail of the last address", d.DeleteEmail(e.ctx, ann.ID, annFirst.ID), db.ErrLastEmail)
			if emails := mustEmails(e, ann.ID); len(emails) != 1 {
				t.Errorf("ListEmails after deleting the last = %+v", emails)
			}
		})
	})
}

// TestDeleteEmailConcurrent: two deletes run at once of a user's last
// two addresses (two tabs, two admins) leave the user one address.
func TestDeleteEmailConcurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		for round := range 10 {
			u := e.user("Ann", fmt.Sprintf("ann%d@example.com", round))
			other := db.Email{ID: e.id(), UserID: u.ID, Email: fmt.Sprintf("ann%d@example.org", round), CreatedMs: e.now()}
			if err := d.AddEmail(e.ctx, other); err != nil {
				t.Fatal(err)
			}
			emails := mustEmails(e, u.ID)
			errs := authRace(len(emails), func(i int) error { return d.DeleteEmail(e.ctx, u.ID, emails[i].ID) })
			expectOneWinner(t, errs, db.ErrLastEmail, db.ErrConflict)
			if left := mustEmails(e, u.ID); len(left) != 1 {
				t.Fatalf("round %d: %d addresses left, want 1", round, len(left))
			}
		}
	})
}
