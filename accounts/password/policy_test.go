package password_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authgw/authgw/accounts/password"
)

func TestCheckPolicy(t *testing.T) {
	tests := []struct {
		name          string
		givenPassword string
		givenPersonal []string
		expectError   error // nil: accepted
	}{
		{name: "eight characters", givenPassword: "tr0ub4d!"},
		{name: "spaces and no composition rules", givenPassword: "correct horse battery staple"},
		{name: "256 characters", givenPassword: strings.Repeat("correct horse battery staple ", 9)[:256]},
		{name: "eight code points, more bytes", givenPassword: "éàüößçñø"},
		{name: "seven characters", givenPassword: "tr0ub4d", expectError: password.ErrTooShort},
		{name: "seven code points in 14 bytes", givenPassword: "éàüößçñ", expectError: password.ErrTooShort},
		{name: "empty", givenPassword: "", expectError: password.ErrTooShort},
		{name: "257 characters", givenPassword: strings.Repeat("x", 257), expectError: password.ErrTooLong},
		{name: "not UTF-8", givenPassword: "abcdefgh\xff", expectError: password.ErrNotUTF8},
		{name: "common: password", givenPassword: "password", expectError: password.ErrCommon},
		{name: "common: 12345678", givenPassword: "12345678", expectError: password.ErrCommon},
		{name: "common: qwerty123", givenPassword: "qwerty123", expectError: password.ErrCommon},
		{name: "common, other case", givenPassword: "PassWord1", expectError: password.ErrCommon},
		{name: "common, listed with capitals", givenPassword: "welcome2024", expectError: password.ErrCommon},
		{name: "the email address", givenPassword: "Alice@Example.com", givenPersonal: []string{"alice@example.com", "Alice"}, expectError: password.ErrPersonal},
		{name: "the email's local part", givenPassword: "alice.liddell", givenPersonal: []string{"alice.liddell@example.com"}, expectError: password.ErrPersonal},
		{name: "the name", givenPassword: "Alice Liddell", givenPersonal: []string{"a@example.com", " alice liddell "}, expectError: password.ErrPersonal},
		{name: "empty personal values are ignored", givenPassword: "tr0ub4d!", givenPersonal: []string{"", "  "}},
		{name: "containing the name is fine", givenPassword: "alice-in-wonderland-42", givenPersonal: []string{"alice@example.com", "alice"}},
		// The public list (issue 13: these four were accepted).
		{name: "common: michael1", givenPassword: "michael1", expectError: password.ErrCommon},
		{name: "common: charlie1", givenPassword: "charlie1", expectError: password.ErrCommon},
		{name: "common: mustang1", givenPassword: "Mustang1", expectError: password.ErrCommon},
		{name: "season and year", givenPassword: "winter2023", expectError: password.ErrPredictable},
		{name: "season, year, punctuation", givenPassword: "Summer-24!", expectError: password.ErrPredictable},
		{name: "stock word and year", givenPassword: "Password2031", expectError: password.ErrCommon},
		{name: "one character repeated", givenPassword: "xxxxxxxxxxxx", expectError: password.ErrPredictable},
		{name: "a group repeated", givenPassword: "zq7!zq7!zq7!", expectError: password.ErrPredictable},
		{name: "a run up", givenPassword: "klmnopqrs", expectError: password.ErrPredictable},
		{name: "a run down", givenPassword: "87654321", expectError: password.ErrPredictable},
		{name: "a season inside a passphrase is fine", givenPassword: "late winter 2023 in the hills", expectError: nil},
		// Context words.
		{name: "product name and digits", givenPassword: "AuthGW2024!", expectError: password.ErrPersonal},
		{name: "product name twice", givenPassword: "authgw.authgw", expectError: password.ErrPersonal},
		{name: "first name and digits", givenPassword: "Zebulon1984", givenPersonal: []string{"zeb@example.org", "Zebulon Quartermain"}, expectError: password.ErrPersonal},
		{name: "both names reversed with punctuation", givenPassword: "quartermain.zebulon!", givenPersonal: []string{"Zebulon Quartermain"}, expectError: password.ErrPersonal},
		{name: "local part words and digits", givenPassword: "xan.thippe#77", givenPersonal: []string{"xan.thippe@example.org"}, expectError: password.ErrPersonal},
		{name: "domain label and digits", givenPassword: "Flurbcorp!2024", givenPersonal: []string{"x@mail.flurbcorp.example"}, expectError: password.ErrPersonal},
		{name: "organization name and digits", givenPassword: "Wibble Widgets 99", givenPersonal: []string{"Wibble Widgets Ltd"}, expectError: password.ErrPersonal},
		{name: "name covers most of the letters", givenPassword: "zebulonrox42", givenPersonal: []string{"Zebulon Quartermain"}, expectError: password.ErrPersonal},
		{name: "a passphrase with the name is fine", givenPassword: "zebulon likes green tea", givenPersonal: []string{"Zebulon Quartermain"}},
		{name: "the org name inside a passphrase is fine", givenPassword: "wibble is where I work now", givenPersonal: []string{"Wibble"}},
		{name: "two-letter parts are not words", givenPassword: "jojojo-2024-jojo", givenPersonal: []string{"Jo Ng"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := password.CheckPolicy(tt.givenPassword, tt.givenPersonal...)
			if tt.expectError == nil {
				if err != nil {
					t.Errorf("CheckPolicy = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.expectError) || !errors.Is(err, password.ErrPolicy) {
				t.Errorf("CheckPolicy = %v, want %v under ErrPolicy", err, tt.expectError)
			}
			if tt.givenPassword != "" && err != nil && strings.Contains(strings.ReplaceAll(err.Error(), "password", ""), tt.givenPassword) {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// TestCommonListRefused checks a sample of the embedded public list, in
// the case it is listed and in upper case: every entry is refused.
func TestCommonListRefused(t *testing.T) {
	text, err := os.ReadFile("common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	for i := 0; i < len(lines); i += 97 {
		for _, pw := range []string{lines[i], strings.ToUpper(lines[i])} {
			if err := password.CheckPolicy(pw); !errors.Is(err, password.ErrCommon) {
				t.Errorf("CheckPolicy(list entry %d) = %v, want ErrCommon", i, err)
			}
		}
	}
}

// TestCommonListSize checks that the list loaded holds at least 3,000
// distinct lower-case entries of MinLength to MaxLength characters, in
// order, so the binary search finds them.
func TestCommonListSize(t *testing.T) {
	list := password.CommonPasswords()
	if len(list) < 3000 {
		t.Fatalf("%d common passwords of 8+ characters, want at least 3,000", len(list))
	}
	for i, pw := range list {
		if n := utf8.RuneCountInString(pw); n < password.MinLength || n > password.MaxLength {
			t.Errorf("entry %d has %d characters", i, n)
		}
		if strings.ToLower(pw) != pw {
			t.Errorf("entry %d is not lower-case", i)
		}
		if i > 0 && list[i-1] >= pw {
			t.Errorf("entries %d and %d are out of order or repeated", i-1, i)
		}
	}
	t.Logf("%d entries", len(list))
}

// BenchmarkCheckPolicy measures the policy against a baseline in the
// same run: the length rule alone (what CheckPolicy costs before any
// list) and the full policy for an accepted password with context
// values, a listed password, and a password refused for its context.
func BenchmarkCheckPolicy(b *testing.B) {
	context := []string{"zebulon.quartermain@mail.example.org", "Zebulon Quartermain", "Wibble Widgets Ltd"}
	b.Run("baseline-length-only", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if n := utf8.RuneCountInString("correct horse battery staple"); n < password.MinLength {
				b.Fatal("short")
			}
		}
	})
	for _, bc := range []struct{ name, pw string }{
		{"accepted", "correct horse battery staple"},
		{"common", "Mustang1"},
		{"context", "Zebulon1984!"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = password.CheckPolicy(bc.pw, context...)
			}
		})
	}
}

// BenchmarkLoadCommonPasswords measures the one-time cost of building
// the list at first use: its B/op is the list's memory.
func BenchmarkLoadCommonPasswords(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = password.LoadCommonPasswords()
	}
}

// FuzzCheckPolicy: any password and context value gives nil or an error
// under ErrPolicy, never a panic (the pattern and context rules index
// bytes and split on letters).
func FuzzCheckPolicy(f *testing.F) {
	for _, seed := range [][2]string{
		{"michael1", ""}, {"winter2023!", ""}, {"Zebulon1984", "Zebulon Quartermain"}, {"x@y.z", "x@y.z"},
		{"éééééééé", "é@é"}, {"abcdefgh", "@@@"}, {"\xff\xfe", ""}, {"authgw", "authgw"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pw, context string) {
		err := password.CheckPolicy(pw, context)
		if err != nil && !errors.Is(err, password.ErrPolicy) {
			t.Fatalf("CheckPolicy = %v, not under ErrPolicy", err)
		}
	})
}
