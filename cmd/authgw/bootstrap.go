package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
)

const bootstrapUsage = `Usage: authgw bootstrap --org NAME --email E --name N --password-stdin [--database DSN] [--data-dir DIR] [--config FILE]

Sets up an empty authgw database so that a gateway can run without the
accounts API: it migrates the schema up, then creates

  - the organization NAME;
  - its first user: name N, email address E (marked verified: the
    operator typed it), the roles sysadmin and user, and full membership
    (read, edit, manage, delete) of the organization;
  - a system client of the organization, named "system", with the client
    roles system and internal (so it passes the accounts API's ISC rule),
    no rate limit, and a new 256-bit secret;

and prints, once, as one JSON line:

  {"organizationId":"...","userId":"...","clientId":"...","clientSecret":"..."}

The client secret is shown only this time: it is stored as its SHA-256
hash and never printed or logged again (the accounts API can issue a new
one). Keep the output somewhere safe.

The user's password is the first line of standard input (the line end is
dropped; nothing else is trimmed), never a flag:

  printf '%s\n' "$PASSWORD" | authgw bootstrap --org Acme --email ops@acme.example --name Ops --password-stdin

It must follow the password policy: 8 to 256 characters, not one of the
most common passwords, not the email address or the name.

bootstrap refuses to run when the database already has a user.

The database is found as for authgw migrate (see authgw migrate --help).

Flags:
  --org NAME          the organization's name
  --email E           the sysadmin user's email address
  --name N            the sysadmin user's name
  --password-stdin    read the user's password from standard input (required)
  --database DSN      sqlite:PATH or mysql:DSN
  --data-dir DIR      data directory, for the default SQLite file
  --config FILE       JSON config file (else AUTHGW_CONFIG)

Exit status: 0 done, 1 refused (already bootstrapped, password refused by
the policy) or failed, 2 usage error.
`

// Limits on bootstrap's input.
const (
	maxNameLength     = 255  // characters: the width of the name columns
	maxPasswordInput  = 4096 // bytes read from standard input
	clientSecretBytes = 32   // 256 bits
	systemClientName  = "system"
)

// errAlreadyBootstrapped means the database has a user already.
var errAlreadyBootstrapped = errors.New("already bootstrapped: the database has users (use the accounts API to add more)")

// bootstrapCommand is "authgw bootstrap".
type bootstrapCommand struct {
	db            databaseSettings
	org           string
	email         string
	name          string
	passwordStdin bool
}

// flagSet defines bootstrap's flags.
func (b *bootstrapCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("bootstrap")
	fs.StringVar(&b.org, "org", "", "organization name")
	fs.StringVar(&b.email, "email", "", "email address")
	fs.StringVar(&b.name, "name", "", "user name")
	fs.BoolVar(&b.passwordStdin, "password-stdin", false, "read the password from standard input")
	b.db.register(fs)
	return fs
}

// bootstrapOutput is what bootstrap prints, once.
type bootstrapOutput struct {
	OrganizationID string `json:"organizationId"`
	UserID         string `json:"userId"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret"`
}

// run creates the first organization, sysadmin user and system client.
// It fails with a usage error for missing or bad flags or an empty
// standard input, and with exit status 1 when the password breaks the
// policy, the database has users already, or a write fails.
func (b *bootstrapCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	org, err := checkName("--org", b.org)
	if err != nil {
		return err
	}
	name, err := checkName("--name", b.name)
	if err != nil {
		return err
	}
	if b.email == "" {
		return usagef("--email: missing")
	}
	email, err := db.NormalizeEmail(b.email)
	if err != nil {
		return flagError("--email", err)
	}
	if !b.passwordStdin {
		return usagef("--password-stdin: missing (the password is read from standard input, never from a flag)")
	}
	pw, err := readPasswordLine(c.stdin)
	if err != nil {
		return err
	}
	if err := password.CheckPolicy(pw, email, name, org); err != nil {
		return err
	}

	ctx := context.Background()
	d, err := b.db.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	users, _, err := d.ListUsers(ctx, db.Page{Size: 1})
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errAlreadyBootstrapped
	}
	hash, err := password.Hash(pw, password.DefaultParams, c.random)
	if err != nil {
		return err
	}
	secretBytes := make([]byte, clientSecretBytes)
	if _, err := io.ReadFull(c.random, secretBytes); err != nil {
		return fmt.Errorf("client secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(secretBytes)
	secretHash := sha256.Sum256([]byte(secret))

	out, err := createBootstrap(ctx, c, d, bootstrapRecords{
		org: org, name: name, email: email, passwordHash: hash, secretHash: hex.EncodeToString(secretHash[:]),
	})
	if errors.Is(err, db.ErrBootstrapped) {
		return errAlreadyBootstrapped
	}
	if err != nil {
		return err
	}
	out.ClientSecret = secret
	line, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", line)
	return nil
}

// bootstrapRecords are the checked inputs of createBootstrap.
type bootstrapRecords struct {
	org, name, email, passwordHash, secretHash string
}

// createBootstrap writes the user (with its email and roles), the
// organization (with the user's full membership) and the system client
// (with its roles) in one transaction (db.Bootstrap): all or nothing, so
// a failed bootstrap can simply be run again.
func createBootstrap(ctx context.Context, c *cli, d *db.DB, r bootstrapRecords) (bootstrapOutput, error) {
	ms := c.now().UnixMilli()
	newID := func() string { return db.NewID(c.now(), c.random) }
	user := db.NewUser{
		User:  db.User{ID: newID(), Name: r.name, PasswordHash: r.passwordHash, CreatedMs: ms},
		Email: db.Email{ID: newID(), Email: r.email, VerifiedMs: ms},
		Roles: []string{db.RoleSysadmin, db.RoleUser},
	}
	org := db.Organization{ID: newID(), Name: r.org, CreatedMs: ms}
	client := db.Client{
		ID: newID(), OrganizationID: org.ID, Name: systemClientName, SecretHash: r.secretHash,
		ReqsPerSec: db.UnlimitedReqsPerSec, CreatedMs: ms,
		Roles: []string{db.ClientRoleSystem, db.ClientRoleInternal},
	}
	if err := d.Bootstrap(ctx, user, org, db.Membership{ID: newID()}, client); err != nil {
		return bootstrapOutput{}, err
	}
	return bootstrapOutput{OrganizationID: org.ID, UserID: user.User.ID, ClientID: client.ID}, nil
}

// readPasswordLine reads the first line of r, without its line end
// ("\n" or "\r\n"). It fails with a usage error when r holds nothing.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, maxPasswordInput))
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", usagef("--password-stdin: no password on standard input")
	}
	return line, nil
}

// checkName checks an organization or user name given by flag: not
// empty once trimmed, valid UTF-8, no control characters, at most
// maxNameLength characters. It returns the trimmed name.
func checkName(flagName, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", usagef("%s: missing", flagName)
	case !utf8.ValidString(v):
		return "", usagef("%s: not valid UTF-8", flagName)
	case strings.ContainsFunc(v, unicode.IsControl):
		return "", usagef("%s: contains a control character", flagName)
	case utf8.RuneCountInString(v) > maxNameLength:
		return "", usagef("%s: longer than %d characters", flagName, maxNameLength)
	}
	return v, nil
}
