package mint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authgw/authgw/mint/caveat"
)

// The authentication method references (RFC 8176) authgw writes in a
// token's amr caveat, one for each factor of the login the session began
// with, and AMRMultiFactor when it took two.
const (
	// AMRPassword: a password (RFC 8176 "pwd").
	AMRPassword = "pwd"
	// AMROTP: a TOTP code or a single-use recovery code of the second
	// factor (RFC 8176 "otp").
	AMROTP = "otp"
	// AMRPasskey: a passkey (WebAuthn; RFC 8176 "hwk", proof of
	// possession of a key kept by an authenticator). A passkey alone
	// counts as two factors: the authenticator verified its user (PIN or
	// biometric) before signing, so it also carries AMRMultiFactor.
	AMRPasskey = "hwk"
	// AMRMailedCode: a code mailed to a verified address. RFC 8176 has no
	// value for it; "mail" is authgw's (the RFC lets a value outside its
	// registry be used where both sides agree).
	AMRMailedCode = "mail"
	// AMRMultiFactor: the login took more than one factor (RFC 8176
	// "mfa"), so a backend needs to look for this one value only.
	AMRMultiFactor = "mfa"
)

// checkAuthn checks the subject's AMR and AuthTime: at most
// caveat.MaxAMR values, each caveat.ValidAMRValue, none twice, and an
// AuthTime after 1970. It fails with ErrBadSubject.
func checkAuthn(s Subject) error {
	if len(s.AMR) > caveat.MaxAMR {
		return fmt.Errorf("%w: %d amr values, at most %d", ErrBadSubject, len(s.AMR), caveat.MaxAMR)
	}
	for i, v := range s.AMR {
		if !caveat.ValidAMRValue(v) || slices.Contains(s.AMR[:i], v) {
			return fmt.Errorf("%w: amr value %q is not 1 to 16 of [a-z0-9], or is repeated", ErrBadSubject, v)
		}
	}
	if !s.AuthTime.IsZero() && s.AuthTime.Unix() <= 0 {
		return fmt.Errorf("%w: auth time %v is before 1970", ErrBadSubject, s.AuthTime)
	}
	return nil
}

// appendAuthn appends the subject's amr and auth-time caveats, when it
// has them (checkAuthn has checked them).
func appendAuthn(out []caveat.Caveat, s Subject) []caveat.Caveat {
	if len(s.AMR) > 0 {
		out = append(out, caveat.MustNew(caveat.AMR, strings.Join(s.AMR, " ")))
	}
	if !s.AuthTime.IsZero() {
		out = append(out, caveat.NewAuthTime(s.AuthTime))
	}
	return out
}
