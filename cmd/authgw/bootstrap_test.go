package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
)

const goodPassword = "correct horse battery staple"

// bootstrapArgs are a valid bootstrap command line on the database dsn.
func bootstrapArgs(dsn string, extra ...string) []string {
	return append([]string{"bootstrap", "--org", "Acme", "--email", "Ops@Acme.Example", "--name", "Ops Team", "--password-stdin", "--database", dsn}, extra...)
}

// openDB opens a database the CLI wrote, for checking it.
func openDB(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestBootstrap runs bootstrap on an empty SQLite database and checks
// the output and every row it wrote, then that a second run refuses.
func TestBootstrap(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
	r := runCLI(t, invocation{args: bootstrapArgs(dsn), stdin: goodPassword + "\n"})
	expectResult(t, r, exitOK, nil, nil)
	if strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("stdout is not one line: %q", r.stdout)
	}
	var out struct {
		OrganizationID, UserID, ClientID, ClientSecret string
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("stdout is not the JSON object: %v: %q", err, r.stdout)
	}
	secret, err := base64.RawURLEncoding.DecodeString(out.ClientSecret)
	if err != nil || len(secret) != 32 {
		t.Errorf("clientSecret %q is not 256 bits in unpadded base64url (%v)", out.ClientSecret, err)
	}

	ctx := context.Background()
	d := openDB(t, dsn)
	client, err := d.GetClient(ctx, out.ClientID)
	if err != nil {
		t.Fatalf("GetClient: %v", err)
	}
	sum := sha256.Sum256([]byte(out.ClientSecret))
	if client.SecretHash != hex.EncodeToString(sum[:]) {
		t.Errorf("stored secret hash %q is not the SHA-256 hex of the printed secret", client.SecretHash)
	}
	if client.OrganizationID != out.OrganizationID || !slices.Equal(client.Roles, []string{"internal", "system"}) ||
		client.ReqsPerSec != db.UnlimitedReqsPerSec {
		t.Errorf("client = %+v, want the organization's, roles internal and system, unlimited", client)
	}
	user, email, err := d.GetUserByEmail(ctx, "Ops@acme.example")
	if err != nil {
		t.Fatalf("GetUserByEmail (normalized address): %v", err)
	}
	if user.ID != out.UserID || user.Name != "Ops Team" || !slices.Equal(user.Roles, []string{"sysadmin", "user"}) {
		t.Errorf("user = %+v, want %s, Ops Team, roles sysadmin and user", user, out.UserID)
	}
	if email.VerifiedMs != fixedNow.UnixMilli() {
		t.Errorf("email verified at %d, want the bootstrap time %d", email.VerifiedMs, fixedNow.UnixMilli())
	}
	ok, rehash, err := password.Verify(goodPassword, user.PasswordHash, password.DefaultParams)
	if err != nil || !ok || rehash {
		t.Errorf("stored password hash: Verify = %v, %v, %v", ok, rehash, err)
	}
	m, err := d.GetUserMembership(ctx, out.OrganizationID, out.UserID)
	if err != nil {
		t.Fatalf("GetUserMembership: %v", err)
	}
	if !m.Read || !m.Edit || !m.Manage || !m.Delete {
		t.Errorf("membership = %+v, want all four flags", m)
	}
	if strings.Contains(r.stderr, out.ClientSecret) || strings.Contains(r.stderr, goodPassword) {
		t.Errorf("stderr repeats a secret: %q", r.stderr)
	}

	r = runCLI(t, invocation{args: bootstrapArgs(dsn), stdin: goodPassword + "\n"})
	expectResult(t, r, exitFailure, nil, []string{"authgw: bootstrap: already bootstrapped"})
	if r.stdout != "" {
		t.Errorf("the refused run printed %q", r.stdout)
	}
}

