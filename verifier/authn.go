package verifier

import (
	"strings"

	"github.com/authgw/authgw/mint"
)

// AMR returns how the user authenticated at the login the token's
// session began with (its amr caveat: RFC 8176 values, see mint.AMRPassword
// and the others), nil when the token does not say (one minted before
// authgw wrote it: read that as unknown, never as two factors); a new
// slice each call.
func (id Identity) AMR() []string { return strings.Fields(id.amr) }

// MultiFactor reports whether the token says its session began with more
// than one factor (mint.AMRMultiFactor in its amr caveat).
func (id Identity) MultiFactor() bool {
	for v := range strings.FieldsSeq(id.amr) {
		if v == mint.AMRMultiFactor {
			return true
		}
	}
	return false
}
