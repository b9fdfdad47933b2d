package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/audit"
	"github.com/authgw/authgw/db"
)

const auditUsage = `Usage: authgw audit tail [--type T] [--user ID] [--organization ID]
       [--since D] [--limit N] [--follow [--interval D]] [--json]
       [--database DSN] [--data-dir DIR] [--config FILE]

Prints the audit log's events, the newest last: who did what to whom,
from where, and how it ended. Never a secret, code, token or address.
  --type T          only events of these types (comma-separated, or the
                    flag repeated), such as login.failed,session.revoked
  --user ID         only events the user did or that were done to them
  --organization ID only events about the organization
  --since D         only events of the last D (1h, 7d) or since an RFC 3339
                    time
  --limit N         how many events to print first (default 50, at most
                    1000)
  --follow          keep printing new events as they are recorded, until
                    interrupted (polls the database every --interval,
                    default 2s)
  --json            one JSON object per line, as GET /accounts/v1/audit-events
                    answers them
The database is found as for authgw migrate (see authgw migrate --help).

Exit status: 0 done, 1 failed (database failure), 2 usage error.
`

// Defaults of authgw audit tail.
const (
	defaultAuditLimit    = 50
	maxAuditLimit        = 1000
	defaultAuditInterval = 2 * time.Second
)

// auditCommand is "authgw audit tail".
type auditCommand struct {
	db       databaseSettings
	types    listFlag
	user     string
	org      string
	since    string
	limit    int
	follow   bool
	interval time.Duration
	json     bool
}

func (a *auditCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("audit")
	fs.Var(&a.types, "type", "event types")
	fs.StringVar(&a.user, "user", "", "user ID (actor or subject)")
	fs.StringVar(&a.org, "organization", "", "organization ID")
	fs.StringVar(&a.since, "since", "", "a duration back from now, or an RFC 3339 time")
	fs.IntVar(&a.limit, "limit", defaultAuditLimit, "events printed first")
	fs.BoolVar(&a.follow, "follow", false, "keep printing new events")
	fs.DurationVar(&a.interval, "interval", defaultAuditInterval, "poll interval of --follow")
	fs.BoolVar(&a.json, "json", false, "JSON lines")
	a.db.register(fs)
	return fs
}

// filter builds the store's filter from the flags. It fails with a usage
// error for an unknown type, a bad --since, or an ID too long.
func (a *auditCommand) filter(now time.Time) (db.AuditFilter, error) {
	f := db.AuditFilter{UserID: a.user, OrgID: a.org}
	for t := range strings.SplitSeq(strings.Join(a.types.values, ","), ",") {
		if t = strings.TrimSpace(t); t == "" && len(a.types.values) == 0 {
			break
		}
		if !audit.Known(t) {
			return f, usagef("--type: %q is not an event type (see the README's list of audit events)", t)
		}
		f.Types = append(f.Types, t)
	}
	if len(f.Types) > db.MaxAuditTypes {
		return f, usagef("--type: at most %d types", db.MaxAuditTypes)
	}
	if len(a.user) > 36 || len(a.org) > 36 {
		return f, usagef("--user and --organization take an ID of at most 36 characters")
	}
	if a.since != "" {
		if t, err := time.Parse(time.RFC3339Nano, a.since); err == nil {
			f.SinceMs = t.UnixMilli()
		} else if d, err := parseDays(false)(a.since); err == nil {
			f.SinceMs = now.Add(-d).UnixMilli()
		} else {
			return f, usagef("--since: %q is neither a duration such as 1h or 7d nor an RFC 3339 time", a.since)
		}
		if f.SinceMs <= 0 {
			return f, usagef("--since: %q is before 1970", a.since)
		}
	}
	return f, nil
}

