package verifier

import (
	"time"

	"github.com/authgw/authgw/mint/caveat"
)

// compileCaveats parses every caveat once, when a token's signature first
// holds (caveat.Parse: known names, well-formed arguments, the routes
// compiled), and checks the rules that do not depend on the request:
// every mandatory caveat present (caveat.Kind.Mandatory, read from the
// grammar, which no caller can change), and the caveats that narrow by
// agreeing (caveat.SameValue, caveat.SameAsIdentifier) agreeing with
// each other and with the identifier, and the kinds only the mint may
// write (caveat.Kind.MintedOnly) written by the mint. It fills vt.identity with what the
// token says and collects the orgs caveats' arguments for the routes'
// organization parameters.
func compileCaveats(vt *verifiedToken, texts []string) error {
	var seen [caveat.MaxKinds]bool // indexed by caveat.Kind.Index
	var first [caveat.MaxKinds]string
	var authTime time.Time
	id := &vt.identity
	for _, text := range texts {
		c, err := caveat.Parse(text)
		if err != nil {
			return ErrBadCaveat
		}
		k, arg := c.Kind(), c.Arg()
		if k.MintedOnly() && !seen[k.Index()] && seen[caveat.User.Index()] {
			// The first of its kind after the first user caveat: a holder
			// appended it (caveat.Kind.MintedOnly), claiming how the user
			// authenticated.
			return ErrBadCaveat
		}
		if k.Constrains() != caveat.None {
			vt.caveats = append(vt.caveats, c) // checked per request
		}
		switch k.Narrowing() {
		case caveat.SameValue:
			if seen[k.Index()] && arg != first[k.Index()] {
				return ErrConflict
			}
		case caveat.SameAsIdentifier:
			if k == caveat.Session && arg != id.SessionID {
				return ErrConflict
			}
		case caveat.Earliest:
			if id.Expires.IsZero() || c.Time().Before(id.Expires) {
				id.Expires = c.Time()
			}
		case caveat.Intersection:
			// The memberships the routes' organization parameters may
			// match; every occurrence must list an organization (with the
			// flag) for it to count, so an appended one only narrows.
			if vt.orgs == nil {
				vt.orgs = vt.orgsBuf[:0]
			}
			vt.orgs = append(vt.orgs, arg)
		}
		if !seen[k.Index()] {
			seen[k.Index()] = true
			first[k.Index()] = arg
			if k == caveat.AuthTime {
				authTime = c.Time()
			}
		}
	}
	for _, k := range caveat.Kinds() {
		if k.Mandatory() && !seen[k.Index()] {
			return ErrMissingCaveat
		}
	}
	id.Method = first[caveat.Method.Index()]
	id.routes = first[caveat.Routes.Index()]
	id.UserID = first[caveat.User.Index()]
	id.ClientID = first[caveat.Client.Index()]
	if roles := first[caveat.UserRoles.Index()]; roles != caveat.NoRoles {
		id.roles = roles
	}
	id.amr = first[caveat.AMR.Index()]
	if seen[caveat.AuthTime.Index()] {
		id.AuthTime = authTime
	}
	return nil
}

// checkCaveats checks every caveat of a verified token that constrains
// requests (caveat.Kind.Constrains) against the request: all must hold.
// A reason that makes the token unacceptable (401) wins over one that
// only makes it insufficient here (403).
func (v *Verifier) checkCaveats(vt *verifiedToken, req Request) error {
	return v.checkList(vt.caveats, vt, req)
}

// checkList checks caveats, the token's or its discharge's, against the
// request, with vt's organizations for the routes' organization
// parameters.
func (v *Verifier) checkList(caveats []caveat.Caveat, vt *verifiedToken, req Request) error {
	method := req.Method
	if method == "HEAD" {
		method = "GET"
	}
	now := v.cfg.Now().Add(-v.cfg.Skew)
	var forbidden error
	for i := range caveats {
		c := &caveats[i]
		switch c.Kind().Constrains() {
		case caveat.Server:
			if c.Arg() != v.cfg.ServerID {
				return ErrWrongServer
			}
		case caveat.HTTPMethod:
			if c.Arg() != method && forbidden == nil {
				forbidden = ErrMethodNotGranted
			}
		case caveat.Path:
			if c.Kind() == caveat.ExceptRoutes {
				// A path the token keeps out is a step-up route: saying so
				// (use the step-up token) beats "not granted", whatever
				// the token's routes say of it.
				if c.Routes().MatchAnyOrg(req.Path) && (forbidden == nil || forbidden == ErrRouteNotGranted) {
					forbidden = ErrRouteExcluded
				}
			} else if !c.Routes().MatchOrgs(req.Path, vt.orgs) && forbidden == nil {
				forbidden = ErrRouteNotGranted
			}
		case caveat.Clock:
			if !now.Before(c.Time()) {
				return ErrExpired
			}
		case caveat.ClientID:
			if req.ClientID == "" || req.ClientID != c.Arg() {
				return ErrWrongClient
			}
		case caveat.ClientIP:
			if !c.AllowsIP(req.ClientIP) {
				return ErrIPNotAllowed
			}
		default:
			// A kind that constrains something this verifier does not
			// know cannot be satisfied: fail closed.
			return ErrBadCaveat
		}
	}
	return forbidden
}
