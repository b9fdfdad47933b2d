// Package infosign is the gateway's signing half of the request-info
// header of the README's "Request info for backends": the private P-256
// key (its file, created once, atomically, mode 0600; during a rotation
// it holds the previous key too, published but no longer signing: KeySet),
// the Signer that
// turns a request's verifier/requestinfo.Claims into a compact JWS, the
// cache that lets it reuse a token, and the headers the proxy sets and
// strips. The claim names, the public key formats and the backend's reader
// live in verifier/requestinfo, which backends import without the gateway.
//
// JWS signing is go-jose's (github.com/go-jose/go-jose/v4). ECDSA signing
// costs tens of microseconds, so a Signer reuses a token for the same
// identity for part of its life (half of it by default) instead of signing
// every request; the proxy path pays a hash and a map lookup.
package infosign
