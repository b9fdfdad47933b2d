// Package requestinfo is the signed request-info header of the README's "Request info for backends": the
// gateway's statement to a backend of who is calling, and the one call a
// backend makes to verify and read it.
//
// The gateway side is a Signer. For every proxied request it signs the
// caller's Claims (client, whether the client's secret was checked, client
// roles, IP, and the user with their session and roles) into a compact JWS
// with ES256, sent as three headers:
//
//	X-Auth-Info:           <header>.<payload>.<signature>
//	X-Auth-Info-Signed:    1
//	X-Auth-Info-Algorithm: ES256
//
// The claim names are those of the original TypeScript auth-gateway (c, a,
// r, ip, u{id, sid, r}, plus t=0 for "roles are strings"), with iat, exp
// (30 s by default), aud (the backend API's name) and iss, so its existing
// backends keep reading them. ECDSA signing costs tens of microseconds, so a
// Signer reuses a token for the same identity for part of its life (half
// of it by default) instead of signing every request.
//
// The backend side is a Verifier and FromRequest, or Middleware around a
// net/http handler, which puts the Claims in the request context
// (ClaimsFrom). The signature is checked first and only then are the claims
// read; only ES256 is accepted, whatever the token's header says, and an
// unsigned header (X-Auth-Info-Signed: 0, which the original accepted) is
// refused. A Verifier remembers the tokens it has verified (by hash, until
// they expire), so a reused token costs the backend one ECDSA
// verification, not one per request. Keys are P-256, stored as PKCS#8 PEM files that must not be
// readable by group or others; the public half is published as PEM or as a
// JWKS document, with the RFC 7638 thumbprint as key ID.
package requestinfo
