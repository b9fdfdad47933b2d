package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
)

// TestUsers lists, shows, bans, unbans and changes the roles of users
// from the command line, in order on one database, and checks what the
// API's rules make of it: a ban ends the user's sessions and feeds the
// gateways' revocations, a role taken ends them too, the last unbanned
// sysadmin keeps the role and is not banned.
func TestUsers(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, creds bootstrapOutput) {
		d := openDB(t, dsn)
		ops := creds.UserID
		bob, bobSessions := newUser(t, d, "Bob", "bob@example.com", 2)
		ann, _ := newUser(t, d, "Ann", "ann@example.com", 0)

		// Paging: two pages of two cover the three users once each.
		first := runCLI(t, args("users", "list", "--limit", "2", "--database", dsn))
		expectResult(t, first, exitOK, []string{"ID", "EMAILS", "More: authgw users list --limit 2 --cursor "}, nil)
		m := nextCursor.FindStringSubmatch(first.stdout)
		if m == nil {
			t.Fatalf("no cursor in %q", first.stdout)
		}
		second := runCLI(t, args("users", "list", "--limit", "2", "--cursor", m[1], "--database", dsn))
		expectResult(t, second, exitOK, nil, nil)
		for _, id := range []string{ops, bob, ann} {
			if n := strings.Count(first.stdout+second.stdout, id); n != 1 {
				t.Errorf("user %s is on the two pages %d times, want 1:\n%s\n%s", id, n, first.stdout, second.stdout)
			}
		}
		if strings.Contains(second.stdout, "More:") {
			t.Errorf("the last page offers another: %q", second.stdout)
		}

		runSteps(t, dsn, []adminStep{
			{name: "list: addresses in full, roles; never a hash", whenArgs: []string{"users", "list"},
				expectStdout: []string{"Ops@acme.example", "bob@example.com", "sysadmin,user", "Ops Team"}, expectNot: []string{"argon2id"}},
			{name: "list --json", whenArgs: []string{"users", "list", "--json"},
				expectStdout: []string{`"users": [`, `"email": "bob@example.com"`, `"roles": [`}, expectNot: []string{"nextCursor", "argon2id", "password"}},
			{name: "list an organization's members with their flags", whenArgs: []string{"users", "list", "--org", creds.OrganizationID},
				expectStdout: []string{"MEMBERSHIP", ops, "read,edit,manage,delete"}, expectNot: []string{bob}},
			{name: "list: unknown organization", whenArgs: []string{"users", "list", "--org", "no-such-org"},
				expectCode: exitFailure, expectStderr: []string{"no organization no-such-org"}},
			{name: "list: limit out of range", whenArgs: []string{"users", "list", "--limit", "101"},
				expectCode: exitUsage, expectStderr: []string{"--limit: want 1 to 100"}},
			{name: "list: forged cursor", whenArgs: []string{"users", "list", "--cursor", "not-a-cursor"},
				expectCode: exitUsage, expectStderr: []string{"--cursor"}},
			{name: "show by address, in any case", whenArgs: []string{"users", "show", "OPS@acme.example"},
				expectStdout: []string{ops, "Ops@acme.example (verified", "MEMBER OF", "Acme", "LIVE SESSIONS  0"}, expectNot: []string{"argon2id"}},
			{name: "show --json: live sessions", whenArgs: []string{"users", "show", bob, "--json"},
				expectStdout: []string{`"liveSessions": 2`, `"memberships": []`}},
			{name: "show: unknown user", whenArgs: []string{"users", "show", "no-such-user"}, expectCode: exitFailure, expectStderr: []string{"no user no-such-user"}},
			{name: "show: unknown address", whenArgs: []string{"users", "show", "nobody@example.com"}, expectCode: exitFailure, expectStderr: []string{"no user holds nobody@example.com verified"}},
			{name: "show: no USER", whenArgs: []string{"users", "show"}, expectCode: exitUsage, expectStderr: []string{"missing USER"}},
			{name: "ban: a malformed --redis is refused before anything is written", whenArgs: []string{"users", "ban", bob, "--redis", "redis://:Sup3rSecret@127.0.0.1:notaport/0"},
				expectCode: exitUsage, expectStderr: []string{"--redis"}, expectNot: []string{"Sup3rSecret"}},
			{name: "ban (so not banned before)", whenArgs: []string{"users", "ban", "bob@example.com"}, expectStdout: []string{"banned user " + bob}},
			{name: "ban again: nothing to do", whenArgs: []string{"users", "ban", bob}, expectStdout: []string{"is banned already"}},
			{name: "the last sysadmin is not banned", whenArgs: []string{"users", "ban", ops},
				expectCode: exitFailure, expectStderr: []string{"last unbanned sysadmin", "LAST-SYSADMIN"}},
			{name: "the last sysadmin keeps the role", whenArgs: []string{"users", "roles", ops, "--remove", "sysadmin"},
				expectCode: exitFailure, expectStderr: []string{"LAST-SYSADMIN"}},
			{name: "not a role", whenArgs: []string{"users", "roles", bob, "--add", "root"},
				expectCode: exitUsage, expectStderr: []string{`"root" is not one of sysadmin, employee, user`}},
			{name: "show roles", whenArgs: []string{"users", "roles", bob}, expectStdout: []string{bob, "user"}},
			{name: "give two roles", whenArgs: []string{"users", "roles", bob, "--add", "employee", "--add", "sysadmin"},
				expectStdout: []string{"employee,sysadmin,user"}},
			{name: "a role the user has", whenArgs: []string{"users", "roles", bob, "--add", "employee"},
				expectCode: exitFailure, expectStderr: []string{"has this role already", "DUPLICATE"}},
			{name: "a role the user lacks", whenArgs: []string{"users", "roles", ann, "--remove", "employee"},
				expectCode: exitFailure, expectStderr: []string{"does not have the role employee"}},
			{name: "a banned sysadmin does not count", whenArgs: []string{"users", "ban", ops}, expectCode: exitFailure, expectStderr: []string{"LAST-SYSADMIN"}},
			{name: "unban", whenArgs: []string{"users", "unban", bob, "--json"}, expectStdout: []string{`"id": "` + bob + `"`}, expectNot: []string{"bannedMs"}},
			{name: "unban again: nothing to do", whenArgs: []string{"users", "unban", bob}, expectStdout: []string{"was not banned"}},
			{name: "now another sysadmin may be banned", whenArgs: []string{"users", "ban", ops}, expectStdout: []string{"banned user " + ops}},
			{name: "and the remaining one keeps the role", whenArgs: []string{"users", "roles", bob, "--remove", "sysadmin"},
				expectCode: exitFailure, expectStderr: []string{"LAST-SYSADMIN"}},
			{name: "take a role", whenArgs: []string{"users", "roles", bob, "--remove", "employee", "--json"},
				expectStdout: []string{`"roles": [`, `"sysadmin"`}, expectNot: []string{"employee"}},
		})

		// The ban ended Bob's sessions, as the API's does, and fed the
		// gateways the user and each session.
		for _, id := range bobSessions {
			s, err := d.GetSession(t.Context(), id)
			if err != nil || s.InvalidatedMs == 0 || s.InvalidatedReason != "banned" {
				t.Errorf("session %s after the ban: %+v %v, want invalidated for banned", id, s, err)
			}
		}
		revs, err := d.RevocationsSince(t.Context(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var users, sessions []string
		for _, r := range revs {
			switch r.Kind {
			case db.RevokeUser:
				users = append(users, r.Subject)
			case db.RevokeSession:
				sessions = append(sessions, r.Subject)
			}
		}
		// Bob: banned, then a role taken; Ops: banned.
		if !slices.Contains(users, bob) || !slices.Contains(users, ops) || !slices.Contains(sessions, bobSessions[0]) || !slices.Contains(sessions, bobSessions[1]) {
			t.Errorf("revocations: users %v sessions %v; want Bob, Ops and Bob's two sessions", users, sessions)
		}
		u, err := d.GetUser(t.Context(), bob)
		if err != nil || u.BannedMs != 0 || !slices.Equal(u.Roles, []string{db.RoleSysadmin, db.RoleUser}) {
			t.Errorf("Bob at the end: %+v %v", u, err)
		}
		var shown struct{ Users []struct{ ID, Name string } }
		if err := json.Unmarshal([]byte(mustRun(t, args("users", "list", "--json", "--database", dsn))), &shown); err != nil || len(shown.Users) != 3 {
			t.Errorf("users list --json: %+v %v", shown, err)
		}
	})
}

