package db_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// pagedList is one paged list under test: seed makes its rows (and rows
// it must leave out) and returns the IDs it must list, in order; list
// reads one page as IDs.
type pagedList struct {
	name string
	seed func(e *accountsEnv, n int) (want []string, list func(p db.Page) ([]string, db.PageInfo, error))
}

// idsOf maps records to their IDs.
func idsOf[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = id(item)
	}
	return out
}

// pagedLists are the store's paged lists, each seeded with rows it must
// hide: soft-deleted ones and those of another parent.
var pagedLists = []pagedList{
	{"ListOrganizations", func(e *accountsEnv, n int) ([]string, func(db.Page) ([]string, db.PageInfo, error)) {
		creator := e.user("Creator", "creator@example.com")
		var want []string
		tail := false // a hidden row after the last visible one
		for i := 0; len(want) < n || !tail; i++ {
			if i%7 == 3 {
				o := e.org("Deleted", creator)
				if err := e.d.DeleteOrganization(e.ctx, o.ID, e.now()); err != nil {
					e.t.Fatal(err)
				}
				tail = len(want) == n
			} else if len(want) < n {
				want = append(want, e.org("Org", creator).ID)
			}
		}
		return want, func(p db.Page) ([]string, db.PageInfo, error) {
			orgs, info, err := e.d.ListOrganizations(e.ctx, p)
			return idsOf(orgs, func(o db.Organization) string { return o.ID }), info, err
		}
	}},
	{"ListUserOrganizations", func(e *accountsEnv, n int) ([]string, func(db.Page) ([]string, db.PageInfo, error)) {
		ann := e.user("Ann", "ann@example.com")
		bob := e.user("Bob", "bob@example.com")
		var want []string
		tail := false // a hidden row after the last visible one
		for i := 0; len(want) < n || !tail; i++ {
			switch i % 6 {
			case 2:
				e.org("Bob's", bob) // Ann is not a member
			case 4:
				o := e.org("Deleted", ann)
				if err := e.d.DeleteOrganization(e.ctx, o.ID, e.now()); err != nil {
					e.t.Fatal(err)
				}
				tail = len(want) == n
			default:
				if len(want) < n {
					want = append(want, e.org("Ann's", ann).ID)
				}
			}
		}
		return want, func(p db.Page) ([]string, db.PageInfo, error) {
			orgs, info, err := e.d.ListUserOrganizations(e.ctx, ann.ID, p)
			return idsOf(orgs, func(o db.Organization) string { return o.ID }), info, err
		}
	}},
	{"ListUsers", func(e *accountsEnv, n int) ([]string, func(db.Page) ([]string, db.PageInfo, error)) {
		var want []string
		tail := false // a hidden row after the last visible one
		for i := 0; len(want) < n || !tail; i++ {
			if i%7 == 5 {
				u := e.user("Deleted", e.id()+"@example.com")
				if err := e.d.DeleteUser(e.ctx, u.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
					e.t.Fatal(err)
				}
				tail = len(want) == n
			} else if len(want) < n {
				want = append(want, e.user("User", e.id()+"@example.com").ID)
			}
		}
		return want, func(p db.Page) ([]string, db.PageInfo, error) {
			users, info, err := e.d.ListUsers(e.ctx, p)
			return idsOf(users, func(u db.User) string { return u.ID }), info, err
		}
	}},
	{"ListClients", func(e *accountsEnv, n int) ([]string, func(db.Page) ([]string, db.PageInfo, error)) {
		creator := e.user("Creator", "creator@example.com")
		org, other := e.org("Org", creator), e.org("Other", creator)
		var want []string
		tail := false // a hidden row after the last visible one
		for i := 0; len(want) < n || !tail; i++ {
			switch i % 6 {
			case 1:
				e.client(other.ID, "other")
			case 3:
				c := e.client(org.ID, "deleted")
				if err := e.d.DeleteClient(e.ctx, c.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
					e.t.Fatal(err)
				}
				tail = len(want) == n
			default:
				if len(want) < n {
					want = append(want, e.client(org.ID, "app").ID)
				}
			}
		}
		return want, func(p db.Page) ([]string, db.PageInfo, error) {
			clients, info, err := e.d.ListClients(e.ctx, org.ID, p)
			return idsOf(clients, func(c db.Client) string { return c.ID }), info, err
		}
	}},
	{"ListOrgMemberships", func(e *accountsEnv, n int) ([]string, func(db.Page) ([]string, db.PageInfo, error)) {
		creator := e.user("Creator", "creator@example.com")
		org, other := e.org("Org", creator), e.org("Other", creator)
		first, err := e.d.GetUserMembership(e.ctx, org.ID, creator.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		want := []string{first.ID}
		tail := false // a hidden row after the last visible one
		for i := 0; len(want) < n || !tail; i++ {
			if len(want) == n && i%6 != 4 {
				continue
			}
			u := e.user("Member", e.id()+"@example.com")
			orgID := org.ID
			if i%6 == 1 {
				orgID = other.ID
			}
			m, err := e.d.UpsertMembership(e.ctx, db.Membership{ID: e.id(), OrganizationID: orgID, UserID: u.ID, Read: true, CreatedMs: e.now()})
			if err != nil {
				e.t.Fatal(err)
			}
			switch {
			case i%6 == 1:
			case i%6 == 4:
				if err := e.d.DeleteUser(e.ctx, u.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now()}); err != nil {
					e.t.Fatal(err)
				}
				tail = len(want) == n
			default:
				want = append(want, m.ID)
			}
		}
		return want, func(p db.Page) ([]string, db.PageInfo, error) {
			ms, info, err := e.d.ListOrgMemberships(e.ctx, org.ID, p)
			return idsOf(ms, func(m db.Membership) string { return m.ID }), info, err
		}
	}},
}

