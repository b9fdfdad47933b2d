package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

// The "authgw clients" commands: list, create, rotate-secret, restrict,
// and oidc (clientsoidc.go). A client secret is printed once, by create
// and rotate-secret, and never again: only its hash is stored.

const clientsListUsage = `Usage: authgw clients list --org ID [--limit N] [--cursor C] [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Lists an organization's clients, a page at a time in creation order, as
GET /accounts/v1/organizations/:id/clients does: ID, name, roles, rate
limit (requests per second, "unlimited" or 0 for none), whether it is an
OpenID Connect client, its access restrictions (type:value, "-" for
none: it may call from anywhere), created. Never a secret.

When there is a next page, the last line says how to get it (--cursor).
--json prints {"clients":[...],"nextCursor":"..."} instead.

Flags:
  --org ID          the organization (required)
  --limit N         clients per page, 1 to 100 (default 25)
  --cursor C        the page that starts at C (from the previous page)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such organization), 2 usage error.
`

const clientsCreateUsage = `Usage: authgw clients create --org ID --name N [--reqs-per-sec N] [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Creates a client of the organization, as POST
/accounts/v1/organizations/:id/clients does for staff: the role
external, a new 256-bit secret, and a rate limit of --reqs-per-sec
requests per second (default 10; -1 for no limit, 0 refuses every
request), with no bound on the organization's number of clients.

Prints the client ID and its secret, once: only the secret's hash is
stored, it is never shown again (rotate-secret issues a new one).

Flags:
  --org ID            the organization (required)
  --name N            the client's name (required): 1 to 255 characters,
                      no control characters
  --reqs-per-sec N    rate limit, -1 (none) to 1000000 (default 10)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such organization), 2 usage error
(including a name or rate the rules refuse).
`

const clientsRotateSecretUsage = `Usage: authgw clients rotate-secret --client ID [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Gives the client a new secret, as POST .../clients/:id/refresh-secret
does, and prints it once. The old secret stops working when the
gateways reload their snapshot: at once with --redis, else at their
next refresh.

Flags:
  --client ID       the client (required)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 failed (no such client), 2 usage error.
`

const clientsRestrictUsage = `Usage: authgw clients restrict --client ID [--ip CIDR]... [--host H]... [--api NAME]... [--remove ID]... [--json]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Shows the client's access restrictions, or adds and removes some as
.../clients/:id/access-restrictions does, then shows them. A client with
restrictions of a type is let through by the gateway only when the
request matches one of them:

  --ip CIDR     the client IP is in CIDR (an address alone is a /32 or /128)
  --host H      the request's Origin host, else its Host, is H; "*.example.com"
                matches every name under example.com (not example.com)
  --api NAME    the API is NAME, a registered API (authgw apis list) or
                "accounts"

Values are checked and stored in the form the gateway matches, as the
API does. --remove takes a restriction's ID, as listed. Additions are
made first, in order, then removals; the command stops at the first
refusal, having made the changes before it.

Flags:
  --client ID       the client (required)
  --ip CIDR         add an ip restriction (repeatable)
  --host H          add a host restriction (repeatable)
  --api NAME        add an api restriction (repeatable)
  --remove ID       remove the restriction ID (repeatable)
` + adminDatabaseFlags + `
Exit status: 0 done, 1 refused or failed (no such client or
restriction, a restriction the client has already), 2 usage error
(including a value the rules refuse).
`

// clientJSONOut is a client as the clients commands print it in JSON.
type clientJSONOut struct {
	ID             string   `json:"id"`
	OrganizationID string   `json:"organizationId"`
	Name           string   `json:"name"`
	Roles          []string `json:"roles"`
	ReqsPerSec     int      `json:"reqsPerSec"`
	OIDC           bool     `json:"oidc"`
	CreatedMs      int64    `json:"createdMs"`
	// Restrictions are printed by list.
	Restrictions []restrictionJSONOut `json:"restrictions,omitempty"`
	// Secret is printed once, by create and rotate-secret.
	Secret string `json:"secret,omitempty"`
}

