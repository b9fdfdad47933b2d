package db_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestWebAuthnCredentials walks passkeys through registration, listing,
// use (the counter's compare-and-set), the clone flag and deletion, in
// both dialects.
func TestWebAuthnCredentials(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		cred := func(id, user string, credID byte) db.WebAuthnCredential {
			return db.WebAuthnCredential{ID: id, UserID: user, CredentialID: bytes.Repeat([]byte{credID}, 32),
				PublicKey: []byte{1, 2, 3}, SignCount: 5, AAGUID: make([]byte, 16), Transports: "internal,hybrid",
				BackupEligible: true, Name: "laptop", CreatedMs: authNow}
		}
		if err := d.CreateWebAuthnCredential(w.ctx, cred("p1", "u1", 1), 2); err != nil {
			t.Fatal(err)
		}
		for name, tt := range map[string]struct {
			c   db.WebAuthnCredential
			max int
			err error
		}{
			"same credential ID, other user": {cred("p2", "u2", 1), 2, db.ErrDuplicate},
			"unknown user":                   {cred("p3", "nobody", 3), 2, db.ErrForeignKey},
			"over the limit":                 {cred("p4", "u1", 4), 1, db.ErrWebAuthnLimit},
			"credential ID too long":         {func() db.WebAuthnCredential { c := cred("p5", "u1", 5); c.CredentialID = make([]byte, 1024); return c }(), 2, db.ErrInvalid},
			"name too long": {func() db.WebAuthnCredential {
				c := cred("p6", "u1", 6)
				c.Name = string(bytes.Repeat([]byte("a"), 101))
				return c
			}(), 2, db.ErrInvalid},
			"empty credential ID": {func() db.WebAuthnCredential { c := cred("p7", "u1", 7); c.CredentialID = nil; return c }(), 2, db.ErrInvalid},
		} {
			if err := d.CreateWebAuthnCredential(w.ctx, tt.c, tt.max); !errors.Is(err, tt.err) {
				t.Errorf("%s: %v, want %v", name, err, tt.err)
			}
		}
		got, err := d.GetWebAuthnCredential(w.ctx, bytes.Repeat([]byte{1}, 32))
		if err != nil || got.ID != "p1" || got.UserID != "u1" || got.SignCount != 5 || !got.BackupEligible || got.BackupState || got.Transports != "internal,hybrid" || len(got.AAGUID) != 16 {
			t.Fatalf("get: %+v, %v", got, err)
		}
		if _, err := d.GetWebAuthnCredential(w.ctx, []byte{9}); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("get unknown: %v", err)
		}
		// Use: the counter moves only from the value read.
		if err := d.UseWebAuthnCredential(w.ctx, "p1", 5, 6, true, authNow+1); err != nil {
			t.Fatal(err)
		}
		if err := d.UseWebAuthnCredential(w.ctx, "p1", 5, 7, true, authNow+2); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("use with a stale counter: %v, want ErrNotFound", err)
		}
		list, err := d.ListWebAuthnCredentials(w.ctx, "u1")
		if err != nil || len(list) != 1 || list[0].SignCount != 6 || !list[0].BackupState || list[0].LastUsedMs != authNow+1 {
			t.Fatalf("list: %+v, %v", list, err)
		}
		if list, err := d.ListWebAuthnCredentials(w.ctx, "u2"); err != nil || len(list) != 0 {
			t.Errorf("other user's list: %+v, %v", list, err)
		}
		// A flagged passkey takes no more uses.
		if err := d.FlagWebAuthnClone(w.ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		if err := d.UseWebAuthnCredential(w.ctx, "p1", 6, 8, true, authNow+3); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("use after the clone flag: %v, want ErrNotFound", err)
		}
		if got, _ := d.GetWebAuthnCredential(w.ctx, bytes.Repeat([]byte{1}, 32)); !got.CloneWarning {
			t.Error("clone warning not stored")
		}
		// Deleting: only the owner's passkey.
		if err := d.DeleteWebAuthnCredential(w.ctx, "u2", "p1"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("delete another user's passkey: %v, want ErrNotFound", err)
		}
		if err := d.DeleteWebAuthnCredential(w.ctx, "u1", "p1"); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteWebAuthnCredential(w.ctx, "u1", "p1"); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}

// TestWebAuthnCeremonies checks that a ceremony is taken once, replaced
// by a newer one of the same key, and void once expired.
func TestWebAuthnCeremonies(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		save := func(key, user string, data byte, created, expires int64) error {
			return d.SaveWebAuthnCeremony(w.ctx, db.WebAuthnCeremony{Key: key, UserID: user, SessionData: []byte{data}, CreatedMs: created, ExpiresMs: expires})
		}
		if err := save("reg:u1", "u1", 1, authNow, authNow+100); err != nil {
			t.Fatal(err)
		}
		if err := save("reg:u1", "u1", 2, authNow+1, authNow+100); err != nil {
			t.Fatal(err)
		}
		c, err := d.TakeWebAuthnCeremony(w.ctx, "reg:u1", authNow+2)
		if err != nil || c.UserID != "u1" || !bytes.Equal(c.SessionData, []byte{2}) {
			t.Fatalf("take: %+v, %v (want the newer one)", c, err)
		}
		if _, err := d.TakeWebAuthnCeremony(w.ctx, "reg:u1", authNow+2); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("take twice: %v, want ErrNotFound", err)
		}
		if err := save("login:abc", "", 3, authNow, authNow+10); err != nil {
			t.Fatal(err)
		}
		if _, err := d.TakeWebAuthnCeremony(w.ctx, "login:abc", authNow+10); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("take expired: %v, want ErrNotFound", err)
		}
		if _, err := d.TakeWebAuthnCeremony(w.ctx, "login:abc", authNow); !errors.Is(err, db.ErrNotFound) {
			t.Errorf("an expired ceremony stays gone: %v", err)
		}
		if err := save("reg:x", "nobody", 1, authNow, authNow+10); !errors.Is(err, db.ErrForeignKey) {
			t.Errorf("unknown user: %v", err)
		}
		if err := save("reg:u1", "u1", 1, authNow, 0); !errors.Is(err, db.ErrInvalid) {
			t.Errorf("no expiry: %v", err)
		}
	})
}
