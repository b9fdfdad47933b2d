package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Mint-time parameters a pattern may name.
const (
	ParamUserID    = "userId"
	ParamSessionID = "sessionId"
	ParamClientID  = "clientId"
	ParamOrgID     = "orgId"
)

// MaxOrgExpansion caps how many organizations one :orgId pattern expands
// into (Expand) and how many memberships a token lists (the mint); past
// it, both fail with ErrTooManyOrgs.
const MaxOrgExpansion = 100

// ErrBadPattern is the root of pattern syntax errors.
var ErrBadPattern = errors.New("malformed route pattern")

// ErrBadParamValue is returned by Expand when a parameter value is empty,
// a dot segment, or holds a byte other than ASCII letters, digits, "-"
// and ".". The narrow alphabet keeps a value from reaching past its
// place: in ":userId_*" the "_" cannot be part of a user ID, so user "4"
// never matches user "4_2"'s routes, and no value carries ";", "%" or
// anything a backend might read as structure.
var ErrBadParamValue = errors.New("parameter value not allowed in a route")

// ErrTooManyOrgs is returned by Expand when :orgId would expand into more
// than MaxOrgExpansion routes.
var ErrTooManyOrgs = fmt.Errorf("too many organizations to expand :%s (limit %d)", ParamOrgID, MaxOrgExpansion)

// PatternError says what is wrong with one route pattern.
type PatternError struct {
	Pattern string
	Reason  string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("route pattern %q: %s", e.Pattern, e.Reason)
}

// Unwrap makes a PatternError match ErrBadPattern.
func (e *PatternError) Unwrap() error { return ErrBadPattern }

// Pattern is a compiled policy route pattern: a canonical path whose
// segments may be "*", "**" (last only), a literal ending in "*" (prefix
// match), or literals that mention :userId, :sessionId, :clientId or :orgId.
type Pattern struct {
	src    string
	params []string // distinct parameter names, in order of appearance
}

// CompilePattern parses a policy route pattern. It returns a *PatternError
// when the pattern does not follow the grammar of the README's "Route patterns" or names an
// unknown parameter.
func CompilePattern(src string) (*Pattern, error) {
	p := &Pattern{src: src}
	if err := scanPattern(src, true, func(name string) {
		for _, have := range p.params {
			if have == name {
				return
			}
		}
		p.params = append(p.params, name)
	}); err != nil {
		return nil, &PatternError{Pattern: src, Reason: err.Error()}
	}
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Uses reports whether the pattern names the parameter.
func (p *Pattern) Uses(param string) bool {
	for _, have := range p.params {
		if have == param {
			return true
		}
	}
	return false
}

// Params holds the values substituted into patterns at mint time.
type Params struct {
	UserID    string
	SessionID string
	ClientID  string
	// OrgIDs are the organizations :orgId expands into, already filtered
	// by the scope's membership flag.
	OrgIDs []string
}

// Expand substitutes params into the pattern and returns the concrete
// patterns it stands for: one, or one per organization when it names
// :orgId (none when there are no organizations). It fails with
// ErrBadParamValue when a value used by the pattern is missing or could
// not stand as a literal, and with ErrTooManyOrgs past MaxOrgExpansion.
func (p *Pattern) Expand(params Params) ([]string, error) {
	values := map[string]string{}
	for _, name := range p.params {
		var v string
		switch name {
		case ParamUserID:
			v = params.UserID
		case ParamSessionID:
			v = params.SessionID
		case ParamClientID:
			v = params.ClientID
		case ParamOrgID:
			continue
		}
		if !validParamValue(v) {
			return nil, fmt.Errorf("%w: :%s = %q in %q", ErrBadParamValue, name, v, p.src)
		}
		values[name] = v
	}
	if !p.Uses(ParamOrgID) {
		return []string{substitute(p.src, values)}, nil
	}
	if len(params.OrgIDs) > MaxOrgExpansion {
		return nil, fmt.Errorf("%w: %d in %q", ErrTooManyOrgs, len(params.OrgIDs), p.src)
	}
	out := make([]string, 0, len(params.OrgIDs))
	seen := make(map[string]bool, len(params.OrgIDs))
	for _, org := range params.OrgIDs {
		if seen[org] {
			continue
		}
		seen[org] = true
		if !validParamValue(org) {
			return nil, fmt.Errorf("%w: :%s = %q in %q", ErrBadParamValue, ParamOrgID, org, p.src)
		}
		values[ParamOrgID] = org
		out = append(out, substitute(p.src, values))
	}
	return out, nil
}

func substitute(src string, values map[string]string) string {
	if strings.IndexByte(src, ':') < 0 {
		return src
	}
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		if src[i] != ':' {
			b.WriteByte(src[i])
			continue
		}
		j := i + 1 + paramNameLen(src[i+1:])
		b.WriteString(values[src[i+1:j]])
		i = j - 1
	}
	return b.String()
}

