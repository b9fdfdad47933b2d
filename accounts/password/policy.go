package password

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"
)

// Length bounds of CheckPolicy, in Unicode code points.
const (
	MinLength = 8
	MaxLength = 256
)

var (
	// ErrPolicy is the root of every password policy refusal.
	ErrPolicy = errors.New("password refused by the policy")
	// ErrTooShort means fewer than MinLength characters.
	ErrTooShort = fmt.Errorf("%w: too short", ErrPolicy)
	// ErrTooLong means more than MaxLength characters.
	ErrTooLong = fmt.Errorf("%w: too long", ErrPolicy)
	// ErrNotUTF8 means the password is not valid UTF-8.
	ErrNotUTF8 = fmt.Errorf("%w: not valid UTF-8", ErrPolicy)
	// ErrCommon means the password is one of the most common ones.
	ErrCommon = fmt.Errorf("%w: one of the most common passwords", ErrPolicy)
	// ErrPersonal means the password is the user's email address, the
	// local part of it, or the user's name.
	ErrPersonal = fmt.Errorf("%w: the same as the user's email address or name", ErrPolicy)
)

//go:embed common-passwords.txt
var commonPasswordsText string

// commonPasswords is the embedded list as a set, lower-cased.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 512)
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// CheckPolicy returns nil when pw is acceptable as a new password: valid
// UTF-8, MinLength to MaxLength characters (code points, not bytes), not
// one of the embedded common passwords (compared lower-cased), and not
// equal, ignoring case, to any of personal: the user's email address and
// name, as far as they are known ("" values are ignored). For an email
// address its local part counts too. There are no composition rules. It
// fails with an error wrapping ErrPolicy and one of ErrNotUTF8,
// ErrTooShort, ErrTooLong, ErrCommon or ErrPersonal; the error never
// repeats the password.
func CheckPolicy(pw string, personal ...string) error {
	if !utf8.ValidString(pw) {
		return ErrNotUTF8
	}
	switch n := utf8.RuneCountInString(pw); {
	case n < MinLength:
		return fmt.Errorf("%w (%d characters, at least %d)", ErrTooShort, n, MinLength)
	case n > MaxLength:
		return fmt.Errorf("%w (%d characters, at most %d)", ErrTooLong, n, MaxLength)
	}
	if _, common := commonPasswords()[strings.ToLower(pw)]; common {
		return ErrCommon
	}
	for _, p := range personal {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if strings.EqualFold(pw, p) {
			return ErrPersonal
		}
		if local, _, ok := strings.Cut(p, "@"); ok && local != "" && strings.EqualFold(pw, local) {
			return ErrPersonal
		}
	}
	return nil
}
