// Package revocation feeds a gateway's in-memory revocation set from the
// database's revocation feed (the README's "Revocation"), in the background, so that the
// verifier refuses revoked sessions and users without a database lookup
// per request.
package revocation
