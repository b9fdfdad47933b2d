package db_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// recoveryCode returns a live recovery code of user u1's address emailID,
// created at authNow, expiring 20 minutes later.
func recoveryCode(id, userID, emailID string) db.Code {
	return db.Code{ID: id, Hash: authHash("code " + id), Kind: db.CodeRecovery, UserID: userID, EmailID: emailID,
		CreatedMs: authNow, ExpiresMs: authNow + 1_200_000}
}

// TestRecoverPassword: a recovery code sets the password once, only
// while its address is a verified address of a live user, and the
// reset ends the user's other recovery codes.
func TestRecoverPassword(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		for _, e := range [][2]string{{"e1", "u1"}, {"e2", "u1"}, {"e3", "u2"}, {"e4", "u2"}, {"e5", "u1"}} {
			w.email(e[0], e[1])
		}
		w.exec("UPDATE emails SET verified_ms = 1, verified_key = email_key WHERE id <> 'e5'")
		create := func(c db.Code) {
			t.Helper()
			if err := d.CreateCode(w.ctx, c); err != nil {
				t.Fatalf("CreateCode %s: %v", c.ID, err)
			}
		}
		create(recoveryCode("r1", "u1", "e1"))
		create(recoveryCode("r1-other", "u1", "e2"))
		create(recoveryCode("r2", "u2", "e3"))
		create(recoveryCode("r2-gone", "u2", "e4"))
		create(recoveryCode("r-unverified", "u1", "e5"))
		create(codeOf("login", db.CodeLogin, "0123456789abcdef0123456789abcdef"))
		create(recoveryCode("r-old", "u2", "e3")) // replaces r2, then expires
		w.exec("UPDATE verification_codes SET expires_ms = ? WHERE id = 'r-old'", authNow)

		t.Run("a newer code of the same address replaces the older", func(t *testing.T) {
			if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = 'r2' AND invalidated_ms IS NOT NULL"); n != 1 {
				t.Fatalf("r2 not replaced by r-old")
			}
		})
		t.Run("refused kinds and missing bindings", func(t *testing.T) {
			for _, c := range []db.Code{
				{ID: "x1", Hash: authHash("x1"), Kind: db.CodeRecovery, EmailID: "e1", CreatedMs: authNow, ExpiresMs: authNow + 1},
				{ID: "x2", Hash: authHash("x2"), Kind: db.CodeRecovery, UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 1},
			} {
				if err := d.CreateCode(w.ctx, c); !errors.Is(err, db.ErrInvalid) {
					t.Errorf("CreateCode %s: %v, want ErrInvalid", c.ID, err)
				}
			}
		})

		tests := []struct {
			name      string
			givenCode string
			givenNow  int64
			before    func()
			expectErr error
		}{
			{name: "unknown code", givenCode: "nope", givenNow: authNow + 1, expectErr: db.ErrNotFound},
			{name: "a login code is no recovery code", givenCode: "login", givenNow: authNow + 1, expectErr: db.ErrCodeSpent},
			{name: "expired", givenCode: "r-old", givenNow: authNow + 1, expectErr: db.ErrCodeSpent},
			{name: "replaced", givenCode: "r2", givenNow: authNow + 1, expectErr: db.ErrCodeSpent},
			{name: "its address was removed", givenCode: "r2-gone", givenNow: authNow + 1, before: func() {
				// The cascade deletes the code with its address.
				w.exec("DELETE FROM emails WHERE id = 'e4'")
			}, expectErr: db.ErrNotFound},
			{name: "its address is not verified", givenCode: "r-unverified", givenNow: authNow + 1, expectErr: db.ErrNotFound},
			{name: "a good code", givenCode: "r1", givenNow: authNow + 1},
			{name: "used once only", givenCode: "r1", givenNow: authNow + 2, expectErr: db.ErrCodeSpent},
			{name: "the reset ended the user's other codes", givenCode: "r1-other", givenNow: authNow + 3, expectErr: db.ErrCodeSpent},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				hash := fmt.Sprintf("new-hash-%d", i)
				if tt.before != nil {
					tt.before()
				}
				_, err := d.RecoverPassword(w.ctx, tt.givenCode, hash, tt.givenNow)
				if !errors.Is(err, tt.expectErr) || (err == nil) != (tt.expectErr == nil) {
					t.Fatalf("RecoverPassword: %v, want %v", err, tt.expectErr)
				}
				n := w.count("SELECT COUNT(*) FROM users WHERE password_hash = ?", hash)
				if want := map[bool]int{true: 1, false: 0}[tt.expectErr == nil]; n != want {
					t.Fatalf("%d users with the new hash, want %d", n, want)
				}
			})
		}
		t.Run("a deleted user's code sets nothing", func(t *testing.T) {
			create(recoveryCode("r3", "u2", "e3"))
			w.exec("UPDATE users SET deleted_ms = 5 WHERE id = 'u2'")
			if _, err := d.RecoverPassword(w.ctx, "r3", "h", authNow+1); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("RecoverPassword: %v, want ErrNotFound", err)
			}
			if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = 'r3' AND consumed_ms IS NULL"); n != 1 {
				t.Fatal("the code was spent by a failed reset")
			}
		})
		t.Run("bad input", func(t *testing.T) {
			if _, err := d.RecoverPassword(w.ctx, "r3", "", authNow); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("empty hash: %v", err)
			}
			if _, err := d.RecoverPassword(w.ctx, "r3", "h", 0); !errors.Is(err, db.ErrInvalid) {
				t.Errorf("unset time: %v", err)
			}
		})
	})
}
