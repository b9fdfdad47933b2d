package mint

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/macaroon.v2"
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

// DecodeBase64 decodes base64url or standard base64, padded or not, as
// tokens may arrive from other implementations. It fails with
// ErrBadEncoding on anything else.
func DecodeBase64(s string) ([]byte, error) {
	if len(s) > MaxEncodedSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadEncoding, MaxEncodedSize)
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawURLEncoding
	if strings.ContainsAny(s, "+/") {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, err)
	}
	return b, nil
}

// Decode parses an encoded token with macaroon.v2. Only the V2 binary
// format is accepted. The result is unverified.
func Decode(s string) (*macaroon.Macaroon, error) {
	b, err := DecodeBase64(s)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] != 2 {
		return nil, fmt.Errorf("%w: not a V2 binary macaroon", ErrBadEncoding)
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
	for _, r := range arg {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
