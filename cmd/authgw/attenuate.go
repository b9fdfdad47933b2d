package main

import (
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/caveat"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/netaddr"
)

const attenuateUsage = `Usage: authgw attenuate TOKEN|- [--routes PATTERN...] [--ttl DURATION]
                        [--ip CIDR...] [--method METHOD] [--orgs ORGID[:FLAGS]...]

Adds caveats to a token (TOKEN, or - to read it from standard input) and
prints the new token. No secret is needed. Every caveat of a token must
hold, so attenuation only narrows: the new token allows a request only if
the old one did and the new caveats hold too. At least one flag is needed.

Flags:
  --routes PATTERN  allow only paths matching one of the patterns, e.g.
                    /accounts/v1/users/42/** (the route-pattern language
                    of policies; of the :parameters only the organization
                    ones, :orgId or :orgIdRead, :orgIdEdit, :orgIdManage,
                    :orgIdDelete, which match what the orgs caveats allow).
                    Repeat the flag or separate patterns with spaces; all
                    go in one caveat.
  --ttl DURATION    expire DURATION from now, e.g. 5m (time-before)
  --ip CIDR         allow only client IPs in one of the CIDRs or single
                    addresses; repeat or separate with spaces
  --method METHOD   allow only METHOD (GET, POST, PUT, PATCH or DELETE);
                    it must be the token's own method
  --orgs ORGID[:FLAGS]
                    let the token's organization routes match only these
                    organizations, and with FLAGS only these flags (r read,
                    e edit, m manage, d delete, in that order); repeat or
                    separate with spaces. An organization or flag the
                    token's own orgs caveat lacks is not granted by adding it.
`

// attenuateCommand is "authgw attenuate".
type attenuateCommand struct {
	routes stringList
	orgs   stringList
	ips    stringList
	ttl    durationFlag
	method string
}

// flagSet defines attenuate's flags.
func (a *attenuateCommand) flagSet() *flag.FlagSet {
	fs := newFlagSet("attenuate")
	fs.Var(&a.routes, "routes", "route patterns (repeatable)")
	fs.Var(&a.ips, "ip", "CIDRs (repeatable)")
	fs.Var(&a.orgs, "orgs", "organizations with flags (repeatable)")
	fs.Var(&a.ttl, "ttl", "lifetime from now")
	fs.StringVar(&a.method, "method", "", "method")
	return fs
}

// run builds the caveats from the flags, adds them with mint.Attenuate
// and prints the new token. A malformed flag value is a usage error; a
// token that does not decode, or a --method other than the token's, a
// failure.
func (a *attenuateCommand) run(c *cli, args []string) error {
	caveats, err := a.caveats(c.now())
	if err != nil {
		return err
	}
	token, err := c.oneToken(args)
	if err != nil {
		return err
	}
	if a.method != "" {
		if err := checkTokenMethod(token, strings.ToUpper(a.method)); err != nil {
			return err
		}
	}
	out, err := mint.Attenuate(token, caveats...)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, out)
	return nil
}

// caveats validates the flags and returns the caveats they stand for. It
// fails with a usage error when no flag is given or a value is malformed.
func (a *attenuateCommand) caveats(now time.Time) ([]caveat.Caveat, error) {
	var caveats []caveat.Caveat
	if len(a.routes) > 0 {
		routes := splitValues(a.routes)
		if len(routes) == 0 {
			return nil, usagef("--routes: no pattern given")
		}
		for _, r := range routes {
			if !policy.ValidRoute(r) {
				return nil, usagef("--routes: %s", routeProblem(r))
			}
		}
		compiled, err := policy.ParseRoutes(strings.Join(routes, " "))
		if err != nil {
			return nil, usagef("--routes: %v", err)
		}
		c, err := caveat.NewRoutes(compiled)
		if err != nil {
			return nil, usagef("--routes: %v", err)
		}
		caveats = append(caveats, c)
	}
	if a.ttl.set {
		if a.ttl.d <= 0 {
			return nil, usagef("--ttl must be positive")
		}
		// NewTimeBefore truncates to whole seconds, which can only
		// shorten the lifetime.
		caveats = append(caveats, caveat.NewTimeBefore(now.Add(a.ttl.d)))
	}
	if len(a.ips) > 0 {
		ips := splitValues(a.ips)
		if len(ips) == 0 {
			return nil, usagef("--ip: no address given")
		}
		ranges := make([]netip.Prefix, len(ips))
		for i, v := range ips {
			p, err := netaddr.ParsePrefix(v)
			if err != nil {
				return nil, usagef("--ip: %v", err)
			}
			ranges[i] = p
		}
		c, err := caveat.NewIP(ranges...)
		if err != nil {
			return nil, usagef("--ip: %v", err)
		}
		caveats = append(caveats, c)
	}
	if len(a.orgs) > 0 {
		orgs := splitValues(a.orgs)
		arg := strings.Join(orgs, " ")
		c, err := caveat.New(caveat.Orgs, arg)
		if len(orgs) == 0 || err != nil {
			return nil, usagef("--orgs %q: want ORGID or ORGID:FLAGS (IDs of [A-Za-z0-9.-], FLAGS of r, e, m, d in that order), each organization once", arg)
		}
		caveats = append(caveats, c)
	}
	if a.method != "" {
		c, err := caveat.New(caveat.Method, strings.ToUpper(a.method))
		if err != nil {
			return nil, usagef("--method %q: want one of %s", a.method, strings.Join(caveat.Methods(), ", "))
		}
		caveats = append(caveats, c)
	}
	if len(caveats) == 0 {
		return nil, usagef("nothing to add: give --routes, --ttl, --ip, --method or --orgs")
	}
	return caveats, nil
}

// splitValues splits every value of a repeated flag at white space.
func splitValues(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// routeProblem explains why a route pattern is not a valid concrete
// pattern, with the reason policy.CompilePattern gives where it has one.
func routeProblem(route string) string {
	// ":" is never a literal character: a route with one is about
	// parameters.
	if strings.Contains(route, ":") {
		return fmt.Sprintf("route pattern %q: of the :parameters only the organization ones (:orgId, :orgIdRead, ...) stay in a token, "+
			"each followed in its segment only by a character an ID cannot hold; write the value of the others", route)
	}
	if _, err := policy.CompilePattern(route); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("route pattern %q is not valid", route)
}

// checkTokenMethod fails when the token already carries a method caveat
// other than method: the verifier would refuse the result outright. The
// token is not verified here; this only spares the user a useless token.
func checkTokenMethod(token, method string) error {
	unsafeMac, err := mint.Decode(token)
	if err != nil {
		return err
	}
	for _, cav := range unsafeMac.Caveats() {
		c, err := caveat.Parse(string(cav.Id))
		if err == nil && c.Kind() == caveat.Method && c.Arg() != method {
			return fmt.Errorf("--method %s: this is a %s token; the verifier refuses a token whose method caveats disagree", method, c.Arg())
		}
	}
	return nil
}