// restrictionJSONOut is an access restriction.
type restrictionJSONOut struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Value     string `json:"value"`
	CreatedMs int64  `json:"createdMs"`
}

func clientOut(c db.Client) clientJSONOut {
	return clientJSONOut{ID: c.ID, OrganizationID: c.OrganizationID, Name: c.Name, Roles: nonNil(c.Roles), ReqsPerSec: c.ReqsPerSec,
		OIDC: len(c.RedirectURIs) > 0, CreatedMs: c.CreatedMs}
}

func restrictionsOut(xs []db.Restriction) []restrictionJSONOut {
	out := []restrictionJSONOut{}
	for _, x := range xs {
		out = append(out, restrictionJSONOut{ID: x.ID, Type: x.Type, Value: x.Value, CreatedMs: x.CreatedMs})
	}
	return out
}

// clientsListCommand is "authgw clients list".
type clientsListCommand struct {
	adminFlags
	pageFlags
	org string
}

func (l *clientsListCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("clients list")
	fs.StringVar(&l.org, "org", "", "organization ID")
	l.pageFlags.register(fs)
	l.adminFlags.register(fs)
	return fs
}

// run lists a page of the organization's clients. It fails with a usage
// error without --org, and with exit status 1 for no such organization.
func (l *clientsListCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if l.org == "" {
		return usagef("--org is required (authgw orgs list shows the organizations)")
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
	cs, info, err := d.ListClients(ctx, l.org, p)
	if errors.Is(err, db.ErrNotFound) {
		return fmt.Errorf("no organization %s", l.org)
	}
	if err != nil {
		return pageError(err)
	}
	out := []clientJSONOut{}
	for _, x := range cs {
		o := clientOut(x)
		xs, err := d.ListRestrictions(ctx, x.ID)
		if err != nil {
			return err
		}
		o.Restrictions = restrictionsOut(xs)
		out = append(out, o)
	}
	if l.json {
		return printJSON(c.stdout, struct {
			Clients    []clientJSONOut `json:"clients"`
			NextCursor string          `json:"nextCursor,omitempty"`
		}{out, info.Next})
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ID\tNAME\tROLES\tREQS/S\tOIDC\tRESTRICTIONS\tCREATED")
	for _, x := range out {
		var rs []string
		for _, r := range x.Restrictions {
			rs = append(rs, r.Type+":"+cell(r.Value))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, cell(x.Name), joinOrDash(x.Roles), itoaOrUnlimited(x.ReqsPerSec), yesNo(x.OIDC), joinOrDash(rs), formatMs(x.CreatedMs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	printNext(c.stdout, fmt.Sprintf("clients list --org %s --limit %d", l.org, p.Size), info)
	return nil
}

// printSecret prints a client with its new secret, once.
func printSecret(c *cli, asJSON bool, out clientJSONOut, secret string) error {
	if asJSON {
		out.Secret = secret
		return printJSON(c.stdout, out)
	}
	tw := newTable(c.stdout)
	fmt.Fprintf(tw, "CLIENT\t%s\n", out.ID)
	fmt.Fprintf(tw, "ORGANIZATION\t%s\n", out.OrganizationID)
	fmt.Fprintf(tw, "NAME\t%s\n", cell(out.Name))
	fmt.Fprintf(tw, "SECRET\t%s\n", secret)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "The secret is shown only this time: store it now.")
	return nil
}

// clientsCreateCommand is "authgw clients create".
type clientsCreateCommand struct {
	adminFlags
	org, name  string
	reqsPerSec int
}

func (cc *clientsCreateCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("clients create")
	fs.StringVar(&cc.org, "org", "", "organization ID")
	fs.StringVar(&cc.name, "name", "", "client name")
	fs.IntVar(&cc.reqsPerSec, "reqs-per-sec", accounts.DefaultReqsPerSec, "rate limit")
	cc.adminFlags.register(fs)
	return fs
}

// run creates the client through accounts.Operator.CreateClient and
// prints its secret once. It fails with a usage error for a missing
// flag or a name or rate the rules refuse, and with exit status 1 for no
// such organization.
func (cc *clientsCreateCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if cc.org == "" || cc.name == "" {
		return usagef("--org and --name are required")
	}
	return cc.act(c, func(ctx context.Context, _ *db.DB, op *accounts.Operator) error {
		cl, secret, err := op.CreateClient(ctx, cc.org, cc.name, cc.reqsPerSec)
		if err != nil {
			return operatorError(err)
		}
		return printSecret(c, cc.json, clientOut(cl), secret)
	})
}

// clientsRotateCommand is "authgw clients rotate-secret".
type clientsRotateCommand struct {
	adminFlags
	client string
}

func (r *clientsRotateCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("clients rotate-secret")
	fs.StringVar(&r.client, "client", "", "client ID")
	r.adminFlags.register(fs)
	return fs
}

// run gives the client a new secret through
// accounts.Operator.RotateClientSecret and prints it once. It fails with
// exit status 1 for no such client.
func (r *clientsRotateCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if r.client == "" {
		return usagef("--client is required")
	}
	return r.act(c, func(ctx context.Context, d *db.DB, op *accounts.Operator) error {
		secret, err := op.RotateClientSecret(ctx, r.client)
		if err != nil {
			return operatorError(err)
		}
		cl, err := d.GetClient(ctx, r.client)
		if err != nil {
			return err
		}
		return printSecret(c, r.json, clientOut(cl), secret)
	})
}

// clientsRestrictCommand is "authgw clients restrict".
type clientsRestrictCommand struct {
	adminFlags
	client                   string
	ips, hosts, apis, remove stringList
}

func (r *clientsRestrictCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("clients restrict")
	fs.StringVar(&r.client, "client", "", "client ID")
	fs.Var(&r.ips, "ip", "ip restriction to add (repeatable)")
	fs.Var(&r.hosts, "host", "host restriction to add (repeatable)")
	fs.Var(&r.apis, "api", "api restriction to add (repeatable)")
	fs.Var(&r.remove, "remove", "restriction ID to remove (repeatable)")
	r.adminFlags.register(fs)
	return fs
}

// run adds and removes the client's restrictions through
// accounts.Operator (Restrict, Unrestrict), then prints them. It fails
// with a usage error for a value the rules refuse, and with exit status
// 1 for no such client or restriction, or one the client has already.
func (r *clientsRestrictCommand) run(c *cli, args []string) error {
	if err := noArgs(args); err != nil {
		return err
	}
	if r.client == "" {
		return usagef("--client is required")
	}
	return r.act(c, func(ctx context.Context, _ *db.DB, op *accounts.Operator) error {
		for _, add := range []struct {
			typ    string
			values []string
		}{{db.RestrictionIP, r.ips}, {db.RestrictionHost, r.hosts}, {db.RestrictionAPI, r.apis}} {
			for _, v := range add.values {
				if _, err := op.Restrict(ctx, r.client, add.typ, v); err != nil {
					return fmt.Errorf("--%s %s: %w", add.typ, strconv.Quote(v), operatorError(err))
				}
			}
		}
		for _, id := range r.remove {
			if err := op.Unrestrict(ctx, r.client, id); err != nil {
				return operatorError(err)
			}
		}
		xs, err := op.Restrictions(ctx, r.client)
		if err != nil {
			return operatorError(err)
		}
		if r.json {
			return printJSON(c.stdout, restrictionsOut(xs))
		}
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "ID\tTYPE\tVALUE\tCREATED")
		for _, x := range xs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.ID, x.Type, cell(x.Value), formatMs(x.CreatedMs))
		}
		return tw.Flush()
	})
}
