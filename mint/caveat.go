package mint

import "time"

// Caveat names. A first-party caveat is the UTF-8 text "name argument".
const (
	CaveatServerID   = "server-id"   // the verifier's server ID
	CaveatMethod     = "method"      // GET, POST, PUT, PATCH or DELETE
	CaveatRoutes     = "routes"      // concrete route patterns, space-separated
	CaveatTimeBefore = "time-before" // RFC 3339 UTC expiry
	CaveatUser       = "user"        // the user ID
	CaveatSession    = "session"     // the session ID
	CaveatClient     = "client"      // the API client the token is bound to
	CaveatIP         = "ip"          // client IP CIDRs, space-separated
)

// Methods are the HTTP methods a token can be minted for, in mint order.
var Methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// TimeFormat is the layout of a time-before argument.
const TimeFormat = time.RFC3339

// Caveat formats one caveat condition.
func Caveat(name, argument string) string { return name + " " + argument }
