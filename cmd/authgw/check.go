package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

const checkUsage = `Usage: authgw check TOKEN|- --method METHOD --path PATH [--client ID] [--ip ADDR]
                    [--keys FILE] [--server-id ID] [--data-dir DIR]

Tells whether a request with this token (TOKEN, or - to read it from
standard input) would be allowed, running the verifier's own code:
signature first, then every caveat, with the default clock skew of 30s.
Prints "allowed: user U session S method M expires T" and exits 0, or
"denied: REASON" and exits 1. The revocation set and the public scope are
not consulted here.

Flags:
  --method METHOD  the request method; HEAD counts as GET (required)
  --path PATH      the request path as sent, still percent-encoded
                   (required); a ?query is ignored
  --client ID      the API client the request is made with
  --ip ADDR        the client's IP address
  --keys FILE      key ring (default: $AUTHGW_KEYS, else DATA-DIR/keys.json)
  --server-id ID   the verifier's server ID
                   (default: $AUTHGW_SERVER_ID, else DATA-DIR/server-id)
  --data-dir DIR   (default: $AUTHGW_DATA_DIR, else ./authgw-data)
`

// checkCommand is "authgw check".
type checkCommand struct {
	settings keySettings
	method   string
	path     string
	client   string
	ip       string
}

// flagSet defines check's flags.
func (k *checkCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("check")
	k.settings.register(fs)
	fs.StringVar(&k.method, "method", "", "request method")
	fs.StringVar(&k.path, "path", "", "request path")
	fs.StringVar(&k.client, "client", "", "client ID")
	fs.StringVar(&k.ip, "ip", "", "client IP")
	return fs
}

// run verifies the token against the request with verifier.Verify and
// prints the verdict. A denial reports errReported (exit 1); a missing
// flag or setting is a usage error.
func (k *checkCommand) run(c *cli, args []string) error {
	token, err := c.oneToken(args)
	if err != nil {
		return err
	}
	if k.method == "" {
		return usagef("--method is required")
	}
	if k.path == "" {
		return usagef("--path is required")
	}
	req := verifier.Request{Method: strings.ToUpper(k.method), ClientID: k.client}
	req.Path, _, _ = strings.Cut(k.path, "?")
	if k.ip != "" {
		if req.ClientIP, err = netip.ParseAddr(k.ip); err != nil {
			return usagef("--ip %q is not an IP address", k.ip)
		}
	}
	ring, err := k.settings.requireKeyRing(c)
	if err != nil {
		return err
	}
	serverID, err := k.settings.requireServerID(c)
	if err != nil {
		return err
	}
	v, err := verifier.New(verifier.Config{ServerID: serverID, Keys: ring, Now: c.now, MemoSize: -1})
	if err != nil {
		return err
	}
	id, err := v.Verify(token, req)
	if err != nil {
		reason := err.Error()
		if errors.Is(err, verifier.ErrNonCanonicalPath) {
			if detail := policy.CanonicalPath(req.Path); detail != nil {
				reason = fmt.Sprintf("%v: %v", verifier.ErrBadRequest, detail)
			}
		}
		fmt.Fprintf(c.stdout, "denied: %s\n", reason)
		return errReported
	}
	fmt.Fprintf(c.stdout, "allowed: user %s session %s method %s expires %s\n",
		id.UserID, id.SessionID, id.Method, id.Expires.Format(mint.TimeFormat))
	return nil
}
