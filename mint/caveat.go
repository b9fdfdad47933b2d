package mint

import (
	"strings"
	"time"
)

// Caveat names. A first-party caveat is the UTF-8 text "name argument".
const (
	CaveatServerID   = "server-id"   // the verifier's server ID
	CaveatMethod     = "method"      // GET, POST, PUT, PATCH or DELETE
	CaveatRoutes     = "routes"      // concrete route patterns, space-separated
	CaveatTimeBefore = "time-before" // RFC 3339 UTC expiry
	CaveatUser       = "user"        // the user ID
	CaveatUserRoles  = "user-roles"  // the user's roles, space-separated; NoRoles for none
	CaveatSession    = "session"     // the session ID
	CaveatClient     = "client"      // the API client the token is bound to
	CaveatIP         = "ip"          // client IP CIDRs, space-separated
	CaveatOrgs       = "orgs"        // memberships: ORGID[:FLAGS], space-separated (policy.ValidOrgs)
)

// NoRoles is the user-roles argument of a user who has no role: a caveat
// argument cannot be empty.
const NoRoles = "-"

// Methods are the HTTP methods a token can be minted for, in mint order.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// TimeFormat is the layout of a time-before argument.
const TimeFormat = time.RFC3339

// Caveat formats one caveat condition.
func Caveat(name, argument string) string { return name + " " + argument }

// RolesArgument is the user-roles argument for roles: the names joined by
// spaces, or NoRoles when there are none.
func RolesArgument(roles []string) string {
	if len(roles) == 0 {
		return NoRoles
	}
	return strings.Join(roles, " ")
}

// ValidRolesArgument reports whether arg is a user-roles argument: NoRoles,
// or role names (each 1 to 64 of [A-Za-z0-9._-], not NoRoles) separated by
// single spaces.
func ValidRolesArgument(arg string) bool {
	if arg == NoRoles {
		return true
	}
	for {
		role, rest, more := strings.Cut(arg, " ")
		if !validRole(role) {
			return false
		}
		if !more {
			return true
		}
		arg = rest
	}
}

func validRole(role string) bool { return role != NoRoles && validID(role) }
