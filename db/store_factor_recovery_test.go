package db_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// recoveryHashes returns n distinct 64-character hashes marked with tag.
func recoveryHashes(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%-60s%04d", tag, i)[:64]
	}
	return out
}

// TestRecoveryCodes_lifecycle: a batch is stored, spent one code at a
// time (each once), replaced (the old codes die), and removed with TOTP.
func TestRecoveryCodes_lifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		expectStatus := func(user string, left int, created int64) {
			t.Helper()
			st, err := d.GetRecoveryCodesStatus(w.ctx, user)
			if err != nil || st.Left != left || st.CreatedMs != created {
				t.Fatalf("status of %s = %+v, %v; want %d left made at %d", user, st, err, left, created)
			}
		}
		expectStatus("u1", 0, 0)
		first := recoveryHashes("first", 10)
		if err := d.ReplaceRecoveryCodes(w.ctx, "u1", first, authNow); err != nil {
			t.Fatal(err)
		}
		expectStatus("u1", 10, authNow)
		expectStatus("u2", 0, 0)

		left, err := d.UseRecoveryCode(w.ctx, "u1", first[3], authNow+1)
		if err != nil || left != 9 {
			t.Fatalf("first use = %d, %v; want 9 left", left, err)
		}
		if _, err := d.UseRecoveryCode(w.ctx, "u1", first[3], authNow+2); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("second use of one code = %v, want ErrNotFound", err)
		}
		// Another user's code is not this user's.
		if _, err := d.UseRecoveryCode(w.ctx, "u2", first[4], authNow+2); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("use by another user = %v, want ErrNotFound", err)
		}
		expectStatus("u1", 9, authNow)

		second := recoveryHashes("second", 10)
		if err := d.ReplaceRecoveryCodes(w.ctx, "u1", second, authNow+5); err != nil {
			t.Fatal(err)
		}
		if _, err := d.UseRecoveryCode(w.ctx, "u1", first[0], authNow+6); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("a replaced code = %v, want ErrNotFound", err)
		}
		expectStatus("u1", 10, authNow+5)

		// TOTP removal takes the codes with it.
		w.exec("INSERT INTO totp_secrets (user_id, secret_ciphertext, created_ms) VALUES ('u1', ?, 1)", []byte{1})
		if err := d.DeleteTOTP(w.ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		expectStatus("u1", 0, 0)

		// And so does a sysadmin's reset.
		if err := d.ReplaceRecoveryCodes(w.ctx, "u2", recoveryHashes("third", 2), authNow); err != nil {
			t.Fatal(err)
		}
		if n, err := d.DeleteRecoveryCodes(w.ctx, "u2"); err != nil || n != 2 {
			t.Fatalf("DeleteRecoveryCodes = %d, %v; want 2", n, err)
		}
		expectStatus("u2", 0, 0)
		// Deleting the user deletes the codes (ON DELETE CASCADE).
		if err := d.ReplaceRecoveryCodes(w.ctx, "u2", recoveryHashes("fourth", 1), authNow); err != nil {
			t.Fatal(err)
		}
		w.exec("DELETE FROM users WHERE id = 'u2'")
		if n := w.count("SELECT COUNT(*) FROM factor_recovery_codes WHERE user_id = 'u2'"); n != 0 {
			t.Fatalf("%d codes outlived their user", n)
		}
	})
}

func TestReplaceRecoveryCodes_refusals(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		tests := []struct {
			name      string
			user      string
			hashes    []string
			expectErr error
		}{
			{"empty batch", "u1", nil, db.ErrInvalid},
			{"too many", "u1", recoveryHashes("x", db.MaxRecoveryCodes+1), db.ErrInvalid},
			{"hash too long", "u1", []string{recoveryHashes("x", 1)[0] + "0"}, db.ErrInvalid},
			{"empty hash", "u1", []string{""}, db.ErrInvalid},
			{"duplicate", "u1", []string{"a", "a"}, db.ErrDuplicate},
			{"unknown user", "nobody", []string{"a"}, db.ErrForeignKey},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := d.ReplaceRecoveryCodes(w.ctx, tt.user, tt.hashes, authNow); !errors.Is(err, tt.expectErr) {
					t.Fatalf("ReplaceRecoveryCodes = %v, want %v", err, tt.expectErr)
				}
			})
		}
		// A refused batch changed nothing.
		if st, err := d.GetRecoveryCodesStatus(w.ctx, "u1"); err != nil || st.Left != 0 {
			t.Fatalf("status after refusals = %+v, %v", st, err)
		}
	})
}

// TestUseRecoveryCode_concurrent: of many concurrent uses of one code,
// exactly one succeeds.
func TestUseRecoveryCode_concurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		hashes := recoveryHashes("race", 3)
		if err := d.ReplaceRecoveryCodes(w.ctx, "u1", hashes, authNow); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range n {
			wg.Go(func() {
				_, err := d.UseRecoveryCode(w.ctx, "u1", hashes[1], authNow+1)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, db.ErrNotFound):
					t.Errorf("use = %v", err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d of %d concurrent uses of one code succeeded, want 1", wins, n)
		}
	})
}
