package db_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// accountsEpoch is the fixed clock of the accounts tests.
var accountsEpoch = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// accountsEnv is one test database with a fixed, advancing clock and a
// seeded randomness source for IDs, and helpers that create rows through
// the store.
type accountsEnv struct {
	t      *testing.T
	d      *db.DB
	ctx    context.Context
	ms     int64
	random io.Reader
}

// newAccountsEnv wraps d for the test t.
func newAccountsEnv(t *testing.T, d *db.DB) *accountsEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return &accountsEnv{t: t, d: d, ctx: ctx, ms: accountsEpoch.UnixMilli(), random: rand.NewChaCha8([32]byte{'a', 'u', 't', 'h'})}
}

// now advances the clock by one millisecond and returns it.
func (e *accountsEnv) now() int64 {
	e.ms++
	return e.ms
}

// id returns a new UUIDv7 at the next millisecond, so IDs sort in the
// order the test makes them.
func (e *accountsEnv) id() string {
	return db.NewID(time.UnixMilli(e.now()), e.random)
}

// user creates a user with the address email (and the default role
// unless roles are given).
func (e *accountsEnv) user(name, email string, roles ...string) db.User {
	e.t.Helper()
	u, err := e.d.CreateUser(e.ctx, db.NewUser{
		User:  db.User{ID: e.id(), Name: name, CreatedMs: e.now()},
		Email: db.Email{ID: e.id(), Email: email, VerifiedMs: 1},
		Roles: roles,
	})
	if err != nil {
		e.t.Fatalf("CreateUser %s: %v", email, err)
	}
	return u
}

// org creates an organization with creator as its full member.
func (e *accountsEnv) org(name string, creator db.User) db.Organization {
	e.t.Helper()
	o := db.Organization{ID: e.id(), Name: name, CreatedMs: e.now()}
	if err := e.d.CreateOrganization(e.ctx, o, db.Membership{ID: e.id(), UserID: creator.ID}); err != nil {
		e.t.Fatalf("CreateOrganization %s: %v", name, err)
	}
	return o
}

// client creates a client of the organization.
func (e *accountsEnv) client(orgID, name string, roles ...string) db.Client {
	e.t.Helper()
	c, err := e.d.CreateClient(e.ctx, db.Client{
		ID: e.id(), OrganizationID: orgID, Name: name, SecretHash: strings.Repeat("5", 64),
		ReqsPerSec: 10, CreatedMs: e.now(), Roles: roles,
	})
	if err != nil {
		e.t.Fatalf("CreateClient %s: %v", name, err)
	}
	return c
}

// count returns the number of rows of "SELECT COUNT(*) FROM from".
func (e *accountsEnv) count(from string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.d.SQL().QueryRowContext(e.ctx, "SELECT COUNT(*) FROM "+from, args...).Scan(&n); err != nil {
		e.t.Fatalf("count %s: %v", from, err)
	}
	return n
}

// expectErr fails the test unless err wraps want (or is nil when want
// is nil).
func expectErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: error = %v, want none", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want one wrapping %v", what, err, want)
	}
}

