package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

// The "authgw orgs" commands.

const orgsListUsage = `Usage: authgw orgs list [--limit N] [--cursor C] [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Lists the organizations, a page at a time in creation order, as GET
/accounts/v1/organizations does for a sysadmin: ID, name, whether its
members must sign in with a second factor, created.

When there is a next page, the last line says how to get it (--cursor).
--json prints {"organizations":[...],"nextCursor":"..."} instead.

Flags:
  --limit N         organizations per page, 1 to 100 (default 25)
  --cursor C        the page that starts at C (from the previous page)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed, 2 usage error.
`

const orgsCreateUsage = `Usage: authgw orgs create --name N --owner USER [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Creates an organization, as POST /accounts/v1/organizations does, with
USER as its first member with every flag (read, edit, manage, delete):
through the API that is the user who creates it. USER is a user ID or an
address the user holds verified. Staff are not bound by the number of
organizations a user may create, and neither is the operator; the
owner's bound of memberships holds.

Flags:
  --name N          the organization's name (required): 1 to 255
                    characters, no control characters
  --owner USER      its first member (required)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 refused or failed (no such user, the user at
the bound of memberships), 2 usage error (including a name the rules
refuse).
`

// orgJSONOut is an organization as the orgs commands print it in JSON.
type orgJSONOut struct {
	ID                  string `json:"id"`
	Name                string `json:"name"`
	RequireSecondFactor bool   `json:"requireSecondFactor"`
	CreatedMs           int64  `json:"createdMs"`
}

// orgsListCommand is "authgw orgs list".
type orgsListCommand struct {
	adminFlags
	pageFlags
}

func (l *orgsListCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("orgs list")
	l.pageFlags.register(fs)
	l.adminFlags.register(fs)
	return fs
}

// run lists a page of organizations. It fails with a usage error for a
// bad --limit or --cursor.
func (l *orgsListCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	p, err := l.page()
	if err != nil {
		return err
	}
	ctx := context.Background()
	d, err := l.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	orgs, info, err := d.ListOrganizations(ctx, p)
	if err != nil {
		return pageError(err)
	}
	out := []orgJSONOut{}
	for _, o := range orgs {
		out = append(out, orgJSONOut{ID: o.ID, Name: o.Name, RequireSecondFactor: o.RequireSecondFactor, CreatedMs: o.CreatedMs})
	}
	if l.json {
		return printJSON(c.stdout, struct {
			Organizations []orgJSONOut `json:"organizations"`
			NextCursor    string       `json:"nextCursor,omitempty"`
		}{out, info.Next})
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ID\tNAME\t2FA-REQUIRED\tCREATED")
	for _, o := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.ID, cell(o.Name), yesNo(o.RequireSecondFactor), formatMs(o.CreatedMs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printNext(c.stdout, fmt.Sprintf("orgs list --limit %d", p.Size), info)
	return nil
}

// orgsCreateCommand is "authgw orgs create".
type orgsCreateCommand struct {
	adminFlags
	name, owner string
}

func (cc *orgsCreateCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("orgs create")
	fs.StringVar(&cc.name, "name", "", "organization name")
	fs.StringVar(&cc.owner, "owner", "", "first member")
	cc.adminFlags.register(fs)
	return fs
}

// run creates the organization through
// accounts.Operator.CreateOrganization. It fails with a usage error for
// a missing flag or a name the rules refuse, and with exit status 1 for
// no such owner or an owner at the bound of memberships.
func (cc *orgsCreateCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if cc.name == "" || cc.owner == "" {
		return usagef("--name and --owner are required")
	}
	return cc.act(c, func(ctx context.Context, d *db.DB, op *accounts.Operator) error {
		owner, err := findUser(ctx, d, cc.owner)
		if err != nil {
			return err
		}
		org, err := op.CreateOrganization(ctx, cc.name, owner.ID)
		if err != nil {
			return operatorError(err)
		}
		out := orgJSONOut{ID: org.ID, Name: org.Name, RequireSecondFactor: org.RequireSecondFactor, CreatedMs: org.CreatedMs}
		if cc.json {
			return printJSON(c.stdout, out)
		}
		fmt.Fprintf(c.stdout, "created organization %s (%s), owner %s\n", out.ID, cell(out.Name), owner.ID)
		return nil
	})
}