func validParamValue(v string) bool {
	if v == "" || v == "." || v == ".." {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !paramValueByte(v[i]) {
			return false
		}
	}
	return true
}

// paramValueByte is the alphabet of parameter values: ASCII letters,
// digits, "-" and "." (enough for UUIDs and numeric IDs).
func paramValueByte(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '-' || c == '.'
}

// literalByte reports whether c may stand in a literal pattern segment.
// Bytes of multi-byte UTF-8 sequences are allowed; the whole pattern's
// UTF-8 validity is checked separately.
func literalByte(c byte) bool {
	if c <= 0x20 || c == 0x7f {
		return false
	}
	switch c {
	case '/', '*', ':', '%', '\\', '?', '#':
		return false
	}
	return true
}

func paramNameLen(s string) int {
	n := 0
	for n < len(s) {
		c := s[n]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || (n > 0 && '0' <= c && c <= '9') {
			n++
			continue
		}
		break
	}
	return n
}

// scanPattern checks src against the pattern grammar without allocating.
// With withParams, ":name" references are allowed and reported to onParam;
// without, the pattern must be concrete (as carried in a token).
func scanPattern(src string, withParams bool, onParam func(string)) error {
	if src == "" || src[0] != '/' {
		return errors.New("must start with /")
	}
	if !utf8.ValidString(src) {
		return errors.New("not valid UTF-8")
	}
	if src == "/" {
		return nil
	}
	start := 1
	for i := 1; i <= len(src); i++ {
		if i < len(src) && src[i] != '/' {
			continue
		}
		seg := src[start:i]
		last := i == len(src)
		start = i + 1
		switch {
		case seg == "":
			return errors.New("empty segment")
		case seg == "**":
			if !last {
				return errors.New("** is allowed only as the last segment")
			}
			continue
		case seg == "*":
			continue
		case seg == "." || seg == "..":
			return errors.New(". and .. segments never match a canonical path")
		}
		body := seg
		if body[len(body)-1] == '*' {
			body = body[:len(body)-1]
		}
		for j := 0; j < len(body); j++ {
			c := body[j]
			if c == ':' && withParams {
				n := paramNameLen(body[j+1:])
				name := body[j+1 : j+1+n]
				switch name {
				case ParamUserID, ParamSessionID, ParamClientID, ParamOrgID:
				case "":
					return errors.New(": must be followed by a parameter name")
				default:
					return fmt.Errorf("unknown parameter :%s (known: :%s, :%s, :%s, :%s)",
						name, ParamUserID, ParamSessionID, ParamClientID, ParamOrgID)
				}
				if onParam != nil {
					onParam(name)
				}
				j += n
				// What follows a parameter in its segment must be
				// something a value cannot hold, so the value cannot run
				// on into it: ":userId_*" is fine, ":userId*" and
				// ":userId-x" are not.
				if next := j + 1; next < len(seg) && (seg[next] == '*' || paramValueByte(seg[next])) {
					return fmt.Errorf("after :%s a segment may only continue with a character IDs cannot hold (not %q)", name, seg[next])
				}
				continue
			}
			if c == '*' {
				return errors.New("* is allowed only alone or at the end of a segment")
			}
			if !literalByte(c) {
				return fmt.Errorf("character %q not allowed", c)
			}
		}
	}
	return nil
}

