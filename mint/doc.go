// Package mint turns scope policies and a subject into macaroons: one token
// per HTTP method that the subject's policies grant.
//
// It owns the token format that the verifier package checks:
//   - the key ring (KeyRing): named 32-byte master keys; the first mints,
//     every listed key verifies;
//   - the identifier (Identifier): format version, key ID, session ID,
//     issue time and a random nonce, no secret and no personal data;
//   - the root key, never stored: HKDF-SHA256(master key, info = identifier);
//   - the wire encoding: macaroon V2 binary in unpadded base64url
//     (Encode, Decode); its byte layouts, for the verifier, are in
//     package mint/wire;
//   - attenuation (Attenuate), with caveats typed by package mint/caveat,
//     the home of the caveat grammar.
//
// Tokens are built with gopkg.in/macaroon.v2, so any libmacaroons-compatible
// implementation can read and attenuate them.
package mint
