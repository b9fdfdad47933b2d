package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/authgw/authgw/accounts/webhooks"
	"github.com/authgw/authgw/db"
)

const webhooksUsage = `Usage: authgw webhooks add --url U --event T [--event T2 ...] [--inactive] [--allow-http] [--totp-key FILE]
       authgw webhooks list [--json]
       authgw webhooks remove --id ID
       (each also takes [--database DSN] [--data-dir DIR] [--config FILE])

Manages the webhook subscriptions: authgw POSTs each audit event of the
types a subscription lists to its URL, signed as Standard Webhooks
define (headers webhook-id, webhook-timestamp and webhook-signature, an
HMAC-SHA256 with the subscription's secret), from a queue in the
database, retried with backoff; the same as /accounts/v1/webhooks.

  add     subscribes U to the event types T (login.failed, user.created,
          ...; * for all) and prints the subscription as JSON with its
          secret (whsec_...), shown this once: give it to the receiver,
          which verifies the signatures with it. U is https://, or
          http:// to a loopback address (any host with --allow-http, as
          serve's --webhook-allow-http); never a link-local address
          (169.254.169.254 is the cloud metadata service). The secret is
          stored sealed with the TOTP key ring: --totp-key, else
          AUTHGW_TOTP_KEY, else the data directory's totp-key.
  list    prints the subscriptions as a table (id, url, events, active),
          or as a JSON array with --json. Secrets are never shown again.
  remove  removes the subscription ID and its deliveries.

The database is found as for authgw migrate (see authgw migrate --help)
and must be migrated already.

Flags:
  --url U          where the deliveries go (add)
  --event T        an event type, repeatable (add)
  --inactive       subscribe paused (add)
  --allow-http     accept a plain http URL on any host (add)
  --totp-key FILE  the TOTP key ring that seals the secret (add)
  --id ID          the subscription (remove)
  --json           print JSON instead of a table (list)
  --database DSN   sqlite:PATH or mysql:DSN
  --data-dir DIR   data directory, for the default SQLite file
  --config FILE    JSON config file (else AUTHGW_CONFIG)

Exit status: 0 done, 1 failed (not found, database failure), 2 usage
error (including a bad URL or event type).
`

// webhooksFlags are the flags each action takes besides the database ones.
var webhooksFlags = map[string][]string{
	"add":    {"url", "event", "inactive", "allow-http", "totp-key"},
	"list":   {"json"},
	"remove": {"id"},
}

// webhooksCommand is "authgw webhooks add|list|remove".
type webhooksCommand struct {
	db        databaseSettings
	fs        *flag.FlagSet
	url       string
	events    urlList
	inactive  bool
	allowHTTP bool
	id        string
	json      bool
}

func (w *webhooksCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("webhooks")
	fs.StringVar(&w.url, "url", "", "where the deliveries go")
	fs.Var(&w.events, "event", "event type (repeatable)")
	fs.BoolVar(&w.inactive, "inactive", false, "subscribe paused")
	fs.BoolVar(&w.allowHTTP, "allow-http", false, "accept plain http on any host")
	fs.StringVar(&w.id, "id", "", "subscription ID")
	fs.BoolVar(&w.json, "json", false, "print JSON")
	w.db.register(fs)
	w.db.define(fs, "totp-key", "TOTP key ring file")
	w.fs = fs
	return fs
}

// subscriptionJSON is a subscription as add and list --json print it;
// Secret only from add.
type subscriptionJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Active    bool     `json:"active"`
	CreatedMs int64    `json:"createdMs"`
	Secret    string   `json:"secret,omitempty"`
}

// run adds, lists or removes subscriptions. It fails with a usage error
// for a missing or unknown action, a flag the action does not take, a
// bad URL or event type; with exit status 1 when the subscription does
// not exist (remove) or the database fails.
func (w *webhooksCommand) run(c *cli, args []string) error {
	action, err := addListRemoveAction("webhooks", w.fs, args, webhooksFlags)
	if err != nil {
		return err
	}
	var sub db.WebhookSubscription
	var shown string
	if action == "add" {
		u, err := webhooks.CheckURL(w.url, w.allowHTTP)
		if err != nil {
			return usagef("--url: %s", strings.TrimPrefix(err.Error(), webhooks.ErrInvalidSubscription.Error()+": "))
		}
		events, err := webhooks.CheckEvents(w.events)
		if err != nil {
			return usagef("--event: %s", strings.TrimPrefix(err.Error(), webhooks.ErrInvalidSubscription.Error()+": "))
		}
		sealer, _, _, err := loadTOTPRing(c, &w.db)
		if err != nil {
			return err
		}
		if sub, shown, err = webhooks.NewSubscription(sealer, c.random, c.now(), u, events, !w.inactive); err != nil {
			return err
		}
	}
	if action == "remove" && w.id == "" {
		return usagef("--id is required")
	}

	ctx := context.Background()
	d, err := w.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	switch action {
	case "add":
		if err := d.CreateWebhookSubscription(ctx, sub); err != nil {
			return err
		}
		return printJSON(c.stdout, subscriptionJSON{ID: sub.ID, URL: sub.URL, Events: sub.Events, Active: sub.Active, CreatedMs: sub.CreatedMs, Secret: shown})
	case "remove":
		err := d.DeleteWebhookSubscription(ctx, w.id)
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("no webhook subscription %q", w.id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed %s\n", w.id)
		return nil
	}
	subs, err := d.ListWebhookSubscriptions(ctx)
	if err != nil {
		return err
	}
	if w.json {
		out := make([]subscriptionJSON, len(subs))
		for i, s := range subs {
			out[i] = subscriptionJSON{ID: s.ID, URL: s.URL, Events: s.Events, Active: s.Active, CreatedMs: s.CreatedMs}
		}
		return printJSON(c.stdout, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tACTIVE")
	for _, s := range subs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.ID, s.URL, strings.Join(s.Events, ","), yesNo(s.Active))
	}
	return tw.Flush()
}
