// Package totp is the second login factor of the README's "Login and sessions": time-based
// one-time passwords (RFC 6238) with secrets sealed for storage.
//
// Codes are the ones every authenticator app makes by default: HMAC-SHA1,
// 6 digits, 30-second steps. Check accepts the current step and one step
// either side, and never a step at or before the last step the user
// already spent: it returns the step that matched, and the caller records
// it atomically (db.UseTOTPStep) before it lets the user in, so a code is
// good for one login only, even inside its window.
//
// Enroll makes a 160-bit secret from the configured random source and
// returns it as base32 (to type in by hand), as an otpauth:// URI
// (github.com/pquerna/otp) and as a 256×256 PNG of that URI's QR code
// with a 4-module white margin, together with the secret sealed for the
// totp_secrets table.
//
// Sealed secrets are AES-256-GCM under a key ring (Config.Keys): the
// first key seals, and every sealed secret names the key that sealed it:
//
//	0x02 | len(keyID) | keyID | 12-byte nonce |
//	    GCM(secret, additional data = "authgw-totp-v2\x00" + keyID + "\x00" + userID)
//
// Secrets sealed before key rings have no key ID:
//
//	0x01 | 12-byte nonce | GCM(secret, additional data = "authgw-totp-v1\x00" + userID)
//
// and open with the ring's key of ID "0" (LegacyKeyID, the ID a single
// Config.Key gets), else the ring's last key. Reseal moves a secret to
// the newest key, so that older keys can leave the ring.
//
// The user ID in the additional data binds a ciphertext to its row: copied
// to another user, it does not open; the key ID there too means a changed
// ID does not open either. Anything that does not open (another user, a
// key not in the ring, a flipped bit, a cut or unknown version) is
// ErrCorrupt.
//
// The package reads no clock and no randomness of its own: Config.Now and
// Config.Rand default to time.Now and crypto/rand.Reader.
package totp
