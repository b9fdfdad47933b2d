package totp

import "errors"

// Errors of the package, checked with errors.Is.
var (
	// ErrInvalidCode: the code is not 6 ASCII digits, or matches none of
	// the three steps around now. Answer it as a failed login step.
	ErrInvalidCode = errors.New("totp: invalid code")
	// ErrReplayed: the code is right, but for a step at or before the
	// last step the user already spent (and no later step matches).
	// Answer it like ErrInvalidCode; it is told apart for logs only.
	ErrReplayed = errors.New("totp: code already used")
	// ErrCorrupt: a sealed secret does not open: it was sealed for
	// another user or under another key, was altered or cut, or has an
	// unknown version byte.
	ErrCorrupt = errors.New("totp: secret cannot be decrypted")
	// ErrInvalidInput: an argument the caller controls is unusable (an
	// empty user ID, an account name that is empty, too long or holds a
	// colon, a secret of the wrong size). It is a bug of the caller, not a
	// failed login.
	ErrInvalidInput = errors.New("totp: invalid input")
)
