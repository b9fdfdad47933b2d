package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
)

// createdClient is what clients create and rotate-secret print with --json.
type createdClient struct {
	ID, OrganizationID, Name, Secret string
	Roles                            []string
	ReqsPerSec                       int
}

// runJSON runs a command that must succeed and decodes its JSON output.
func runJSON[T any](t *testing.T, a ...string) T {
	t.Helper()
	var v T
	out := mustRun(t, args(a...))
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("authgw %s: %v in %q", strings.Join(a, " "), err, out)
	}
	return v
}

// secretHash is the hash the store keeps of a client secret.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TestClients creates, lists, rotates and restricts clients from the
// command line, in order on one database, with the API's rules: the
// secret is printed once and stored as its hash, restriction values are
// checked and stored in the form the gateway matches.
func TestClients(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, creds bootstrapOutput) {
		d := openDB(t, dsn)
		org := creds.OrganizationID

		app := runJSON[createdClient](t, "clients", "create", "--org", org, "--name", "Billing app", "--json", "--database", dsn)
		stored, err := d.GetClient(t.Context(), app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(app.Secret) < 43 || stored.SecretHash != secretHash(app.Secret) || app.OrganizationID != org ||
			!slices.Equal(stored.Roles, []string{db.ClientRoleExternal}) || stored.ReqsPerSec != 10 {
			t.Errorf("created %+v, stored %+v: want a 256-bit secret stored as its hash, the role external, 10 requests/s", app, stored)
		}
		rotated := runJSON[createdClient](t, "clients", "rotate-secret", "--client", app.ID, "--json", "--database", dsn)
		stored, _ = d.GetClient(t.Context(), app.ID)
		if rotated.Secret == app.Secret || stored.SecretHash != secretHash(rotated.Secret) {
			t.Errorf("after rotate-secret the store keeps %s, want the hash of the new secret", stored.SecretHash)
		}
		if err := d.CreateAPI(t.Context(), db.API{Name: "billing", Version: 1, URL: "http://127.0.0.1:9/", Upstreams: []string{"http://127.0.0.1:9/"},
			Active: true, CreatedMs: fixedNow.UnixMilli()}); err != nil {
			t.Fatal(err)
		}

		runSteps(t, dsn, []adminStep{
			{name: "create: the secret once, in a table", whenArgs: []string{"clients", "create", "--org", org, "--name", "Unlimited", "--reqs-per-sec", "-1"},
				expectStdout: []string{"SECRET", "shown only this time"}},
			{name: "list: never a secret", whenArgs: []string{"clients", "list", "--org", org},
				expectStdout: []string{"Billing app", "external", "10", "unlimited", "internal,system"}, expectNot: []string{rotated.Secret, app.Secret, stored.SecretHash}},
			{name: "list --json", whenArgs: []string{"clients", "list", "--org", org, "--json", "--limit", "1"},
				expectStdout: []string{`"clients": [`, `"nextCursor"`}, expectNot: []string{`"secret"`}},
			{name: "list without --org", whenArgs: []string{"clients", "list"}, expectCode: exitUsage, expectStderr: []string{"--org is required"}},
			{name: "list: unknown organization", whenArgs: []string{"clients", "list", "--org", "nope"}, expectCode: exitFailure, expectStderr: []string{"no organization nope"}},
			{name: "create: rate out of range", whenArgs: []string{"clients", "create", "--org", org, "--name", "x", "--reqs-per-sec", "1000001"},
				expectCode: exitUsage, expectStderr: []string{"reqsPerSec is from -1"}},
			{name: "create: control character in the name", whenArgs: []string{"clients", "create", "--org", org, "--name", "a\x1bb"},
				expectCode: exitUsage, expectStderr: []string{"control characters"}},
			{name: "create: name too long", whenArgs: []string{"clients", "create", "--org", org, "--name", strings.Repeat("é", 256)},
				expectCode: exitUsage, expectStderr: []string{"longer than 255"}},
			{name: "create: unknown organization", whenArgs: []string{"clients", "create", "--org", "nope", "--name", "x"},
				expectCode: exitFailure, expectStderr: []string{"No organization nope", "NOT-FOUND"}},
			{name: "create: missing flags", whenArgs: []string{"clients", "create", "--org", org}, expectCode: exitUsage, expectStderr: []string{"--org and --name are required"}},
			{name: "rotate: unknown client", whenArgs: []string{"clients", "rotate-secret", "--client", "nope"}, expectCode: exitFailure, expectStderr: []string{"No client nope"}},
			{name: "restrict: none yet", whenArgs: []string{"clients", "restrict", "--client", app.ID}, expectStdout: []string{"ID  TYPE  VALUE  CREATED\n"}},
			{name: "restrict: normalized as the gateway matches", whenArgs: []string{"clients", "restrict", "--client", app.ID,
				"--ip", "10.1.2.3", "--ip", "::ffff:192.0.2.0/120", "--host", "*.Example.COM.", "--api", "billing", "--api", "accounts"},
				expectStdout: []string{"10.1.2.3/32", "192.0.2.0/24", "*.example.com", "billing", "accounts"}},
			{name: "restrict: a scheme is no host", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--host", "https://app.example.com"},
				expectCode: exitUsage, expectStderr: []string{`--host "https://app.example.com"`, "without a scheme"}},
			{name: "restrict: a wildcard inside", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--host", "a.*.example.com"},
				expectCode: exitUsage, expectStderr: []string{"wildcard"}},
			{name: "restrict: not an address", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--ip", "10.0.0.300"},
				expectCode: exitUsage, expectStderr: []string{"not an IP address"}},
			{name: "restrict: an IPv6 zone", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--ip", "fe80::1%eth0"},
				expectCode: exitUsage, expectStderr: []string{"zone"}},
			{name: "restrict: an API not registered", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--api", "payroll"},
				expectCode: exitUsage, expectStderr: []string{"not the name of a registered API"}},
			{name: "restrict: the same, written otherwise", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--ip", "10.1.2.3/32"},
				expectCode: exitFailure, expectStderr: []string{"has this restriction already", "DUPLICATE"}},
			{name: "restrict: remove an unknown one", whenArgs: []string{"clients", "restrict", "--client", app.ID, "--remove", "nope"},
				expectCode: exitFailure, expectStderr: []string{"no restriction nope"}},
			{name: "restrict: unknown client", whenArgs: []string{"clients", "restrict", "--client", "nope", "--ip", "10.0.0.1"},
				expectCode: exitFailure, expectStderr: []string{"No client nope"}},
			{name: "clients oidc still works", whenArgs: []string{"clients", "oidc", "--client", app.ID, "--show"},
				expectStdout: []string{`"redirectUris": []`}},
		})

		xs, err := d.ListRestrictions(t.Context(), app.ID)
		if err != nil || len(xs) != 5 {
			t.Fatalf("restrictions %+v %v, want the five added", xs, err)
		}
		var removed []string
		for _, x := range xs {
			if x.Type != db.RestrictionAPI {
				removed = append(removed, "--remove", x.ID)
			}
		}
		left := runJSON[[]struct{ ID, Type, Value string }](t, append(append([]string{"clients", "restrict", "--client", app.ID, "--json"}, removed...), "--database", dsn)...)
		if len(left) != 2 || left[0].Type != db.RestrictionAPI || left[1].Type != db.RestrictionAPI {
			t.Errorf("after removing the ip and host restrictions: %+v, want the two api ones", left)
		}
	})
}

