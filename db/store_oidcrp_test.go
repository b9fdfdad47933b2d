package db_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestOIDCIdentities links external identities to users, refuses a
// second link of one identity and bad values, lists, unlinks, and checks
// that deleting the user takes its identities along, in both dialects.
func TestOIDCIdentities(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		ident := func(id, user, sub string) db.OIDCIdentity {
			return db.OIDCIdentity{ID: id, UserID: user, ProviderID: "corp", Issuer: "https://idp.example.com", Subject: sub,
				Email: "ann@example.com", CreatedMs: authNow}
		}
		if err := d.CreateOIDCIdentity(w.ctx, ident("i1", "u1", "sub-1")); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name      string
			given     db.OIDCIdentity
			expectErr error
		}{
			{name: "same identity, other user", given: ident("i2", "u2", "sub-1"), expectErr: db.ErrDuplicate},
			{name: "same identity, same user", given: ident("i3", "u1", "sub-1"), expectErr: db.ErrDuplicate},
			{name: "unknown user", given: ident("i4", "nobody", "sub-4"), expectErr: db.ErrForeignKey},
			{name: "empty subject", given: ident("i5", "u1", ""), expectErr: db.ErrInvalid},
			{name: "subject with a trailing space", given: ident("i6", "u1", "sub-1 "), expectErr: db.ErrInvalid},
			{name: "subject too long", given: ident("i7", "u1", strings.Repeat("s", 256)), expectErr: db.ErrInvalid},
			{name: "no time", given: func() db.OIDCIdentity { i := ident("i8", "u1", "sub-8"); i.CreatedMs = 0; return i }(), expectErr: db.ErrInvalid},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if err := d.CreateOIDCIdentity(w.ctx, tt.given); !errors.Is(err, tt.expectErr) {
					t.Errorf("%v, expected %v", err, tt.expectErr)
				}
			})
		}
		// The same subject at another issuer is another identity.
		other := ident("i9", "u2", "sub-1")
		other.Issuer = "https://accounts.google.com"
		if err := d.CreateOIDCIdentity(w.ctx, other); err != nil {
			t.Fatalf("same subject, other issuer: %v", err)
		}
		got, err := d.GetOIDCIdentity(w.ctx, "https://idp.example.com", "sub-1")
		if err != nil || got.ID != "i1" || got.UserID != "u1" || got.ProviderID != "corp" || got.Email != "ann@example.com" || got.CreatedMs != authNow {
			t.Fatalf("get: %+v, %v", got, err)
		}
		if _, err := d.GetOIDCIdentity(w.ctx, "https://idp.example.com", "SUB-1"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("get by a subject in another case: %v, expected ErrNotFound", err)
		}
		if list, err := d.ListOIDCIdentities(w.ctx, "u1"); err != nil || len(list) != 1 || list[0].ID != "i1" {
			t.Errorf("list: %+v, %v", list, err)
		}
		if err := d.DeleteOIDCIdentity(w.ctx, "u2", "i1"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("delete another user's identity: %v, expected ErrNotFound", err)
		}
		if err := d.DeleteOIDCIdentity(w.ctx, "u2", "i9"); err != nil {
			t.Errorf("delete: %v", err)
		}
		if list, _ := d.ListOIDCIdentities(w.ctx, "u2"); len(list) != 0 {
			t.Errorf("list after delete: %+v", list)
		}
		// Deleting the user unlinks its identities: the identity is free.
		if err := d.DeleteUser(w.ctx, "u1", db.Revoking{AtMs: authNow + 1, ExpiresMs: authNow + 900_000}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetOIDCIdentity(w.ctx, "https://idp.example.com", "sub-1"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("get after the user's deletion: %v, expected ErrNotFound", err)
		}
		if n := w.count("SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?", "u1"); n != 0 {
			t.Errorf("%d identity rows of the deleted user", n)
		}
		if err := d.CreateOIDCIdentity(w.ctx, ident("i10", "u2", "sub-1")); err != nil {
			t.Errorf("link the freed identity: %v", err)
		}
	})
}

// TestCreateUserWithOIDCIdentity creates a user and its identity at once,
// and writes nothing when the identity is linked already.
func TestCreateUserWithOIDCIdentity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		nu := func(id, addr string) db.NewUser {
			return db.NewUser{User: db.User{ID: id, Name: "Ann", CreatedMs: authNow},
				Email: db.Email{ID: "e-" + id, Email: addr, VerifiedMs: authNow}, Roles: []string{db.RoleUser}}
		}
		ident := db.OIDCIdentity{ID: "i1", ProviderID: "corp", Issuer: "https://idp.example.com", Subject: "s1", CreatedMs: authNow}
		u, err := d.CreateUserWithOIDCIdentity(w.ctx, nu("u1", "ann@example.com"), ident)
		if err != nil || u.ID != "u1" {
			t.Fatalf("create: %+v, %v", u, err)
		}
		if got, err := d.GetOIDCIdentity(w.ctx, ident.Issuer, ident.Subject); err != nil || got.UserID != "u1" {
			t.Fatalf("identity: %+v, %v", got, err)
		}
		ident.ID = "i2"
		if _, err := d.CreateUserWithOIDCIdentity(w.ctx, nu("u2", "bob@example.com"), ident); !errors.Is(err, db.ErrDuplicate) {
			t.Errorf("second user with the same identity: %v, expected ErrDuplicate", err)
		}
		if n := w.count("SELECT COUNT(*) FROM users WHERE id = ?", "u2"); n != 0 {
			t.Errorf("the refused user was written (%d rows)", n)
		}
	})
}

