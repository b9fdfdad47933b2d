package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

// The "authgw users" commands. USER is a user ID, or an address the user
// holds verified. They print addresses in full: this is the operator's
// own terminal, the address is what an operator looks for, and the
// API's sysadmin view (GET /users/:id/emails) shows it too. They never
// print a password hash, a TOTP secret or a session's refresh token.

const usersListUsage = `Usage: authgw users list [--org ID] [--limit N] [--cursor C] [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Lists users, a page at a time in creation order, as GET /users does for a
sysadmin: ID, name, addresses (a "*" marks one not verified), roles,
second factor (TOTP), banned since, created. With --org, only the
members of that organization, with their membership flags (read, edit,
manage, delete; "invited" for an invitation not accepted yet).

When there is a next page, the last line says how to get it (--cursor).
--json prints {"users":[...],"nextCursor":"..."} instead.

Flags:
  --org ID          only the members of this organization
  --limit N         users per page, 1 to 100 (default 25)
  --cursor C        the page that starts at C (from the previous page)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such organization), 2 usage error.
`

const usersShowUsage = `Usage: authgw users show USER [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Shows one user: ID, name, addresses (verified or not), roles, second
factors, banned since, created, memberships of organizations and the
number of live sessions. USER is the user's ID or an address the user
holds verified.

Flags:
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such user), 2 usage error.
`

const usersBanUsage = `Usage: authgw users ban USER [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Bans the user, as PATCH /accounts/v1/users/:id {"banned":true} does: the
user can no longer sign in, every session of the user ends at once
(refresh tokens stop working) and the gateways refuse the user's tokens
(at once with --redis, else at their next poll). A banned user stays
banned. The last unbanned sysadmin is not banned: give another user
the role first (authgw users roles USER --add sysadmin).

Flags:
` + adminDatabaseFlags + `
Exit status: 0 done, 1 refused or failed (no such user, last
sysadmin), 2 usage error.
`

const usersUnbanUsage = `Usage: authgw users unban USER [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Lifts the user's ban, as PATCH /accounts/v1/users/:id {"banned":false}
does: the user may sign in again. The sessions the ban ended stay ended.

Flags:
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such user), 2 usage error.
`

const usersRolesUsage = `Usage: authgw users roles USER [--add ROLE]... [--remove ROLE]... [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Shows the user's roles, or changes them as POST /users/:id/roles and
DELETE /users/:id/roles/:role do, then shows them. ROLE is sysadmin,
employee or user. Adding a role takes effect at the user's next refresh;
removing one ends every session of the user, so that no token keeps the
policies of the role taken. The sysadmin role of the last unbanned
sysadmin is not taken. The additions are made first, in order, then the
removals; the command stops at the first refusal (a role the user has
already or lacks), having made the changes before it.

Flags:
  --add ROLE        give the role (repeatable)
  --remove ROLE     take the role (repeatable)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 refused or failed (no such user, a role the user
has already or lacks, last sysadmin), 2 usage error (not a role).
`

// userJSONOut is a user as the users commands print it in JSON.
type userJSONOut struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Emails     []emailJSONOut `json:"emails"`
	Roles      []string       `json:"roles"`
	TwoFactor  bool           `json:"2fa"`
	CreatedMs  int64          `json:"createdMs"`
	BannedMs   int64          `json:"bannedMs,omitempty"`
	Membership *memberJSONOut `json:"membership,omitempty"`
	// Memberships and LiveSessions are printed by users show only.
	Memberships  *[]memberJSONOut `json:"memberships,omitempty"`
	LiveSessions *int             `json:"liveSessions,omitempty"`
}

// emailJSONOut is one address of a user.
type emailJSONOut struct {
	ID         string `json:"id"`
	Email      string `json:"email"`
	VerifiedMs int64  `json:"verifiedMs,omitempty"`
}

