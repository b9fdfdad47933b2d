package accounts_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// newAuditPassword is the password the audit flows change to.
const newAuditPassword = "an entirely new passphrase 7"

// auditRows returns every stored event, oldest first, read straight from
// the table, with the text of each whole row (every column) for the
// secret scan.
func (s *stack) auditRows(t testing.TB) ([]db.AuditEvent, string) {
	t.Helper()
	events, err := s.d.TailAuditEvents(s.ctx, db.AuditFilter{}, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.d.SQL().QueryContext(s.ctx, "SELECT id, time_ms, type, outcome, reason, actor_user_id, actor_client_id, subject_user_id, org_id, ip, data, fanned_out FROM audit_events")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all strings.Builder
	for rows.Next() {
		var cols [12]string
		ptrs := make([]any, len(cols))
		for i := range cols {
			ptrs[i] = &cols[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		if cols[11] != "0" {
			t.Errorf("event %s has fanned_out %q: the recorder must leave it 0 for the webhook dispatcher", cols[0], cols[11])
		}
		all.WriteString(strings.Join(cols[:], "|") + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return events, all.String()
}

// auditLines returns the "audit" lines of the stack's log.
func (s *stack) auditLines() string {
	var out []string
	for line := range strings.SplitSeq(s.logs.String(), "\n") {
		if strings.Contains(line, "msg=audit ") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// findEvent returns the first event of the type whose subject is
// subject, failing the test when there is none.
func findEvent(t testing.TB, events []db.AuditEvent, typ, subject string) db.AuditEvent {
	t.Helper()
	for _, e := range events {
		if e.Type == typ && e.SubjectUserID == subject {
			return e
		}
	}
	var seen []string
	for _, e := range events {
		seen = append(seen, e.Type+"/"+e.SubjectUserID)
	}
	t.Fatalf("no %s event about %q among %v", typ, subject, seen)
	return db.AuditEvent{}
}

// TestAuditLogOfRealFlows drives sign-ins, a refresh-token replay, a
// password change, role, ban, client and membership changes and a
// logout through the gateway, then checks the rows they left (type,
// outcome, reason, actor, subject, organization, IP, data) and that no
// password, address, client secret or token is in any stored row or in
// any audit log line.
func TestAuditLogOfRealFlows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		ann := s.user("Ann")
		home := s.org("Home", admin)
		app := s.client(home)
		var secrets []string // every secret the flows used or were given

		// A registration with a password: user.created, session.created.
		reg := s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Cleo", "email": "cleo@example.com", "password": testPassword}).
			expect(t, http.StatusCreated)
		cleo := reg.data()["userId"].(string)
		secrets = append(secrets, reg.data()["refresh"].(string))

		// A wrong password for a known and for an unknown address.
		s.passwordLogin(app, "ann@example.com", "not the password at all").expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
		s.passwordLogin(app, "nobody@example.com", "not the password at all").expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)

		// A good sign-in, then a refresh-token replay past the grace.
		first := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		s.clock.Advance(time.Minute)
		second := sessionOf(t, s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": first.Refresh})))
		s.clock.Advance(time.Minute)
		s.raw(s.newRequest(app, "POST", "/sessions/refresh", map[string]any{"token": first.Refresh})).expect(t, http.StatusUnauthorized, accounts.CodeSessionInvalidated)
		secrets = append(secrets, first.Refresh, second.Refresh)
		for _, m := range first.Macaroons {
			secrets = append(secrets, m)
		}

		// Ann changes her password, proving the old one.
		s.do(by(app, ann), "POST", "/users/current/change-password", map[string]any{"currentPassword": "wrong current password", "newPassword": newAuditPassword}).
			expect(t, http.StatusForbidden)
		s.do(by(app, ann), "POST", "/users/current/change-password", map[string]any{"currentPassword": testPassword, "newPassword": newAuditPassword}).
			expect(t, http.StatusOK)

		// A sysadmin grants and takes a role, bans and unbans.
		s.do(by(app, admin), "POST", "/users/"+ann.ID+"/roles", map[string]any{"type": "user-roles", "id": db.RoleEmployee}).expect(t, http.StatusCreated)
		s.do(by(app, admin), "DELETE", "/users/"+ann.ID+"/roles/"+db.RoleEmployee, nil).expect(t, http.StatusOK)
		s.do(by(app, admin), "PATCH", "/users/"+ann.ID, map[string]any{"banned": true}).expect(t, http.StatusOK)
		s.do(by(app, admin), "PATCH", "/users/"+ann.ID, map[string]any{"banned": false}).expect(t, http.StatusOK)

		// A client is created, its secret rotated, and deleted.
		created := s.do(by(app, admin), "POST", "/organizations/"+home.ID+"/clients", map[string]any{"type": "clients", "name": "cli"}).expect(t, http.StatusCreated)
		clientID := created.data()["id"].(string)
		rotated := s.do(by(app, admin), "POST", "/organizations/"+home.ID+"/clients/"+clientID+"/refresh-secret", nil).expect(t, http.StatusOK)
		s.do(by(app, admin), "DELETE", "/organizations/"+home.ID+"/clients/"+clientID, nil).expect(t, http.StatusOK)
		secrets = append(secrets, created.data()["secret"].(string), rotated.data()["secret"].(string))

		// Ann is made a member of Home.
		s.do(by(app, admin), "POST", "/organizations/"+home.ID+"/memberships", map[string]any{"type": "org-memberships",
			"user": map[string]any{"data": map[string]any{"type": "users", "id": ann.ID}}, "read": true}).expect(t, http.StatusCreated)

		// Ann signs in with the new password and signs out.
		s.clock.Advance(time.Second)
		last := sessionOf(t, s.passwordLogin(app, "ann@example.com", newAuditPassword))
		s.withMacaroon(app, last, "POST", "/sessions/logout", nil).expect(t, http.StatusOK)
		secrets = append(secrets, last.Refresh)

		events, stored := s.auditRows(t)
		for _, tt := range []struct {
			name                        string
			whenType, whenSubject       string
			expectOutcome, expectReason string
			expectActor                 string
			expectOrg                   string
			expectData                  map[string]string
		}{
			{name: "registration", whenType: audit.UserCreated, whenSubject: cleo, expectOutcome: db.AuditSuccess, expectData: map[string]string{"referrer": app.ID}},
			{name: "registration's session", whenType: audit.SessionCreated, whenSubject: cleo, expectOutcome: db.AuditSuccess},
			{name: "wrong password, known account", whenType: audit.LoginFailed, whenSubject: ann.ID, expectOutcome: db.AuditFailure,
				expectReason: accounts.CodeIncorrectPassword, expectData: map[string]string{"step": "password", "factor": "password"}},
			{name: "wrong password, unknown address", whenType: audit.LoginFailed, whenSubject: "", expectOutcome: db.AuditFailure,
				expectReason: accounts.CodeIncorrectPassword, expectData: map[string]string{"step": "password"}},
			{name: "sign-in", whenType: audit.SessionCreated, whenSubject: ann.ID, expectOutcome: db.AuditSuccess,
				expectData: map[string]string{"session": first.SessionID, "amr": "pwd", "step": "password"}},
			{name: "replay", whenType: audit.RefreshTokenReused, whenSubject: ann.ID, expectOutcome: db.AuditFailure, expectReason: "REFRESH-TOKEN-REUSED",
				expectData: map[string]string{"session": first.SessionID}},
			{name: "replay's revocation", whenType: audit.SessionRevoked, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectReason: "refresh-reuse",
				expectData: map[string]string{"session": first.SessionID}},
			{name: "wrong current password", whenType: audit.PasswordChanged, whenSubject: ann.ID, expectOutcome: db.AuditFailure,
				expectReason: accounts.CodeIncorrectPassword, expectActor: ann.ID},
			{name: "role added", whenType: audit.RoleAdded, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectData: map[string]string{"role": "employee"}},
			{name: "role removed", whenType: audit.RoleRemoved, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectData: map[string]string{"role": "employee"}},
			{name: "ban", whenType: audit.UserBanned, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectActor: admin.ID},
			{name: "unban", whenType: audit.UserUnbanned, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectActor: admin.ID},
			{name: "sessions ended by the password change", whenType: audit.SessionsRevoked, whenSubject: ann.ID, expectOutcome: db.AuditSuccess,
				expectReason: "password-changed", expectActor: ann.ID},
			{name: "client created", whenType: audit.ClientCreated, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectOrg: home.ID, expectData: map[string]string{"client": clientID}},
			{name: "client secret rotated", whenType: audit.ClientSecretRotated, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectOrg: home.ID, expectData: map[string]string{"client": clientID}},
			{name: "client deleted", whenType: audit.ClientDeleted, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectOrg: home.ID, expectData: map[string]string{"client": clientID}},
			{name: "membership", whenType: audit.MembershipAdded, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectActor: admin.ID, expectOrg: home.ID,
				expectData: map[string]string{"flags": "read", "pending": "false"}},
			{name: "logout", whenType: audit.SessionRevoked, whenSubject: ann.ID, expectOutcome: db.AuditSuccess, expectReason: "logout", expectActor: ann.ID,
				expectData: map[string]string{"session": last.SessionID}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var got db.AuditEvent
				found := false
				for _, e := range events {
					if e.Type == tt.whenType && e.SubjectUserID == tt.whenSubject && (tt.expectReason == "" || e.Reason == tt.expectReason) &&
						(tt.expectData["session"] == "" || e.Data["session"] == tt.expectData["session"]) {
						got, found = e, true
						break
					}
				}
				if !found {
					findEvent(t, events, tt.whenType, tt.whenSubject)
					t.Fatalf("no %s event about %q with reason %q", tt.whenType, tt.whenSubject, tt.expectReason)
				}
				if got.Outcome != tt.expectOutcome || got.ActorUserID != tt.expectActor || got.OrgID != tt.expectOrg {
					t.Errorf("event %+v: want outcome %s, actor %q, org %q", got, tt.expectOutcome, tt.expectActor, tt.expectOrg)
				}
				// Who and where: the client of the request, and the IP the
				// gateway established.
				if got.ActorClientID != app.ID || got.IP != "127.0.0.1" || got.ID == "" || got.TimeMs == 0 {
					t.Errorf("event %+v: want client %s and ip 127.0.0.1", got, app.ID)
				}
				for k, v := range tt.expectData {
					if got.Data[k] != v {
						t.Errorf("data[%s] = %q, want %q (event %+v)", k, got.Data[k], v, got)
					}
				}
			})
		}

		// One log line per event, with the event's ID.
		lines := s.auditLines()
		for _, e := range events {
			if !strings.Contains(lines, "id="+e.ID) {
				t.Errorf("no audit log line for event %s (%s)", e.ID, e.Type)
			}
		}
		// Never a password, an address, a client secret or a token.
		secrets = append(secrets, testPassword, newAuditPassword, "not the password at all", "wrong current password",
			"ann@example.com", "cleo@example.com", "nobody@example.com", app.Secret, "@")
		for _, secret := range secrets {
			if secret == "" {
				t.Fatal("an empty secret: the flows above did not give one")
			}
			if strings.Contains(stored, secret) {
				t.Errorf("a stored audit row holds %q", secret)
			}
			if strings.Contains(lines, secret) {
				t.Errorf("an audit log line holds %q", secret)
			}
		}
	})
}

// TestAuditEventsEndpoint lists the log as a sysadmin through the
// gateway: each filter narrows, pages follow the lists' cursors, a bad
// filter is 400 naming it, SQL in a filter is only ever a value, and
// callers other than a sysadmin are refused.
func TestAuditEventsEndpoint(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		ann := s.user("Ann")
		home := s.org("Home", admin)
		app := s.client(home)
		before := s.clock.Now()
		s.passwordLogin(app, "ann@example.com", "wrong password 1").expect(t, http.StatusUnauthorized)
		s.clock.Advance(time.Hour)
		middle := s.clock.Now()
		sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		// Events sort by their UUIDv7: in creation order to the
		// millisecond (within one, in any order).
		s.clock.Advance(time.Millisecond)
		s.do(by(app, admin), "POST", "/organizations/"+home.ID+"/memberships", map[string]any{"type": "org-memberships",
			"user": map[string]any{"data": map[string]any{"type": "users", "id": emp.ID}}, "read": true}).expect(t, http.StatusCreated)
		s.clock.Advance(time.Hour)

		list := func(query string) response {
			t.Helper()
			return s.do(by(app, admin), "GET", "/audit-events?"+query, nil)
		}
		types := func(r response) []string {
			var out []string
			for _, it := range r.list() {
				out = append(out, it["event"].(string))
			}
			return out
		}
		rfc := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
		for _, tt := range []struct {
			name        string
			whenQuery   string
			expectTypes []string
		}{
			{name: "everything, in creation order", whenQuery: "", expectTypes: []string{audit.LoginFailed, audit.SessionCreated, audit.MembershipAdded}},
			{name: "one type", whenQuery: "type=login.failed", expectTypes: []string{audit.LoginFailed}},
			{name: "a comma list", whenQuery: "type=login.failed,membership.added", expectTypes: []string{audit.LoginFailed, audit.MembershipAdded}},
			{name: "repeated", whenQuery: "type=session.created&type=membership.added", expectTypes: []string{audit.SessionCreated, audit.MembershipAdded}},
			{name: "a user, as subject", whenQuery: "user=" + ann.ID, expectTypes: []string{audit.LoginFailed, audit.SessionCreated}},
			{name: "a user, as actor", whenQuery: "user=" + admin.ID, expectTypes: []string{audit.MembershipAdded}},
			{name: "an organization", whenQuery: "organization=" + home.ID, expectTypes: []string{audit.MembershipAdded}},
			{name: "since", whenQuery: "since=" + rfc(middle), expectTypes: []string{audit.SessionCreated, audit.MembershipAdded}},
			{name: "until", whenQuery: "since=" + rfc(before) + "&until=" + rfc(middle), expectTypes: []string{audit.LoginFailed}},
			{name: "SQL in user is a value", whenQuery: "user=" + url.QueryEscape("' OR '1'='1"), expectTypes: nil},
			{name: "SQL in organization is a value", whenQuery: "organization=" + url.QueryEscape("x'); DROP TABLE audit_events;--"), expectTypes: nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := list(tt.whenQuery).expect(t, http.StatusOK)
				if got := types(res); !slices.Equal(got, tt.expectTypes) {
					t.Fatalf("types %v, want %v: %s", got, tt.expectTypes, res.Raw)
				}
			})
		}
		// The table is still there after the attempts above.
		if _, err := d.TailAuditEvents(s.ctx, db.AuditFilter{}, "", 10); err != nil {
			t.Fatal(err)
		}

		// Pages: two of two and one, no event twice.
		p1 := list("pg[size]=2").expect(t, http.StatusOK)
		next := p1.pageNext()
		if len(p1.list()) != 2 || next == "" {
			t.Fatalf("first page %s", p1.Raw)
		}
		p2 := list("pg[size]=2&pg[cursor]="+url.QueryEscape(next)).expect(t, http.StatusOK)
		if got := append(types(p1), types(p2)...); !slices.Equal(got, []string{audit.LoginFailed, audit.SessionCreated, audit.MembershipAdded}) {
			t.Fatalf("pages %v", got)
		}

		for _, tt := range []struct {
			name         string
			whenQuery    string
			expectFields []string
		}{
			{name: "unknown type", whenQuery: "type=login.nope", expectFields: []string{"type"}},
			{name: "SQL as a type", whenQuery: "type=" + url.QueryEscape("login.failed') OR 1=1 --"), expectFields: []string{"type"}},
			{name: "empty type in a list", whenQuery: "type=login.failed,", expectFields: []string{"type"}},
			{name: "since not RFC 3339", whenQuery: "since=yesterday", expectFields: []string{"since"}},
			{name: "until before since", whenQuery: "since=" + rfc(middle) + "&until=" + rfc(before), expectFields: []string{"until"}},
			{name: "user too long", whenQuery: "user=" + strings.Repeat("a", 37), expectFields: []string{"user"}},
			{name: "organization with a control character", whenQuery: "organization=a%00b", expectFields: []string{"organization"}},
			{name: "user twice", whenQuery: "user=a&user=b", expectFields: []string{"user"}},
			{name: "every problem at once", whenQuery: "type=x&since=y&user=" + strings.Repeat("a", 40), expectFields: []string{"user", "type", "since"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := list(tt.whenQuery).expect(t, http.StatusBadRequest, accounts.CodeBadQuery)
				if got := res.obstructionFields(); !slices.Equal(got, tt.expectFields) {
					t.Fatalf("obstructions name %v, want %v: %s", got, tt.expectFields, res.Raw)
				}
			})
		}

		// Hostile filters and page parameters are a 200 or a 400, never a
		// 500: bytes that are not UTF-8 (MariaDB compares them with a
		// utf8mb4 column), four-byte runes, times at the edges, tampered
		// cursors, page sizes out of range.
		for _, tt := range []struct {
			name        string
			whenQuery   string
			expect4xx   bool
			expectEmpty bool
		}{
			{name: "given a user that is not UTF-8, expect no 500", whenQuery: "user=%FF%FE%FD"},
			{name: "given an organization that is not UTF-8, expect no 500", whenQuery: "organization=a%C3"},
			{name: "given a user of four-byte runes, expect no event", whenQuery: "user=" + url.QueryEscape("😀😀"), expectEmpty: true},
			{name: "given a user of quotes and wildcards, expect no event", whenQuery: "user=" + url.QueryEscape("%' OR '1'='1"), expectEmpty: true},
			{name: "given since in year 9999, expect no event", whenQuery: "since=9999-12-31T23:59:59Z", expectEmpty: true},
			{name: "given since before 1970, expect 400", whenQuery: "since=1969-12-31T23:59:59Z", expect4xx: true},
			{name: "given an offset of +23:59, expect no 500", whenQuery: "since=2026-01-01T00:00:00%2B23:59"},
			{name: "given a cursor of garbage, expect 400", whenQuery: "pg[cursor]=" + url.QueryEscape("!!not-a-cursor\x00"), expect4xx: true},
			{name: "given a cursor of another list's shape, expect no 500", whenQuery: "pg[cursor]=" + url.QueryEscape(base64.RawURLEncoding.EncodeToString([]byte(`{"id":"' OR 1=1 --","t":-1}`)))},
			{name: "given a negative page size, expect 400", whenQuery: "pg[size]=-1", expect4xx: true},
			{name: "given a huge page size, expect no 500", whenQuery: "pg[size]=99999999999999999999"},
			{name: "given a thousand types, expect 400", whenQuery: "type=" + strings.Repeat("login.failed,", 1000) + "login.failed", expect4xx: true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := list(tt.whenQuery)
				if res.Status >= 500 || (tt.expect4xx && res.Status != http.StatusBadRequest) || (!tt.expect4xx && res.Status != http.StatusOK && res.Status != http.StatusBadRequest) {
					t.Fatalf("answer %d: %s", res.Status, res.Raw)
				}
				if tt.expectEmpty && (res.Status != http.StatusOK || len(types(res)) != 0) {
					t.Fatalf("answer %d, want 200 and no event: %s", res.Status, res.Raw)
				}
			})
		}

		// Only a sysadmin reads the log: 403 to an employee and to the
		// users the events are about, 401 without a user.
		s.do(by(app, emp), "GET", "/audit-events", nil).expect(t, http.StatusForbidden)
		s.do(by(app, ann), "GET", "/audit-events?user="+ann.ID, nil).expect(t, http.StatusForbidden)
		s.do(anonymous(app), "GET", "/audit-events", nil).expect(t, http.StatusUnauthorized)
	})
}

