package accounts_test

import (
	"net/http"
	"testing"

	"github.com/authgw/authgw/db/dbtest"
)

// TestBodyMemberNamesExact (issue 12, point 14): member names of a body
// match exactly, at every level, and none may come twice: encoding/json
// alone matched {"DATA":...} to data and kept the last of two members,
// so two readers of one body could see two requests. Each case is
// refused with 400 in the JSON error envelope.
func TestBodyMemberNamesExact(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	home := s.org("Home", ann)
	app := s.client(home)
	bob := s.user("Bob")
	const user = `"name":"Zed","email":"zed@example.com"`
	tests := []struct {
		name       string
		whenWho    as
		whenMethod string
		whenPath   string
		whenBody   string
	}{
		{name: "DATA", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"DATA":{` + user + `}}`},
		{name: "Data", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"Data":{` + user + `}}`},
		{name: "data twice", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"data":{` + user + `},"data":{` + user + `}}`},
		{name: "data and Data", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"data":{` + user + `},"Data":{}}`},
		{name: "Email inside data", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"data":{"name":"Zed","Email":"zed@example.com"}}`},
		{name: "a field twice", whenWho: anonymous(app), whenMethod: "POST", whenPath: "/users", whenBody: `{"data":{` + user + `,"name":"Other"}}`},
		{name: "relation Data", whenWho: by(app, ann), whenMethod: "POST", whenPath: "/organizations/" + home.ID + "/memberships",
			whenBody: `{"data":{"user":{"Data":{"type":"users","id":"` + bob.ID + `"}},"read":true}}`},
		{name: "relation ID", whenWho: by(app, ann), whenMethod: "POST", whenPath: "/organizations/" + home.ID + "/memberships",
			whenBody: `{"data":{"user":{"data":{"type":"users","ID":"` + bob.ID + `"}},"read":true}}`},
		{name: "relation id twice", whenWho: by(app, ann), whenMethod: "POST", whenPath: "/organizations/" + home.ID + "/memberships",
			whenBody: `{"data":{"user":{"data":{"type":"users","id":"x","id":"` + bob.ID + `"}},"read":true}}`},
		{name: "logout item T", whenWho: by(app, ann), whenMethod: "POST", whenPath: "/sessions/logout",
			whenBody: `{"data":[{"T":"sessions","value":"x"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := s.do(tc.whenWho, tc.whenMethod, tc.whenPath, tc.whenBody)
			if res.Status != http.StatusBadRequest || res.Body["t"] != "error" {
				t.Fatalf("%s %s %s = %d %s, want 400 in the error envelope", tc.whenMethod, tc.whenPath, tc.whenBody, res.Status, res.Raw)
			}
		})
	}
	t.Run("exact names still work", func(t *testing.T) {
		s.do(anonymous(app), "POST", "/users", `{"data":{`+user+`}}`).expect(t, http.StatusCreated)
	})
}
