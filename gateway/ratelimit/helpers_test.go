package ratelimit_test

import (
	"github.com/authgw/authgw/mint/minttest"
)

// start is the reading of every fixed clock here.
var start = minttest.Start

// newClock returns a settable clock reading start.
func newClock() *minttest.Clock { return minttest.NewClock(start) }
