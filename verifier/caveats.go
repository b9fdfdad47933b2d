package verifier

import (
	"net/netip"
	"strings"
	"time"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/policy/netaddr"
)

type caveatKind uint8

const (
	kindServerID caveatKind = iota + 1
	kindMethod
	kindRoutes
	kindTimeBefore
	kindUser
	kindUserRoles
	kindSession
	kindClient
	kindIP
	kindOrgs
)

// caveat is a first-party caveat of a token whose signature holds, with
// its syntax already checked.
type caveat struct {
	kind   caveatKind
	arg    string
	at     time.Time     // kindTimeBefore only
	routes policy.Routes // kindRoutes only: compiled once, matched per request
}

// compileCaveats checks the syntax of every caveat once, when a token's
// signature first holds, and the rules that do not depend on the request:
// (it also collects the orgs caveats' arguments for the routes' organization
// parameters)
// known names, well-formed arguments, every mandatory caveat present,
// user, user-roles and session caveats that agree with each other and with the
// identifier. It fills vt.identity with what the token says.
func compileCaveats(vt *verifiedToken, texts []string) error {
	var seen [kindOrgs + 1]bool
	var roles string
	id := &vt.identity
	for i, text := range texts {
		if !mint.ValidCaveatText(text) {
			return ErrBadCaveat
		}
		name, arg, _ := strings.Cut(text, " ")
		c := &vt.caveats[i]
		c.arg = arg
		switch name {
		case mint.CaveatServerID:
			c.kind = kindServerID
		case mint.CaveatMethod:
			c.kind = kindMethod
			if !knownMethod(arg) {
				return ErrBadCaveat
			}
			if id.Method != "" && id.Method != arg {
				return ErrConflict
			}
			id.Method = arg
		case mint.CaveatRoutes:
			c.kind = kindRoutes
			routes, err := policy.ParseRoutes(arg)
			if err != nil {
				return ErrBadCaveat
			}
			c.routes = routes
			if id.routes == "" {
				id.routes = arg
			}
		case mint.CaveatTimeBefore:
			c.kind = kindTimeBefore
			if !strings.HasSuffix(arg, "Z") {
				return ErrBadCaveat
			}
			t, err := time.Parse(time.RFC3339, arg)
			if err != nil {
				return ErrBadCaveat
			}
			c.at = t
			if id.Expires.IsZero() || t.Before(id.Expires) {
				id.Expires = t
			}
		case mint.CaveatUser:
			c.kind = kindUser
			if id.UserID != "" && id.UserID != arg {
				return ErrConflict
			}
			id.UserID = arg
		case mint.CaveatUserRoles:
			// Like user, informational: every occurrence must be equal, so
			// an appended caveat cannot add a role (the mint always writes
			// one, and a token without one is refused).
			c.kind = kindUserRoles
			if !mint.ValidRolesArgument(arg) {
				return ErrBadCaveat
			}
			if seen[kindUserRoles] {
				if arg != roles {
					return ErrConflict
				}
				break
			}
			roles = arg
			if arg != mint.NoRoles {
				id.roles = arg
			}
		case mint.CaveatSession:
			c.kind = kindSession
			if arg != id.SessionID {
				return ErrConflict
			}
		case mint.CaveatClient:
			c.kind = kindClient
			if id.ClientID != "" && id.ClientID != arg {
				return ErrConflict
			}
			id.ClientID = arg
		case mint.CaveatIP:
			c.kind = kindIP
			if _, ok := ipAllowed(arg, netip.Addr{}); !ok {
				return ErrBadCaveat
			}
		case mint.CaveatOrgs:
			// The memberships the routes' organization parameters may
			// match; every occurrence must list an organization (with the
			// flag) for it to count, so an appended one only narrows.
			c.kind = kindOrgs
			if !policy.ValidOrgs(arg) {
				return ErrBadCaveat
			}
			if vt.orgs == nil {
				vt.orgs = vt.orgsBuf[:0]
			}
			vt.orgs = append(vt.orgs, arg)
		default:
			return ErrBadCaveat
		}
		seen[c.kind] = true
	}
	for _, k := range []caveatKind{kindServerID, kindMethod, kindRoutes, kindTimeBefore, kindUser, kindUserRoles, kindSession} {
		if !seen[k] {
			return ErrMissingCaveat
		}
	}
	return nil
}

// checkCaveats checks every caveat of a verified token against the
// request: all must hold. A reason that makes the token unacceptable
// (401) wins over one that only makes it insufficient here (403).
func (v *Verifier) checkCaveats(vt *verifiedToken, req Request) error {
	method := req.Method
	if method == "HEAD" {
		method = "GET"
	}
	now := v.cfg.Now().Add(-v.cfg.Skew)
	var forbidden error
	for i := range vt.caveats {
		c := &vt.caveats[i]
		switch c.kind {
		case kindServerID:
			if c.arg != v.cfg.ServerID {
				return ErrWrongServer
			}
		case kindMethod:
			if c.arg != method && forbidden == nil {
				forbidden = ErrMethodNotGranted
			}
		case kindRoutes:
			if !c.routes.MatchOrgs(req.Path, vt.orgs) && forbidden == nil {
				forbidden = ErrRouteNotGranted
			}
		case kindTimeBefore:
			if !now.Before(c.at) {
				return ErrExpired
			}
		case kindClient:
			if req.ClientID == "" || req.ClientID != c.arg {
				return ErrWrongClient
			}
		case kindIP:
			if in, _ := ipAllowed(c.arg, req.ClientIP); !in {
				return ErrIPNotAllowed
			}
		}
	}
	return forbidden
}

// ipAllowed parses a space-separated list of ranges as written
// (netaddr.ParsePrefix: CIDRs without host bits, or single addresses; an
// IPv4-mapped range stays mapped and so matches no client address, which
// is compared unmapped) and reports whether addr is in one of them; ok
// is false when the list is malformed. An unknown addr is in none.
func ipAllowed(list string, addr netip.Addr) (in, ok bool) {
	addr = addr.Unmap()
	if list == "" {
		return false, false
	}
	for list != "" {
		item, rest, cut := strings.Cut(list, " ")
		if cut && rest == "" {
			return false, false
		}
		list = rest
		p, err := netaddr.ParsePrefix(item)
		if err != nil {
			return false, false
		}
		if addr.IsValid() && p.Contains(addr) {
			in = true
		}
	}
	return in, true
}

func knownMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}