// memberJSONOut is a membership of a user in an organization.
type memberJSONOut struct {
	ID               string   `json:"id"`
	OrganizationID   string   `json:"organizationId"`
	OrganizationName string   `json:"organizationName,omitempty"`
	Flags            []string `json:"flags"`
	Pending          bool     `json:"pending,omitempty"`
}

// userOut builds a user's JSON with its addresses.
func userOut(ctx context.Context, d *db.DB, u db.User) (userJSONOut, error) {
	es, err := d.ListEmails(ctx, u.ID)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return userJSONOut{}, err
	}
	out := userJSONOut{ID: u.ID, Name: u.Name, Emails: []emailJSONOut{}, Roles: nonNil(u.Roles), TwoFactor: u.TOTPEnabled,
		CreatedMs: u.CreatedMs, BannedMs: u.BannedMs}
	for _, e := range es {
		out.Emails = append(out.Emails, emailJSONOut{ID: e.ID, Email: e.Email, VerifiedMs: e.VerifiedMs})
	}
	return out, nil
}

// memberOut builds a membership's JSON.
func memberOut(m db.Membership, orgName string) memberJSONOut {
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{m.Read, "read"}, {m.Edit, "edit"}, {m.Manage, "manage"}, {m.Delete, "delete"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	return memberJSONOut{ID: m.ID, OrganizationID: m.OrganizationID, OrganizationName: orgName, Flags: nonNil(flags), Pending: m.Pending}
}

// flagsColumn prints a membership's flags in a table.
func (m memberJSONOut) flagsColumn() string {
	if m.Pending {
		return "invited:" + joinOrDash(m.Flags)
	}
	return joinOrDash(m.Flags)
}

// emailsColumn prints a user's addresses in a table, "*" after one not
// verified.
func (u userJSONOut) emailsColumn() string {
	var list []string
	for _, e := range u.Emails {
		if e.VerifiedMs == 0 {
			list = append(list, cell(e.Email)+"*")
		} else {
			list = append(list, cell(e.Email))
		}
	}
	return joinOrDash(list)
}

// findUser finds USER: a user ID, or an address the user holds verified.
// A deleted user is not found.
func findUser(ctx context.Context, d *db.DB, arg string) (db.User, error) {
	if strings.Contains(arg, "@") {
		addr, err := db.NormalizeEmail(arg)
		if err != nil {
			return db.User{}, usagef("USER: %q is neither a user ID nor an email address", arg)
		}
		u, _, err := d.GetUserByEmail(ctx, addr)
		if errors.Is(err, db.ErrNotFound) {
			return db.User{}, fmt.Errorf("no user holds %s verified (users list shows every address; give the user's ID)", addr)
		}
		return u, err
	}
	u, err := d.GetUser(ctx, arg)
	if errors.Is(err, db.ErrNotFound) || errors.Is(err, db.ErrInvalid) {
		return db.User{}, fmt.Errorf("no user %s", arg)
	}
	return u, err
}

// oneUser checks that exactly one positional argument, USER, was given.
func oneUser(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usagef("missing USER (a user ID or a verified address)")
	case 1:
		return args[0], nil
	}
	return "", usagef("want one USER, got %d arguments", len(args))
}

// usersListCommand is "authgw users list".
type usersListCommand struct {
	adminFlags
	pageFlags
	org string
}

func (u *usersListCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("users list")
	fs.StringVar(&u.org, "org", "", "organization ID")
	u.pageFlags.register(fs)
	u.adminFlags.register(fs)
	return fs
}

