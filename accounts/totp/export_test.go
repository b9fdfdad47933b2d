package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"fmt"
	"time"
)

// CodeAt is the package's own code generator, for tests: the code of
// secret at time at.
func CodeAt(secret []byte, at time.Time) string {
	return fmt.Sprintf("%0*d", Digits, hotp(hmac.New(sha1.New, secret), uint64(stepAt(at.Unix()))))
}

// StepAt is the time step of at.
func StepAt(at time.Time) int64 { return stepAt(at.Unix()) }
