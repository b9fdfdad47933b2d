package gatewaystore_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/revocation"
)

// TestNamesAgree: the gateway's restriction types and the poller's kinds
// are the strings the store writes (the adapter copies them as they are).
func TestNamesAgree(t *testing.T) {
	for _, pair := range [][2]string{
		{db.RestrictionIP, gateway.RestrictionIP}, {db.RestrictionHost, gateway.RestrictionHost},
		{db.RestrictionAPI, gateway.RestrictionAPI}, {db.RevokeSession, revocation.KindSession}, {db.RevokeUser, revocation.KindUser},
	} {
		if pair[0] != pair[1] {
			t.Errorf("the store writes %q where its consumer expects %q", pair[0], pair[1])
		}
	}
}

// TestSnapshot: every field the gateway reads survives the conversion,
// and "no restriction" (nil) stays apart from an empty list.
func TestSnapshot(t *testing.T) {
	in := db.Snapshot{
		Clients: []db.Client{
			{ID: "c1", OrganizationID: "o", SecretHash: "ab", ReqsPerSec: 5, Roles: []string{"internal"},
				Restrictions: []db.Restriction{{ID: "r1", ClientID: "c1", Type: db.RestrictionIP, Value: "10.0.0.0/8"}}},
			{ID: "c2", SecretHash: "$2a$x", ReqsPerSec: -1},
		},
		APIs: []db.API{{Name: "demo", Version: 2, URL: "http://b", AllowUnidentified: true, Active: true, LoginRedirect: true,
			Upstreams: []string{"http://b", "https://c"}, ConnectTimeoutMs: 250, HeaderTimeoutMs: 1500, TimeoutMs: 60000, H2C: true}},
		LoadedMs: 7,
	}
	got := gatewaystore.Snapshot(in)
	if len(got.Clients) != 2 || len(got.APIs) != 1 {
		t.Fatalf("Snapshot = %+v", got)
	}
	c := got.Clients[0]
	if c.ID != "c1" || c.SecretHash != "ab" || c.ReqsPerSec != 5 || len(c.Roles) != 1 || c.Roles[0] != "internal" ||
		len(c.Restrictions) != 1 || c.Restrictions[0] != (gateway.Restriction{ID: "r1", Type: gateway.RestrictionIP, Value: "10.0.0.0/8"}) {
		t.Errorf("client = %+v", c)
	}
	if c2 := got.Clients[1]; c2.Restrictions != nil || c2.ReqsPerSec != -1 || c2.SecretHash != "$2a$x" {
		t.Errorf("client without restrictions = %+v", c2)
	}
	if a := got.APIs[0]; !reflect.DeepEqual(a, gateway.SnapshotAPI{Name: "demo", Version: 2, URL: "http://b", AllowUnidentified: true, Active: true, LoginRedirect: true,
		Upstreams: []string{"http://b", "https://c"}, ConnectTimeout: 250 * time.Millisecond, HeaderTimeout: 1500 * time.Millisecond,
		Timeout: time.Minute, H2C: true}) {
		t.Errorf("api = %+v", a)
	}
}

// TestFeed: the adapter reads the real store's feed, by cursor and by
// creation time.
func TestFeed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		want := db.Revocation{Kind: db.RevokeUser, Subject: "u1", NotBeforeMs: 100, ExpiresMs: 200, CreatedMs: 150}
		if _, err := d.AddRevocation(ctx, want); err != nil {
			t.Fatal(err)
		}
		src := gatewaystore.New(d)
		for name, read := range map[string]func() ([]revocation.Entry, error){
			"since cursor":  func() ([]revocation.Entry, error) { return src.RevocationsSince(ctx, 0, 10) },
			"created since": func() ([]revocation.Entry, error) { return src.RevocationsCreatedSince(ctx, 150) },
		} {
			got, err := read()
			if err != nil || len(got) != 1 {
				t.Fatalf("%s: %+v, %v", name, got, err)
			}
			e := got[0]
			if e.Cursor <= 0 || e.Kind != revocation.KindUser || e.Subject != "u1" || e.NotBeforeMs != 100 || e.ExpiresMs != 200 || e.CreatedMs != 150 {
				t.Errorf("%s: entry = %+v", name, e)
			}
		}
	})
}
