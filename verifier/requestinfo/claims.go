package requestinfo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Header names and values of the request info sent to backends.
const (
	// HeaderInfo carries the compact JWS.
	HeaderInfo = "X-Auth-Info"
	// HeaderSigned is always "1": authgw never sends unsigned info.
	HeaderSigned = "X-Auth-Info-Signed"
	// HeaderAlgorithm names the JWS algorithm, always Algorithm.
	HeaderAlgorithm = "X-Auth-Info-Algorithm"
	// Algorithm is the only JWS algorithm signed and accepted.
	Algorithm = "ES256"
	// TokenType is the "typ" of the JWS header.
	TokenType = "JWT"
)

// MaxTokenLength bounds the length of a token: the gateway refuses to
// produce a longer one and Verify refuses to parse it.
const MaxTokenLength = 8 << 10

// Claims is what the gateway tells a backend about a request. The JSON
// names are those of the original auth-gateway.
type Claims struct {
	Client         string      `json:"c"`           // client ID ("" when unidentified)
	SecretVerified bool        `json:"a"`           // the client presented its secret
	ClientRoles    []string    `json:"r"`           // the client's roles
	IP             string      `json:"ip"`          // the caller's IP as the gateway saw it
	User           *UserClaims `json:"u,omitempty"` // nil without an authenticated user
	IssuedAt       int64       `json:"iat"`         // Unix seconds; set by the gateway's signer
	Expires        int64       `json:"exp"`         // Unix seconds; set by the gateway's signer
	Audience       string      `json:"aud"`         // the backend API name, e.g. "demo"
	Issuer         string      `json:"iss"`         // the gateway's name, set by its signer
}

// UserClaims is the authenticated user of a request.
type UserClaims struct {
	ID        string   `json:"id"`
	SessionID string   `json:"sid"`
	Roles     []string `json:"r"`
	// AMR says how the user authenticated at the login the session began
	// with, as in OpenID Connect (RFC 8176 values: "pwd" password, "otp"
	// TOTP or recovery code, "hwk" passkey, "mail" a mailed sign-in code,
	// and "mfa" whenever it took two factors). Absent (nil) when the
	// token did not say (one minted before authgw wrote it): read that
	// as unknown, never as two factors. A refresh does not change it.
	AMR []string `json:"amr,omitempty"`
	// AuthTime is when that login happened (Unix seconds, OpenID
	// Connect's auth_time); 0, and absent, when unknown.
	AuthTime int64 `json:"auth_time,omitempty"`
}

// MultiFactor reports whether the session began with more than one
// factor ("mfa" in AMR). It is false for a nil UserClaims.
func (u *UserClaims) MultiFactor() bool {
	return u != nil && slices.Contains(u.AMR, "mfa")
}

// wireClaims is the payload on the wire. T is the original auth-gateway's
// role encoding tag: 0 means roles are arrays of strings (1, bitwise
// numbers, is neither produced nor accepted). Its backends' type guards
// require it.
type wireClaims struct {
	T int `json:"t"`
	Claims
}

// MarshalPayload returns the JWS payload the gateway signs for c: the
// claims with t=0, and nil role lists sent as [] (the original's backends
// expect arrays). It does not change c. It errors only if encoding/json
// does.
func MarshalPayload(c Claims) ([]byte, error) {
	if c.ClientRoles == nil {
		c.ClientRoles = []string{}
	}
	if c.User != nil {
		u := *c.User
		if u.Roles == nil {
			u.Roles = []string{}
		}
		c.User = &u
	}
	payload, err := json.Marshal(wireClaims{Claims: c})
	if err != nil {
		return nil, fmt.Errorf("requestinfo: encoding claims: %w", err)
	}
	return payload, nil
}

// decodeClaims decodes a payload whose signature holds.
func decodeClaims(payload []byte) (Claims, error) {
	var w wireClaims
	if err := json.Unmarshal(payload, &w); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if w.T != 0 {
		return Claims{}, fmt.Errorf("%w: role encoding t=%d", ErrMalformed, w.T)
	}
	if w.Expires == 0 || w.IssuedAt == 0 {
		return Claims{}, fmt.Errorf("%w: no exp or iat", ErrMalformed)
	}
	return w.Claims, nil
}

// b64 is unpadded base64url that refuses non-canonical encodings.
var b64 = base64.RawURLEncoding.Strict()

// base64URLAlphabet is the alphabet of b64, in value order.
const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// canonicalBase64URL reports whether part is unpadded base64url in its
// one canonical spelling: only alphabet letters, no length that leaves a
// lone letter, and zero in the bits of the last letter that encode no
// data. go-jose decodes leniently and verifies the signature over its own
// re-encoding of what it decoded, so without this check a token whose
// last letter is changed in those bits would still verify. It allocates
// nothing.
func canonicalBase64URL(part string) bool {
	for i := range len(part) {
		if strings.IndexByte(base64URLAlphabet, part[i]) < 0 {
			return false
		}
	}
	if len(part) == 0 {
		return true
	}
	last := strings.IndexByte(base64URLAlphabet, part[len(part)-1])
	switch len(part) % 4 {
	case 1:
		return false
	case 2: // 12 bits for one byte: the last letter's low 4 bits are unused
		return last&0x0f == 0
	case 3: // 18 bits for two bytes: the last letter's low 2 bits are unused
		return last&0x03 == 0
	}
	return true
}