// TestAccounts_contextHonoured checks that every accounts method returns
// the context's error, unwrapped, for a context already cancelled or
// past its deadline, and writes nothing.
func TestAccounts_contextHonoured(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		org := e.org("Org", ann)
		client := e.client(org.ID, "app")
		if err := d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: ann.ID, Email: "ann2@example.com", CreatedMs: e.now()}); err != nil {
			t.Fatal(err)
		}
		emails, err := d.ListEmails(e.ctx, ann.ID)
		if err != nil || len(emails) != 2 {
			t.Fatalf("ListEmails = %v, %v", emails, err)
		}
		memb, err := d.GetUserMembership(e.ctx, org.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		restriction := db.Restriction{ID: e.id(), ClientID: client.ID, Type: db.RestrictionIP, Value: "10.0.0.0/8", CreatedMs: e.now()}
		if err := d.AddRestriction(e.ctx, restriction); err != nil {
			t.Fatal(err)
		}
		api := db.API{Name: "notes", Version: 1, URL: "http://127.0.0.1:9000", Active: true, CreatedMs: e.now()}
		if err := d.CreateAPI(e.ctx, api); err != nil {
			t.Fatal(err)
		}
		ms := e.now()
		calls := []struct {
			name string
			when func(ctx context.Context) error
		}{
			{"CreateOrganization", func(ctx context.Context) error {
				return d.CreateOrganization(ctx, db.Organization{ID: "org-new", Name: "New", CreatedMs: ms}, db.Membership{ID: "memb-new", UserID: ann.ID})
			}},
			{"GetOrganization", func(ctx context.Context) error { _, err := d.GetOrganization(ctx, org.ID); return err }},
			{"ListOrganizations", func(ctx context.Context) error { _, _, err := d.ListOrganizations(ctx, db.Page{}); return err }},
			{"ListUserOrganizations", func(ctx context.Context) error {
				_, _, err := d.ListUserOrganizations(ctx, ann.ID, db.Page{})
				return err
			}},
			{"UpdateOrganization", func(ctx context.Context) error { return d.UpdateOrganization(ctx, org.ID, "Renamed") }},
			{"DeleteOrganization", func(ctx context.Context) error { return d.DeleteOrganization(ctx, org.ID, ms) }},
			{"CreateUser", func(ctx context.Context) error {
				_, err := d.CreateUser(ctx, db.NewUser{User: db.User{ID: "user-new", Name: "New", CreatedMs: ms}, Email: db.Email{ID: "email-new", Email: "new@example.com"}})
				return err
			}},
			{"GetUser", func(ctx context.Context) error { _, err := d.GetUser(ctx, ann.ID); return err }},
			{"GetUserByEmail", func(ctx context.Context) error { _, _, err := d.GetUserByEmail(ctx, "ann@example.com"); return err }},
			{"ListUsers", func(ctx context.Context) error { _, _, err := d.ListUsers(ctx, db.Page{}); return err }},
			{"UpdateUserName", func(ctx context.Context) error { return d.UpdateUserName(ctx, ann.ID, "Anne", ms) }},
			{"SetPasswordHash", func(ctx context.Context) error { return d.SetPasswordHash(ctx, ann.ID, "$argon2id$x", ms) }},
			{"BanUser", func(ctx context.Context) error { return d.BanUser(ctx, ann.ID, ms) }},
			{"UnbanUser", func(ctx context.Context) error { return d.UnbanUser(ctx, ann.ID, ms) }},
			{"DeleteUser", func(ctx context.Context) error {
				return d.DeleteUser(ctx, ann.ID, db.Revoking{AtMs: ms, ExpiresMs: ms})
			}},
			{"AddUserRole", func(ctx context.Context) error { return d.AddUserRole(ctx, ann.ID, db.RoleEmployee) }},
			{"RemoveUserRole", func(ctx context.Context) error { return d.RemoveUserRole(ctx, ann.ID, db.RoleUser) }},
			{"UserRoles", func(ctx context.Context) error { _, err := d.UserRoles(ctx, ann.ID); return err }},
			{"AddEmail", func(ctx context.Context) error {
				return d.AddEmail(ctx, db.Email{ID: "email-new", UserID: ann.ID, Email: "ann3@example.com", CreatedMs: ms})
			}},
			{"GetEmail", func(ctx context.Context) error { _, err := d.GetEmail(ctx, ann.ID, emails[0].ID); return err }},
			{"ListEmails", func(ctx context.Context) error { _, err := d.ListEmails(ctx, ann.ID); return err }},
			{"DeleteEmail", func(ctx context.Context) error { return d.DeleteEmail(ctx, ann.ID, emails[1].ID) }},
			{"MarkEmailVerified", func(ctx context.Context) error { return d.MarkEmailVerified(ctx, emails[0].ID, ms) }},
			{"UpsertMembership", func(ctx context.Context) error {
				_, err := d.UpsertMembership(ctx, db.Membership{ID: "memb-new", OrganizationID: org.ID, UserID: ann.ID, CreatedMs: ms})
				return err
			}},
			{"GetMembership", func(ctx context.Context) error { _, err := d.GetMembership(ctx, memb.ID); return err }},
			{"GetUserMembership", func(ctx context.Context) error { _, err := d.GetUserMembership(ctx, org.ID, ann.ID); return err }},
			{"ListUserMemberships", func(ctx context.Context) error { _, err := d.ListUserMemberships(ctx, ann.ID); return err }},
			{"ListOrgMemberships", func(ctx context.Context) error {
				_, _, err := d.ListOrgMemberships(ctx, org.ID, db.Page{})
				return err
			}},
			{"UpdateMembershipFlags", func(ctx context.Context) error {
				return d.UpdateMembershipFlags(ctx, memb.ID, db.MembershipFlags{Read: true, Edit: false, Manage: false, Delete: false})
			}},
			{"DeleteMembership", func(ctx context.Context) error { return d.DeleteMembership(ctx, memb.ID) }},
			{"CreateClient", func(ctx context.Context) error {
				_, err := d.CreateClient(ctx, db.Client{ID: "client-new", OrganizationID: org.ID, Name: "New", SecretHash: "h", CreatedMs: ms})
				return err
			}},
			{"GetClient", func(ctx context.Context) error { _, err := d.GetClient(ctx, client.ID); return err }},
			{"ListClients", func(ctx context.Context) error { _, _, err := d.ListClients(ctx, org.ID, db.Page{}); return err }},
			{"UpdateClient", func(ctx context.Context) error { return d.UpdateClient(ctx, client.ID, "New", 5, ms) }},
			{"SetClientSecretHash", func(ctx context.Context) error { return d.SetClientSecretHash(ctx, client.ID, "h2", ms) }},
			{"DeleteClient", func(ctx context.Context) error {
				return d.DeleteClient(ctx, client.ID, db.Revoking{AtMs: ms, ExpiresMs: ms})
			}},
			{"AddClientRole", func(ctx context.Context) error { return d.AddClientRole(ctx, client.ID, db.ClientRoleSystem) }},
			{"RemoveClientRole", func(ctx context.Context) error {
				return d.RemoveClientRole(ctx, client.ID, db.ClientRoleExternal)
			}},
			{"ClientRoles", func(ctx context.Context) error { _, err := d.ClientRoles(ctx, client.ID); return err }},
			{"AddRestriction", func(ctx context.Context) error {
				return d.AddRestriction(ctx, db.Restriction{ID: "restr-new", ClientID: client.ID, Type: db.RestrictionHost, Value: "example.com", CreatedMs: ms})
			}},
			{"ListRestrictions", func(ctx context.Context) error { _, err := d.ListRestrictions(ctx, client.ID); return err }},
			{"DeleteRestriction", func(ctx context.Context) error { return d.DeleteRestriction(ctx, client.ID, restriction.ID) }},
			{"CreateAPI", func(ctx context.Context) error {
				return d.CreateAPI(ctx, db.API{Name: "notes", Version: 2, URL: "http://x", CreatedMs: ms})
			}},
			{"GetAPI", func(ctx context.Context) error { _, err := d.GetAPI(ctx, "notes", 1); return err }},
			{"ListAPIs", func(ctx context.Context) error { _, err := d.ListAPIs(ctx); return err }},
			{"UpdateAPI", func(ctx context.Context) error {
				return d.UpdateAPI(ctx, db.API{Name: "notes", Version: 1, URL: "http://y", UpdatedMs: ms})
			}},
			{"DeleteAPI", func(ctx context.Context) error { return d.DeleteAPI(ctx, "notes", 1) }},
		}
		contexts := []struct {
			name      string
			givenCtx  func() context.Context
			expectErr error
		}{
			{"cancelled", func() context.Context {
				ctx, cancel := context.WithCancel(e.ctx)
				cancel()
				return ctx
			}, context.Canceled},
			{"past its deadline", func() context.Context {
				ctx, cancel := context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
				t.Cleanup(cancel)
				return ctx
			}, context.DeadlineExceeded},
		}
		tables := []string{"organizations", "users", "emails", "user_roles", "org_memberships", "clients", "client_roles", "client_access_restrictions", "apis"}
		before := map[string]int{}
		for _, table := range tables {
			before[table] = e.count(table)
		}
		for _, c := range contexts {
			for _, call := range calls {
				t.Run(c.name+"/"+call.name, func(t *testing.T) {
					expectErr(t, call.name, call.when(c.givenCtx()), c.expectErr)
				})
			}
		}
		for _, table := range tables {
			if n := e.count(table); n != before[table] {
				t.Errorf("%s: %d rows after the cancelled calls, want %d", table, n, before[table])
			}
		}
		got, err := d.GetUser(e.ctx, ann.ID)
		if err != nil || got.Name != "Ann" || got.BannedMs != 0 || got.PasswordHash != "" {
			t.Errorf("GetUser after the cancelled calls = %+v, %v: want Ann unchanged", got, err)
		}
	})
}

