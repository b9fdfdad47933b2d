package db_test

import (
	"bytes"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestTOTP_listAndReplaceCiphertext: the walk over every secret in
// pages, and the replacement that only happens when the row still holds
// what was read.
func TestTOTP_listAndReplaceCiphertext(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2", "u3")
		for i, u := range []string{"u1", "u2", "u3"} {
			if err := d.SaveTOTPSecret(w.ctx, db.TOTPSecret{UserID: u, Ciphertext: bytes.Repeat([]byte{byte(i + 1)}, 40), CreatedMs: authNow}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.ConfirmTOTP(w.ctx, "u2", authNow+1); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for after := ""; ; {
			page, err := d.ListTOTPSecrets(w.ctx, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page {
				ids = append(ids, s.UserID)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].UserID
		}
		if got := len(ids); got != 3 || ids[0] != "u1" || ids[2] != "u3" {
			t.Fatalf("walk = %v, want u1 u2 u3", ids)
		}

		old := bytes.Repeat([]byte{2}, 40)
		resealed := bytes.Repeat([]byte{9}, 50)
		if ok, err := d.ReplaceTOTPCiphertext(w.ctx, "u2", bytes.Repeat([]byte{7}, 40), resealed); err != nil || ok {
			t.Fatalf("replace of a changed row = %v, %v; want false", ok, err)
		}
		if ok, err := d.ReplaceTOTPCiphertext(w.ctx, "u2", old, resealed); err != nil || !ok {
			t.Fatalf("replace = %v, %v; want true", ok, err)
		}
		got, err := d.GetTOTPSecret(w.ctx, "u2")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Ciphertext, resealed) || got.ConfirmedMs != authNow+1 || got.CreatedMs != authNow {
			t.Fatalf("after replace: %+v", got)
		}
		if ok, err := d.ReplaceTOTPCiphertext(w.ctx, "nobody", old, resealed); err != nil || ok {
			t.Fatalf("replace for a user without secret = %v, %v", ok, err)
		}
	})
}
