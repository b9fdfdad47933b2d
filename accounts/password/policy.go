package password

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Length bounds of CheckPolicy, in Unicode code points.
const (
	MinLength = 8
	MaxLength = 256
)

// ProductName is always a context word of CheckPolicy: a password made
// of the product's name and digits is refused for every user.
const ProductName = "authgw"

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
	// ErrPredictable means the password follows a pattern that guessing
	// tools try first: one character or a short group repeated
	// ("abababab"), a run of consecutive letters or digits ("abcdefgh",
	// "98765432"), or a season, a month or a stock word followed by a
	// year ("winter2023", "Password2024!"). It wraps ErrCommon.
	ErrPredictable = fmt.Errorf("%w (a repeat, a run, or a season or month and a year)", ErrCommon)
	// ErrPersonal means the password is made of context words: the
	// user's email address or name, the parts of them, the
	// organization's name or the product's name, with at most digits and
	// punctuation added (see CheckPolicy for the exact rule).
	ErrPersonal = fmt.Errorf("%w: made of the user's name or address, the organization's name or the product's name", ErrPolicy)
)

// The common-password list is embedded from two files, each sorted, one
// lower-case password of 8 to 256 characters a line:
// common-passwords.txt is a public list (its source, version and licence
// are in common-passwords.LICENSE) and common-passwords-authgw.txt is
// authgw's own additions that the public list leaves out.
var (
	//go:embed common-passwords.txt
	commonPasswordsText string
	//go:embed common-passwords-authgw.txt
	commonPasswordsAuthgwText string
)

// commonPasswords is the embedded lists as one sorted slice of distinct
// lower-case passwords, built once on first use. Its strings share the
// embedded text's memory: the slice headers are the only cost.
var commonPasswords = sync.OnceValue(func() []string {
	return loadCommonPasswords(commonPasswordsText, commonPasswordsAuthgwText)
})

// loadCommonPasswords splits the lists into one sorted, deduplicated
// slice of lower-case entries of MinLength to MaxLength code points;
// blank lines are skipped.
func loadCommonPasswords(texts ...string) []string {
	n := 0
	for _, text := range texts {
		n += strings.Count(text, "\n") + 1
	}
	list := make([]string, 0, n)
	for _, text := range texts {
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				continue
			}
			if l := utf8.RuneCountInString(line); l < MinLength || l > MaxLength {
				continue
			}
			// ToLower returns line itself, sharing the embedded text,
			// when it is lower-case already.
			list = append(list, strings.ToLower(line))
		}
	}
	slices.Sort(list)
	return slices.Clip(slices.Compact(list))
}

// isCommon reports whether lower, a lower-cased password, is listed.
func isCommon(lower string) bool {
	_, found := slices.BinarySearch(commonPasswords(), lower)
	return found
}

// CheckPolicy returns nil when pw is acceptable as a new password. It
// fails with an error wrapping ErrPolicy and one of these, in this
// order; the error never repeats the password:
//
//   - ErrNotUTF8: pw is not valid UTF-8.
//   - ErrTooShort, ErrTooLong: fewer than MinLength or more than
//     MaxLength characters (code points, not bytes). There are no
//     composition rules.
//   - ErrCommon: pw, lower-cased, is on the embedded list of common
//     passwords.
//   - ErrPredictable (which wraps ErrCommon): a repeat, a run, or a
//     season, month or stock word and a year.
//   - ErrPersonal: pw is made of context words. The context words are
//     ProductName and the words of each value of context: the user's
//     email addresses (containing "@"), the user's name and the
//     organization's name ("" values are ignored). The words of a value
//     are its runs of letters, and all its letters joined; for an
//     address, those of its local part and of each domain label. Words
//     shorter than 3 letters are dropped. pw is refused when it equals a
//     value or an address's local part, ignoring case, or when its
//     letters, lower-cased with digits, punctuation and spaces removed,
//     either split entirely into context words ("Michael.Smith1984" for
//     Michael Smith) or are more than half one context word of 4 or more
//     letters ("michaelrocks!" for Michael). A long passphrase that
//     merely contains a name ("alice-in-wonderland-42" for Alice)
//     passes.
func CheckPolicy(pw string, context ...string) error {
	if !utf8.ValidString(pw) {
		return ErrNotUTF8
	}
	switch n := utf8.RuneCountInString(pw); {
	case n < MinLength:
		return fmt.Errorf("%w (%d characters, at least %d)", ErrTooShort, n, MinLength)
	case n > MaxLength:
		return fmt.Errorf("%w (%d characters, at most %d)", ErrTooLong, n, MaxLength)
	}
	lower := strings.ToLower(pw)
	if isCommon(lower) {
		return ErrCommon
	}
	if predictable(lower) {
		return ErrPredictable
	}
	if personal(pw, lower, context) {
		return ErrPersonal
	}
	return nil
}

