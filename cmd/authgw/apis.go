package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authgw/authgw/db"
)

const apisUsage = `Usage: authgw apis add --name N --version V --url U [--url U2 ...] [--allow-unidentified] [--login-redirect] [--inactive]
                      [--connect-timeout D] [--header-timeout D] [--timeout D] [--h2c] [--host H ...]
       authgw apis list [--json]
       authgw apis remove --name N --version V
       (each also takes [--database DSN] [--data-dir DIR] [--config FILE] [--redis URL])

Manages the registry of backend APIs: the gateway sends a request for
/N/vV/... to the API registered as (N, V), at U.

  add     registers an API. N is 1 to 64 of a-z, 0-9 and "-", and not
          "accounts" (the accounts service's own prefix). V is the
          version number: 1 for /N/v1. U is an absolute http or https
          URL without user info, query or fragment; its path, if any, is
          the prefix the request path is appended to. --url may be given
          up to 16 times: the gateway balances requests over the
          upstreams (round robin), skips one that failed (refused, timed
          out, 502/503/504) for 10 s doubling to 5 min, and retries a
          request on the next when that is safe. The API is active
          unless --inactive; --allow-unidentified lets requests without
          client credentials through to it; --login-redirect sends a
          browser that the gateway would refuse 401 for want of a valid
          token (a GET or HEAD whose Accept prefers text/html) to the
          sign-in page, /accounts/v1/ui/login?return_to=..., instead.
          --connect-timeout, --header-timeout and --timeout bound the
          connect (default 5s), the wait for response headers (default:
          serve's upstream timeout) and the whole exchange (default none),
          as Go durations (250ms, 30s) from 10ms up to 1m, 10m and 1h.
          --h2c speaks HTTP/2 without TLS to http:// upstreams (HTTP/2
          over TLS is used wherever an upstream offers it).
          --host binds a host name to the API (repeatable, up to 16):
          any path of a request to that host is authorized as
          /N/vV/<path> and reaches U with its path as sent. H is an
          ASCII DNS name (IDNA A-labels for other scripts), no port, no
          IP address, no wildcard; matched without case, trailing dot or
          port; a host belongs to one API only.
  list    prints the registered APIs as a table (name, version, upstreams
          separated by commas, unidentified, active, login redirect,
          hosts separated by commas or "-"), or
          as a JSON array with --json (every field, timeouts in ms).
  remove  removes the API (N, V) from the registry.

The gateways pick up changes at their next snapshot refresh, or at once
when a Redis is configured (--redis, AUTHGW_REDIS or the config file):
add and remove then announce the change on it. The database
is found as for authgw migrate (see authgw migrate --help) and must be
migrated already (authgw migrate up, or authgw bootstrap).

Flags:
  --name N               API name (add, remove)
  --version V            API version number, a positive integer (add, remove)
  --url U                backend base URL, repeatable for several upstreams (add)
  --connect-timeout D    connect timeout of the upstreams (add)
  --header-timeout D     response-header timeout (add)
  --timeout D            overall timeout of one exchange (add)
  --h2c                  HTTP/2 without TLS to http:// upstreams (add)
  --host H               host name bound to the API, repeatable (add)
  --allow-unidentified   requests without client credentials are allowed (add)
  --login-redirect       browsers without a valid token go to the sign-in page (add)
  --inactive             register the API switched off (add)
  --json                 print JSON instead of a table (list)
  --database DSN         sqlite:PATH or mysql:DSN
  --data-dir DIR         data directory, for the default SQLite file
  --config FILE          JSON config file (else AUTHGW_CONFIG)
  --redis URL            Redis to announce the change on (else AUTHGW_REDIS)

Exit status: 0 done, 1 failed (already registered, not found), 2 usage
error (including a bad name, version or URL).
`