// run prints the events, then with --follow polls for new ones until
// stopped.
func (a *auditCommand) run(c *cli, args []string) error {
	if len(args) != 1 || args[0] != "tail" {
		return usagef("want: authgw audit tail [flags]")
	}
	if a.limit < 1 || a.limit > maxAuditLimit {
		return usagef("--limit: 1 to %d", maxAuditLimit)
	}
	if a.interval <= 0 {
		return usagef("--interval: a positive duration such as 2s")
	}
	f, err := a.filter(c.now())
	if err != nil {
		return err
	}
	ctx, cancel := stopContext(c)
	defer cancel()
	d, err := a.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	events, err := d.TailAuditEvents(ctx, f, "", a.limit)
	if err != nil {
		return err
	}
	last := a.print(c.stdout, events, "")
	if !a.follow {
		return nil
	}
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		events, err := d.TailAuditEvents(ctx, f, last, maxAuditLimit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		last = a.print(c.stdout, events, last)
	}
}

// print writes the events and returns the ID of the last one (last when
// there are none).
func (a *auditCommand) print(w io.Writer, events []db.AuditEvent, last string) string {
	for _, e := range events {
		if a.json {
			b, _ := json.Marshal(audit.ViewOf(e))
			fmt.Fprintf(w, "%s\n", b)
		} else {
			fmt.Fprintln(w, auditText(e))
		}
		last = e.ID
	}
	return last
}

// auditText is one line per event: time, type, outcome, then the fields
// that are set, as key=value, each value quoted (Go syntax) when it holds
// a space, a quote or a character that does not print. Values are mostly
// IDs and codes, but some are what a client sent (a form.refused path
// holds the URL's {id} segment, which may be %C2%9B, the 8-bit CSI, or a
// right-to-left override): printed raw they would drive the operator's
// terminal or reorder the line.
func auditText(e db.AuditEvent) string {
	var b strings.Builder
	b.WriteString(time.UnixMilli(e.TimeMs).UTC().Format("2006-01-02T15:04:05.000Z"))
	b.WriteString(" " + e.Type + " " + e.Outcome)
	for _, kv := range [][2]string{{"reason", e.Reason}, {"actor", e.ActorUserID}, {"client", e.ActorClientID},
		{"subject", e.SubjectUserID}, {"org", e.OrgID}, {"ip", e.IP}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + "=" + auditValue(kv[1]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(e.Data)) {
		b.WriteString(" " + auditValue(k) + "=" + auditValue(e.Data[k]))
	}
	b.WriteString(" id=" + auditValue(e.ID))
	return b.String()
}

// auditValue is v, quoted with Go's escapes when it holds a space, a
// quote, a backslash or a rune that does not print (controls, C1
// controls, bidi overrides, invalid UTF-8).
func auditValue(v string) string {
	if strings.IndexFunc(v, func(r rune) bool {
		return r == ' ' || r == '"' || r == '\\' || r == utf8.RuneError || !unicode.IsPrint(r)
	}) >= 0 {
		return strconv.Quote(v)
	}
	return v
}

// recordRevocations records in the audit log the sessions a command
// line ended (session.revoked, naming each session's user) and the users
// whose every session it ended (sessions.revoked), with the reason
// given. A command line has no actor: its events name none. Only
// failures are printed (on stderr): a row that cannot be stored is
// reported, never dropped silently, and the revocation stands.
func recordRevocations(ctx context.Context, c *cli, d *db.DB, reason string, revoked []db.Revocation) {
	rec, err := audit.New(audit.Config{Store: d, Now: c.now, Rand: c.random,
		Logger: slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		fmt.Fprintf(c.stderr, "authgw: audit log: %v\n", err)
		return
	}
	for _, r := range revoked {
		switch r.Kind {
		case db.RevokeSession:
			var subject string
			if sess, err := d.GetSession(ctx, r.Subject); err == nil {
				subject = sess.UserID
			}
			rec.Record(ctx, audit.Event{Type: audit.SessionRevoked, Reason: reason, SubjectUserID: subject, Data: map[string]string{"session": r.Subject}})
		case db.RevokeUser:
			rec.Record(ctx, audit.Event{Type: audit.SessionsRevoked, Reason: reason, SubjectUserID: r.Subject})
		}
	}
}