// maxRepeatUnit is the longest group whose repetition is predictable.
const maxRepeatUnit = 4

// seasonAndYear matches a season, a month or a stock word, an optional
// separator, a year of two or four digits and trailing punctuation,
// lower-cased: "winter2023", "summer-24!", "password2025".
var seasonAndYear = regexp.MustCompile(`^(spring|summer|autumn|fall|winter|` +
	`january|february|march|april|may|june|july|august|september|october|november|december|` +
	`password|passw0rd|p@ssw0rd|p@ssword|welcome|changeme|letmein|qwerty|admin|login)` +
	`[-_. @#!]?((19|20)[0-9]{2}|[0-9]{2})[^\pL\pN]*$`)

// predictable reports whether lower, a lower-cased password of at least
// MinLength characters, is a repeat of a group of up to maxRepeatUnit
// bytes, a run of consecutive ASCII letters or digits (up or down), or
// a season, month or stock word and a year.
func predictable(lower string) bool {
	for unit := 1; unit <= maxRepeatUnit; unit++ {
		if repeats(lower, unit) {
			return true
		}
	}
	if isRun(lower) {
		return true
	}
	return seasonAndYear.MatchString(lower)
}

// repeats reports whether s is its first unit bytes over and over (the
// last repetition may be cut short).
func repeats(s string, unit int) bool {
	if len(s) < 2*unit {
		return false
	}
	for i := unit; i < len(s); i++ {
		if s[i] != s[i-unit] {
			return false
		}
	}
	return true
}

// isRun reports whether s is ASCII letters or digits, each one more (or
// each one less) than the one before: "abcdefgh", "01234567", "98765432".
func isRun(s string) bool {
	step := int(s[1]) - int(s[0])
	if step != 1 && step != -1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
		if i > 0 && int(c)-int(s[i-1]) != step {
			return false
		}
	}
	return true
}

// Context-word rule sizes: words shorter than minContextWord letters are
// not context words; a single context word refuses a password whose
// letters it covers more than half of only when it has at least
// minDominantWord letters.
const (
	minContextWord  = 3
	minDominantWord = 4
)

// personal reports whether pw (lower is pw lower-cased) is made of
// context words; see CheckPolicy.
func personal(pw, lower string, context []string) bool {
	words := []string{ProductName}
	for _, v := range context {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if strings.EqualFold(pw, v) {
			return true
		}
		if local, domain, ok := cutLast(v, "@"); ok {
			if local != "" && strings.EqualFold(pw, local) {
				return true
			}
			words = appendWords(words, local)
			for label := range strings.SplitSeq(domain, ".") {
				words = appendWords(words, label)
			}
			continue
		}
		words = appendWords(words, v)
	}
	letters := lettersOf(lower)
	if letters == "" {
		return false
	}
	if madeOf(letters, words) {
		return true
	}
	n := utf8.RuneCountInString(letters)
	for _, w := range words {
		if l := utf8.RuneCountInString(w); l >= minDominantWord && 2*l > n && strings.Contains(letters, w) {
			return true
		}
	}
	return false
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// appendWords appends the context words of v: its lower-cased runs of
// letters and all its letters joined, each of minContextWord letters or
// more.
func appendWords(words []string, v string) []string {
	add := func(w string) {
		if utf8.RuneCountInString(w) >= minContextWord && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	lower := strings.ToLower(v)
	for run := range strings.FieldsFuncSeq(lower, func(r rune) bool { return !unicode.IsLetter(r) }) {
		add(run)
	}
	add(lettersOf(lower))
	return words
}

// lettersOf returns the letters of s, dropping everything else.
func lettersOf(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return r
		}
		return -1
	}, s)
}

// madeOf reports whether s is a concatenation of one or more of words
// (each may repeat).
func madeOf(s string, words []string) bool {
	// ends[i]: s[:i] is a concatenation of words.
	ends := make([]bool, len(s)+1)
	ends[0] = true
	for i := 0; i < len(s); i++ {
		if !ends[i] {
			continue
		}
		for _, w := range words {
			if strings.HasPrefix(s[i:], w) {
				ends[i+len(w)] = true
			}
		}
	}
	return ends[len(s)]
}