// TestAccounts_deadlineWhileBlocked checks that a call blocked behind
// another transaction gives up when its context's deadline passes: on
// SQLite it waits for the pool's one connection, on MariaDB for a row
// lock.
func TestAccounts_deadlineWhileBlocked(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		holder, err := d.SQL().BeginTx(e.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = holder.Rollback() }()
		if _, err := holder.ExecContext(e.ctx, "UPDATE users SET name = 'Held' WHERE id = ?", ann.ID); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(e.ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err = d.UpdateUserName(ctx, ann.ID, "Anne", e.now())
		expectErr(t, "UpdateUserName while blocked", err, context.DeadlineExceeded)
		if elapsed := time.Since(start); elapsed > 10*time.Second {
			t.Errorf("UpdateUserName returned after %v, long after its 300ms deadline", elapsed)
		}
	})
}

// TestAccounts_unicodeRoundTrip checks that names in any script, with
// emoji, right-to-left text and combining marks, are stored and read
// back byte for byte in both dialects (no normalization, no truncation).
func TestAccounts_unicodeRoundTrip(t *testing.T) {
	names := []struct {
		name      string
		givenName string
	}{
		{"emoji with skin tone and ZWJ", "👩🏽‍💻 Ada 🔑"},
		{"right-to-left Hebrew", "שלום עולם"},
		{"right-to-left Arabic with a mark", "\u200fمرحبا بالعالم"},
		{"combining acute accent", "Jose\u0301"},
		{"precomposed accent", "José"},
		{"stacked combining marks", "Z\u0351\u0366\u0300a\u035b\u0309l\u0352go"},
		{"CJK", "東京都"},
		{"astral plane", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀"},
		{"trailing space", "Ann "},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		creator := e.user("Creator", "creator@example.com")
		for i, tt := range names {
			t.Run(tt.name, func(t *testing.T) {
				u := e.user(tt.givenName, "u"+string(rune('a'+i))+"@example.com")
				gotUser, err := d.GetUser(e.ctx, u.ID)
				if err != nil || gotUser.Name != tt.givenName {
					t.Errorf("user name = %q, %v; want %q", gotUser.Name, err, tt.givenName)
				}
				o := e.org(tt.givenName, creator)
				gotOrg, err := d.GetOrganization(e.ctx, o.ID)
				if err != nil || gotOrg.Name != tt.givenName {
					t.Errorf("organization name = %q, %v; want %q", gotOrg.Name, err, tt.givenName)
				}
				c := e.client(o.ID, tt.givenName)
				gotClient, err := d.GetClient(e.ctx, c.ID)
				if err != nil || gotClient.Name != tt.givenName {
					t.Errorf("client name = %q, %v; want %q", gotClient.Name, err, tt.givenName)
				}
			})
		}
		t.Run("unicode email address", func(t *testing.T) {
			addr, err := db.NormalizeEmail("  Дмитрий@ПРИМЕР.РФ ")
			if err != nil || addr != "Дмитрий@пример.рф" {
				t.Fatalf("NormalizeEmail = %q, %v", addr, err)
			}
			u := e.user("Дмитрий", addr)
			got, email, err := d.GetUserByEmail(e.ctx, addr)
			if err != nil || got.ID != u.ID || email.Email != addr {
				t.Errorf("GetUserByEmail = %+v, %+v, %v", got, email, err)
			}
		})
		t.Run("invalid UTF-8 is refused by both dialects", func(t *testing.T) {
			bad := "Ann\xff"
			_, err := d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: bad, CreatedMs: e.now()}, Email: db.Email{ID: e.id(), Email: "bad@example.com"}})
			expectErr(t, "CreateUser", err, db.ErrInvalid)
			expectErr(t, "UpdateUserName", d.UpdateUserName(e.ctx, creator.ID, bad, e.now()), db.ErrInvalid)
			err = d.CreateOrganization(e.ctx, db.Organization{ID: e.id(), Name: bad, CreatedMs: e.now()}, db.Membership{ID: e.id(), UserID: creator.ID})
			expectErr(t, "CreateOrganization", err, db.ErrInvalid)
		})
	})
}

