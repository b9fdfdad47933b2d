package main

import (
	"strings"
	"testing"
)

// TestOrgs creates and lists organizations from the command line, in
// order on one database: the owner is the first member with every flag,
// as the API makes the user who creates one.
func TestOrgs(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, creds bootstrapOutput) {
		d := openDB(t, dsn)
		bob, _ := newUser(t, d, "Bob", "bob@example.com", 0)
		created := runJSON[orgJSONOut](t, "orgs", "create", "--name", "Globex", "--owner", "bob@example.com", "--json", "--database", dsn)
		m, err := d.GetUserMembership(t.Context(), created.ID, bob)
		if err != nil || !m.Read || !m.Edit || !m.Manage || !m.Delete || m.Pending {
			t.Errorf("Bob's membership of the new organization: %+v %v, want every flag", m, err)
		}
		runSteps(t, dsn, []adminStep{
			{name: "list", whenArgs: []string{"orgs", "list"}, expectStdout: []string{"2FA-REQUIRED", "Acme", "Globex", creds.OrganizationID, created.ID}},
			{name: "list --json, a page of one", whenArgs: []string{"orgs", "list", "--json", "--limit", "1"}, expectStdout: []string{`"organizations": [`, `"nextCursor": "`}},
			{name: "create: a table line", whenArgs: []string{"orgs", "create", "--name", "Initech", "--owner", bob}, expectStdout: []string{"created organization ", "(Initech), owner " + bob}},
			{name: "create: unknown owner", whenArgs: []string{"orgs", "create", "--name", "X", "--owner", "nobody"}, expectCode: exitFailure, expectStderr: []string{"no user nobody"}},
			{name: "create: a control character in the name", whenArgs: []string{"orgs", "create", "--name", "a\tb", "--owner", bob}, expectCode: exitUsage, expectStderr: []string{"control characters"}},
			{name: "create: missing owner", whenArgs: []string{"orgs", "create", "--name", "X"}, expectCode: exitUsage, expectStderr: []string{"--name and --owner are required"}},
			{name: "the new members are listed", whenArgs: []string{"users", "list", "--org", created.ID}, expectStdout: []string{bob, "read,edit,manage,delete"}},
		})
		if out := mustRun(t, args("orgs", "list", "--database", dsn)); strings.Count(out, "\n") != 4 {
			t.Errorf("orgs list: %q, want a header and three organizations", out)
		}
	})
}
