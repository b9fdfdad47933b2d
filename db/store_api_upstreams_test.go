package db_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestAPIUpstreams checks the upstream list and timeouts of an API
// version (migration 0019): written, read back by GetAPI, ListAPIs and
// LoadSnapshot, URL kept as the first upstream, and the limits.
func TestAPIUpstreams(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		many := make([]string, db.MaxAPIUpstreams+1)
		for i := range many {
			many[i] = "http://127.0.0.1:" + string(rune('0'+i%10)) + strings.Repeat("1", i/10+1)
		}
		tests := []struct {
			name          string
			given         db.API
			expectErr     error
			expectURL     string
			expectUpsteam []string
		}{
			{"URL alone", db.API{Name: "a", Version: 1, URL: "http://127.0.0.1:1"}, nil, "http://127.0.0.1:1", []string{"http://127.0.0.1:1"}},
			{"upstreams alone set URL", db.API{Name: "a", Version: 2, Upstreams: []string{"http://b:1", "https://c:2/x"}}, nil,
				"http://b:1", []string{"http://b:1", "https://c:2/x"}},
			{"both, agreeing", db.API{Name: "a", Version: 3, URL: "http://b:1", Upstreams: []string{"http://b:1", "http://c:2"},
				ConnectTimeoutMs: 250, HeaderTimeoutMs: 1500, TimeoutMs: 60000, H2C: true}, nil, "http://b:1", []string{"http://b:1", "http://c:2"}},
			{"URL not the first upstream", db.API{Name: "a", Version: 4, URL: "http://x:1", Upstreams: []string{"http://b:1"}}, db.ErrInvalid, "", nil},
			{"duplicate upstream", db.API{Name: "a", Version: 5, Upstreams: []string{"http://b:1", "http://b:1"}}, db.ErrInvalid, "", nil},
			{"empty upstream", db.API{Name: "a", Version: 6, Upstreams: []string{"http://b:1", ""}}, db.ErrInvalid, "", nil},
			{"space in upstream", db.API{Name: "a", Version: 7, Upstreams: []string{"http://b:1", "http://c d"}}, db.ErrInvalid, "", nil},
			{"too many", db.API{Name: "a", Version: 8, Upstreams: many}, db.ErrInvalid, "", nil},
			{"sixteen", db.API{Name: "a", Version: 9, Upstreams: many[:db.MaxAPIUpstreams]}, nil, many[0], many[:db.MaxAPIUpstreams]},
			{"negative timeout", db.API{Name: "a", Version: 10, URL: "http://b:1", TimeoutMs: -1}, db.ErrInvalid, "", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.given.CreatedMs = e.now()
				tt.given.Active = true
				expectErr(t, "CreateAPI", d.CreateAPI(e.ctx, tt.given), tt.expectErr)
				if tt.expectErr != nil {
					return
				}
				got, err := d.GetAPI(e.ctx, tt.given.Name, tt.given.Version)
				if err != nil {
					t.Fatal(err)
				}
				if got.URL != tt.expectURL || !slices.Equal(got.Upstreams, tt.expectUpsteam) || got.ConnectTimeoutMs != tt.given.ConnectTimeoutMs ||
					got.HeaderTimeoutMs != tt.given.HeaderTimeoutMs || got.TimeoutMs != tt.given.TimeoutMs || got.H2C != tt.given.H2C {
					t.Fatalf("GetAPI = %+v, want URL %s upstreams %v and the given timeouts", got, tt.expectURL, tt.expectUpsteam)
				}
				snap, err := d.LoadSnapshot(e.ctx, e.now())
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(snap.APIs, func(a db.API) bool { return a.Name == got.Name && a.Version == got.Version })
				if i < 0 || !slices.Equal(snap.APIs[i].Upstreams, tt.expectUpsteam) || snap.APIs[i].TimeoutMs != tt.given.TimeoutMs {
					t.Fatalf("snapshot API = %+v, want upstreams %v", snap.APIs, tt.expectUpsteam)
				}
			})
		}
		// An update replaces the list; an empty list means the URL alone.
		up := db.API{Name: "a", Version: 2, URL: "http://z:9", Active: true, UpdatedMs: e.now()}
		if err := d.UpdateAPI(e.ctx, up); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetAPI(e.ctx, "a", 2); !slices.Equal(got.Upstreams, []string{"http://z:9"}) || got.URL != "http://z:9" {
			t.Fatalf("after update: %+v", got)
		}
		up.Upstreams = []string{"http://y:1", "http://y:2"}
		up.URL = ""
		if err := d.UpdateAPI(e.ctx, up); err != nil {
			t.Fatal(err)
		}
		if got, _ := d.GetAPI(e.ctx, "a", 2); !slices.Equal(got.Upstreams, up.Upstreams) || got.URL != "http://y:1" {
			t.Fatalf("after update: %+v", got)
		}
	})
}
