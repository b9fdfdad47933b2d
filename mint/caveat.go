package mint

import "github.com/authgw/authgw/mint/caveat"

// Methods returns the HTTP methods a token can be minted for, in mint
// order (caveat.Methods), in a new slice: a caller that changes it changes
// neither which tokens are minted nor which methods a caveat may name.
func Methods() []string { return caveat.Methods() }

// TimeFormat is the layout of a time-before argument (caveat.TimeFormat).
const TimeFormat = caveat.TimeFormat

func validRole(role string) bool { return caveat.ValidRole(role) }
