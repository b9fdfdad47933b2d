package accounts_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db/dbtest"
)

// TestRegistrationPasswordConf (issue 12, point 16): the original
// auth-gateway's registration body carries passwordConf. It is optional;
// when sent it must equal password, else the obstruction MISMATCH.
func TestRegistrationPasswordConf(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	app := s.client(s.org("Home", s.user("Ann")))
	const strong = "a long enough passphrase"
	tests := []struct {
		name         string
		givenBody    map[string]any
		expectStatus int
		expectField  string // the field of a MISMATCH obstruction
	}{
		{name: "equal", givenBody: map[string]any{"name": "Zoe", "email": "zoe@example.com", "password": strong, "passwordConf": strong}, expectStatus: http.StatusCreated},
		{name: "absent", givenBody: map[string]any{"name": "Yan", "email": "yan@example.com", "password": strong}, expectStatus: http.StatusCreated},
		{name: "null", givenBody: map[string]any{"name": "Xia", "email": "xia@example.com", "password": strong, "passwordConf": nil}, expectStatus: http.StatusCreated},
		{name: "different", givenBody: map[string]any{"name": "Wu", "email": "wu@example.com", "password": strong, "passwordConf": strong + "!"},
			expectStatus: http.StatusBadRequest, expectField: "passwordConf"},
		{name: "empty", givenBody: map[string]any{"name": "Vi", "email": "vi@example.com", "password": strong, "passwordConf": ""},
			expectStatus: http.StatusBadRequest, expectField: "passwordConf"},
		{name: "without a password", givenBody: map[string]any{"name": "Uma", "email": "uma@example.com", "passwordConf": strong},
			expectStatus: http.StatusBadRequest, expectField: "passwordConf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := s.do(anonymous(app), "POST", "/users", tc.givenBody)
			if tc.expectField == "" {
				res.expect(t, tc.expectStatus)
				return
			}
			res.expect(t, tc.expectStatus, accounts.CodeInvalidData)
			if !slices.Contains(res.obstructionFields(), tc.expectField) || !containsText(res.Raw, accounts.ObstructionMismatch) {
				t.Fatalf("answer %s, want a MISMATCH obstruction of %s", res.Raw, tc.expectField)
			}
		})
	}
}
