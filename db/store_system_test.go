package db_test

import (
	"context"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestCreateSystemClient: an organization without members and its
// client are written together, once; a second attempt with the same
// IDs is ErrDuplicate and writes nothing; a bad client writes no
// organization.
func TestCreateSystemClient(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		org := db.Organization{ID: "00000000-0000-7000-8000-0000000000a1", Name: "authgw", CreatedMs: 1}
		c := db.Client{ID: "00000000-0000-7000-8000-0000000000a2", Name: "portal", SecretHash: "!no-secret", ReqsPerSec: db.UnlimitedReqsPerSec, CreatedMs: 1}
		tests := []struct {
			name      string
			givenOrg  db.Organization
			givenCli  db.Client
			expectErr error
		}{
			{"a client without a secret hash", db.Organization{ID: "00000000-0000-7000-8000-0000000000b1", Name: "x", CreatedMs: 1},
				db.Client{ID: "00000000-0000-7000-8000-0000000000b2", Name: "x", CreatedMs: 1}, db.ErrInvalid},
			{"an organization without a time", db.Organization{ID: "00000000-0000-7000-8000-0000000000c1", Name: "x"}, c, db.ErrInvalid},
			{"first", org, c, nil},
			{"again", org, c, db.ErrDuplicate},
			{"another client in the same organization ID", org, db.Client{ID: "00000000-0000-7000-8000-0000000000a3", Name: "p", SecretHash: "x", CreatedMs: 1}, db.ErrDuplicate},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectErr(t, "CreateSystemClient", d.CreateSystemClient(ctx, tt.givenOrg, tt.givenCli), tt.expectErr)
			})
		}
		for _, id := range []string{"00000000-0000-7000-8000-0000000000b1", "00000000-0000-7000-8000-0000000000c1"} {
			if _, err := d.GetOrganization(ctx, id); err == nil {
				t.Errorf("organization %s written by a failed call", id)
			}
		}
		got, err := d.GetClient(ctx, c.ID)
		if err != nil || got.OrganizationID != org.ID || len(got.Roles) != 1 || got.Roles[0] != db.ClientRoleExternal {
			t.Errorf("GetClient = %+v, %v", got, err)
		}
		if ms, _, err := d.ListOrgMemberships(ctx, org.ID, db.Page{Size: 5}); err != nil || len(ms) != 0 {
			t.Errorf("members %v, %v; want none", ms, err)
		}
		if _, err := d.GetClient(ctx, "00000000-0000-7000-8000-0000000000a3"); err == nil {
			t.Error("the client of the failed second call was written")
		}
	})
}
