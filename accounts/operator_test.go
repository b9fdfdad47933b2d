package accounts_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/verifier/envelope"
)

// newOperator returns an Operator on the stack's store and clock, and
// counters of what it told the gateways.
func newOperator(t *testing.T, s *stack) (op *accounts.Operator, revoked *[]db.Revocation, announced *int) {
	t.Helper()
	revoked, announced = &[]db.Revocation{}, new(int)
	op, err := accounts.NewOperator(accounts.OperatorConfig{Store: s.d, Now: s.clock.Now,
		Revoked:  func(_ context.Context, r db.Revocation) { *revoked = append(*revoked, r) },
		Announce: func(context.Context) { *announced++ }})
	if err != nil {
		t.Fatal(err)
	}
	return op, revoked, announced
}

// expectRefusal checks that err is the API's refusal with the status
// and code.
func expectRefusal(t *testing.T, err error, status int, code string) {
	t.Helper()
	e, ok := errors.AsType[*envelope.Error](err)
	if !ok || e.Status != status || e.Code != code {
		t.Errorf("error %v, want %d %s", err, status, code)
	}
}

// TestOperator_banLikeTheAPI: the Operator's ban has the API's effects
// (see TestBanRevokesSessions): the user's sessions end, its token and
// refresh token stop working, it cannot log in, the gateways are told
// the user and each session; an unban lets it in again. The last
// unbanned sysadmin is neither banned nor loses the role, which through
// the API no sysadmin can do (never to themselves).
func TestOperator_banLikeTheAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		ann := s.user("Ann")
		app := s.client(s.org("Home", admin))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		s.clock.Advance(time.Second)
		op, revoked, _ := newOperator(t, s)

		u, err := op.Ban(s.ctx, ann.ID)
		if err != nil || u.BannedMs != s.clock.Now().UnixMilli() {
			t.Fatalf("Ban = %+v, %v", u, err)
		}
		if got, _ := d.GetSession(s.ctx, sess.SessionID); got.InvalidatedReason != "banned" {
			t.Fatalf("session after the ban: %+v", got)
		}
		if len(*revoked) != 2 || (*revoked)[0].Kind != db.RevokeUser || (*revoked)[0].Subject != ann.ID || (*revoked)[1].Subject != sess.SessionID {
			t.Errorf("told the gateways %+v, want the user and its session", *revoked)
		}
		s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized, accounts.CodeUserBanned)
		s.pollRevocations()
		s.withMacaroon(app, sess, "GET", "/users/current", nil).expect(t, http.StatusUnauthorized)
		s.refreshAs(app, sess.Refresh).expect(t, http.StatusUnauthorized)
		s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusUnauthorized, accounts.CodeUserBanned)

		_, err = op.Ban(s.ctx, admin.ID)
		expectRefusal(t, err, http.StatusConflict, accounts.CodeLastSysadmin)
		expectRefusal(t, op.TakeRole(s.ctx, admin.ID, db.RoleSysadmin), http.StatusConflict, accounts.CodeLastSysadmin)
		_, err = op.Ban(s.ctx, "no-such-user")
		expectRefusal(t, err, http.StatusNotFound, accounts.CodeNotFound)

		s.clock.Advance(time.Second)
		if u, err := op.Unban(s.ctx, ann.ID); err != nil || u.BannedMs != 0 {
			t.Fatalf("Unban = %+v, %v", u, err)
		}
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	})
}

// TestOperator_rolesLikeTheAPI: roles are checked as POST
// /users/:id/roles checks them, and a role taken ends the user's
// sessions as DELETE /users/:id/roles/:role does.
func TestOperator_rolesLikeTheAPI(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	admin := s.user("Admin", db.RoleSysadmin)
	ann := s.user("Ann")
	app := s.client(s.org("Home", admin))
	sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	op, _, _ := newOperator(t, s)

	expectRefusal(t, op.GrantRole(s.ctx, ann.ID, "root"), http.StatusBadRequest, accounts.CodeInvalidData)
	if err := op.GrantRole(s.ctx, ann.ID, db.RoleSysadmin); err != nil {
		t.Fatal(err)
	}
	expectRefusal(t, op.GrantRole(s.ctx, ann.ID, db.RoleSysadmin), http.StatusConflict, accounts.CodeDuplicate)
	expectRefusal(t, op.TakeRole(s.ctx, ann.ID, db.RoleEmployee), http.StatusNotFound, accounts.CodeNotFound)
	if got, _ := s.d.GetSession(s.ctx, sess.SessionID); got.InvalidatedMs != 0 {
		t.Fatalf("a role given ended the session: %+v", got)
	}
	// With Ann a sysadmin too, Admin is no longer the last one.
	if err := op.TakeRole(s.ctx, admin.ID, db.RoleSysadmin); err != nil {
		t.Fatal(err)
	}
	if err := op.TakeRole(s.ctx, ann.ID, db.RoleUser); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.d.GetSession(s.ctx, sess.SessionID); got.InvalidatedReason != "roles-changed" {
		t.Errorf("session after a role was taken: %+v", got)
	}
}