// TestAuditStoreFailureKeepsTheAction: with the audit table gone, a
// sysadmin's role grant still succeeds (the role is granted), and the
// lost event is logged at error level with its details, not dropped.
func TestAuditStoreFailureKeepsTheAction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		ann := s.user("Ann")
		app := s.client(s.org("Home", admin))
		if _, err := d.SQL().ExecContext(s.ctx, "DROP TABLE audit_events"); err != nil {
			t.Fatal(err)
		}
		s.do(by(app, admin), "POST", "/users/"+ann.ID+"/roles", map[string]any{"type": "user-roles", "id": db.RoleEmployee}).expect(t, http.StatusCreated)
		if roles := s.userRolesOf(t, ann); !slices.Contains(roles, db.RoleEmployee) {
			t.Fatalf("roles %v: the grant did not happen", roles)
		}
		logs := s.logs.String()
		if !strings.Contains(logs, "level=ERROR msg=\"audit: storing an event failed") || !strings.Contains(logs, "type=role.added") ||
			!strings.Contains(logs, "subject="+ann.ID) {
			t.Fatalf("the lost event was not logged as an error with its details:\n%s", logs)
		}
	})
}

// TestAuditLockout: once a source is locked out after failed passwords,
// the refused step is a login.locked event about the account, not
// another login.failed.
func TestAuditLockout(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	for range 5 {
		s.passwordLogin(app, "ann@example.com", "wrong password").expect(t, http.StatusUnauthorized)
	}
	s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	events, _ := s.auditRows(t)
	counts := map[string]int{}
	for _, e := range events {
		counts[e.Type]++
	}
	if counts[audit.LoginFailed] != 5 || counts[audit.LoginLocked] != 1 || counts[audit.SessionCreated] != 0 {
		t.Fatalf("events %v, want 5 login.failed and 1 login.locked", counts)
	}
	locked := findEvent(t, events, audit.LoginLocked, ann.ID)
	if locked.Reason != accounts.CodeRegulated || locked.Outcome != db.AuditFailure || locked.Data["step"] != "password" {
		t.Fatalf("lockout event %+v", locked)
	}
}