// TestAccounts_columnLimits checks that each string the store writes is
// accepted at exactly its column's width, counted in characters (here
// four-byte ones where the column allows them), and refused with
// ErrInvalid one character over, in both dialects.
func TestAccounts_columnLimits(t *testing.T) {
	type when func(e *accountsEnv, s string) error
	tests := []struct {
		name       string
		givenLimit int
		givenChar  string
		givenWrap  func(s string) string // builds the value from limit×char
		when       when
	}{
		{"organization name", 255, "🔑", nil, func(e *accountsEnv, s string) error {
			u := e.user("Creator", e.id()+"@example.com")
			return e.d.CreateOrganization(e.ctx, db.Organization{ID: e.id(), Name: s, CreatedMs: e.now()}, db.Membership{ID: e.id(), UserID: u.ID})
		}},
		{"organization rename", 255, "é", nil, func(e *accountsEnv, s string) error {
			o := e.org("Org", e.user("Creator", e.id()+"@example.com"))
			return e.d.UpdateOrganization(e.ctx, o.ID, s)
		}},
		{"user name", 255, "🔑", nil, func(e *accountsEnv, s string) error {
			_, err := e.d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: s, CreatedMs: e.now()}, Email: db.Email{ID: e.id(), Email: e.id() + "@example.com"}})
			return err
		}},
		{"user rename", 255, "ש", nil, func(e *accountsEnv, s string) error {
			return e.d.UpdateUserName(e.ctx, e.user("Ann", e.id()+"@example.com").ID, s, e.now())
		}},
		{"password hash", 255, "x", nil, func(e *accountsEnv, s string) error {
			return e.d.SetPasswordHash(e.ctx, e.user("Ann", e.id()+"@example.com").ID, s, e.now())
		}},
		{"email address", 320, "é", func(s string) string { return s[:len(s)-len("éééééééééééé")] + "@example.com" }, func(e *accountsEnv, s string) error {
			return e.d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: e.user("Ann", e.id()+"@example.com").ID, Email: s, CreatedMs: e.now()})
		}},
		{"client name", 255, "😀", nil, func(e *accountsEnv, s string) error {
			o := e.org("Org", e.user("Creator", e.id()+"@example.com"))
			_, err := e.d.CreateClient(e.ctx, db.Client{ID: e.id(), OrganizationID: o.ID, Name: s, SecretHash: "h", ReqsPerSec: 10, CreatedMs: e.now()})
			return err
		}},
		{"client secret hash", 255, "h", nil, func(e *accountsEnv, s string) error {
			o := e.org("Org", e.user("Creator", e.id()+"@example.com"))
			return e.d.SetClientSecretHash(e.ctx, e.client(o.ID, "app").ID, s, e.now())
		}},
		{"restriction value", 255, "é", nil, func(e *accountsEnv, s string) error {
			o := e.org("Org", e.user("Creator", e.id()+"@example.com"))
			c := e.client(o.ID, "app")
			return e.d.AddRestriction(e.ctx, db.Restriction{ID: e.id(), ClientID: c.ID, Type: db.RestrictionHost, Value: s, CreatedMs: e.now()})
		}},
		{"API name", 64, "n", nil, func(e *accountsEnv, s string) error {
			return e.d.CreateAPI(e.ctx, db.API{Name: s, Version: 1, URL: "http://x", CreatedMs: e.now()})
		}},
		{"API URL", 2048, "p", func(s string) string { return "http://x/" + s[len("http://x/"):] }, func(e *accountsEnv, s string) error {
			return e.d.CreateAPI(e.ctx, db.API{Name: e.id(), Version: 1, URL: s, CreatedMs: e.now()})
		}},
		{"ID", 36, "i", nil, func(e *accountsEnv, s string) error {
			_, err := e.d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: s, Name: "Ann", CreatedMs: e.now()}, Email: db.Email{ID: e.id(), Email: e.id() + "@example.com"}})
			return err
		}},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		for _, tt := range tests {
			for _, over := range []int{0, 1} {
				name := tt.name + "/at the limit"
				var expect error
				if over == 1 {
					name, expect = tt.name+"/one over", db.ErrInvalid
				}
				t.Run(name, func(t *testing.T) {
					value := strings.Repeat(tt.givenChar, tt.givenLimit+over)
					if tt.givenWrap != nil {
						value = tt.givenWrap(value)
					}
					expectErr(t, tt.name, tt.when(e, value), expect)
				})
			}
		}
	})
}

