package password_test

import (
	"errors"
	"strings"
	"testing"

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
		{name: "256 characters", givenPassword: strings.Repeat("xy", 128)},
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