// ValidRoute reports whether route is a well-formed token route, as a
// token's routes caveat must carry: a pattern with no parameter but the
// organization parameters (:orgId, :orgIdRead, :orgIdEdit, :orgIdManage,
// :orgIdDelete), each followed in its segment only by a character an ID
// cannot hold. It does not allocate.
func ValidRoute(route string) bool {
	return scanConcrete(route, true)
}

// scanConcrete is scanPattern for token routes (with orgParams, the
// organization parameters allowed) or concrete patterns, without the
// error values, so that verification does not allocate.
func scanConcrete(src string, orgParams bool) bool {
	if src == "" || src[0] != '/' {
		return false
	}
	if src == "/" {
		return true
	}
	start := 1
	for i := 1; i <= len(src); i++ {
		if i < len(src) && src[i] != '/' {
			continue
		}
		seg := src[start:i]
		last := i == len(src)
		start = i + 1
		switch {
		case seg == "" || seg == "." || seg == "..":
			return false
		case seg == "**":
			if !last {
				return false
			}
			continue
		case seg == "*":
			continue
		}
		full := seg
		if seg[len(seg)-1] == '*' {
			seg = seg[:len(seg)-1]
		}
		for j := 0; j < len(seg); j++ {
			if seg[j] == ':' && orgParams {
				n := paramNameLen(seg[j+1:])
				if _, ok := orgParamFlag(seg[j+1 : j+1+n]); !ok {
					return false
				}
				j += n
				if next := j + 1; next < len(full) && (full[next] == '*' || paramValueByte(full[next])) {
					return false
				}
				continue
			}
			if !literalByte(seg[j]) {
				return false
			}
		}
	}
	return utf8.ValidString(src)
}

// MatchRoute reports whether the token route matches the canonical raw
// path, with no memberships: an organization parameter matches nothing.
// Literals compare with the percent-decoded path segments, byte for byte
// (case-sensitive). It does not allocate. The result is meaningful only
// when ValidRoute(route) and CanonicalPath(path) hold.
func MatchRoute(route, path string) bool { return MatchRouteOrgs(route, path, nil) }