// TestAdminTables_hostileNames: names that users chose reach the
// operator's terminal only as printable text. The API refuses control
// characters in names but the store does not (older rows), and neither
// refuses format characters such as a right-to-left override, which
// would make a table lie about its columns.
func TestAdminTables_hostileNames(t *testing.T) {
	dsn := migratedDSN(t)
	d := openDB(t, dsn)
	const hostile = "Eve\x1b]0;pwned\x07\u202egnp.exe\u200b\tX"
	eve, _ := newUser(t, d, hostile, "eve@example.com", 0)
	for _, a := range [][]string{{"users", "list"}, {"users", "show", eve}} {
		out := mustRun(t, args(append(a, "--database", dsn)...))
		if strings.ContainsAny(out, "\x1b\x07\u202e\u200b\t") {
			t.Errorf("authgw %s prints a control or format character: %q", strings.Join(a, " "), out)
		}
		if !strings.Contains(out, "Eve\uFFFD]0;pwned\uFFFD\uFFFDgnp.exe\uFFFD\uFFFDX") {
			t.Errorf("authgw %s: %q, want the name with each unprintable rune as U+FFFD", strings.Join(a, " "), out)
		}
	}
	// JSON is exact: a script gets the name as stored, escaped by JSON.
	if out := mustRun(t, args("users", "show", eve, "--json", "--database", dsn)); !strings.Contains(out, `Eve\u001b]0;pwned\u0007`) {
		t.Errorf("users show --json: %q", out)
	}
}