// apisFlags are the flags each action takes besides the database ones.
var apisFlags = map[string][]string{
	"add":    {"name", "version", "url", "allow-unidentified", "login-redirect", "inactive", "connect-timeout", "header-timeout", "timeout", "h2c", "host"},
	"list":   {"json"},
	"remove": {"name", "version"},
}

// databaseFlags are the flags every action takes.
var databaseFlags = []string{"database", "data-dir", "config", "redis"}

// apisCommand is "authgw apis add|list|remove".
type apisCommand struct {
	db                databaseSettings
	fs                *flag.FlagSet
	name              string
	version           string
	urls              urlList
	connectTimeout    time.Duration
	headerTimeout     time.Duration
	timeout           time.Duration
	h2c               bool
	hosts             urlList
	allowUnidentified bool
	loginRedirect     bool
	inactive          bool
	json              bool
}

// flagSet defines the flags of every action; run refuses the ones the
// chosen action does not take.
func (a *apisCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("apis")
	fs.StringVar(&a.name, "name", "", "API name")
	fs.StringVar(&a.version, "version", "", "API version number")
	fs.Var(&a.urls, "url", "backend URL (repeatable)")
	fs.DurationVar(&a.connectTimeout, "connect-timeout", 0, "connect timeout")
	fs.DurationVar(&a.headerTimeout, "header-timeout", 0, "response-header timeout")
	fs.DurationVar(&a.timeout, "timeout", 0, "overall timeout")
	fs.BoolVar(&a.h2c, "h2c", false, "HTTP/2 without TLS to http:// upstreams")
	fs.Var(&a.hosts, "host", "host name bound to the API (repeatable)")
	fs.BoolVar(&a.allowUnidentified, "allow-unidentified", false, "allow requests without client credentials")
	fs.BoolVar(&a.loginRedirect, "login-redirect", false, "send browsers without a valid token to the sign-in page")
	fs.BoolVar(&a.inactive, "inactive", false, "register the API inactive")
	fs.BoolVar(&a.json, "json", false, "print JSON")
	a.db.register(fs)
	a.db.define(fs, "redis", "Redis URL to announce the change on")
	a.fs = fs
	return fs
}

