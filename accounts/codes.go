package accounts

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Codes are the one-time secrets the service mails: email verification
// codes here, login codes in the login flow (the README's "Login and sessions"). A code is 128
// random bits written as 26 lower-case base32 characters; the store keeps
// only its SHA-256, and a code is single use, expiring, and dies after
// maxCodeAttempts wrong guesses.

// maxCodeAttempts is how many wrong codes a pending code survives: the
// attempt that reaches it invalidates the code (db.RecordCodeAttempt).
const maxCodeAttempts = 5

// codeBytes is the randomness of a code: 128 bits.
const codeBytes = 16

// codeEncoding writes codes: lower-case base32 without padding, so a code
// has no characters that read alike in either case (no 0/O, 1/l/I, 8/B).
var codeEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newCode returns a new code, to be mailed, and the hash the store keeps.
// It fails when the random source does.
func (s *Service) newCode() (code, hash string, err error) {
	b := make([]byte, codeBytes)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", "", fmt.Errorf("code: %w", err)
	}
	code = codeEncoding.EncodeToString(b)
	return code, codeHash(code), nil
}

// codeHash is the stored form of a code as the user typed it: the hex
// SHA-256 of the code trimmed of surrounding white space and lower-cased
// (people retype codes, sometimes in capitals). Looking a code up by its
// hash compares no secret byte by byte.
func codeHash(code string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(code))))
	return hex.EncodeToString(sum[:])
}
