package mint

import (
	"encoding/base64"
	"errors"
	"fmt"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/mint/caveat"
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
		return nil, fmt.Errorf("%w: not a V2 binary macaroon with at most one third-party caveat", ErrBadEncoding)
	}
	var m macaroon.Macaroon
	if err := m.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEncoding, err)
	}
	return &m, nil
}

// Attenuate adds first-party caveats to an encoded token and returns the
// new encoding. No secret is needed: a holder can only narrow a token.
// It fails when the token cannot be decoded or a caveat is the zero
// Caveat.
func Attenuate(token string, caveats ...caveat.Caveat) (string, error) {
	texts := make([]string, len(caveats))
	for i, c := range caveats {
		if c.Kind() == 0 {
			return "", fmt.Errorf("caveat %d: the zero Caveat", i+1)
		}
		texts[i] = c.String()
	}
	return AttenuateText(token, texts...)
}

// AttenuateText is Attenuate for caveats given as text, checked only for
// the caveat shape (caveat.ValidText): for caveats this version does not
// define, such as another implementation's or a malformed one in a test.
// The verifier refuses every caveat it cannot parse, so text cannot
// widen a token. It fails when the token cannot be decoded or a caveat
// is not of the form "name argument" in printable UTF-8.
func AttenuateText(token string, texts ...string) (string, error) {
	m, err := Decode(token)
	if err != nil {
		return "", err
	}
	for _, c := range texts {
		if !caveat.ValidText(c) {
			return "", fmt.Errorf("caveat %q: not of the form \"name argument\" in printable UTF-8", c)
		}
		if err := m.AddFirstPartyCaveat([]byte(c)); err != nil {
			return "", err
		}
	}
	return Encode(m)
}
