package mint

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint/wire"
)

// MaxEncodedSize is the longest encoded token Decode accepts. Minted
// tokens are held to MaxTokenSize; attenuation may add to them.
const MaxEncodedSize = 16 << 10

// ErrBadEncoding is returned by Decode for input that is not a base64
// macaroon V2 binary.
var ErrBadEncoding = errors.New("malformed token encoding")

// Encode writes a V2 macaroon as binary in unpadded base64url. It fails
// for a macaroon of an older version.
func Encode(m *macaroon.Macaroon) (string, error) {
	if m.Version() != macaroon.V2 {
		return "", fmt.Errorf("encode token: version %v, want V2", m.Version())
	}
	b, err := m.MarshalBinary()
	if err != nil {
		return "", fmt.Errorf("encode token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeBase64 decodes a token's text as wire.AppendBase64 does (tokens may
// arrive from other implementations in either alphabet, padded or not).
// It fails with ErrBadEncoding on anything else.
func DecodeBase64(s string) ([]byte, error) {
	if len(s) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadEncoding, MaxEncodedSize)
	}
	b, ok := wire.AppendBase64(make([]byte, 0, len(s)*3/4+3), s)
	if !ok {
		return nil, fmt.Errorf("%w: not base64url or standard base64", ErrBadEncoding)
	}
	return b, nil
}

// Decode parses an encoded token with macaroon.v2, after wire.SplitV2 has
// checked its structure, so it accepts exactly what the verifier decodes.
// The result is unverified.
func Decode(s string) (*macaroon.Macaroon, error) {
	b, err := DecodeBase64(s)
	if err != nil {
		return nil, err
	}
	var split wire.UnsafeToken
	if !wire.SplitV2(b, &split) {
		return nil, fmt.Errorf("%w: not a V2 binary macaroon with first-party caveats only", ErrBadEncoding)
	}
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, err)
	}
	return &m, nil
}

// Attenuate adds first-party caveats to an encoded token and returns the
// new encoding. No secret is needed: a holder can only narrow a token.
// It fails when the token cannot be decoded or a caveat is not valid text.
func Attenuate(token string, caveats ...string) (string, error) {
	m, err := Decode(token)
	if err != nil {
		return "", err
	}
	for _, c := range caveats {
		if !ValidCaveatText(c) {
			return "", fmt.Errorf("caveat %q: not of the form \"name argument\" in printable UTF-8", c)
		}
		if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
			return "", err
		}
	}
	return Encode(m)
}

// ValidCaveatText reports whether c has the caveat shape "name argument":
// a lower-case name of [a-z-], one space, a non-empty argument, valid
// UTF-8 and no control characters.
func ValidCaveatText(c string) bool {
	name, arg, ok := strings.Cut(c, " ")
	if !ok || name == "" || arg == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !('a' <= name[i] && name[i] <= 'z' || name[i] == '-') {
			return false
		}
	}
	for i := 0; i < len(arg); i++ {
		if c := arg[i]; c < 0x20 || c == 0x7f {
			return false
		} else if c >= 0x80 {
			return validText(arg[i:])
		}
	}
	return true
}

// validText is ValidCaveatText's check of non-ASCII text: valid UTF-8 and
// no C0 or C1 control characters.
func validText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
