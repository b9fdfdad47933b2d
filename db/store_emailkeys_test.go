package db_test

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// onlyInit returns the dialect's embedded 0001_init alone: a database as
// the release before the email keys left it.
func onlyInit(t *testing.T, dialect string) fs.FS {
	t.Helper()
	embedded := db.EmbeddedMigrations(dialect)
	fsys := fstest.MapFS{}
	for _, name := range []string{"0001_init.up.sql", "0001_init.down.sql"} {
		b, err := fs.ReadFile(embedded, name)
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: b}
	}
	return fsys
}

// TestMigration_emailKeys upgrades a database holding addresses that
// differ only in case (which the old schema took as two identities):
// the migration keeps them all, gives the key to the first of each group
// (verified first, then the earliest verified, then the oldest), keeps
// the others apart, and reports their IDs (never the addresses) through
// EmailKeyCollisions.
func TestMigration_emailKeys(t *testing.T) {
	dbtest.EachEmpty(t, func(t *testing.T, d *db.DB) {
		ctx := t.Context()
		db.SetMigrations(d, onlyInit(t, d.Dialect()))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := d.SQL().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec("INSERT INTO users (id, name, created_ms, updated_ms) VALUES ('u1', 'Ann', 1, 1), ('u2', 'Squatter', 2, 2), ('u3', 'Cid', 3, 3), ('u4', 'Dee', 4, 4)")
		// Group 1: the later address is the verified one, and wins.
		exec("INSERT INTO emails (id, user_id, email, verified_ms, created_ms) VALUES ('e1', 'u2', 'ANN@example.com', NULL, 1)")
		exec("INSERT INTO emails (id, user_id, email, verified_ms, created_ms) VALUES ('e2', 'u1', 'ann@example.com', 5, 2)")
		// Group 2: neither verified: the oldest wins.
		exec("INSERT INTO emails (id, user_id, email, verified_ms, created_ms) VALUES ('e3', 'u3', 'Cid@example.com', NULL, 3)")
		exec("INSERT INTO emails (id, user_id, email, verified_ms, created_ms) VALUES ('e4', 'u4', 'cid@example.com', NULL, 4)")
		// No collision.
		exec("INSERT INTO emails (id, user_id, email, verified_ms, created_ms) VALUES ('e5', 'u4', 'Dee@example.com', 6, 5)")

		db.SetMigrations(d, db.EmbeddedMigrations(d.Dialect()))
		if _, err := d.MigrateUp(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := d.EmailKeyCollisions(ctx)
		if err != nil || !slices.Equal(got, []string{"e1", "e4"}) {
			t.Fatalf("EmailKeyCollisions = %v, %v; want [e1 e4]", got, err)
		}
		for _, tt := range []struct{ lookup, wantUser string }{{"ANN@example.com", "u1"}, {"dee@example.com", "u4"}} {
			u, _, err := d.GetUserByEmail(ctx, tt.lookup)
			if err != nil || u.ID != tt.wantUser {
				t.Errorf("GetUserByEmail(%s) = %s, %v; want %s", tt.lookup, u.ID, err, tt.wantUser)
			}
		}
		if u, _, err := d.GetUserByUnprovenEmail(ctx, "CID@example.com"); err != nil || u.ID != "u3" {
			t.Errorf("GetUserByUnprovenEmail = %s, %v; want u3", u.ID, err)
		}
		// The addresses are all kept, as typed.
		es, err := d.ListEmails(ctx, "u2")
		if err != nil || len(es) != 1 || es[0].Email != "ANN@example.com" {
			t.Errorf("the squatter's addresses: %v, %v", es, err)
		}
	})
}

// TestEmails_keys: the store's rules for addresses: one identity whatever
// the case; held unverified by any number of accounts; verified by one;
// verifying ends the others' unverified holds; a first proof by login
// resets the account.
func TestEmails_keys(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newAccountsEnv(t, d)
		e.user("Ann", "ann@example.com")
		bob, err := d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: "Bob", PasswordHash: "x", CreatedMs: e.now()},
			Email: db.Email{ID: e.id(), Email: "Shared@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		cid, err := d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: "Cid", PasswordHash: "x", CreatedMs: e.now()},
			Email: db.Email{ID: e.id(), Email: "shared@example.com"}})
		if err != nil {
			t.Fatalf("a second unverified hold: %v", err)
		}
		expectErr(t, "a verified address again", d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: bob.ID, Email: "ANN@example.com", CreatedMs: e.now()}), db.ErrDuplicate)
		if _, _, err := d.GetUserByEmail(e.ctx, "shared@example.com"); err == nil {
			t.Fatal("an unverified address opened an account")
		}
		// The oldest registration without a verified address is the one
		// a first proof may open.
		u, em, err := d.GetUserByUnprovenEmail(e.ctx, "SHARED@example.com")
		if err != nil || u.ID != bob.ID || em.Email != "Shared@example.com" {
			t.Fatalf("GetUserByUnprovenEmail = %s %v, %v; want Bob", u.ID, em, err)
		}
		sessID := e.id()
		if err := d.CreateSession(e.ctx, db.Session{ID: sessID, UserID: bob.ID, CreatedMs: e.now(), ExpiresMs: e.now() + 100000},
			db.RefreshToken{Hash: strings.Repeat("a", 64), CreatedMs: e.now(), ExpiresMs: e.now() + 100000}); err != nil {
			t.Fatal(err)
		}
		reset, err := d.ProveEmailByLogin(e.ctx, em.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now() + 1000})
		if err != nil || !reset {
			t.Fatalf("ProveEmailByLogin = %v, %v; want a reset", reset, err)
		}
		got, err := d.GetUser(e.ctx, bob.ID)
		if err != nil || got.PasswordHash != "" {
			t.Fatalf("after the first proof: %+v, %v", got, err)
		}
		if u, _, err := d.GetUserByEmail(e.ctx, "shared@EXAMPLE.com"); err != nil || u.ID != bob.ID {
			t.Fatalf("GetUserByEmail after the proof = %s, %v", u.ID, err)
		}
		if s, err := d.GetSession(e.ctx, sessID); err != nil || s.InvalidatedReason != "mailbox-proved" {
			t.Fatalf("the session set up before the proof: %+v, %v", s, err)
		}
		if es, err := d.ListEmails(e.ctx, cid.ID); err != nil || len(es) != 0 {
			t.Fatalf("the other hold was kept: %v, %v", es, err)
		}
		// A code sent to an unverified address before its account proved
		// another mailbox no longer adds it.
		dee, err := d.CreateUser(e.ctx, db.NewUser{User: db.User{ID: e.id(), Name: "Dee", PasswordHash: "x", CreatedMs: e.now()},
			Email: db.Email{ID: e.id(), Email: "dee@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		_, deeAddr, err := d.GetUserByUnprovenEmail(e.ctx, "dee@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.AddEmail(e.ctx, db.Email{ID: e.id(), UserID: dee.ID, Email: "dee.work@example.com", VerifiedMs: e.now(), CreatedMs: e.now()}); err != nil {
			t.Fatal(err)
		}
		_, err = d.ProveEmailByLogin(e.ctx, deeAddr.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now() + 1000})
		expectErr(t, "ProveEmailByLogin once another address is verified", err, db.ErrNotFirstProof)
		if got, err := d.GetUser(e.ctx, dee.ID); err != nil || got.PasswordHash != "x" {
			t.Fatalf("the refused proof changed the account: %+v, %v", got, err)
		}
		// A second proof resets nothing.
		if reset, err := d.ProveEmailByLogin(e.ctx, em.ID, db.Revoking{AtMs: e.now(), ExpiresMs: e.now() + 1000}); err != nil || reset {
			t.Fatalf("second ProveEmailByLogin = %v, %v", reset, err)
		}
	})
}