// TestOperator_clientsLikeTheAPI: a client the Operator creates works
// at the gateway with the secret shown once; a rotated secret replaces
// it; restrictions are checked and normalized as the API does them; the
// gateways are told each change.
func TestOperator_clientsLikeTheAPI(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	admin := s.user("Admin", db.RoleSysadmin)
	home := s.org("Home", admin)
	op, _, announced := newOperator(t, s)

	c, secret, err := op.CreateClient(s.ctx, home.ID, "Billing", accounts.DefaultReqsPerSec)
	if err != nil || *announced != 1 || c.ReqsPerSec != accounts.DefaultReqsPerSec {
		t.Fatalf("CreateClient = %+v, %v (announced %d)", c, err, *announced)
	}
	s.refresh()
	s.passwordLogin(appClient{ID: c.ID, Secret: secret}, "admin@example.com", testPassword).expect(t, http.StatusOK)
	rotated, err := op.RotateClientSecret(s.ctx, c.ID)
	if err != nil || rotated == secret {
		t.Fatalf("RotateClientSecret = %q, %v", rotated, err)
	}
	s.refresh()
	s.passwordLogin(appClient{ID: c.ID, Secret: secret}, "admin@example.com", testPassword).expect(t, http.StatusUnauthorized)
	s.passwordLogin(appClient{ID: c.ID, Secret: rotated}, "admin@example.com", testPassword).expect(t, http.StatusOK)

	for _, tc := range []struct {
		name, typ, value string
		expectValue      string
		expectStatus     int
	}{
		{name: "an address is a /32", typ: db.RestrictionIP, value: " 10.0.0.1 ", expectValue: "10.0.0.1/32"},
		{name: "the same, written otherwise", typ: db.RestrictionIP, value: "10.0.0.1/32", expectStatus: http.StatusConflict},
		{name: "a host in lower case without its dot", typ: db.RestrictionHost, value: "*.Example.COM.", expectValue: "*.example.com"},
		{name: "a host with a port", typ: db.RestrictionHost, value: "example.com:443", expectStatus: http.StatusBadRequest},
		{name: "the accounts API", typ: db.RestrictionAPI, value: "accounts", expectValue: "accounts"},
		{name: "an API not registered", typ: db.RestrictionAPI, value: "payroll", expectStatus: http.StatusBadRequest},
		{name: "no such type", typ: "country", value: "FR", expectStatus: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := op.Restrict(s.ctx, c.ID, tc.typ, tc.value)
			if tc.expectStatus != 0 {
				if e, ok := errors.AsType[*envelope.Error](err); !ok || e.Status != tc.expectStatus {
					t.Errorf("Restrict = %+v, %v; want %d", x, err, tc.expectStatus)
				}
				return
			}
			if err != nil || x.Value != tc.expectValue {
				t.Errorf("Restrict = %+v, %v; want %s", x, err, tc.expectValue)
			}
		})
	}
	xs, err := op.Restrictions(s.ctx, c.ID)
	if err != nil || len(xs) != 3 {
		t.Fatalf("Restrictions = %+v, %v", xs, err)
	}
	expectRefusal(t, op.Unrestrict(s.ctx, c.ID, "no-such-restriction"), http.StatusNotFound, accounts.CodeNotFound)
	if err := op.Unrestrict(s.ctx, c.ID, xs[0].ID); err != nil {
		t.Fatal(err)
	}
	if *announced != 2+3+1 {
		t.Errorf("told the gateways %d times, want 6 (create, rotate, three restrictions, one removed)", *announced)
	}
}

// TestOperator_audited: what the Operator does is in the audit log as
// the API's handlers record it (they share the functions), with no
// actor: a ban, an unban, a role given and taken, a client created and
// its secret rotated, an organization created.
func TestOperator_audited(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	admin := s.user("Admin", db.RoleSysadmin)
	ann := s.user("Ann")
	home := s.org("Home", admin)
	op, _, _ := newOperator(t, s)
	if _, err := op.Ban(s.ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Unban(s.ctx, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := op.GrantRole(s.ctx, ann.ID, db.RoleEmployee); err != nil {
		t.Fatal(err)
	}
	if err := op.TakeRole(s.ctx, ann.ID, db.RoleEmployee); err != nil {
		t.Fatal(err)
	}
	c, _, err := op.CreateClient(s.ctx, home.ID, "Billing", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.RotateClientSecret(s.ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	org, err := op.CreateOrganization(s.ctx, "Globex", ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := s.d.ListAuditEvents(s.ctx, db.AuditFilter{Types: []string{"user.banned", "user.unbanned", "role.added", "role.removed",
		"client.created", "client.secret_rotated", "organization.created"}}, db.Page{})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ typ, subject, org string }
	var got []seen
	for _, e := range events {
		if e.ActorUserID != "" || e.ActorClientID != "" {
			t.Errorf("%s names the actor %q/%q, want none", e.Type, e.ActorUserID, e.ActorClientID)
		}
		got = append(got, seen{e.Type, e.SubjectUserID, e.OrgID})
	}
	want := []seen{{"user.banned", ann.ID, ""}, {"user.unbanned", ann.ID, ""}, {"role.added", ann.ID, ""}, {"role.removed", ann.ID, ""},
		{"client.created", "", home.ID}, {"client.secret_rotated", "", home.ID}, {"organization.created", "", org.ID}}
	// The stack's clock stands still: the events' order within one
	// millisecond is the IDs' random part, so compare them sorted.
	byType := func(a, b seen) int { return strings.Compare(a.typ, b.typ) }
	slices.SortFunc(got, byType)
	slices.SortFunc(want, byType)
	if !slices.Equal(got, want) {
		t.Errorf("audit events %+v, want %+v", got, want)
	}
}
