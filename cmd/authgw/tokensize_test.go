package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
)

// TestTokenSizeAtMembershipBound mints, with the shipped example policies
// and testdata/policies, the tokens of a user at the bound of memberships
// (accounts.DefaultMaxMemberships organizations, UUID IDs, every flag),
// for every role: each token is under mint.MaxTokenSize (3,800 bytes),
// so no login fails for the organizations a user belongs to, and the
// last organization's routes pass the verifier.
func TestTokenSizeAtMembershipBound(t *testing.T) {
	ring, err := mint.GenerateKeyRing("k1", bytes.NewReader(bytes.Repeat([]byte{3}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	minter, err := mint.New(mint.Config{Keys: ring, ServerID: "authgw-0123456789abcdef", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{Keys: ring, ServerID: "authgw-0123456789abcdef", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	uuid := func(n int) string { return fmt.Sprintf("01a24a2e-c4e2-7ffc-805e-%012x", 0x9845e144a000+n) }
	subject := mint.Subject{UserID: uuid(1 << 20), SessionID: uuid(2 << 20), ClientID: uuid(3 << 20),
		Roles: []string{db.RoleUser, db.RoleEmployee, db.RoleSysadmin}}
	for i := range accounts.DefaultMaxMemberships {
		subject.Memberships = append(subject.Memberships, mint.Membership{OrgID: uuid(i), Read: true, Edit: true, Manage: true, Delete: true})
	}
	last := subject.Memberships[len(subject.Memberships)-1].OrgID

	examples, err := policy.LoadDir(filepath.Join("examples"))
	if err != nil {
		t.Fatal(err)
	}
	testdata, err := policy.LoadDir(filepath.Join("..", "..", "testdata", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []struct {
		name string
		set  *policy.Set
	}{{"examples", examples}, {"testdata/policies", testdata}} {
		for _, roles := range [][]string{{db.RoleUser}, {db.RoleEmployee}, {db.RoleSysadmin}, subject.Roles} {
			t.Run(fmt.Sprint(set.name, roles), func(t *testing.T) {
				s := subject
				s.Roles = roles
				toks, err := minter.Mint(set.set.ForRoles(roles), s)
				if err != nil {
					t.Fatalf("Mint at %d memberships: %v", len(s.Memberships), err)
				}
				for method, tok := range toks.ByMethod {
					t.Logf("%s: %d bytes", method, len(tok))
					if len(tok) >= mint.MaxTokenSize {
						t.Errorf("%s token is %d bytes, want under %d", method, len(tok), mint.MaxTokenSize)
					}
				}
				// The member policy's organization routes reach the last
				// organization.
				if tok, ok := toks.ByMethod["GET"]; ok && roles[0] == db.RoleUser && len(roles) == 1 {
					path := "/accounts/v1/organizations/" + last + "/clients"
					if _, err := v.Verify(tok, verifier.Request{Method: "GET", Path: path, ClientID: s.ClientID}); err != nil {
						t.Errorf("GET %s: %v", path, err)
					}
					other := "/accounts/v1/organizations/" + uuid(999) + "/clients"
					if _, err := v.Verify(tok, verifier.Request{Method: "GET", Path: other, ClientID: s.ClientID}); err == nil {
						t.Errorf("GET %s: allowed for an organization the user is not in", other)
					}
				}
			})
		}
	}
}
