package requestinfo

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"github.com/authgw/authgw/gateway/internal/hdr"
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
)

// MaxTokenLength bounds the length of a token: Sign refuses to produce a
// longer one and Verify refuses to parse it.
const MaxTokenLength = 8 << 10

// Claims is what the gateway tells a backend about a request. The JSON
// names are those of the original auth-gateway.
type Claims struct {
	Client         string      `json:"c"`           // client ID ("" when unidentified)
	SecretVerified bool        `json:"a"`           // the client presented its secret
	ClientRoles    []string    `json:"r"`           // the client's roles
	IP             string      `json:"ip"`          // the caller's IP as the gateway saw it
	User           *UserClaims `json:"u,omitempty"` // nil without an authenticated user
	IssuedAt       int64       `json:"iat"`         // Unix seconds; set by Sign
	Expires        int64       `json:"exp"`         // Unix seconds; set by Sign
	Audience       string      `json:"aud"`         // the backend API name, e.g. "demo"
	Issuer         string      `json:"iss"`         // set by Sign from SignerConfig.Issuer
}

// UserClaims is the authenticated user of a request.
type UserClaims struct {
	ID        string   `json:"id"`
	SessionID string   `json:"sid"`
	Roles     []string `json:"r"`
}

// wireClaims is the payload on the wire. T is the original auth-gateway's
// role encoding tag: 0 means roles are arrays of strings (1, bitwise
// numbers, is neither produced nor accepted). Its backends' type guards
// require it.
type wireClaims struct {
	T int `json:"t"`
	Claims
}

// jwsHeader is the protected header as read by Verify. Crit is decoded
// only to refuse it: no extension is understood.
type jwsHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// b64 is unpadded base64url that refuses non-canonical encodings.
var b64 = base64.RawURLEncoding.Strict()

// SetHeaders sets the three request-info headers on h for token, replacing
// any value already there.
func SetHeaders(h http.Header, token string) {
	// One array for the three values (capped slices: an append elsewhere
	// copies), set under their canonical names.
	vals := [...]string{token, "1", Algorithm}
	shared := vals[:]
	h[HeaderInfo] = shared[0:1:1]
	h[HeaderSigned] = shared[1:2:2]
	h[HeaderAlgorithm] = shared[2:3:3]
}

// RemoveHeaders deletes every header of h that IsInfoHeader names, so a
// client cannot pass its own request info through the gateway.
func RemoveHeaders(h http.Header) {
	for name := range h {
		if IsInfoHeader(name) {
			delete(h, name)
		}
	}
}

// IsInfoHeader reports whether a header name starts with X-Auth-Info in
// any case, with "_" read as "-": CGI-style servers (WSGI, Rack, PHP)
// read X_Auth_Info as X-Auth-Info, so a client's X_Auth_Info could shadow
// the gateway's. It allocates nothing.
func IsInfoHeader(name string) bool {
	return hdr.FoldedPrefix(name, "x-auth-info", false) // HeaderInfo in lower case
}