// TestPaging_60RowsBy25 checks each paged list over exactly 60 visible
// rows: Next walks pages of 25, 25 and 10 that hold every visible row
// once, in ID order, and none of the hidden ones; Prev walks back from
// the last page over the same pages to the first row.
func TestPaging_60RowsBy25(t *testing.T) {
	for _, tt := range pagedLists {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				e := newAccountsEnv(t, d)
				want, list := tt.seed(e, 60)
				if !slices.IsSorted(want) {
					t.Fatal("seeded IDs are not in creation order")
				}

				var (
					got    []string
					sizes  []int
					pages  []db.PageInfo
					cursor string
				)
				for range 10 {
					ids, info, err := list(db.Page{Size: 25, Cursor: cursor})
					if err != nil {
						t.Fatalf("page %d: %v", len(sizes)+1, err)
					}
					got = append(got, ids...)
					sizes = append(sizes, len(ids))
					pages = append(pages, info)
					if cursor = info.Next; cursor == "" {
						break
					}
				}
				if !slices.Equal(sizes, []int{25, 25, 10}) {
					t.Errorf("page sizes = %v, want [25 25 10]", sizes)
				}
				if !slices.Equal(got, want) {
					t.Errorf("rows listed differ from the visible rows (duplicates, gaps or hidden rows):\ngot  %v\nwant %v", got, want)
				}
				if len(pages) > 0 && pages[0].Prev != "" {
					t.Errorf("first page has Prev %q", pages[0].Prev)
				}

				// Prev of the second page is the first page.
				if len(pages) == 3 {
					ids, info, err := list(db.Page{Size: 25, Cursor: pages[1].Prev})
					if err != nil || !slices.Equal(ids, want[:25]) || info.Prev != "" || info.Next == "" {
						t.Errorf("Prev of page 2 = %v, %+v, %v; want rows 1-25, no Prev, a Next", ids, info, err)
					}
				}

				// Back from the last page.
				var back [][]string
				cursor = pages[len(pages)-1].Prev
				for cursor != "" && len(back) < 10 {
					ids, info, err := list(db.Page{Size: 25, Cursor: cursor})
					if err != nil {
						t.Fatalf("back page %d: %v", len(back)+1, err)
					}
					back = append(back, ids)
					if info.Next == "" {
						t.Errorf("back page %d has no Next", len(back))
					}
					cursor = info.Prev
				}
				if len(back) != 2 || !slices.Equal(back[0], want[25:50]) || !slices.Equal(back[1], want[:25]) {
					t.Errorf("walking Prev from the last page gave %d pages %v, want rows 26-50 then 1-25", len(back), back)
				}

				// Next from a page reached by Prev goes forward again.
				_, info, err := list(db.Page{Size: 25, Cursor: pages[len(pages)-1].Prev})
				if err != nil || info.Next == "" {
					t.Fatalf("Next of a Prev page = %q, %v", info.Next, err)
				}
				fwd, _, err := list(db.Page{Size: 25, Cursor: info.Next})
				if err != nil || !slices.Equal(fwd, want[50:]) {
					t.Errorf("Prev then Next = %v, %v; want rows 51-60", fwd, err)
				}

				// The default size is 25, and a page larger than the list
				// has no Next.
				ids, info, err := list(db.Page{})
				if err != nil || len(ids) != db.DefaultPageSize || info.Next == "" {
					t.Errorf("default page: %d rows, Next %q, %v; want 25 and a Next", len(ids), info.Next, err)
				}
				ids, info, err = list(db.Page{Size: db.MaxPageSize})
				if err != nil || len(ids) != 60 || info.Next != "" || info.Prev != "" {
					t.Errorf("page of 100: %d rows, %+v, %v; want 60 and no cursors", len(ids), info, err)
				}
			})
		})
	}
}

