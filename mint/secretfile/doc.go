// Package secretfile is the home of writing secrets to disk: the key
// ring, the server ID, the TOTP key and the request-info signing key that
// authgw creates in its data directory at first start, and the key ring
// that "authgw keygen --out" writes.
//
// A secret is written one way: to a temporary file of mode 0600 in the
// destination's directory, synced, then put in place at once, so that no
// reader ever sees half a file. Create (and LoadOrCreate, built on it)
// never overwrites: the temporary file is hard-linked to the destination,
// which fails when it exists, so that two instances starting together on
// one data directory both end with the secret of whichever linked first.
// Replace is for the one deliberate overwrite, a key rotation the
// operator asks for.
//
// It lives under mint because the key ring, mint's signing keys, is the
// secret that matters most; it uses only the standard library, so that
// any package that keeps a secret (accounts/totp's key, the request-info
// key) can use it without pulling in anything else.
package secretfile