// run lists a page of users, or of an organization's members. It fails
// with a usage error for a bad --limit or --cursor, and with exit status
// 1 for no such organization or a database failure.
func (u *usersListCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	p, err := u.page()
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := u.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	var out []userJSONOut
	var info db.PageInfo
	if u.org == "" {
		var users []db.User
		if users, info, err = d.ListUsers(ctx, p); err != nil {
			return pageError(err)
		}
		for _, x := range users {
			o, err := userOut(ctx, d, x)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
	} else {
		var ms []db.Membership
		ms, info, err = d.ListOrgMemberships(ctx, u.org, p)
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("no organization %s", u.org)
		}
		if err != nil {
			return pageError(err)
		}
		for _, m := range ms {
			x, err := d.GetUser(ctx, m.UserID)
			if errors.Is(err, db.ErrNotFound) {
				continue // deleted since the page was read
			}
			if err != nil {
				return err
			}
			o, err := userOut(ctx, d, x)
			if err != nil {
				return err
			}
			mo := memberOut(m, "")
			o.Membership = &mo
			out = append(out, o)
		}
	}
	if u.json {
		return printJSON(c.stdout, struct {
			Users      []userJSONOut `json:"users"`
			NextCursor string        `json:"nextCursor,omitempty"`
		}{Users: append([]userJSONOut{}, out...), NextCursor: info.Next})
	}
	tw := newTable(c.stdout)
	header := "ID\tNAME\tEMAILS\tROLES\t2FA\tBANNED\tCREATED"
	if u.org != "" {
		header += "\tMEMBERSHIP"
	}
	fmt.Fprintln(tw, header)
	for _, x := range out {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", x.ID, cell(x.Name), x.emailsColumn(), joinOrDash(x.Roles), yesNo(x.TwoFactor), formatMs(x.BannedMs), formatMs(x.CreatedMs))
		if x.Membership != nil {
			line += "\t" + x.Membership.flagsColumn()
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	next := "users list"
	if u.org != "" {
		next += " --org " + u.org
	}
	printNext(c.stdout, fmt.Sprintf("%s --limit %d", next, p.Size), info)
	return nil
}

// usersShowCommand is "authgw users show".
type usersShowCommand struct{ adminFlags }

func (u *usersShowCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("users show")
	u.adminFlags.register(fs)
	return fs
}

// run shows one user. It fails with exit status 1 for no such user.
func (u *usersShowCommand) run(c *cli, args []string) error {
	arg, err := oneUser(args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := u.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	x, err := findUser(ctx, d, arg)
	if err != nil {
		return err
	}
	out, err := userOut(ctx, d, x)
	if err != nil {
		return err
	}
	ms, err := d.ListUserMemberships(ctx, x.ID)
	if err != nil {
		return err
	}
	members := []memberJSONOut{}
	for _, m := range ms {
		name := ""
		if org, err := d.GetOrganization(ctx, m.OrganizationID); err == nil {
			name = org.Name
		}
		members = append(members, memberOut(m, name))
	}
	out.Memberships = &members
	sessions, err := d.ListUserSessions(ctx, x.ID)
	if err != nil {
		return err
	}
	live := 0
	for _, s := range sessions {
		if s.Live(c.now().UnixMilli()) {
			live++
		}
	}
	out.LiveSessions = &live
	if u.json {
		return printJSON(c.stdout, out)
	}
	return printUser(c, out)
}

// printUser prints one user as lines of "field  value".
func printUser(c *cli, u userJSONOut) error {
	tw := newTable(c.stdout)
	fmt.Fprintf(tw, "ID\t%s\n", u.ID)
	fmt.Fprintf(tw, "NAME\t%s\n", cell(u.Name))
	for _, e := range u.Emails {
		verified := "verified " + formatMs(e.VerifiedMs)
		if e.VerifiedMs == 0 {
			verified = "not verified"
		}
		fmt.Fprintf(tw, "EMAIL\t%s (%s)\n", cell(e.Email), verified)
	}
	fmt.Fprintf(tw, "ROLES\t%s\n", joinOrDash(u.Roles))
	fmt.Fprintf(tw, "2FA\t%s\n", yesNo(u.TwoFactor))
	fmt.Fprintf(tw, "BANNED\t%s\n", formatMs(u.BannedMs))
	fmt.Fprintf(tw, "CREATED\t%s\n", formatMs(u.CreatedMs))
	for _, m := range derefMembers(u.Memberships) {
		fmt.Fprintf(tw, "MEMBER OF\t%s %s (%s)\n", m.OrganizationID, cell(m.OrganizationName), m.flagsColumn())
	}
	if u.LiveSessions != nil {
		fmt.Fprintf(tw, "LIVE SESSIONS\t%d\n", *u.LiveSessions)
	}
	return tw.Flush()
}

// derefMembers returns the memberships, none for nil.
func derefMembers(p *[]memberJSONOut) []memberJSONOut {
	if p == nil {
		return nil
	}
	return *p
}

// usersBanCommand is "authgw users ban" and, with unban set, "authgw
// users unban".
type usersBanCommand struct {
	adminFlags
	unban bool
}

func (u *usersBanCommand) flagSet() *flag.FlagSet {
	name := "users ban"
	if u.unban {
		name = "users unban"
	}
	fs := newFlagSet(name)
	u.adminFlags.register(fs)
	return fs
}

// run bans or unbans the user through accounts.Operator (Ban, Unban).
// It fails with exit status 1 for no such user or the last sysadmin.
func (u *usersBanCommand) run(c *cli, args []string) error {
	arg, err := oneUser(args)
	if err != nil {
		return err
	}
	return u.act(c, func(ctx context.Context, d *db.DB, op *accounts.Operator) error {
		x, err := findUser(ctx, d, arg)
		if err != nil {
			return err
		}
		wasBanned := x.BannedMs != 0
		if u.unban {
			x, err = op.Unban(ctx, x.ID)
		} else {
			x, err = op.Ban(ctx, x.ID)
		}
		if err != nil {
			return operatorError(err)
		}
		if u.json {
			out, err := userOut(ctx, d, x)
			if err != nil {
				return err
			}
			return printJSON(c.stdout, out)
		}
		switch {
		case u.unban && !wasBanned:
			fmt.Fprintf(c.stdout, "user %s was not banned\n", x.ID)
		case u.unban:
			fmt.Fprintf(c.stdout, "unbanned user %s\n", x.ID)
		case wasBanned:
			fmt.Fprintf(c.stdout, "user %s is banned already (since %s)\n", x.ID, formatMs(x.BannedMs))
		default:
			fmt.Fprintf(c.stdout, "banned user %s: its sessions are ended and its tokens refused\n", x.ID)
		}
		return nil
	})
}

// usersRolesCommand is "authgw users roles".
type usersRolesCommand struct {
	adminFlags
	add, remove stringList
}

func (u *usersRolesCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("users roles")
	fs.Var(&u.add, "add", "role to give (repeatable)")
	fs.Var(&u.remove, "remove", "role to take (repeatable)")
	u.adminFlags.register(fs)
	return fs
}

// run shows the user's roles after giving and taking the ones named,
// through accounts.Operator (GrantRole, TakeRole). It fails with a usage
// error for a name that is not a role, and with exit status 1 for no
// such user or a change the rules refuse.
func (u *usersRolesCommand) run(c *cli, args []string) error {
	arg, err := oneUser(args)
	if err != nil {
		return err
	}
	for _, role := range append(slices.Clone(u.add), u.remove...) {
		if err := accounts.CheckUserRole(role); err != nil {
			return operatorError(err)
		}
	}
	return u.act(c, func(ctx context.Context, d *db.DB, op *accounts.Operator) error {
		x, err := findUser(ctx, d, arg)
		if err != nil {
			return err
		}
		for _, role := range u.add {
			if err := op.GrantRole(ctx, x.ID, role); err != nil {
				return operatorError(err)
			}
		}
		for _, role := range u.remove {
			if err := op.TakeRole(ctx, x.ID, role); err != nil {
				return operatorError(err)
			}
		}
		roles, err := d.UserRoles(ctx, x.ID)
		if err != nil {
			return err
		}
		if u.json {
			return printJSON(c.stdout, struct {
				ID    string   `json:"id"`
				Roles []string `json:"roles"`
			}{x.ID, nonNil(roles)})
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "ID\tROLES")
		fmt.Fprintf(tw, "%s\t%s\n", x.ID, joinOrDash(roles))
		return tw.Flush()
	})
}
