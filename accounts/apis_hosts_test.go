package accounts_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestAPIHostsRegistry: the hosts of an API version through POST and
// PATCH /accounts/v1/apis: normalized (lower case, no trailing dot) and
// sorted, stored, kept by a PATCH that leaves them out, replaced by one
// that gives them, unique across APIs (409), and refused with a 400 on
// the field for a port, an IP, a wildcard, non-ASCII, a duplicate, too
// many or a wrong type.
func TestAPIHostsRegistry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		sam := s.user("Sam", db.RoleSysadmin)
		admin := by(s.client(s.org("Home", sam)), sam)
		seventeen := make([]any, db.MaxAPIHosts+1)
		for i := range seventeen {
			seventeen[i] = fmt.Sprintf("h%d.example.com", i)
		}
		tests := []struct {
			name         string
			whenMethod   string
			whenPath     string
			whenBody     map[string]any
			expectStatus int
			expectFields []string
			expectHosts  []string
		}{
			{name: "no hosts", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "plain", "version": 1, "url": "http://a.internal"}, expectStatus: 201, expectHosts: []string{}},
			{name: "hosts normalized and sorted", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "wiki", "version": 1, "url": "http://a.internal", "hosts": []any{"Wiki.Example.COM.", "docs.example.com"}},
				expectStatus: 201, expectHosts: []string{"docs.example.com", "wiki.example.com"}},
			{name: "a host of another API", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"WIKI.example.com"}}, expectStatus: 409},
			{name: "a port", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"x.example.com:8080"}},
				expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "an IP", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"10.0.0.1"}}, expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "a wildcard", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"*.example.com"}},
				expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "not ASCII", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"bücher.example"}},
				expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "twice", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": []any{"a.example.com", "A.example.com"}},
				expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "seventeen", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": seventeen}, expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "not a list", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "other", "version": 1, "url": "http://a.internal", "hosts": "a.example.com"},
				expectStatus: 400, expectFields: []string{"hosts"}},
			{name: "PATCH without hosts keeps them", whenMethod: "PATCH", whenPath: "/apis/wiki/v1",
				whenBody: map[string]any{"active": true}, expectStatus: 200, expectHosts: []string{"docs.example.com", "wiki.example.com"}},
			{name: "PATCH replaces them", whenMethod: "PATCH", whenPath: "/apis/wiki/v1",
				whenBody: map[string]any{"hosts": []any{"wiki.example.org"}}, expectStatus: 200, expectHosts: []string{"wiki.example.org"}},
			{name: "the freed host is free", whenMethod: "PATCH", whenPath: "/apis/plain/v1",
				whenBody: map[string]any{"hosts": []any{"wiki.example.com"}}, expectStatus: 200, expectHosts: []string{"wiki.example.com"}},
			{name: "PATCH [] removes them", whenMethod: "PATCH", whenPath: "/apis/wiki/v1",
				whenBody: map[string]any{"hosts": []any{}}, expectStatus: 200, expectHosts: []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res := s.do(admin, tt.whenMethod, tt.whenPath, tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectFields != nil && !slices.Equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if tt.expectStatus >= 300 {
					return
				}
				data := res.data()
				got := []string{}
				for _, h := range data["hosts"].([]any) {
					got = append(got, h.(string))
				}
				if !slices.Equal(got, tt.expectHosts) {
					t.Fatalf("hosts = %v, want %v", got, tt.expectHosts)
				}
				stored, err := d.GetAPI(s.ctx, data["name"].(string), int(data["version"].(float64)))
				if err != nil || !slices.Equal(append([]string{}, stored.Hosts...), got) {
					t.Fatalf("stored hosts %v (%v), want %v", stored.Hosts, err, got)
				}
			})
		}
	})
}