// TestPaging_badPage checks that page sizes out of range and malformed
// cursors are refused with ErrInvalid by every paged list, before it
// looks at the database.
func TestPaging_badPage(t *testing.T) {
	b64 := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		name      string
		givenPage db.Page
		expectErr error
	}{
		{"size 1", db.Page{Size: 1}, nil},
		{"size 100", db.Page{Size: 100}, nil},
		{"size 101", db.Page{Size: 101}, db.ErrInvalid},
		{"negative size", db.Page{Size: -1}, db.ErrInvalid},
		{"cursor not base64url", db.Page{Cursor: "!!!"}, db.ErrInvalid},
		{"cursor in padded base64", db.Page{Cursor: base64.URLEncoding.EncodeToString([]byte(">abcd"))}, db.ErrInvalid},
		{"cursor without a direction", db.Page{Cursor: b64([]byte("0190aaaa-0000-7000-8000-000000000000"))}, db.ErrInvalid},
		{"cursor with an empty ID", db.Page{Cursor: b64([]byte(">"))}, db.ErrInvalid},
		{"cursor with an ID too long", db.Page{Cursor: b64([]byte(">" + strings.Repeat("a", 37)))}, db.ErrInvalid},
		{"cursor with a space", db.Page{Cursor: b64([]byte(">a b"))}, db.ErrInvalid},
		{"cursor with a NUL", db.Page{Cursor: b64([]byte("<a\x00"))}, db.ErrInvalid},
		{"after cursor of any ID", db.Page{Cursor: b64([]byte(">zzz"))}, nil},
		{"before cursor of any ID", db.Page{Cursor: b64([]byte("<000"))}, nil},
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		ann := e.user("Ann", "ann@example.com")
		org := e.org("Org", ann)
		lists := []struct {
			name string
			// whenValid is the error for a valid page: ErrNotFound when
			// the list's parent is missing.
			whenValid error
			list      func(p db.Page) error
		}{
			{"ListOrganizations", nil, func(p db.Page) error { _, _, err := d.ListOrganizations(e.ctx, p); return err }},
			{"ListUserOrganizations", nil, func(p db.Page) error {
				_, _, err := d.ListUserOrganizations(e.ctx, ann.ID, p)
				return err
			}},
			{"ListUsers", nil, func(p db.Page) error { _, _, err := d.ListUsers(e.ctx, p); return err }},
			{"ListClients", nil, func(p db.Page) error { _, _, err := d.ListClients(e.ctx, org.ID, p); return err }},
			{"ListOrgMemberships", nil, func(p db.Page) error { _, _, err := d.ListOrgMemberships(e.ctx, org.ID, p); return err }},
			{"ListClients of a missing organization", db.ErrNotFound, func(p db.Page) error {
				_, _, err := d.ListClients(e.ctx, "missing", p)
				return err
			}},
			{"ListOrgMemberships of a missing organization", db.ErrNotFound, func(p db.Page) error {
				_, _, err := d.ListOrgMemberships(e.ctx, "missing", p)
				return err
			}},
			{"ListUserOrganizations of a missing user", db.ErrNotFound, func(p db.Page) error {
				_, _, err := d.ListUserOrganizations(e.ctx, "missing", p)
				return err
			}},
		}
		for _, tt := range tests {
			for _, l := range lists {
				t.Run(tt.name+"/"+l.name, func(t *testing.T) {
					want := tt.expectErr
					if want == nil {
						want = l.whenValid
					}
					expectErr(t, l.name, l.list(tt.givenPage), want)
				})
			}
		}
	})
}

// TestPaging_emptyList checks the page of an empty list: no rows, no
// cursors, and not nil.
func TestPaging_emptyList(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		orgs, info, err := d.ListOrganizations(e.ctx, db.Page{})
		if err != nil || orgs == nil || len(orgs) != 0 || info != (db.PageInfo{}) {
			t.Errorf("ListOrganizations on an empty database = %#v, %+v, %v", orgs, info, err)
		}
	})
}
