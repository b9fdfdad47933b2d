package db_test

import (
	"reflect"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestAPIs checks the APIs registry: create, duplicates, read, list,
// update and delete.
func TestAPIs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		notes1 := db.API{Name: "notes", Version: 1, URL: "http://127.0.0.1:9001", Active: true, CreatedMs: e.now()}
		creates := []struct {
			name      string
			givenAPI  db.API
			expectErr error
		}{
			{"notes v1", notes1, nil},
			{"notes v2", db.API{Name: "notes", Version: 2, URL: "http://127.0.0.1:9002", AllowUnidentified: true, LoginRedirect: true, CreatedMs: e.now()}, nil},
			{"billing v0", db.API{Name: "billing", Version: 0, URL: "http://127.0.0.1:9003", Active: true, CreatedMs: e.now()}, nil},
			{"duplicate (name, version)", db.API{Name: "notes", Version: 1, URL: "http://other", CreatedMs: e.now()}, db.ErrDuplicate},
			{"name differing in case is another API", db.API{Name: "Notes", Version: 1, URL: "http://127.0.0.1:9004", CreatedMs: e.now()}, nil},
			{"name with a trailing space", db.API{Name: "notes ", Version: 3, URL: "http://x", CreatedMs: e.now()}, db.ErrInvalid},
			{"empty name", db.API{Version: 1, URL: "http://x", CreatedMs: e.now()}, db.ErrInvalid},
			{"negative version", db.API{Name: "notes", Version: -1, URL: "http://x", CreatedMs: e.now()}, db.ErrInvalid},
			{"version over INT", db.API{Name: "notes", Version: 1 << 31, URL: "http://x", CreatedMs: e.now()}, db.ErrInvalid},
			{"no URL", db.API{Name: "notes", Version: 4, CreatedMs: e.now()}, db.ErrInvalid},
			{"no time", db.API{Name: "notes", Version: 5, URL: "http://x"}, db.ErrInvalid},
		}
		for _, tt := range creates {
			t.Run("create "+tt.name, func(t *testing.T) {
				before := e.count("apis")
				expectErr(t, "CreateAPI", d.CreateAPI(e.ctx, tt.givenAPI), tt.expectErr)
				want := before
				if tt.expectErr == nil {
					want++
				}
				if n := e.count("apis"); n != want {
					t.Errorf("%d APIs, want %d", n, want)
				}
			})
		}
		t.Run("get", func(t *testing.T) {
			want := notes1
			want.UpdatedMs = want.CreatedMs
			want.Upstreams = []string{want.URL}
			if got, err := d.GetAPI(e.ctx, "notes", 1); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetAPI = %+v, %v; want %+v", got, err, want)
			}
			_, err := d.GetAPI(e.ctx, "notes", 9)
			expectErr(t, "GetAPI of a missing version", err, db.ErrNotFound)
		})
		t.Run("list", func(t *testing.T) {
			apis, err := d.ListAPIs(e.ctx)
			var got []string
			for _, a := range apis {
				got = append(got, a.Name+"/"+string(rune('0'+a.Version)))
			}
			want := "Notes/1 billing/0 notes/1 notes/2"
			if err != nil || len(got) != 4 || got[0]+" "+got[1]+" "+got[2]+" "+got[3] != want {
				t.Errorf("ListAPIs = %v, %v; want %s", got, err, want)
			}
			if err == nil && (!apis[3].AllowUnidentified || apis[3].Active || !apis[3].LoginRedirect) {
				t.Errorf("notes v2 = %+v, want allow-unidentified, inactive, login-redirect", apis[3])
			}
			if err == nil && apis[2].LoginRedirect {
				t.Errorf("notes v1 = %+v, want no login redirect (the default)", apis[2])
			}
		})
		t.Run("update", func(t *testing.T) {
			ms := e.now()
			update := db.API{Name: "notes", Version: 1, URL: "http://127.0.0.1:9999", AllowUnidentified: true, Active: false, LoginRedirect: true, UpdatedMs: ms}
			if err := d.UpdateAPI(e.ctx, update); err != nil {
				t.Fatal(err)
			}
			want := update
			want.CreatedMs = notes1.CreatedMs
			want.Upstreams = []string{want.URL}
			if got, err := d.GetAPI(e.ctx, "notes", 1); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetAPI = %+v, %v; want %+v", got, err, want)
			}
			expectErr(t, "UpdateAPI of a missing API", d.UpdateAPI(e.ctx, db.API{Name: "nope", Version: 1, URL: "http://x", UpdatedMs: ms}), db.ErrNotFound)
			expectErr(t, "UpdateAPI without a URL", d.UpdateAPI(e.ctx, db.API{Name: "notes", Version: 1, UpdatedMs: ms}), db.ErrInvalid)
		})
		t.Run("delete", func(t *testing.T) {
			if err := d.DeleteAPI(e.ctx, "notes", 1); err != nil {
				t.Fatal(err)
			}
			_, err := d.GetAPI(e.ctx, "notes", 1)
			expectErr(t, "GetAPI after delete", err, db.ErrNotFound)
			expectErr(t, "DeleteAPI again", d.DeleteAPI(e.ctx, "notes", 1), db.ErrNotFound)
			if _, err := d.GetAPI(e.ctx, "notes", 2); err != nil {
				t.Errorf("notes v2 after deleting v1: %v", err)
			}
		})
	})
}