// MatchRouteOrgs is MatchRoute where an organization parameter (:orgId,
// :orgIdRead, ...) matches a path segment part that is an organization
// orgs allows with the parameter's flag (OrgGrants.Allows). The part is
// the longest run of ID bytes ([A-Za-z0-9.-], percent-decoded) at the
// parameter's place; every organization parameter of the route must
// match the same raw text (one organization per route, as when :orgId
// was expanded into one route per organization). It does not allocate.
func MatchRouteOrgs(route, path string, orgs OrgGrants) bool {
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

func indexSlash(s string, from int) int {
	if i := strings.IndexByte(s[from:], '/'); i >= 0 {
		return from + i
	}
	return len(s)
}

// matchSegment compares one pattern segment with one raw path segment,
// decoding the path's percent escapes on the fly. An organization
// parameter in the pattern consumes the longest run of ID bytes of the
// path and asks orgs about it; bound carries the raw text the route's
// earlier organization parameters matched (the same organization,
// however percent-encoded).
func matchSegment(pseg, raw string, orgs OrgGrants, bound *string) bool {
	if pseg == "" {
		return false
	}
	if pseg == "*" {
		return raw != ""
	}
	prefix := pseg[len(pseg)-1] == '*'
	if prefix {
		pseg = pseg[:len(pseg)-1]
	}
	j := 0 // position in raw
	for i := 0; i < len(pseg); i++ {
		if pseg[i] == ':' {
			n := paramNameLen(pseg[i+1:])
			flag, ok := orgParamFlag(pseg[i+1 : i+1+n])
			if !ok {
				return false
			}
			start := j
			for j < len(raw) {
				c, w := decodedByte(raw, j)
				if !paramValueByte(c) {
					break
				}
				j += w
			}
			value := raw[start:j]
			if value == "" || (*bound != "" && !sameDecoded(value, *bound)) || !orgs.allowsRaw(value, flag) {
				return false
			}
			*bound = value
			i += n
			continue
		}
		if j >= len(raw) {
			return false
		}
		c, n := decodedByte(raw, j)
		if c != pseg[i] {
			return false
		}
		j += n
	}
	if prefix {
		return j < len(raw)
	}
	return j == len(raw)
}

func decodedByte(raw string, j int) (byte, int) {
	if raw[j] == '%' && j+2 < len(raw) {
		hi, _ := unhex(raw[j+1])
		lo, _ := unhex(raw[j+2])
		return hi<<4 | lo, 3
	}
	return raw[j], 1
}

// ValidRoutes reports whether a routes caveat argument is well-formed:
// token routes (ValidRoute) separated by single spaces, no leading
// or trailing space. It does not allocate.
func ValidRoutes(routes string) bool {
	if routes == "" {
		return false
	}
	for {
		r, rest, more := strings.Cut(routes, " ")
		if !scanConcrete(r, true) {
			return false
		}
		if !more {
			return true
		}
		routes = rest
	}
}

// MatchRoutes validates every pattern of a routes caveat argument (token
// routes separated by single spaces) and reports whether any matches the
// canonical raw path, with no memberships (an organization parameter
// matches nothing). ok is false when the argument is malformed: empty, a doubled,
// leading or trailing space, or a pattern that is not ValidRoute. It does
// not allocate.
func MatchRoutes(routes, path string) (matched, ok bool) {
	if routes == "" {
		return false, false
	}
	start := 0
	for i := 0; i <= len(routes); i++ {
		if i < len(routes) && routes[i] != ' ' {
			continue
		}
		r := routes[start:i]
		start = i + 1
		if !scanConcrete(r, true) {
			return false, false
		}
		if !matched && MatchRoute(r, path) {
			matched = true
		}
	}
	return matched, true
}

// RouteSet is a list of concrete patterns, such as a public scope.
type RouteSet []string

// NewRouteSet checks that every pattern is concrete and well-formed and
// returns them as a set; the error names the first bad pattern.
func NewRouteSet(patterns ...string) (RouteSet, error) {
	for _, p := range patterns {
		if err := scanPattern(p, false, nil); err != nil {
			return nil, &PatternError{Pattern: p, Reason: err.Error()}
		}
	}
	return RouteSet(append([]string(nil), patterns...)), nil
}

// Match reports whether any pattern of the set matches the canonical raw path.
func (s RouteSet) Match(path string) bool {
	for _, r := range s {
		if MatchRoute(r, path) {
			return true
		}
	}
	return false
}

// MatchAnyRoute reports whether any of the space-separated token routes
// matches the canonical raw path, with no memberships. Unlike MatchRoutes
// it does not check the patterns' syntax: use it on routes already
// checked.
func MatchAnyRoute(routes, path string) bool { return MatchAnyRouteOrgs(routes, path, nil) }

// MatchAnyRouteOrgs is MatchAnyRoute with the memberships of orgs for the
// organization parameters (MatchRouteOrgs). It does not allocate.
func MatchAnyRouteOrgs(routes, path string, orgs OrgGrants) bool {
	for routes != "" {
		r, rest, _ := strings.Cut(routes, " ")
		if MatchRouteOrgs(r, path, orgs) {
			return true
		}
		routes = rest
	}
	return false
}