// TestClients_group: "clients" is a group of commands; alone it is a
// usage error, with a help flag it lists its commands, oidc among them.
func TestClients_group(t *testing.T) {
	for _, tc := range []struct {
		name         string
		whenArgs     []string
		expectCode   int
		expectStdout []string
		expectStderr []string
	}{
		{name: "alone", whenArgs: []string{"clients"}, expectCode: exitUsage, expectStderr: []string{"clients: missing subcommand"}},
		{name: "--help", whenArgs: []string{"clients", "--help"}, expectStdout: []string{"clients oidc", "clients rotate-secret", "clients restrict"}},
		{name: "help clients", whenArgs: []string{"help", "clients"}, expectStdout: []string{"clients oidc", "clients create"}},
		{name: "help users", whenArgs: []string{"help", "users"}, expectStdout: []string{"users ban", "users roles"}},
		{name: "orgs -h", whenArgs: []string{"orgs", "-h"}, expectStdout: []string{"orgs list", "orgs create"}},
		{name: "unknown subcommand", whenArgs: []string{"users", "delete"}, expectCode: exitUsage, expectStderr: []string{`unknown command "users delete"`}},
		{name: "the list names the new commands", whenArgs: []string{"help"}, expectStdout: []string{"users ban", "clients rotate-secret", "orgs create", "version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expectResult(t, runCLI(t, args(tc.whenArgs...)), tc.expectCode, tc.expectStdout, tc.expectStderr)
		})
	}
}