// TestOIDCFlows stores sign-ins in progress and takes each once: a second
// take, an expired flow and an unknown state find nothing; of concurrent
// takes exactly one wins.
func TestOIDCFlows(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		flow := func(hash string, expires int64) db.OIDCFlow {
			return db.OIDCFlow{StateHash: hash, ProviderID: "corp", Nonce: "n-" + hash, Verifier: "v-" + hash, ReturnTo: "/app",
				CreatedMs: authNow, ExpiresMs: expires}
		}
		for _, f := range []db.OIDCFlow{flow("h1", authNow+600_000), flow("h2", authNow+10), flow("h3", authNow+600_000)} {
			if err := d.SaveOIDCFlow(w.ctx, f); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.SaveOIDCFlow(w.ctx, flow("h1", authNow+600_000)); !errors.Is(err, db.ErrDuplicate) {
			t.Errorf("same state twice: %v, expected ErrDuplicate", err)
		}
		if err := d.SaveOIDCFlow(w.ctx, db.OIDCFlow{StateHash: "h4", ProviderID: "corp", CreatedMs: authNow, ExpiresMs: authNow + 1}); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("no nonce nor verifier: %v, expected ErrInvalid", err)
		}
		got, err := d.TakeOIDCFlow(w.ctx, "h1", authNow+1)
		if err != nil || got.Nonce != "n-h1" || got.Verifier != "v-h1" || got.ReturnTo != "/app" || got.ProviderID != "corp" {
			t.Fatalf("take: %+v, %v", got, err)
		}
		for _, tt := range []struct {
			name string
			hash string
			now  int64
		}{
			{name: "taken already", hash: "h1", now: authNow + 2},
			{name: "expired", hash: "h2", now: authNow + 10},
			{name: "unknown", hash: "nope", now: authNow},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if _, err := d.TakeOIDCFlow(w.ctx, tt.hash, tt.now); !errors.Is(err, db.ErrNotFound) {
					t.Errorf("%v, expected ErrNotFound", err)
				}
			})
		}
		if n := w.count("SELECT COUNT(*) FROM oidc_rp_flows WHERE state_hash = ?", "h2"); n != 0 {
			t.Errorf("the expired flow is still stored")
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Go(func() {
				if _, err := d.TakeOIDCFlow(w.ctx, "h3", authNow+1); err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d concurrent takes won, expected 1", wins)
		}
	})
}

// TestProveEmailByLoginUnlinksIdentities: the first proof of a mailbox
// resets a never-verified registration, and its external identities and
// passkeys go with the password: the identity of whoever registered the address (a
// provider that did not vouch for it) must not open the account the
// mailbox's owner now uses.
func TestProveEmailByLoginUnlinksIdentities(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		ident := db.OIDCIdentity{ID: "i1", ProviderID: "corp", Issuer: "https://idp.example.com", Subject: "attacker", CreatedMs: authNow}
		u, err := d.CreateUserWithOIDCIdentity(w.ctx, db.NewUser{User: db.User{ID: "u1", Name: "Planted", CreatedMs: authNow},
			Email: db.Email{ID: "e1", Email: "victim@example.com"}, Roles: []string{db.RoleUser}}, ident)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.CreateWebAuthnCredential(w.ctx, db.WebAuthnCredential{ID: "p1", UserID: u.ID, Name: "Planted", CredentialID: []byte("planted"),
			PublicKey: []byte{1, 2, 3}, CreatedMs: authNow}, 10); err != nil {
			t.Fatal(err)
		}
		w.org("org-1", 0)
		w.client("app-1", "org-1", 0)
		w.exec("INSERT INTO oidc_consents (user_id, client_id, scopes, created_ms, updated_ms) VALUES (?, 'app-1', 'openid', 1, 1)", u.ID)
		reset, err := d.ProveEmailByLogin(w.ctx, "e1", db.Revoking{AtMs: authNow + 1, ExpiresMs: authNow + 900_000})
		if err != nil || !reset {
			t.Fatalf("ProveEmailByLogin = %v, %v; want a reset", reset, err)
		}
		if got, err := d.GetOIDCIdentity(w.ctx, ident.Issuer, ident.Subject); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("the identity still opens %q after the first proof (%v)", got.UserID, err)
		}
		if n := w.count("SELECT COUNT(*) FROM oidc_identities WHERE user_id = ?", u.ID); n != 0 {
			t.Errorf("%d identity rows left", n)
		}
		if n := w.count("SELECT COUNT(*) FROM webauthn_credentials WHERE user_id = ?", u.ID); n != 0 {
			t.Errorf("%d passkeys left", n)
		}
		if n := w.count("SELECT COUNT(*) FROM oidc_consents WHERE user_id = ?", u.ID); n != 0 {
			t.Errorf("%d consents of whoever registered left: the owner's apps would skip the consent page", n)
		}
		// A verified address proved again resets nothing, and keeps the
		// identities linked since.
		ident.ID, ident.UserID = "i2", u.ID
		if err := d.CreateOIDCIdentity(w.ctx, ident); err != nil {
			t.Fatal(err)
		}
		if reset, err := d.ProveEmailByLogin(w.ctx, "e1", db.Revoking{AtMs: authNow + 2, ExpiresMs: authNow + 900_000}); err != nil || reset {
			t.Fatalf("second ProveEmailByLogin = %v, %v", reset, err)
		}
		if _, err := d.GetOIDCIdentity(w.ctx, ident.Issuer, ident.Subject); err != nil {
			t.Errorf("an identity linked after the proof was removed: %v", err)
		}
	})
}