// TestBootstrap_refusals checks the usage errors (exit 2) and the
// refusals (exit 1) that leave the database without users.
func TestBootstrap_refusals(t *testing.T) {
	tests := []struct {
		name         string
		whenArgs     func(dsn string) []string
		whenStdin    string
		expectCode   int
		expectStderr string
	}{
		{name: "common password", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn) }, whenStdin: "Password1\n", expectCode: exitFailure, expectStderr: "authgw: bootstrap: password refused by the policy: one of the most common passwords"},
		{name: "short password", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn) }, whenStdin: "s3cr3t\n", expectCode: exitFailure, expectStderr: "too short"},
		{name: "password is the email", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn) }, whenStdin: "ops@acme.example\n", expectCode: exitFailure, expectStderr: "made of the user's name or address"},
		{name: "only the first line is the password", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn) }, whenStdin: "short\n" + goodPassword + "\n", expectCode: exitFailure, expectStderr: "too short"},
		{name: "empty standard input", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn) }, whenStdin: "", expectCode: exitUsage, expectStderr: "--password-stdin: no password on standard input"},
		{name: "no --password-stdin", whenArgs: func(dsn string) []string {
			return []string{"bootstrap", "--org", "Acme", "--email", "a@b.example", "--name", "N", "--database", dsn}
		}, whenStdin: goodPassword, expectCode: exitUsage, expectStderr: "--password-stdin: missing"},
		{name: "password as a flag", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn, "--password", goodPassword) }, expectCode: exitUsage, expectStderr: "flag provided but not defined: --password"},
		{name: "no --org", whenArgs: func(dsn string) []string {
			return []string{"bootstrap", "--email", "a@b.example", "--name", "N", "--password-stdin", "--database", dsn}
		}, whenStdin: goodPassword, expectCode: exitUsage, expectStderr: "--org: missing"},
		{name: "blank --name", whenArgs: func(dsn string) []string {
			return []string{"bootstrap", "--org", "Acme", "--email", "a@b.example", "--name", "  ", "--password-stdin", "--database", dsn}
		}, whenStdin: goodPassword, expectCode: exitUsage, expectStderr: "--name: missing"},
		{name: "bad --email", whenArgs: func(dsn string) []string {
			return []string{"bootstrap", "--org", "Acme", "--email", "not-an-address", "--name", "N", "--password-stdin", "--database", dsn}
		}, whenStdin: goodPassword, expectCode: exitUsage, expectStderr: "authgw: bootstrap: --email: no @"},
		{name: "positional argument", whenArgs: func(dsn string) []string { return bootstrapArgs(dsn, "extra") }, whenStdin: goodPassword, expectCode: exitUsage, expectStderr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "authgw.db")
			r := runCLI(t, invocation{args: tt.whenArgs(dsn), stdin: tt.whenStdin})
			expectResult(t, r, tt.expectCode, nil, []string{tt.expectStderr})
			if r.stdout != "" {
				t.Errorf("a refused bootstrap printed %q", r.stdout)
			}
			if strings.Contains(r.stderr, goodPassword) {
				t.Errorf("stderr repeats the password: %q", r.stderr)
			}
			// The database, if created, holds no user: bootstrap can run.
			r = runCLI(t, invocation{args: bootstrapArgs(dsn), stdin: goodPassword + "\r\n"})
			expectResult(t, r, exitOK, []string{`"clientSecret":"`}, nil)
		})
	}
}

// TestBootstrap_dataDir checks that bootstrap finds the default database
// in the data directory, as migrate does.
func TestBootstrap_dataDir(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, invocation{args: []string{"bootstrap", "--org", "Acme", "--email", "a@b.example", "--name", "N", "--password-stdin", "--data-dir", dir}, stdin: goodPassword})
	expectResult(t, r, exitOK, []string{`"organizationId":"`}, nil)
	r = runCLI(t, args("migrate", "status", "--data-dir", dir))
	expectResult(t, r, exitOK, []string{"0001 init", "applied"}, nil)
}
