// Package passkey is the accounts service's side of WebAuthn passkeys: it
// wraps github.com/go-webauthn/webauthn with the service's choices and
// turns the store's records into the library's and back.
//
// The choices: attestation "none" (the service does not ask which
// authenticator model made a passkey, so no attestation certificates are
// kept or trusted); user verification "preferred"; registration asks for
// a discoverable credential (a resident key), so a passkey alone can sign
// in without an address typed; the relying-party ID and the allowed
// origins come from the service's settings.
//
// Checks beyond the library's: a signature counter that does not go up
// (when the authenticator keeps one) means the passkey was copied: the
// login is refused and the passkey flagged (Result.Cloned), and a flagged
// passkey is refused from then on; the backup-eligible flag must not
// change after registration (the library checks this).
//
// The ceremony's session data (the challenge) is returned to the caller
// as bytes to store, bound to the user or the login it belongs to, and
// used once.
package passkey
