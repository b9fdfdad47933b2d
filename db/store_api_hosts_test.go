package db_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestAPIHosts checks the host bindings of an API version (migration
// 0020): normalized, sorted, read back by GetAPI, ListAPIs and
// LoadSnapshot, replaced by UpdateAPI, unique across APIs, removed with
// the API, and the limits.
func TestAPIHosts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		many := make([]string, db.MaxAPIHosts+1)
		for i := range many {
			many[i] = "h" + strconv.Itoa(i) + ".example.com"
		}
		tests := []struct {
			name      string
			hosts     []string
			expectErr error
			expect    []string
		}{
			{"none", nil, nil, nil},
			{"normalized and sorted", []string{"Wiki.Example.COM.", "docs.example.com"}, nil, []string{"docs.example.com", "wiki.example.com"}},
			{"IDNA A-label", []string{"xn--bcher-kva.example"}, nil, []string{"xn--bcher-kva.example"}},
			{"sixteen", many[:db.MaxAPIHosts], nil, nil},
			{"seventeen", many, db.ErrInvalid, nil},
			{"port", []string{"wiki.example.com:8080"}, db.ErrInvalid, nil},
			{"single label", []string{"localhost"}, db.ErrInvalid, nil},
			{"IP", []string{"127.0.0.1"}, db.ErrInvalid, nil},
			{"wildcard", []string{"*.example.com"}, db.ErrInvalid, nil},
			{"unicode", []string{"bücher.example"}, db.ErrInvalid, nil},
			{"empty label", []string{"a..example.com"}, db.ErrInvalid, nil},
			{"hyphen edge", []string{"-a.example.com"}, db.ErrInvalid, nil},
			{"twice after folding", []string{"a.example.com", "A.example.com."}, db.ErrInvalid, nil},
			{"empty", []string{""}, db.ErrInvalid, nil},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a := db.API{Name: "h" + strconv.Itoa(i), Version: 1, URL: "http://127.0.0.1:1", Active: true, CreatedMs: e.now(), Hosts: tt.hosts}
				expectErr(t, "CreateAPI", d.CreateAPI(e.ctx, a), tt.expectErr)
				if tt.expectErr != nil {
					return
				}
				want := tt.expect
				if want == nil && tt.hosts != nil {
					want = slices.Sorted(slices.Values(tt.hosts))
				}
				got, err := d.GetAPI(e.ctx, a.Name, 1)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Hosts, want) {
					t.Fatalf("GetAPI hosts = %v, want %v", got.Hosts, want)
				}
				list, err := d.ListAPIs(e.ctx)
				if err != nil {
					t.Fatal(err)
				}
				snap, err := d.LoadSnapshot(e.ctx, e.now())
				if err != nil {
					t.Fatal(err)
				}
				for _, all := range [][]db.API{list, snap.APIs} {
					i := slices.IndexFunc(all, func(x db.API) bool { return x.Name == a.Name })
					if i < 0 || !slices.Equal(all[i].Hosts, want) {
						t.Fatalf("listed hosts of %s wrong: %+v", a.Name, all)
					}
				}
			})
		}

		// Unique across APIs, replaced by an update, removed with the API.
		w := db.API{Name: "wiki", Version: 1, URL: "http://127.0.0.1:1", Active: true, CreatedMs: e.now(), Hosts: []string{"wiki.example.net"}}
		expectErr(t, "CreateAPI wiki", d.CreateAPI(e.ctx, w), nil)
		o := db.API{Name: "other", Version: 1, URL: "http://127.0.0.1:1", Active: true, CreatedMs: e.now(), Hosts: []string{"WIKI.example.net"}}
		expectErr(t, "CreateAPI other with wiki's host", d.CreateAPI(e.ctx, o), db.ErrDuplicate)
		if _, err := d.GetAPI(e.ctx, "other", 1); err == nil {
			t.Fatal("a refused CreateAPI left its API behind")
		}
		o.Hosts = nil
		expectErr(t, "CreateAPI other", d.CreateAPI(e.ctx, o), nil)
		o.Hosts, o.UpdatedMs = []string{"wiki.example.net"}, e.now()
		expectErr(t, "UpdateAPI other with wiki's host", d.UpdateAPI(e.ctx, o), db.ErrDuplicate)
		w.Hosts, w.UpdatedMs = []string{"w2.example.net"}, e.now()
		expectErr(t, "UpdateAPI wiki", d.UpdateAPI(e.ctx, w), nil)
		expectErr(t, "UpdateAPI other takes the freed host", d.UpdateAPI(e.ctx, o), nil)
		if got, _ := d.GetAPI(e.ctx, "wiki", 1); !slices.Equal(got.Hosts, []string{"w2.example.net"}) {
			t.Fatalf("wiki hosts after update = %v", got.Hosts)
		}
		expectErr(t, "DeleteAPI other", d.DeleteAPI(e.ctx, "other", 1), nil)
		o.Hosts = []string{"wiki.example.net"}
		expectErr(t, "CreateAPI other again (hosts went with the API)", d.CreateAPI(e.ctx, o), nil)
	})
}
