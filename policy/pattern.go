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
	if problem := scan(src, modePolicy, func(name string) {
		for _, have := range p.params {
			if have == name {
				return
			}
		}
		p.params = append(p.params, name)
	}); !problem.ok() {
		return nil, &PatternError{Pattern: src, Reason: problem.String()}
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
	values, err := p.subjectValues(params)
	if err != nil {
		return nil, err
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

// subjectValues returns the values of the pattern's :userId, :sessionId
// and :clientId, keyed by parameter name. It fails with ErrBadParamValue
// when one the pattern uses is missing or could not stand as a literal.
func (p *Pattern) subjectValues(params Params) (map[string]string, error) {
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
		default:
			continue
		}
		if !validParamValue(v) {
			return nil, fmt.Errorf("%w: :%s = %q in %q", ErrBadParamValue, name, v, p.src)
		}
		values[name] = v
	}
	return values, nil
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

// scanMode says which parameters a pattern may name.
type scanMode uint8

const (
	// modePolicy: a policy route pattern, with :userId, :sessionId,
	// :clientId and :orgId.
	modePolicy scanMode = iota
	// modeToken: a token route, with only the organization parameters
	// (:orgId, :orgIdRead, :orgIdEdit, :orgIdManage, :orgIdDelete).
	modeToken
	// modeConcrete: no parameter at all, as a public scope's routes.
	modeConcrete
)

// scanProblem says why a pattern does not scan; the zero value means it
// does. It is a value, not an error, so that scanning never allocates;
// String builds the message only when one is wanted.
type scanProblem struct {
	reason string // a fixed message, or the format of one naming name or c
	name   string // the parameter a message is about
	c      byte   // the character a message is about
}

func (p scanProblem) ok() bool { return p.reason == "" }

// String returns the problem as the sentence PatternError.Reason carries.
func (p scanProblem) String() string {
	switch p.reason {
	case reasonUnknownParam:
		return fmt.Sprintf("unknown parameter :%s (known: :%s, :%s, :%s, :%s)",
			p.name, ParamUserID, ParamSessionID, ParamClientID, ParamOrgID)
	case reasonUnknownTokenParam:
		return fmt.Sprintf("parameter :%s cannot stay in a token route (only :%s, :%s, :%s, :%s and :%s do)",
			p.name, OrgParamAny, OrgParamRead, OrgParamEdit, OrgParamManage, OrgParamDelete)
	case reasonAfterParam:
		return fmt.Sprintf("after :%s a segment may only continue with a character IDs cannot hold (not %q)", p.name, p.c)
	case reasonCharacter:
		return fmt.Sprintf("character %q not allowed", p.c)
	}
	return p.reason
}

// Reasons of scanProblem that need its name or c.
const (
	reasonUnknownParam      = "unknown parameter"
	reasonUnknownTokenParam = "parameter not allowed in a token route"
	reasonAfterParam        = "parameter runs on"
	reasonCharacter         = "character not allowed"
)

// scan checks src against the route-pattern grammar (the README's "Route
// patterns") in the given mode, without allocating. It reports each
// parameter the pattern names to onParam when that is not nil. It is the
// one scanner of the grammar: policy patterns, token routes and public
// routes differ only in the parameters mode lets them name.
func scan(src string, mode scanMode, onParam func(string)) scanProblem {
	if src == "" || src[0] != '/' {
		return scanProblem{reason: "must start with /"}
	}
	if !utf8.ValidString(src) {
		return scanProblem{reason: "not valid UTF-8"}
	}
	if src == "/" {
		return scanProblem{}
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
			return scanProblem{reason: "empty segment"}
		case seg == "**":
			if !last {
				return scanProblem{reason: "** is allowed only as the last segment"}
			}
			continue
		case seg == "*":
			continue
		case seg == "." || seg == "..":
			return scanProblem{reason: ". and .. segments never match a canonical path"}
		}
		body := seg
		if body[len(body)-1] == '*' {
			body = body[:len(body)-1]
		}
		for j := 0; j < len(body); j++ {
			c := body[j]
			if c == ':' && mode != modeConcrete {
				n := paramNameLen(body[j+1:])
				name := body[j+1 : j+1+n]
				if name == "" {
					return scanProblem{reason: ": must be followed by a parameter name"}
				}
				if mode == modePolicy && !policyParam(name) {
					return scanProblem{reason: reasonUnknownParam, name: name}
				}
				if _, ok := orgParamFlag(name); mode == modeToken && !ok {
					return scanProblem{reason: reasonUnknownTokenParam, name: name}
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
					return scanProblem{reason: reasonAfterParam, name: name, c: seg[next]}
				}
				continue
			}
			if c == '*' {
				return scanProblem{reason: "* is allowed only alone or at the end of a segment"}
			}
			if !literalByte(c) {
				return scanProblem{reason: reasonCharacter, c: c}
			}
		}
	}
	return scanProblem{}
}

// policyParam reports whether name is a parameter a policy pattern may name.
func policyParam(name string) bool {
	switch name {
	case ParamUserID, ParamSessionID, ParamClientID, ParamOrgID:
		return true
	}
	return false
}

// indexSlash returns the index of the first "/" of s at or after from,
// or len(s).
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
