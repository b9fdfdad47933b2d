package policy

import (
	"fmt"
	"strings"
)

// Organization parameters of token routes. A policy writes :orgId with
// the scope's membership flag beside it; the mint keeps the pattern in
// the token, the flag folded into the parameter's name, and lists the
// subject's memberships once in an orgs caveat. The verifier lets the
// parameter match an organization that every orgs caveat of the token
// lists with that flag (:orgId alone: any membership).
const (
	OrgParamAny    = ParamOrgID
	OrgParamRead   = ParamOrgID + "Read"
	OrgParamEdit   = ParamOrgID + "Edit"
	OrgParamManage = ParamOrgID + "Manage"
	OrgParamDelete = ParamOrgID + "Delete"
)

// MaxOrgIDLength bounds an organization ID in an orgs caveat.
const MaxOrgIDLength = 64

// membershipFlags are the membership flags in the order their letters
// are written in an orgs caveat.
var membershipFlags = [4]struct {
	name   MembershipFlag
	letter byte
	param  string
}{
	{FlagRead, 'r', OrgParamRead},
	{FlagEdit, 'e', OrgParamEdit},
	{FlagManage, 'm', OrgParamManage},
	{FlagDelete, 'd', OrgParamDelete},
}

// OrgParam returns the token-route parameter name for a scope's
// membership flag (AnyMembership or one of the four); ok is false for
// another flag.
func OrgParam(membership MembershipFlag) (name string, ok bool) {
	if membership == AnyMembership {
		return OrgParamAny, true
	}
	for _, f := range membershipFlags {
		if f.name == membership {
			return f.param, true
		}
	}
	return "", false
}

// FlagLetter returns the letter of a membership flag in an orgs caveat
// (r, e, m, d); ok is false for an unknown flag.
func FlagLetter(flag MembershipFlag) (letter byte, ok bool) {
	for _, f := range membershipFlags {
		if f.name == flag {
			return f.letter, true
		}
	}
	return 0, false
}

// orgParamFlag returns the flag letter an organization parameter needs
// (0 for :orgId, any membership); ok is false when name is not one.
func orgParamFlag(name string) (letter byte, ok bool) {
	if name == OrgParamAny {
		return 0, true
	}
	for _, f := range membershipFlags {
		if f.param == name {
			return f.letter, true
		}
	}
	return 0, false
}

// ValidOrgID reports whether id can stand for :orgId: 1 to
// MaxOrgIDLength of [A-Za-z0-9.-], not "." or "..".
func ValidOrgID(id string) bool { return len(id) <= MaxOrgIDLength && validParamValue(id) }

// OrgEntry formats one membership of an orgs caveat: the organization ID,
// then ":" and the letters of its flags (in the order r, e, m, d) when it
// has any of the ones listed.
func OrgEntry(orgID string, letters string) string {
	if letters == "" {
		return orgID
	}
	return orgID + ":" + letters
}

// ValidOrgs reports whether arg is a well-formed orgs caveat argument:
// entries separated by single spaces, each an organization ID (1 to
// MaxOrgIDLength of [A-Za-z0-9.-], not "." or "..") optionally followed by
// ":" and one to four distinct flag letters in the order r, e, m, d, with
// no organization twice.
func ValidOrgs(arg string) bool {
	if arg == "" {
		return false
	}
	rest := arg
	for {
		entry, tail, more := strings.Cut(rest, " ")
		id, letters, hasLetters := strings.Cut(entry, ":")
		if !ValidOrgID(id) || (hasLetters && !validLetters(letters)) {
			return false
		}
		// No organization twice: an entry is looked up by its ID.
		if _, ok := findOrg(arg[:len(arg)-len(rest)], id); ok {
			return false
		}
		if !more {
			return true
		}
		if tail == "" {
			return false
		}
		rest = tail
	}
}

// validLetters reports whether s is one to four flag letters, in order,
// without repeats.
func validLetters(s string) bool {
	if s == "" {
		return false
	}
	k := 0
	for i := 0; i < len(s); i++ {
		for k < len(membershipFlags) && membershipFlags[k].letter != s[i] {
			k++
		}
		if k == len(membershipFlags) {
			return false
		}
		k++
	}
	return true
}

// OrgGrants are the arguments of a token's orgs caveats, each checked
// with ValidOrgs. An organization is granted with a flag when every
// argument lists it with that flag: a holder who appends an orgs caveat
// can only narrow the set. No argument grants nothing.
type OrgGrants []string

// Allows reports whether every argument lists the organization with the
// flag (AnyMembership: with any flags or none).
func (g OrgGrants) Allows(orgID string, flag MembershipFlag) bool {
	var letter byte
	if flag != AnyMembership {
		var ok bool
		if letter, ok = FlagLetter(flag); !ok {
			return false
		}
	}
	if strings.IndexByte(orgID, '%') >= 0 {
		return false
	}
	return g.allowsRaw(orgID, letter)
}

// allowsRaw is Allows for the raw (percent-encoded) text of a path
// segment part and a flag letter (0: any). It does not allocate.
func (g OrgGrants) allowsRaw(raw string, letter byte) bool {
	if len(g) == 0 {
		return false
	}
	if len(g) == 1 && g[0] == anyOrgMarker {
		return true
	}
	for _, arg := range g {
		letters, ok := findOrg(arg, raw)
		if !ok || (letter != 0 && strings.IndexByte(letters, letter) < 0) {
			return false
		}
	}
	return true
}

// findOrg returns the flag letters of the entry of arg whose ID equals
// the percent-decoded raw text; ok is false when there is none.
func findOrg(arg, raw string) (letters string, ok bool) {
	for arg != "" {
		entry, rest, _ := strings.Cut(arg, " ")
		id, l, _ := strings.Cut(entry, ":")
		if equalDecoded(id, raw) {
			return l, true
		}
		arg = rest
	}
	return "", false
}

// equalDecoded reports whether the raw path text, percent-decoded,
// equals id.
func equalDecoded(id, raw string) bool {
	j := 0
	for i := 0; i < len(id); i++ {
		if j >= len(raw) {
			return false
		}
		c, n := decodedByte(raw, j)
		if c != id[i] {
			return false
		}
		j += n
	}
	return j == len(raw)
}

// Bind substitutes :userId, :sessionId and :clientId and keeps :orgId as
// the token parameter of the scope's membership flag (OrgParam), so the
// route stands for every organization of the token's orgs caveat. It
// fails with ErrBadParamValue when a value used by the pattern is missing
// or could not stand as a literal, and when the result is not a valid
// token route (an :orgId followed by a value that an ID could run on
// into, as in ":orgId:userId").
func (p *Pattern) Bind(params Params, membership MembershipFlag) (string, error) {
	values, err := p.subjectValues(params)
	if err != nil {
		return "", err
	}
	if p.Uses(ParamOrgID) {
		param, ok := OrgParam(membership)
		if !ok {
			return "", fmt.Errorf("%w: membership flag %q in %q", ErrBadParamValue, membership, p.src)
		}
		values[ParamOrgID] = ":" + param
	}
	route := substitute(p.src, values)
	if !ValidRoute(route) {
		return "", fmt.Errorf("%w: %q does not stand as a token route (%q)", ErrBadParamValue, p.src, route)
	}
	return route, nil
}

// sameDecoded reports whether two raw path texts are equal once
// percent-decoded.
func sameDecoded(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, na := decodedByte(a, i)
		cb, nb := decodedByte(b, j)
		if ca != cb {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}
