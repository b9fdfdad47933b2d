package accounts_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

func TestAPIRegistry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		ann := s.user("Ann")
		eve := s.user("Eve", db.RoleEmployee)
		sam := s.user("Sam", db.RoleSysadmin)
		home := s.org("Home", ann)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)
		admin := by(app, sam)
		orders := map[string]any{"type": "apis", "name": "orders", "version": 1, "url": "HTTP://orders.internal:8080/base"}

		before := s.announced.Load()
		created := s.do(admin, "POST", "/apis", orders).expect(t, http.StatusCreated)
		s.expectAnnounced(t, before, "create")
		want := map[string]any{"type": "apis", "id": "orders/v1", "name": "orders", "version": float64(1),
			"url": "http://orders.internal:8080/base", "allowUnidentified": false, "active": true, "loginRedirect": false,
			"createdMs": float64(startTime.UnixMilli()), "updatedMs": float64(startTime.UnixMilli())}
		expectAPI(t, created.data(), want)
		stored, err := d.GetAPI(s.ctx, "orders", 1)
		if err != nil || stored.URL != "http://orders.internal:8080/base" || !stored.Active || stored.AllowUnidentified {
			t.Fatalf("stored %+v (%v)", stored, err)
		}

		tests := []struct {
			name         string
			givenCaller  as
			whenMethod   string
			whenPath     string
			whenBody     any
			expectStatus int
			expectCode   string
			expectFields []string
			expectAPI    map[string]any // fields of the answer's data
		}{
			{name: "plain user may not list", givenCaller: by(app, ann), whenMethod: "GET", whenPath: "/apis", expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "employee may not list", givenCaller: by(internal, eve), whenMethod: "GET", whenPath: "/apis", expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "plain user may not create", givenCaller: by(app, ann), whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "billing", "version": 1, "url": "http://billing"}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "plain user may not change", givenCaller: by(app, ann), whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"active": false}, expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "plain user may not delete", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: "/apis/orders/v1", expectStatus: 403, expectCode: "FORBIDDEN"},
			{name: "duplicate", givenCaller: admin, whenMethod: "POST", whenPath: "/apis", whenBody: orders, expectStatus: 409, expectCode: "DUPLICATE"},
			{name: "the accounts service's name", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "accounts", "version": 2, "url": "http://accounts.internal"}, expectStatus: 400, expectCode: "USER_DATA_INVALID", expectFields: []string{"name"}},
			{name: "upper-case name", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "Orders", "version": 2, "url": "http://orders.internal"}, expectStatus: 400, expectFields: []string{"name"}},
			{name: "name with a slash", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders/v2", "version": 2, "url": "http://orders.internal"}, expectStatus: 400, expectFields: []string{"name"}},
			{name: "version zero", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 0, "url": "http://orders.internal"}, expectStatus: 400, expectFields: []string{"version"}},
			{name: "version the gateway cannot route", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": 1000000000, "url": "http://orders.internal"}, expectStatus: 400, expectFields: []string{"version"}},
			{name: "version as a string", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "orders", "version": "2", "url": "http://orders.internal"}, expectStatus: 400, expectFields: []string{"version"}},
			{name: "url not http", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "ftp://files.internal"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url relative", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "/files"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url with user info", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://u:p@files.internal"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url with query", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://files.internal/?a=1"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url with fragment", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://files.internal/#x"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url with bad port", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://files.internal:70000"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "url with white space", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://files .internal"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "every problem at once", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"type": "clients", "active": "yes", "color": "red"}, expectStatus: 400, expectCode: "USER_DATA_INVALID",
				expectFields: []string{"active", "color", "name", "type", "url", "version"}},
			{name: "create with flags", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"type": "apis", "name": "status", "version": 2, "url": "https://status.internal", "allowUnidentified": true, "active": false,
					"loginRedirect": true},
				expectStatus: 201, expectAPI: map[string]any{"id": "status/v2", "allowUnidentified": true, "active": false, "loginRedirect": true, "url": "https://status.internal"}},
			{name: "loginRedirect not a boolean", givenCaller: admin, whenMethod: "POST", whenPath: "/apis",
				whenBody: map[string]any{"name": "files", "version": 1, "url": "http://files.internal", "loginRedirect": "yes"}, expectStatus: 400, expectFields: []string{"loginRedirect"}},
			{name: "PATCH loginRedirect on, the rest kept", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"loginRedirect": true}, expectStatus: 200,
				expectAPI: map[string]any{"id": "orders/v1", "active": true, "allowUnidentified": false, "loginRedirect": true, "url": "http://orders.internal:8080/base"}},
			{name: "PATCH one field keeps the others", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"active": false}, expectStatus: 200,
				expectAPI: map[string]any{"id": "orders/v1", "active": false, "allowUnidentified": false, "loginRedirect": true, "url": "http://orders.internal:8080/base"}},
			{name: "PATCH with a bare version", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/1",
				whenBody: map[string]any{"type": "apis", "id": "orders/v1", "url": "https://orders.internal", "allowUnidentified": true}, expectStatus: 200,
				expectAPI: map[string]any{"active": false, "allowUnidentified": true, "url": "https://orders.internal"}},
			{name: "PATCH bad url", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"url": "orders.internal"}, expectStatus: 400, expectFields: []string{"url"}},
			{name: "PATCH id must match", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v1",
				whenBody: map[string]any{"id": "orders/v2", "active": true}, expectStatus: 400, expectFields: []string{"id"}},
			{name: "PATCH unknown name", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/nope/v1",
				whenBody: map[string]any{"active": true}, expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "PATCH unknown version", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v2",
				whenBody: map[string]any{"active": true}, expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "PATCH version not a number", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/vx",
				whenBody: map[string]any{"active": true}, expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "PATCH version with leading zero", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/v01",
				whenBody: map[string]any{"active": true}, expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "PATCH version zero", givenCaller: admin, whenMethod: "PATCH", whenPath: "/apis/orders/0",
				whenBody: map[string]any{"active": true}, expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "DELETE unknown", givenCaller: admin, whenMethod: "DELETE", whenPath: "/apis/orders/v9", expectStatus: 404, expectCode: "NOT-FOUND"},
			{name: "DELETE", givenCaller: admin, whenMethod: "DELETE", whenPath: "/apis/status/v2", expectStatus: 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := s.announced.Load()
				res := s.do(tt.givenCaller, tt.whenMethod, tt.whenPath, tt.whenBody).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				if tt.expectFields != nil && !slices.Equal(res.obstructionFields(), tt.expectFields) {
					t.Fatalf("obstructions on %v, want %v: %s", res.obstructionFields(), tt.expectFields, res.Raw)
				}
				if changed := s.announced.Load() != before; changed != (tt.whenMethod != "GET" && tt.expectStatus < 300) {
					t.Fatalf("announced = %v after %s %d", changed, tt.whenMethod, tt.expectStatus)
				}
				if tt.expectAPI != nil {
					expectAPI(t, res.data(), tt.expectAPI)
				}
			})
		}

		list := s.do(admin, "GET", "/apis", nil).expect(t, http.StatusOK)
		if items := list.list(); len(items) != 1 {
			t.Fatalf("registry = %s, want orders/v1 alone", list.Raw)
		} else {
			expectAPI(t, items[0], map[string]any{"id": "orders/v1", "active": false, "allowUnidentified": true, "loginRedirect": true, "url": "https://orders.internal"})
		}
		if _, err := d.GetAPI(s.ctx, "status", 2); err == nil {
			t.Fatal("status/v2 is still stored after DELETE")
		}
	})
}

// expectAPI fails unless every field of want has its value in got.
func expectAPI(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v (in %v)", k, got[k], v, got)
		}
	}
}
