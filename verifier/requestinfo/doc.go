// Package requestinfo is the backend's side of the signed request-info
// header of the README's "Request info for backends": the gateway's
// statement to a backend of who is calling, and the one call a backend
// makes to verify and read it. It is the home of the header's wire
// format: the claim names (Claims, MarshalPayload), the header names, the
// public key formats (PEM, JWKS, the RFC 7638 key ID) and the reader
// (Verifier, FromRequest, Middleware). The gateway's signing half, with
// the private key, lives in gateway/infosign and imports this package.
//
// A token is a compact JWS with ES256, sent as three headers:
//
//	X-Auth-Info:           <header>.<payload>.<signature>
//	X-Auth-Info-Signed:    1
//	X-Auth-Info-Algorithm: ES256
//
// The protected header is {"alg":"ES256","kid":<key ID>,"typ":"JWT"}. The
// claim names are those of the original TypeScript auth-gateway (c, a,
// r, ip, u{id, sid, r}, plus t=0 for "roles are strings"), with iat, exp
// (30 s by default), aud (the backend API's name) and iss, so its existing
// backends keep reading them.
//
// A backend uses a Verifier and FromRequest, or Middleware around a
// net/http handler, which puts the Claims in the request context
// (ClaimsFrom). JOSE parsing and the ECDSA check are go-jose's
// (github.com/go-jose/go-jose/v4), told to accept ES256 only; the
// signature is checked first and only then are the claims read. A token
// naming any other algorithm ("none", HS256 keyed with the public key),
// carrying a key of its own (jwk, jku, x5u, x5c), a crit or b64 member, or
// any part in a non-canonical base64url spelling is refused, and so is an
// unsigned header (X-Auth-Info-Signed: 0, which the original accepted). A
// Verifier remembers the tokens it has verified (by hash), so a token the
// gateway reuses costs the backend one ECDSA verification, not one per
// request. Keys are P-256; the public half is given to backends as PEM or
// as a JWKS document, with the RFC 7638 thumbprint as key ID.
//
// A backend need hold no key at all: RemoteKeys fetches the JWKS the
// gateway publishes (/accounts/v1/request-info/jwks.json on its listener),
// caches it, fetches it again every RefreshInterval and at once when a
// token names a kid it lacks (at most once per MinRefetchInterval), and
// keeps the last good keys while the gateway cannot be reached, up to
// StaleLimit. During a rotation the gateway publishes its new key first
// and the previous one after it, so headers of both verify.
package requestinfo