// run adds, lists or removes APIs. It fails with a usage error for a
// missing or unknown action, a flag the action does not take, or a bad
// name, version or URL; and with exit status 1 when the API is
// registered already (add), is not registered (remove), or the database
// fails.
func (a *apisCommand) run(c *cli, args []string) error {
	action, err := addListRemoveAction("apis", a.fs, args, apisFlags)
	if err != nil {
		return err
	}
	var api db.API
	if action != "list" {
		var err error
		if api.Name, err = checkAPIName(a.name); err != nil {
			return err
		}
		if api.Version, err = checkAPIVersion(a.version); err != nil {
			return err
		}
	}
	if action == "add" {
		var err error
		if api.Upstreams, err = checkAPIURLs(a.urls); err != nil {
			return err
		}
		api.URL = api.Upstreams[0]
		for _, t := range []struct {
			flag   string
			d, max time.Duration
			dst    *int64
		}{{"--connect-timeout", a.connectTimeout, time.Minute, &api.ConnectTimeoutMs}, {"--header-timeout", a.headerTimeout, 10 * time.Minute, &api.HeaderTimeoutMs},
			{"--timeout", a.timeout, time.Hour, &api.TimeoutMs}} {
			if t.d != 0 && (t.d < 10*time.Millisecond || t.d > t.max) {
				return usagef("%s: want 0 (the default) or 10ms to %s, got %s", t.flag, t.max, t.d)
			}
			*t.dst = t.d.Milliseconds()
		}
		api.H2C = a.h2c
		if api.Hosts, err = checkAPIHosts(a.hosts); err != nil {
			return err
		}
		api.AllowUnidentified, api.Active, api.LoginRedirect = a.allowUnidentified, !a.inactive, a.loginRedirect
	}

	ctx := context.Background()
	d, err := a.db.openMigrated(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	switch action {
	case "add":
		api.CreatedMs = c.now().UnixMilli()
		err := d.CreateAPI(ctx, api)
		if errors.Is(err, db.ErrDuplicate) && len(api.Hosts) > 0 {
			if _, gerr := d.GetAPI(ctx, api.Name, api.Version); errors.Is(gerr, db.ErrNotFound) {
				return fmt.Errorf("a --host is bound to another API already (apis list shows which)")
			}
		}
		if errors.Is(err, db.ErrDuplicate) {
			return fmt.Errorf("%s v%d is registered already (remove it first to change it)", api.Name, api.Version)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "added %s v%d -> %s\n", api.Name, api.Version, strings.Join(api.Upstreams, ", "))
		return announceChange(c, &a.db.settings, "apis")
	case "remove":
		err := d.DeleteAPI(ctx, api.Name, api.Version)
		if errors.Is(err, db.ErrNotFound) {
			return fmt.Errorf("%s v%d is not registered", api.Name, api.Version)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "removed %s v%d\n", api.Name, api.Version)
		return announceChange(c, &a.db.settings, "apis")
	}
	return a.list(ctx, c, d)
}

// addListRemoveAction reads the action of a command whose actions are
// add, list and remove (apis, webhooks): the one argument, which must be
// a key of flags, and whose flags given must all be the action's own
// (flags[action]) or databaseFlags. Anything else is a usage error.
func addListRemoveAction(command string, fs *flag.FlagSet, args []string, flags map[string][]string) (string, error) {
	if len(args) == 0 {
		return "", usagef("missing action: add, list or remove")
	}
	action := args[0]
	allowed, ok := flags[action]
	if !ok {
		return "", usagef("unknown action %q (want add, list or remove)", action)
	}
	if len(args) > 1 {
		return "", usagef("unexpected argument %q", args[1])
	}
	var wrong string
	fs.Visit(func(f *flag.Flag) {
		if wrong == "" && !slices.Contains(databaseFlags, f.Name) && !slices.Contains(allowed, f.Name) {
			wrong = f.Name
		}
	})
	if wrong != "" {
		return "", usagef("--%s: not a flag of %s %s", wrong, command, action)
	}
	return action, nil
}

// apiJSON is one API in apis list --json.
type apiJSON struct {
	Name              string `json:"name"`
	Version           int    `json:"version"`
	URL               string `json:"url"`
	AllowUnidentified bool   `json:"allowUnidentified"`
	Active            bool   `json:"active"`
	LoginRedirect     bool   `json:"loginRedirect"`
	CreatedMs         int64  `json:"createdMs"`
	UpdatedMs         int64  `json:"updatedMs"`
	// Upstreams are every upstream URL, url first.
	Upstreams        []string `json:"upstreams"`
	ConnectTimeoutMs int64    `json:"connectTimeoutMs"`
	HeaderTimeoutMs  int64    `json:"headerTimeoutMs"`
	TimeoutMs        int64    `json:"timeoutMs"`
	H2C              bool     `json:"h2c"`
	// Hosts are the host names bound to the API; [] for none.
	Hosts []string `json:"hosts"`
}

// list prints the registry.
func (a *apisCommand) list(ctx context.Context, c *cli, d *db.DB) error {
	apis, err := d.ListAPIs(ctx)
	if err != nil {
		return err
	}
	if a.json {
		out := make([]apiJSON, len(apis))
		for i, x := range apis {
			out[i] = apiJSON{Name: x.Name, Version: x.Version, URL: x.URL, AllowUnidentified: x.AllowUnidentified,
				Active: x.Active, LoginRedirect: x.LoginRedirect, CreatedMs: x.CreatedMs, UpdatedMs: x.UpdatedMs,
				Upstreams: x.Upstreams, ConnectTimeoutMs: x.ConnectTimeoutMs, HeaderTimeoutMs: x.HeaderTimeoutMs, TimeoutMs: x.TimeoutMs, H2C: x.H2C,
				Hosts: append([]string{}, x.Hosts...)}
		}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tURL\tUNIDENTIFIED\tACTIVE\tLOGIN-REDIRECT\tHOSTS")
	for _, x := range apis {
		hosts := strings.Join(x.Hosts, ",")
		if hosts == "" {
			hosts = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", x.Name, x.Version, strings.Join(x.Upstreams, ","), yesNo(x.AllowUnidentified), yesNo(x.Active), yesNo(x.LoginRedirect), hosts)
	}
	return tw.Flush()
}

// yesNo prints a boolean in the table.
func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// requireSchema fails when the database has pending migrations (see
// databaseSettings.openMigrated).
func requireSchema(ctx context.Context, d *db.DB) error {
	status, err := d.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range status {
		if !s.Applied {
			return errors.New("the database schema is not up to date: run authgw migrate up first")
		}
	}
	return nil
}

// checkAPIName checks --name.
func checkAPIName(v string) (string, error) {
	if v == "" {
		return "", usagef("--name: missing")
	}
	if err := db.CheckAPIName(v); err != nil {
		return "", flagError("--name", err)
	}
	return v, nil
}

// checkAPIVersion checks --version: a positive integer the gateway can
// route (at most db.MaxAPIVersion).
func checkAPIVersion(v string) (int, error) {
	if v == "" {
		return 0, usagef("--version: missing")
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > db.MaxAPIVersion || strings.HasPrefix(v, "+") || (len(v) > 1 && v[0] == '0') {
		return 0, usagef("--version: want a positive integer up to %d such as 1 (for /NAME/v1), got %q", db.MaxAPIVersion, v)
	}
	return int(n), nil
}

// checkAPIURL checks --url (db.CanonicalAPIURL) and returns it in
// canonical form.
func checkAPIURL(v string) (string, error) {
	u, err := db.CanonicalAPIURL(v)
	if err != nil {
		return "", flagError("--url", err)
	}
	return u, nil
}

// urlList is the repeatable --url flag.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

// Set adds one URL.
func (l *urlList) Set(v string) error { *l = append(*l, v); return nil }

// checkAPIURLs checks every --url as checkAPIURL does, at least one and
// at most db.MaxAPIUpstreams, none twice, and returns them in canonical
// form.
func checkAPIURLs(vs []string) ([]string, error) {
	if len(vs) == 0 {
		return checkAPIURLsMissing()
	}
	if len(vs) > db.MaxAPIUpstreams {
		return nil, usagef("--url: at most %d upstreams, got %d", db.MaxAPIUpstreams, len(vs))
	}
	var out []string
	for _, v := range vs {
		u, err := checkAPIURL(v)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, u) {
			return nil, usagef("--url: %s is given twice", u)
		}
		out = append(out, u)
	}
	return out, nil
}

// checkAPIHosts checks every --host (db.NormalizeAPIHost), at most
// db.MaxAPIHosts, none twice, and returns them normalized.
func checkAPIHosts(vs []string) ([]string, error) {
	if len(vs) > db.MaxAPIHosts {
		return nil, usagef("--host: at most %d hosts, got %d", db.MaxAPIHosts, len(vs))
	}
	var out []string
	for _, v := range vs {
		h, err := db.NormalizeAPIHost(v)
		if err != nil {
			return nil, flagError("--host", err)
		}
		if slices.Contains(out, h) {
			return nil, usagef("--host: %s is given twice", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// checkAPIURLsMissing is checkAPIURL's error for no --url at all.
func checkAPIURLsMissing() ([]string, error) {
	_, err := checkAPIURL("")
	return nil, err
}

// flagError is the usage error for a flag whose value the store refused
// (a *db.InvalidError): the flag, then why. Another error is returned as
// it is.
func flagError(flag string, err error) error {
	if inv, ok := errors.AsType[*db.InvalidError](err); ok {
		return usagef("%s: %s", flag, inv.Reason)
	}
	return err
}
