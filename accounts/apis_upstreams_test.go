package accounts_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestAPIUpstreamsRegistry: the upstreams, timeouts and h2c of an API
// version through POST and PATCH /apis: url stays the first upstream,
// each URL is checked as url is, and the bounds hold.
func TestAPIUpstreamsRegistry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		sam := s.user("Sam", db.RoleSysadmin)
		admin := by(s.client(s.org("Home", sam)), sam)
		seventeen := make([]any, db.MaxAPIUpstreams+1)
		for i := range seventeen {
			seventeen[i] = fmt.Sprintf("http://u%d.internal", i)
		}
		tests := []struct {
			name            string
			whenMethod      string
			whenPath        string
			whenBody        map[string]any
			expectStatus    int
			expectFields    []string
			expectUpstreams []string
			expectAPI       map[string]any
		}{
			{name: "upstreams alone", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "orders", "version": 1, "upstreams": []any{"HTTP://a.internal:8080/base", "https://b.internal"}},
				expectStatus: 201, expectUpstreams: []string{"http://a.internal:8080/base", "https://b.internal"},
				expectAPI: map[string]any{"url": "http://a.internal:8080/base", "connectTimeoutMs": float64(0), "h2c": false}},
			{name: "url alone is the one upstream", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 2, "url": "http://a.internal", "timeoutMs": 60000, "headerTimeoutMs": 1500,
					"connectTimeoutMs": 250, "h2c": true},
				expectStatus: 201, expectUpstreams: []string{"http://a.internal"},
				expectAPI: map[string]any{"timeoutMs": float64(60000), "headerTimeoutMs": float64(1500), "connectTimeoutMs": float64(250), "h2c": true}},
			{name: "url and upstreams agreeing", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "orders", "version": 3, "url": "http://a.internal", "upstreams": []any{"http://a.internal", "http://b.internal"}},
				expectStatus: 201, expectUpstreams: []string{"http://a.internal", "http://b.internal"}},
			{name: "url not the first upstream", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "orders", "version": 4, "url": "http://c.internal", "upstreams": []any{"http://a.internal"}},
				expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "neither url nor upstreams", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 4}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "an upstream with a query", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "orders", "version": 4, "upstreams": []any{"http://a.internal", "http://b.internal/?x=1"}},
				expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "an upstream twice (once in other case)", whenMethod: "POST", whenPath: "/apis",
				whenBody:     map[string]any{"name": "orders", "version": 4, "upstreams": []any{"http://a.internal", "HTTP://a.internal"}},
				expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "seventeen upstreams", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 4, "upstreams": seventeen}, expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "sixteen upstreams", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 5, "upstreams": seventeen[:16]}, expectStatus: 201},
			{name: "empty list", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 6, "upstreams": []any{}}, expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "not a list", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 6, "upstreams": "http://a.internal"}, expectStatus: 400, expectFields: []string{"upstreams"}},
			{name: "timeouts out of bounds", whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 6, "url": "http://a.internal", "connectTimeoutMs": 60001, "headerTimeoutMs": 5,
					"timeoutMs": -1, "h2c": "yes"},
				expectStatus: 400, expectFields: []string{"connectTimeoutMs", "h2c", "headerTimeoutMs", "timeoutMs"}},
			{name: "PATCH upstreams replaces the list and url", whenMethod: "PATCH", whenPath: "/apis/orders/v2",
				whenBody:     map[string]any{"upstreams": []any{"http://c.internal", "http://d.internal"}},
				expectStatus: 200, expectUpstreams: []string{"http://c.internal", "http://d.internal"},
				expectAPI: map[string]any{"url": "http://c.internal", "timeoutMs": float64(60000), "h2c": true}},
			{name: "PATCH url alone makes it the one upstream", whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"url": "http://e.internal"}, expectStatus: 200, expectUpstreams: []string{"http://e.internal"}},
			{name: "PATCH a timeout back to the default", whenMethod: "PATCH", whenPath: "/apis/orders/v2",
				whenBody: map[string]any{"timeoutMs": 0}, expectStatus: 200, expectUpstreams: []string{"http://c.internal", "http://d.internal"},
				expectAPI: map[string]any{"timeoutMs": float64(0), "headerTimeoutMs": float64(1500)}},
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
				var got []string
				for _, u := range data["upstreams"].([]any) {
					got = append(got, u.(string))
				}
				if tt.expectUpstreams != nil && !slices.Equal(got, tt.expectUpstreams) {
					t.Fatalf("upstreams = %v, want %v", got, tt.expectUpstreams)
				}
				if data["url"] != got[0] {
					t.Fatalf("url %v is not the first upstream %v", data["url"], got)
				}
				expectAPI(t, data, tt.expectAPI)
				stored, err := d.GetAPI(s.ctx, data["name"].(string), int(data["version"].(float64)))
				if err != nil || !slices.Equal(stored.Upstreams, got) || stored.URL != got[0] {
					t.Fatalf("stored %+v (%v), want upstreams %v", stored, err, got)
				}
			})
		}
	})
}