// TestAuditFactorsAndMailbox: a registration's address verified by its
// code, TOTP turned on and off, new recovery codes, a sysadmin's reset
// of every factor and a password reset by a mailed code each leave their
// event, and none of the codes, the TOTP secret or the address is stored
// or logged.
func TestAuditFactorsAndMailbox(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	admin := s.user("Admin", db.RoleSysadmin)
	app := s.client(s.org("Home", admin))
	sess := s.register(t, app, "Dora", "dora@example.com", testPassword)
	verifyCode := s.lastCode(t, "dora@example.com")
	s.verifyOwn(t, app, sess, "dora@example.com").expect(t, http.StatusOK)

	secret := s.enrolTOTPFor(t, app, sess, true)
	codes := s.withMacaroon(app, sess, "POST", "/users/current/recovery-codes", map[string]any{"currentPassword": testPassword}).
		expect(t, http.StatusCreated).data()["codes"].([]any)
	s.withMacaroon(app, sess, "DELETE", "/users/current/totp", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	s.do(by(app, admin), "DELETE", "/users/"+sess.UserID+"/factors", nil).expect(t, http.StatusOK)

	s.askRecovery(app, "dora@example.com").expect(t, http.StatusAccepted)
	recoveryCode, _ := s.waitRecovery(t, "dora@example.com", 1)
	s.resetWith(app, recoveryCode, newAuditPassword).expect(t, http.StatusOK)

	events, stored := s.auditRows(t)
	for _, want := range []struct{ typ, factor string }{
		{audit.EmailVerified, ""}, {audit.FactorAdded, "totp"}, {audit.FactorAdded, "recovery-codes"},
		{audit.FactorRemoved, "totp"}, {audit.FactorRemoved, "all"}, {audit.PasswordReset, ""},
	} {
		found := false
		for _, e := range events {
			found = found || (e.Type == want.typ && e.SubjectUserID == sess.UserID && e.Data["factor"] == want.factor)
		}
		if !found {
			findEvent(t, events, want.typ, sess.UserID)
			t.Errorf("no %s event with factor %q", want.typ, want.factor)
		}
	}
	if e := findEvent(t, events, audit.FactorRemoved, sess.UserID); e.Data["factor"] == "all" && e.ActorUserID != admin.ID {
		t.Errorf("the reset's actor is %q, want the sysadmin", e.ActorUserID)
	}
	secrets := []string{verifyCode, secret, recoveryCode, "dora@example.com", testPassword, newAuditPassword, sess.Refresh}
	for _, c := range codes {
		secrets = append(secrets, c.(string))
	}
	lines := s.auditLines()
	for _, secret := range secrets {
		if secret == "" {
			t.Fatal("an empty secret")
		}
		if strings.Contains(stored, secret) || strings.Contains(lines, secret) {
			t.Errorf("%q is in a stored row or an audit line", secret)
		}
	}
}

// TestAuditStepUp: a forged step-up token and a wrong password are
// failed stepup.granted events with their error codes; a good proof is
// a granted one naming the factor.
func TestAuditStepUp(t *testing.T) {
	s := stepUpStack(t, dbtest.SQLite(t))
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	sess := stepUpSessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	up := sess.StepUp["DELETE"]
	cid := caveatIDOf(t, s.withAuthorization(app, up, "DELETE", "/users/current/emails/"+s.id(), nil))
	post := func(body map[string]any) response {
		return s.withAuthorization(app, sess.Macaroons["POST"], "POST", "/discharge", body)
	}
	forged := []byte(up)
	i := len(forged) - 5
	forged[i] = map[bool]byte{true: 'B', false: 'A'}[forged[i] == 'A']
	post(map[string]any{"token": string(forged), "currentPassword": testPassword}).expect(t, http.StatusBadRequest, accounts.CodeNotStepUpCaveat)
	post(map[string]any{"caveatId": cid, "currentPassword": "a guess"}).expect(t, http.StatusForbidden, accounts.CodeIncorrectPassword)
	post(map[string]any{"caveatId": cid}).expect(t, http.StatusBadRequest, accounts.CodeInvalidData)
	post(map[string]any{"caveatId": cid, "currentPassword": testPassword}).expect(t, http.StatusOK)

	events, _ := s.auditRows(t)
	var got []string
	for _, e := range events {
		if e.Type == audit.StepUpGranted {
			if e.SubjectUserID != ann.ID || e.ActorUserID != ann.ID {
				t.Errorf("step-up event %+v: want Ann as actor and subject", e)
			}
			got = append(got, e.Outcome+"/"+e.Reason+"/"+e.Data["factor"])
		}
	}
	// One millisecond (the fixed clock) holds them all: in any order.
	want := []string{"failure/" + accounts.CodeIncorrectPassword + "/", "failure/" + accounts.CodeNotStepUpCaveat + "/", "success//password"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("step-up events %v, want %v", got, want)
	}
}

// TestAuditOrganizationsAndMemberships: an organization's life (created,
// an invitation, accepted, its flags changed, the member leaving, the
// organization deleted) leaves one event per change, each naming the
// organization, the member and who acted.
func TestAuditOrganizationsAndMemberships(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	owner, joiner := s.user("Owner"), s.user("Joiner")
	app := s.client(s.org("Base", owner))
	org := s.do(by(app, owner), "POST", "/organizations", map[string]any{"type": "organizations", "name": "Club"}).expect(t, http.StatusCreated).data()["id"].(string)
	step := func() { s.clock.Advance(time.Millisecond) } // events sort by time
	step()
	m := s.do(by(app, owner), "POST", "/organizations/"+org+"/memberships", map[string]any{"type": "org-memberships",
		"user": map[string]any{"data": map[string]any{"type": "users", "id": joiner.ID}}, "read": true, "edit": true}).expect(t, http.StatusCreated).data()["id"].(string)
	step()
	s.do(by(app, joiner), "POST", "/org-memberships/"+m+"/accept", nil).expect(t, http.StatusOK)
	step()
	s.do(by(app, owner), "PATCH", "/org-memberships/"+m, map[string]any{"edit": false}).expect(t, http.StatusOK)
	step()
	s.do(by(app, joiner), "DELETE", "/org-memberships/"+m, nil).expect(t, http.StatusOK)
	step()
	s.do(by(app, owner), "DELETE", "/organizations/"+org, nil).expect(t, http.StatusOK)

	events, _ := s.auditRows(t)
	var got []string
	for _, e := range events {
		if e.OrgID != org {
			continue
		}
		got = append(got, e.Type+" by="+nameOf(e.ActorUserID, owner, joiner)+" about="+nameOf(e.SubjectUserID, owner, joiner)+" flags="+e.Data["flags"]+" pending="+e.Data["pending"])
	}
	want := []string{
		"organization.created by=owner about= flags= pending=",
		"membership.added by=owner about=joiner flags=read,edit pending=true",
		"membership.accepted by=joiner about=joiner flags= pending=",
		"membership.changed by=owner about=joiner flags=read pending=",
		"membership.removed by=joiner about=joiner flags= pending=",
		"organization.deleted by=owner about= flags= pending=",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// nameOf names the user ID as owner or joiner, "" for none.
func nameOf(id string, owner, joiner db.User) string {
	switch id {
	case owner.ID:
		return "owner"
	case joiner.ID:
		return "joiner"
	}
	return id
}

// TestAuditOIDCConsent: allowing an OpenID Connect client on the consent
// page and withdrawing the consent are recorded, naming the client.
func TestAuditOIDCConsent(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
	now := s.clock.Now()
	id := s.id()
	if err := s.d.CreateOIDCAuthRequest(s.ctx, db.OIDCAuthRequest{ID: id, ClientID: app.ID, RedirectURI: "https://rp.example/cb",
		Scopes: []string{"openid"}, ResponseType: "code", MaxAgeS: -1, CreatedMs: now.UnixMilli(), ExpiresMs: now.Add(10 * time.Minute).UnixMilli(),
		BrowserHash: browserHash}); err != nil {
		t.Fatal(err)
	}
	s.withMacaroon(app, sess, "POST", "/oidc-requests/"+id+"/decision", map[string]any{"allow": true, "browser": testBrowser}).expect(t, http.StatusOK)
	s.clock.Advance(time.Millisecond)
	s.withMacaroon(app, sess, "DELETE", "/users/current/oidc-consents/"+app.ID, nil).expect(t, http.StatusOK)

	events, _ := s.auditRows(t)
	granted := findEvent(t, events, audit.ConsentGranted, ann.ID)
	revoked := findEvent(t, events, audit.ConsentRevoked, ann.ID)
	if granted.Data["client"] != app.ID || granted.Data["scopes"] != "openid" || granted.ActorUserID != ann.ID || revoked.Data["client"] != app.ID {
		t.Fatalf("consent events %+v, %+v", granted, revoked)
	}
}

// TestAuditPasskeys: a passkey added and removed is recorded with its ID
// (a software authenticator answers the ceremony).
func TestAuditPasskeys(t *testing.T) {
	s := passkeyStack(t, dbtest.SQLite(t), "http://localhost")
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	opts := s.do(by(app, ann), "POST", "/users/current/passkeys/options", map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)
	added := s.do(by(app, ann), "POST", "/users/current/passkeys", map[string]any{"name": "key",
		"credential": softRegistration(t, opts.data()["options"], "localhost", "http://localhost")}).expect(t, http.StatusCreated)
	id := added.data()["id"].(string)
	s.clock.Advance(time.Millisecond)
	s.do(by(app, ann), "DELETE", "/users/current/passkeys/"+id, map[string]any{"currentPassword": testPassword}).expect(t, http.StatusOK)

	events, _ := s.auditRows(t)
	add, remove := findEvent(t, events, audit.FactorAdded, ann.ID), findEvent(t, events, audit.FactorRemoved, ann.ID)
	if add.Data["factor"] != "passkey" || add.Data["passkey"] != id || remove.Data["factor"] != "passkey" || remove.Data["passkey"] != id {
		t.Fatalf("passkey events %+v, %+v", add, remove)
	}
}

// TestAuditTypesInOpenAPI keeps the OpenAPI document's list of event
// types equal to audit.Types, in order.
func TestAuditTypesInOpenAPI(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(accounts.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, ty := range audit.Types {
		want = append(want, ty.Name)
	}
	if got := doc.Components.Schemas["AuditEvent"].Properties["event"].Enum; !slices.Equal(got, want) {
		t.Fatalf("openapi.json lists the event types %v, want audit.Types %v", got, want)
	}
}

// TestAuditIPNotForged: the ip of an event is the one the gateway judged
// (the socket peer, no proxy being trusted here), never an address a
// client writes in a forwarding header.
func TestAuditIPNotForged(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		for _, tt := range []struct {
			name         string
			givenHeaders []string
		}{
			{"given X-Forwarded-For, expect the peer", []string{"X-Forwarded-For", "203.0.113.66"}},
			{"given a chain in X-Forwarded-For, expect the peer", []string{"X-Forwarded-For", "203.0.113.66, 198.51.100.7"}},
			{"given X-Real-IP and Forwarded, expect the peer", []string{"X-Real-IP", "203.0.113.66", "Forwarded", "for=203.0.113.66"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req := s.newRequest(app, "POST", "/sessions/login/password", map[string]any{"email": "ann@example.com", "password": "not the password at all", "state": s.newState()})
				for i := 0; i < len(tt.givenHeaders); i += 2 {
					req.Header.Add(tt.givenHeaders[i], tt.givenHeaders[i+1])
				}
				s.raw(req).expect(t, http.StatusUnauthorized, accounts.CodeIncorrectPassword)
				events, _ := s.auditRows(t)
				last := events[len(events)-1]
				if last.Type != audit.LoginFailed || last.IP != "127.0.0.1" {
					t.Fatalf("last event %s with ip %q, want %s with the peer 127.0.0.1", last.Type, last.IP, audit.LoginFailed)
				}
			})
		}
	})
}
