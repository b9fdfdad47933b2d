package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
)

const clientsOIDCUsage = `Usage: authgw clients oidc --client ID [--redirect-uri URI]... [--post-logout-redirect-uri URI]...
                          [--scope SCOPE]... [--public | --confidential] [--off] [--show]
       (also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Shows or sets the OpenID Connect settings of an API client, as PATCH
/accounts/v1/organizations/:id/clients/:clientId does with the same
rules: a client with redirect URIs is a client of authgw's OpenID
provider (see the README's "Use authgw as your apps' OpenID provider").

Each list given replaces the client's list; one not given stays as it
is. --off clears the redirect URIs and the post-logout ones: the client
is no longer an OpenID client (its sign-ins already made go on until
they end or are revoked). --show (or no setting at all) only prints.
The settings are printed as JSON afterwards.

Flags:
  --client ID                       the client (required)
  --redirect-uri URI                an exact redirect URI (repeatable): https, or
                                    http on 127.0.0.1, [::1] or localhost; no fragment
  --post-logout-redirect-uri URI    an exact URI the end-session endpoint may send
                                    the browser to (repeatable)
  --scope SCOPE                     a scope the client may ask for beyond openid
                                    (repeatable): profile, email, offline_access,
                                    api:<name> (not api:accounts)
  --public                          no secret at the token endpoint; PKCE required
  --confidential                    the client authenticates with its secret
  --off                             no longer an OpenID client
  --show                            print the settings, change nothing
  --database DSN                    sqlite:PATH or mysql:DSN
  --data-dir DIR                    data directory, for the default SQLite file
  --config FILE                     JSON config file (else AUTHGW_CONFIG)
  --redis URL                       Redis to announce the change on (else AUTHGW_REDIS)

Exit status: 0 done, 1 failed (no such client), 2 usage error (including
a URI or scope the rules refuse).
`

// listFlag is a repeatable string flag; set reports whether it was given.
type listFlag struct {
	values []string
	set    bool
}

// String returns the values joined, for flag's help.
func (l *listFlag) String() string { return fmt.Sprint(l.values) }

// Set appends one value.
func (l *listFlag) Set(v string) error {
	l.values, l.set = append(l.values, v), true
	return nil
}

// clientsOIDCCommand is "authgw clients oidc".
type clientsOIDCCommand struct {
	db                         databaseSettings
	client                     string
	redirects, logouts, scopes listFlag
	public, confidential       bool
	off, show                  bool
}

// flagSet defines the flags.
func (a *clientsOIDCCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("clients oidc")
	fs.StringVar(&a.client, "client", "", "client ID")
	fs.Var(&a.redirects, "redirect-uri", "redirect URI (repeatable)")
	fs.Var(&a.logouts, "post-logout-redirect-uri", "post-logout redirect URI (repeatable)")
	fs.Var(&a.scopes, "scope", "scope beyond openid (repeatable)")
	fs.BoolVar(&a.public, "public", false, "no secret at the token endpoint")
	fs.BoolVar(&a.confidential, "confidential", false, "the client uses its secret")
	fs.BoolVar(&a.off, "off", false, "no longer an OpenID client")
	fs.BoolVar(&a.show, "show", false, "print only")
	a.db.register(fs)
	a.db.define(fs, "redis", "Redis URL to announce the change on")
	return fs
}

// clientOIDCJSON is what the command prints.
type clientOIDCJSON struct {
	ClientID               string   `json:"clientId"`
	Name                   string   `json:"name"`
	RedirectURIs           []string `json:"redirectUris"`
	PostLogoutRedirectURIs []string `json:"postLogoutRedirectUris"`
	OIDCScopes             []string `json:"oidcScopes"`
	Public                 bool     `json:"public"`
}

// run shows or sets the settings. It fails with a usage error for a
// missing client, contradicting flags or settings the rules refuse, and
// with exit status 1 when the client does not exist or the database
// fails.
func (a *clientsOIDCCommand) run(c *cli, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if a.client == "" {
		return usagef("--client is required")
	}
	changes := a.redirects.set || a.logouts.set || a.scopes.set || a.public || a.confidential || a.off
	switch {
	case a.public && a.confidential:
		return usagef("--public and --confidential contradict each other")
	case a.off && (a.redirects.set || a.logouts.set):
		return usagef("--off clears the URIs: give no --redirect-uri or --post-logout-redirect-uri with it")
	case a.show && changes:
		return usagef("--show changes nothing: give no setting with it")
	}
	ctx := context.Background()
	d, err := a.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	cl, err := d.GetClient(ctx, a.client)
	if errors.Is(err, db.ErrNotFound) || (err == nil && cl.DeletedMs != 0) {
		return fmt.Errorf("no client %s", a.client)
	}
	if err != nil {
		return err
	}
	if changes {
		if a.redirects.set {
			cl.RedirectURIs = uniq(a.redirects.values)
		}
		if a.logouts.set {
			cl.PostLogoutRedirectURIs = uniq(a.logouts.values)
		}
		if a.off {
			cl.RedirectURIs, cl.PostLogoutRedirectURIs = nil, nil
		}
		if a.scopes.set {
			cl.OIDCScopes = uniq(a.scopes.values)
		}
		if a.public || a.confidential {
			cl.Public = a.public
		}
		if err := accounts.CheckOIDCClientSettings(cl.RedirectURIs, cl.PostLogoutRedirectURIs, cl.OIDCScopes); err != nil {
			return usagef("%v", err)
		}
		if err := d.SetClientOIDC(ctx, cl.ID, cl.RedirectURIs, cl.PostLogoutRedirectURIs, cl.OIDCScopes, cl.Public, c.now().UnixMilli()); err != nil {
			return err
		}
	}
	out := clientOIDCJSON{ClientID: cl.ID, Name: cl.Name, RedirectURIs: nonNil(cl.RedirectURIs),
		PostLogoutRedirectURIs: nonNil(cl.PostLogoutRedirectURIs), OIDCScopes: nonNil(cl.OIDCScopes), Public: cl.Public}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	if changes {
		return announceChange(c, &a.db.settings, "clients")
	}
	return nil
}

// uniq returns list without repeats, in order.
func uniq(list []string) []string {
	out := []string{}
	for _, v := range list {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// nonNil returns list, or an empty list for nil (JSON [] rather than null).
func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
