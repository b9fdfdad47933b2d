package mint

import "github.com/authgw/authgw/mint/caveat"

// Methods are the HTTP methods a token can be minted for, in mint order
// (caveat.Methods). It is a copy: changing it does not change which
// methods a method caveat may name.
var Methods = caveat.Methods()

// TimeFormat is the layout of a time-before argument (caveat.TimeFormat).
const TimeFormat = caveat.TimeFormat

func validRole(role string) bool { return caveat.ValidRole(role) }
