package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/verifier/envelope"
)

// The admin commands (users, clients, orgs) do from the command line
// what operators otherwise do through the accounts API with curl. Their
// writes go through accounts.Operator, the functions the API's handlers
// call, so they have the API's checks and effects (a ban ends the
// user's sessions, a restriction is normalized as the gateway matches
// it); their reads use the store's list methods, as the API's sysadmin
// view does.

// adminFlags are the settings every admin command takes: the database
// (--database, --data-dir, --config), --redis to tell the gateways at
// once, and --json.
type adminFlags struct {
	db   databaseSettings
	json bool
}

// register defines the flags on fs.
func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.json, "json", false, "print JSON")
	a.db.register(fs)
	a.db.define(fs, "redis", "Redis URL to tell the gateways on")
}

// open opens the database, which must be migrated already. A malformed
// --redis is refused here, before anything is written.
func (a *adminFlags) open(ctx context.Context, c *cli) (*db.DB, error) {
	if url, label, found, err := a.db.settings.lookup(c, "redis"); err != nil {
		return nil, err
	} else if found {
		if _, err := redisOptions(url); err != nil {
			return nil, &usageError{msg: fmt.Sprintf("%s: %v", label, err)}
		}
	}
	return a.db.openMigrated(ctx, c)
}

// adminEffects collects what an Operator tells the gateways, to publish
// it on Redis once the command is done (publishRevocations,
// announceChange): the gateways read the database anyway, Redis is only
// the fast path.
type adminEffects struct {
	revoked   []db.Revocation
	announced bool
}

// operator returns an Operator on d whose revocations and announcements
// are collected in the returned effects. The revocations it writes are
// kept for revocationRetention, the longest a session lives: the
// command line does not know the policies' token lifetimes, and a
// longer retention is safe.
func (a *adminFlags) operator(c *cli, d *db.DB) (*accounts.Operator, *adminEffects, error) {
	fx := &adminEffects{}
	op, err := accounts.NewOperator(accounts.OperatorConfig{
		Store:            d,
		Revoked:          func(_ context.Context, r db.Revocation) { fx.revoked = append(fx.revoked, r) },
		Announce:         func(context.Context) { fx.announced = true },
		MaxTokenLifetime: revocationRetention,
		Now:              c.now,
		Rand:             c.random,
	})
	return op, fx, err
}

// publish tells the gateways what the Operator did, when a Redis is
// configured.
func (a *adminFlags) publish(c *cli, fx *adminEffects) error {
	if err := publishRevocations(c, &a.db.settings, fx.revoked); err != nil {
		return err
	}
	if fx.announced {
		return announceChange(c, &a.db.settings, "clients")
	}
	return nil
}

// act opens the database and an Operator on it, runs fn, then tells the
// gateways what the Operator did: also when fn failed part way, since
// the changes made before the failure stand.
func (a *adminFlags) act(c *cli, fn func(ctx context.Context, d *db.DB, op *accounts.Operator) error) error {
	ctx := context.Background()
	d, err := a.open(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	op, fx, err := a.operator(c, d)
	if err != nil {
		return err
	}
	err = fn(ctx, d, op)
	if perr := a.publish(c, fx); err == nil {
		err = perr
	}
	return err
}

// operatorError turns an Operator's refusal into the command's error: a
// value the rules refuse (400) is a usage error, exit status 2; any other
// refusal (404, 409) a failure, exit status 1, with the API's code.
// Other errors are returned as they are.
func operatorError(err error) error {
	e, ok := errors.AsType[*envelope.Error](err)
	if !ok {
		return err
	}
	if e.Status == http.StatusBadRequest {
		return usagef("%s", e.Detail)
	}
	return fmt.Errorf("%s (%s)", e.Detail, e.Code)
}

// printJSON writes v as indented JSON and a line end.
func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// newTable returns the writer of an aligned table, as apis list prints.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// pageFlags are the paging flags of the list commands: --limit and
// --cursor, as pg[size] and pg[cursor] in the API.
type pageFlags struct {
	limit  int
	cursor string
}

// register defines --limit and --cursor on fs.
func (p *pageFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&p.limit, "limit", db.DefaultPageSize, "rows per page")
	fs.StringVar(&p.cursor, "cursor", "", "where the page starts")
}

// page returns the page asked for. It fails with a usage error for a
// limit out of range.
func (p *pageFlags) page() (db.Page, error) {
	if p.limit < 1 || p.limit > db.MaxPageSize {
		return db.Page{}, usagef("--limit: want 1 to %d, got %d", db.MaxPageSize, p.limit)
	}
	return db.Page{Size: p.limit, Cursor: p.cursor}, nil
}

// pageError is the error of a list: a cursor the store refuses is a usage
// error.
func pageError(err error) error {
	if errors.Is(err, db.ErrInvalid) {
		return usagef("--cursor: not a cursor of this list (copy it from the previous page's output)")
	}
	return err
}

// printNext tells, under a table, how to get the next page.
func printNext(w io.Writer, command string, info db.PageInfo) {
	if info.Next != "" {
		fmt.Fprintf(w, "\nMore: authgw %s --cursor %s\n", command, info.Next)
	}
}

// formatMs prints a time in milliseconds as UTC RFC 3339, "-" for 0.
func formatMs(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// cell makes text that users chose (names, addresses) safe to print in
// the operator's terminal: a rune that is not printable (a control
// character, a bidirectional override, a zero-width or other format
// character, a space other than U+0020) becomes U+FFFD, so that a name
// can neither send escape sequences nor disguise itself or another
// column. The API refuses control characters in names, not format
// characters, and older rows may hold anything. JSON output is exact.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return unicode.ReplacementChar
	}, s)
}

// dashIfEmpty prints "-" for an empty column.
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// joinOrDash joins a list with commas, "-" for none.
func joinOrDash(list []string) string { return dashIfEmpty(strings.Join(list, ",")) }

// noArgs refuses positional arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// adminDatabaseFlags is the part of the admin commands' usage that
// documents the shared flags.
const adminDatabaseFlags = `  --json            print JSON instead of a table
  --database DSN    sqlite:PATH or mysql:DSN
  --data-dir DIR    data directory, for the default SQLite file
  --config FILE     JSON config file (else AUTHGW_CONFIG)
  --redis URL       Redis to tell the gateways on at once (else AUTHGW_REDIS)
`

// itoaOrUnlimited prints a rate limit.
func itoaOrUnlimited(n int) string {
	if n == db.UnlimitedReqsPerSec {
		return "unlimited"
	}
	return strconv.Itoa(n)
}
