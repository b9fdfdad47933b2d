package db_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestLoadSnapshot checks that the snapshot holds the live clients, with
// their own roles and restrictions, and every API.
func TestLoadSnapshot(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.org("org-live", 0)
		w.org("org-gone", 5)
		w.client("c-b", "org-live", 0)
		w.client("c-a", "org-live", 0)
		w.client("c-plain", "org-live", 0)
		w.client("c-deleted", "org-live", 7)
		w.client("c-orphaned", "org-gone", 0)
		for _, r := range []struct{ client, role string }{
			{"c-a", "internal"}, {"c-a", "external"}, {"c-b", "system"},
			{"c-deleted", "system"}, {"c-orphaned", "internal"},
		} {
			w.exec("INSERT INTO client_roles (client_id, role) VALUES (?, ?)", r.client, r.role)
		}
		for _, r := range []struct{ id, client, typ, value string }{
			{"r1", "c-a", "ip", "10.0.0.0/8"},
			{"r2", "c-a", "api", "notes"},
			{"r3", "c-a", "ip", "192.0.2.0/24"},
			{"r4", "c-b", "host", "app.example.com"},
			{"r5", "c-deleted", "ip", "0.0.0.0/0"},
			{"r6", "c-orphaned", "ip", "0.0.0.0/0"},
		} {
			w.exec("INSERT INTO client_access_restrictions (id, client_id, type, value, created_ms) VALUES (?, ?, ?, ?, 4)", r.id, r.client, r.typ, r.value)
		}
		w.exec("INSERT INTO apis (name, version, url, allow_unidentified, active, login_redirect, created_ms, updated_ms) VALUES ('notes', 2, 'http://127.0.0.1:9002', 0, 1, 1, 1, 2), ('notes', 1, 'http://127.0.0.1:9001', 1, 0, 0, 1, 2), ('billing', 1, 'http://127.0.0.1:9100', 0, 1, 0, 3, 4)")

		client := func(id string, roles []string, restrictions ...db.Restriction) db.Client {
			return db.Client{
				ID: id, OrganizationID: "org-live", Name: "client " + id, SecretHash: authHash("secret " + id),
				ReqsPerSec: 10, CreatedMs: 2, UpdatedMs: 3, Roles: roles, Restrictions: restrictions,
			}
		}
		restriction := func(id, client, typ, value string) db.Restriction {
			return db.Restriction{ID: id, ClientID: client, Type: typ, Value: value, CreatedMs: 4}
		}
		want := db.Snapshot{
			Clients: []db.Client{
				client("c-a", []string{"external", "internal"},
					restriction("r2", "c-a", "api", "notes"),
					restriction("r1", "c-a", "ip", "10.0.0.0/8"),
					restriction("r3", "c-a", "ip", "192.0.2.0/24")),
				client("c-b", []string{"system"}, restriction("r4", "c-b", "host", "app.example.com")),
				client("c-plain", nil),
			},
			APIs: []db.API{
				{Name: "billing", Version: 1, URL: "http://127.0.0.1:9100", Upstreams: []string{"http://127.0.0.1:9100"}, Active: true, CreatedMs: 3, UpdatedMs: 4},
				{Name: "notes", Version: 1, URL: "http://127.0.0.1:9001", Upstreams: []string{"http://127.0.0.1:9001"}, AllowUnidentified: true, CreatedMs: 1, UpdatedMs: 2},
				{Name: "notes", Version: 2, URL: "http://127.0.0.1:9002", Upstreams: []string{"http://127.0.0.1:9002"}, Active: true, LoginRedirect: true, CreatedMs: 1, UpdatedMs: 2},
			},
			LoadedMs: authNow,
		}

		got, err := d.LoadSnapshot(w.ctx, authNow)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("LoadSnapshot =\n%+v\nwant\n%+v", got, want)
		}

		t.Run("empty database", func(t *testing.T) {
			w.exec("DELETE FROM organizations")
			w.exec("DELETE FROM apis")
			got, err := d.LoadSnapshot(w.ctx, authNow+1)
			if err != nil || len(got.Clients) != 0 || len(got.APIs) != 0 || got.LoadedMs != authNow+1 {
				t.Errorf("LoadSnapshot = %+v, %v; want empty", got, err)
			}
		})
		t.Run("context already ended", func(t *testing.T) {
			ctx, cancel := context.WithCancel(w.ctx)
			cancel()
			if _, err := d.LoadSnapshot(ctx, authNow); !errors.Is(err, context.Canceled) {
				t.Errorf("error = %v, want context.Canceled", err)
			}
			// The pool is usable afterwards.
			if _, err := d.LoadSnapshot(w.ctx, authNow); err != nil {
				t.Errorf("LoadSnapshot after a cancelled one: %v", err)
			}
		})
	})
}

// TestLoadSnapshot_consistent checks that a write committed while a
// snapshot loads is either wholly in it or wholly absent: a client and
// its roles are never split across two states.
func TestLoadSnapshot_consistent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.org("o1", 0)
		const clients = 200
		for i := range clients {
			id := authSeq("c", i)
			w.client(id, "o1", 0)
			w.exec("INSERT INTO client_roles (client_id, role) VALUES (?, 'external')", id)
		}
		// A writer keeps deleting clients (roles cascade) and adding new
		// ones with a role, each change in one transaction.
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				tx, err := d.SQL().BeginTx(w.ctx, nil)
				if err != nil {
					done <- err
					return
				}
				id := authSeq("n", i)
				for _, q := range []struct {
					query string
					args  []any
				}{
					{"DELETE FROM clients WHERE id = ?", []any{authSeq("c", i%clients)}},
					{"INSERT INTO clients (id, organization_id, name, secret_hash, created_ms, updated_ms) VALUES (?, 'o1', 'n', 'h', 1, 1)", []any{id}},
					{"INSERT INTO client_roles (client_id, role) VALUES (?, 'system')", []any{id}},
				} {
					if _, err := tx.ExecContext(w.ctx, q.query, q.args...); err != nil {
						_ = tx.Rollback()
						done <- err
						return
					}
				}
				if err := tx.Commit(); err != nil {
					done <- err
					return
				}
			}
		}()
		for range 20 {
			snap, err := d.LoadSnapshot(w.ctx, authNow)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range snap.Clients {
				if len(c.Roles) != 1 {
					t.Fatalf("client %s has roles %v in the snapshot: a torn read", c.ID, c.Roles)
				}
			}
		}
		close(stop)
		if err := <-done; err != nil {
			t.Fatalf("writer: %v", err)
		}
	})
}
