package policy

import (
	"fmt"
	"strings"
)

// ErrBadRoutes is returned by ParseRoutes for a list that is empty or
// has a doubled, leading or trailing space; a bad route in it gives a
// *PatternError instead. Both match ErrBadPattern.
var ErrBadRoutes = fmt.Errorf("%w: routes must be patterns separated by single spaces", ErrBadPattern)

// Routes is a compiled list of token routes: the argument of a routes
// caveat, or a public scope. It can only be built by ParseRoutes or
// NewRoutes, which check every route against the grammar, so its
// matching never meets a malformed route. The zero Routes matches
// nothing. A Routes never changes and is safe for concurrent use.
type Routes struct {
	// list holds the routes separated by single spaces; every one scans
	// in modeToken (modeConcrete for NewRoutes).
	list string
}

// ParseRoutes compiles a routes caveat argument: token routes separated
// by single spaces. A token route is a pattern with no parameter but the
// organization parameters (:orgId, :orgIdRead, :orgIdEdit, :orgIdManage,
// :orgIdDelete), each followed in its segment only by a character an ID
// cannot hold. It fails with ErrBadRoutes for bad spacing and with a
// *PatternError naming the first bad route. It does not allocate when it
// succeeds.
func ParseRoutes(arg string) (Routes, error) {
	if arg == "" {
		return Routes{}, ErrBadRoutes
	}
	for rest := arg; ; {
		r, tail, more := strings.Cut(rest, " ")
		if r == "" {
			return Routes{}, ErrBadRoutes
		}
		if problem := scan(r, modeToken, nil); !problem.ok() {
			return Routes{}, &PatternError{Pattern: r, Reason: problem.String()}
		}
		if !more {
			return Routes{list: arg}, nil
		}
		rest = tail
	}
}

// NewRoutes compiles concrete route patterns (no parameter at all), such
// as a public scope. It returns a *PatternError naming the first bad
// pattern. No pattern gives the zero Routes, which matches nothing.
func NewRoutes(patterns ...string) (Routes, error) {
	for _, p := range patterns {
		if problem := scan(p, modeConcrete, nil); !problem.ok() {
			return Routes{}, &PatternError{Pattern: p, Reason: problem.String()}
		}
	}
	// A valid pattern holds no space, so the join can be split again.
	return Routes{list: strings.Join(patterns, " ")}, nil
}

// ValidRoute reports whether route is one well-formed token route, as
// ParseRoutes checks each. It does not allocate.
func ValidRoute(route string) bool { return scan(route, modeToken, nil).ok() }

// String returns the routes as a routes caveat argument.
func (r Routes) String() string { return r.list }

// List returns the routes, a new slice each call.
func (r Routes) List() []string { return strings.Fields(r.list) }

// Match reports whether a route matches the canonical raw path, with no
// memberships: an organization parameter matches nothing. Literals
// compare with the percent-decoded path segments, byte for byte
// (case-sensitive). path must have passed CanonicalPath: the verifier
// checks it before any caveat. It does not allocate.
func (r Routes) Match(path string) bool { return r.MatchOrgs(path, nil) }

// MatchOrgs is Match where an organization parameter (:orgId,
// :orgIdRead, ...) matches a path segment part that is an organization
// orgs allows with the parameter's flag (OrgGrants.Allows). The part is
// the longest run of ID bytes ([A-Za-z0-9.-], percent-decoded) at the
// parameter's place; every organization parameter of a route must match
// the same raw text (one organization per route, as when :orgId was
// expanded into one route per organization). It does not allocate.
func (r Routes) MatchOrgs(path string, orgs OrgGrants) bool {
	for list := r.list; list != ""; {
		route, rest, _ := strings.Cut(list, " ")
		if matchRoute(route, path, orgs) {
			return true
		}
		list = rest
	}
	return false
}

// MatchAnyOrg is Match where an organization parameter matches any
// organization, whatever the memberships: for routes a token must not
// reach (an except-routes caveat), an organization route excludes every
// organization. It does not allocate.
func (r Routes) MatchAnyOrg(path string) bool { return r.MatchOrgs(path, anyOrg) }

// anyOrgMarker is an orgs argument no orgs caveat can hold (ValidOrgs
// refuses "*"); OrgGrants holding only it allow every organization.
const anyOrgMarker = "*"

var anyOrg = OrgGrants{anyOrgMarker}

// matchRoute matches one route that scanned (in modeToken or
// modeConcrete) against a canonical raw path.
func matchRoute(route, path string, orgs OrgGrants) bool {
	if route == "/" {
		return path == "/"
	}
	ri, pi := 1, 1 // skip the leading slashes
	if path == "/" {
		pi = len(path) + 1
	}
	bound := "" // the raw text the route's organization parameters matched
	for ri <= len(route) {
		rEnd := indexSlash(route, ri)
		rseg := route[ri:rEnd]
		if rseg == "**" {
			return true
		}
		if pi > len(path) {
			return false
		}
		pEnd := indexSlash(path, pi)
		if !matchSegment(rseg, path[pi:pEnd], orgs, &bound) {
			return false
		}
		ri, pi = rEnd+1, pEnd+1
	}
	return pi > len(path)
}