// TestAccounts_concurrentWriters checks writers racing for one unique
// key: of several CreateUser calls with the same address exactly one
// wins and the others get ErrDuplicate, leaving no partial rows; several
// UpsertMembership calls for one pair all succeed and leave one row.
func TestAccounts_concurrentWriters(t *testing.T) {
	const writers = 8
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		owner := e.user("Owner", "owner@example.com")
		org := e.org("Org", owner)
		t.Run("CreateUser with one address", func(t *testing.T) {
			users := make([]db.NewUser, writers)
			for i := range users {
				users[i] = db.NewUser{
					User:       db.User{ID: e.id(), Name: "Racer", CreatedMs: e.now()},
					Email:      db.Email{ID: e.id(), Email: "race@example.com", VerifiedMs: 1},
					Membership: &db.Membership{ID: e.id(), OrganizationID: org.ID, Read: true},
				}
			}
			errs := make(chan error, writers)
			start := make(chan struct{})
			for _, nu := range users {
				go func() {
					<-start
					_, err := d.CreateUser(e.ctx, nu)
					errs <- err
				}()
			}
			close(start)
			wins := 0
			for range writers {
				switch err := <-errs; {
				case err == nil:
					wins++
				case !errors.Is(err, db.ErrDuplicate):
					t.Errorf("CreateUser: %v, want success or ErrDuplicate", err)
				}
			}
			if wins != 1 {
				t.Errorf("%d CreateUser calls won, want 1", wins)
			}
			if n := e.count("users WHERE name = 'Racer'"); n != 1 {
				t.Errorf("%d users written, want 1", n)
			}
			if n := e.count("org_memberships WHERE organization_id = ?", org.ID); n != 2 {
				t.Errorf("%d memberships, want 2 (owner and winner)", n)
			}
		})
		t.Run("UpsertMembership of one pair", func(t *testing.T) {
			u := e.user("Member", "member@example.com")
			type result struct {
				m   db.Membership
				err error
			}
			results := make(chan result, writers)
			start := make(chan struct{})
			for i := range writers {
				m := db.Membership{ID: e.id(), OrganizationID: org.ID, UserID: u.ID, Read: true, Edit: i%2 == 0, CreatedMs: e.now()}
				go func() {
					<-start
					got, err := d.UpsertMembership(e.ctx, m)
					results <- result{got, err}
				}()
			}
			close(start)
			ids := map[string]bool{}
			for range writers {
				r := <-results
				if r.err != nil {
					t.Errorf("UpsertMembership: %v", r.err)
					continue
				}
				ids[r.m.ID] = true
			}
			if len(ids) != 1 {
				t.Errorf("the upserts returned %d membership IDs, want 1", len(ids))
			}
			if n := e.count("org_memberships WHERE organization_id = ? AND user_id = ?", org.ID, u.ID); n != 1 {
				t.Errorf("%d rows for the pair, want 1", n)
			}
		})
	})
}
