package db_test

import (
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// codeOf returns a live code of the kind, created at authNow and
// expiring 10 minutes later, bound to the email ID (email verification)
// or to the state (login, TOTP flow).
func codeOf(id, kind, key string) db.Code {
	c := db.Code{ID: id, Hash: authHash("code " + id), Kind: kind, UserID: "u1", CreatedMs: authNow, ExpiresMs: authNow + 600_000}
	if kind == db.CodeEmailVerification {
		c.EmailID = key
	} else {
		c.State = key
	}
	return c
}

// TestCreateCode checks that a new code replaces the older live codes of
// the same email or login, and only those, in the same transaction.
func TestCreateCode(t *testing.T) {
	const (
		stateA = "0123456789abcdef0123456789abcdef"
		stateB = "fedcba9876543210fedcba9876543210"
	)
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.email("e1", "u1")
		w.email("e2", "u1")
		if err := d.CreateCode(w.ctx, codeOf("used-e1", db.CodeEmailVerification, "e1")); err != nil {
			t.Fatal(err)
		}
		if err := d.ConsumeCode(w.ctx, "used-e1", authNow); err != nil {
			t.Fatal(err)
		}
		for _, c := range []db.Code{
			codeOf("old-e1", db.CodeEmailVerification, "e1"),
			codeOf("old-e2", db.CodeEmailVerification, "e2"),
			codeOf("old-login-a", db.CodeLogin, stateA),
			codeOf("old-login-b", db.CodeLogin, stateB),
			codeOf("old-totp-a", db.CodeTOTPFlow, stateA),
		} {
			if err := d.CreateCode(w.ctx, c); err != nil {
				t.Fatalf("CreateCode %s: %v", c.ID, err)
			}
		}

		tests := []struct {
			name             string
			givenCode        db.Code
			expectErr        error
			expectReplaced   []string // invalidated by this call
			expectUntouched  []string // still neither consumed nor invalidated
			expectNotWritten bool
		}{
			{
				name:            "email verification replaces the live code of that email only",
				givenCode:       codeOf("new-e1", db.CodeEmailVerification, "e1"),
				expectReplaced:  []string{"old-e1"},
				expectUntouched: []string{"old-e2", "old-login-a", "old-login-b", "old-totp-a"},
			},
			{
				name:            "login replaces the live login code of that state only",
				givenCode:       codeOf("new-login-a", db.CodeLogin, stateA),
				expectReplaced:  []string{"old-login-a"},
				expectUntouched: []string{"old-login-b", "old-totp-a", "old-e2"},
			},
			{
				name:            "TOTP flow replaces the live TOTP-flow code of that state only",
				givenCode:       codeOf("new-totp-a", db.CodeTOTPFlow, stateA),
				expectReplaced:  []string{"old-totp-a"},
				expectUntouched: []string{"old-login-b", "new-login-a", "old-e2"},
			},
			{
				name: "duplicate hash: nothing replaced",
				givenCode: func() db.Code {
					c := codeOf("dup", db.CodeEmailVerification, "e2")
					c.Hash = authHash("code old-login-b")
					return c
				}(),
				expectErr:        db.ErrDuplicate,
				expectUntouched:  []string{"old-e2"},
				expectNotWritten: true,
			},
			{
				name:             "unknown email: nothing replaced",
				givenCode:        func() db.Code { c := codeOf("bad-email", db.CodeLogin, stateB); c.EmailID = "nowhere"; return c }(),
				expectErr:        db.ErrForeignKey,
				expectUntouched:  []string{"old-login-b"},
				expectNotWritten: true,
			},
			{
				name:             "email verification without email",
				givenCode:        codeOf("no-email", db.CodeEmailVerification, ""),
				expectErr:        db.ErrInvalid,
				expectNotWritten: true,
			},
			{
				name:             "login without state",
				givenCode:        codeOf("no-state", db.CodeLogin, ""),
				expectErr:        db.ErrInvalid,
				expectNotWritten: true,
			},
			{
				name:             "unknown kind",
				givenCode:        codeOf("bad-kind", "magic-link", stateB),
				expectErr:        db.ErrInvalid,
				expectUntouched:  []string{"old-login-b"},
				expectNotWritten: true,
			},
			{
				name:             "state one character too long",
				givenCode:        codeOf("long-state", db.CodeLogin, stateB+"0"),
				expectErr:        db.ErrInvalid,
				expectNotWritten: true,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.CreateCode(w.ctx, tt.givenCode)
				expectAuthErr(t, err, tt.expectErr)
				got, err := d.GetCodeByHash(w.ctx, tt.givenCode.Hash)
				switch {
				case tt.expectNotWritten:
					if got.ID == tt.givenCode.ID {
						t.Errorf("the code was written: %+v", got)
					}
				case err != nil || got != tt.givenCode:
					t.Errorf("GetCodeByHash = %+v, %v; want %+v", got, err, tt.givenCode)
				}
				for _, id := range tt.expectReplaced {
					if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = ? AND invalidated_ms = ?", id, authNow); n != 1 {
						t.Errorf("code %s not invalidated", id)
					}
				}
				for _, id := range tt.expectUntouched {
					if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = ? AND invalidated_ms IS NULL AND consumed_ms IS NULL", id); n != 1 {
						t.Errorf("code %s was touched", id)
					}
				}
			})
		}
		t.Run("consumed code stays consumed, not invalidated", func(t *testing.T) {
			if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = 'used-e1' AND consumed_ms IS NOT NULL AND invalidated_ms IS NULL"); n != 1 {
				t.Error("the consumed code was invalidated")
			}
		})
		t.Run("pending code", func(t *testing.T) {
			for _, c := range []struct {
				kind, key, expectID string
				expectErr           error
			}{
				{db.CodeEmailVerification, "e1", "new-e1", nil},
				{db.CodeLogin, stateA, "new-login-a", nil},
				{db.CodeTOTPFlow, stateA, "new-totp-a", nil},
				{db.CodeLogin, "ffffffffffffffffffffffffffffffff", "", db.ErrNotFound},
				{"magic-link", stateA, "", db.ErrInvalid},
			} {
				got, err := d.GetPendingCode(w.ctx, c.kind, c.key)
				expectAuthErr(t, err, c.expectErr)
				if got.ID != c.expectID {
					t.Errorf("GetPendingCode(%s, %s) = %q, want %q", c.kind, c.key, got.ID, c.expectID)
				}
			}
			if _, err := d.GetCodeByHash(w.ctx, authHash("nothing")); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("GetCodeByHash of an unknown hash: %v, want ErrNotFound", err)
			}
		})
	})
}

// TestRecordCodeAttempt checks that attempts count down atomically and
// that the last one invalidates the code.
func TestRecordCodeAttempt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		for _, c := range []db.Code{
			codeOf("c1", db.CodeLogin, "0123456789abcdef0123456789abcdef"),
			codeOf("consumed", db.CodeLogin, "11111111111111111111111111111111"),
		} {
			if err := d.CreateCode(w.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.ConsumeCode(w.ctx, "consumed", authNow); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name              string
			givenID           string
			givenMax          int
			expectRemaining   int
			expectErr         error
			expectInvalidated bool
		}{
			{name: "first failure", givenID: "c1", givenMax: 3, expectRemaining: 2},
			{name: "second failure", givenID: "c1", givenMax: 3, expectRemaining: 1},
			{name: "last failure invalidates", givenID: "c1", givenMax: 3, expectRemaining: 0, expectInvalidated: true},
			{name: "no more attempts", givenID: "c1", givenMax: 3, expectErr: db.ErrCodeSpent, expectInvalidated: true},
			{name: "a consumed code", givenID: "consumed", givenMax: 3, expectErr: db.ErrCodeSpent},
			{name: "unknown code", givenID: "nobody", givenMax: 3, expectErr: db.ErrNotFound},
			{name: "maximum below one", givenID: "c1", givenMax: 0, expectErr: db.ErrInvalid, expectInvalidated: true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				remaining, err := d.RecordCodeAttempt(w.ctx, tt.givenID, tt.givenMax, authNow+1)
				expectAuthErr(t, err, tt.expectErr)
				if remaining != tt.expectRemaining {
					t.Errorf("remaining = %d, want %d", remaining, tt.expectRemaining)
				}
				if tt.givenID == "c1" {
					c, err := d.GetCodeByHash(w.ctx, authHash("code c1"))
					if err != nil || (c.InvalidatedMs == authNow+1) != tt.expectInvalidated || c.Attempts > tt.givenMax && tt.givenMax > 0 {
						t.Errorf("code = %+v, %v; want invalidated %v", c, err, tt.expectInvalidated)
					}
				}
			})
		}
		t.Run("an invalidated code cannot be consumed", func(t *testing.T) {
			expectAuthErr(t, d.ConsumeCode(w.ctx, "c1", authNow+2), db.ErrCodeSpent)
		})
		t.Run("concurrent failures never exceed the maximum", func(t *testing.T) {
			if err := d.CreateCode(w.ctx, codeOf("c2", db.CodeLogin, "22222222222222222222222222222222")); err != nil {
				t.Fatal(err)
			}
			const maxAttempts = 5
			remaining := make([]int, 8)
			errs := authRace(len(remaining), func(i int) error {
				var err error
				remaining[i], err = d.RecordCodeAttempt(w.ctx, "c2", maxAttempts, authNow+1)
				return err
			})
			seen := map[int]bool{}
			spent := 0
			for i, err := range errs {
				switch {
				case errors.Is(err, db.ErrCodeSpent):
					spent++
				case err != nil:
					t.Errorf("goroutine %d: %v", i, err)
				case seen[remaining[i]]:
					t.Errorf("remaining %d returned twice", remaining[i])
				default:
					seen[remaining[i]] = true
				}
			}
			if spent != len(remaining)-maxAttempts || len(seen) != maxAttempts {
				t.Errorf("%d counted, %d spent; want %d and %d", len(seen), spent, maxAttempts, len(remaining)-maxAttempts)
			}
			if n := w.count("SELECT attempts FROM verification_codes WHERE id = 'c2'"); n != maxAttempts {
				t.Errorf("attempts = %d, want %d", n, maxAttempts)
			}
		})
	})
}

// TestConsumeCode checks single use and each reason a code is refused.
func TestConsumeCode(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		w.email("e1", "u1")
		for _, c := range []db.Code{
			codeOf("live", db.CodeLogin, "0123456789abcdef0123456789abcdef"),
			codeOf("replaced", db.CodeEmailVerification, "e1"),
			codeOf("newer", db.CodeEmailVerification, "e1"),
		} {
			if err := d.CreateCode(w.ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name      string
			givenID   string
			givenNow  int64
			expectErr error
		}{
			{name: "live code", givenID: "live", givenNow: authNow + 1},
			{name: "second use", givenID: "live", givenNow: authNow + 2, expectErr: db.ErrCodeSpent},
			{name: "replaced by a newer code", givenID: "replaced", givenNow: authNow + 1, expectErr: db.ErrCodeSpent},
			{name: "expires exactly now", givenID: "newer", givenNow: authNow + 600_000, expectErr: db.ErrCodeSpent},
			{name: "one millisecond before expiry", givenID: "newer", givenNow: authNow + 599_999},
			{name: "unknown code", givenID: "nobody", givenNow: authNow, expectErr: db.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.ConsumeCode(w.ctx, tt.givenID, tt.givenNow)
				expectAuthErr(t, err, tt.expectErr)
				if errors.Is(tt.expectErr, db.ErrCodeSpent) && !errors.Is(err, db.ErrConflict) {
					t.Errorf("error %v is not an ErrConflict", err)
				}
				if tt.expectErr == nil {
					if n := w.count("SELECT COUNT(*) FROM verification_codes WHERE id = ? AND consumed_ms = ?", tt.givenID, tt.givenNow); n != 1 {
						t.Errorf("consumed_ms not set")
					}
				}
			})
		}
	})
}

// TestConsumeCode_concurrent checks that of 8 concurrent consumers of one
// code exactly one wins.
func TestConsumeCode_concurrent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		for round := range 3 {
			id := authSeq("race", round)
			if err := d.CreateCode(w.ctx, codeOf(id, db.CodeLogin, authHash(id)[:32])); err != nil {
				t.Fatal(err)
			}
			errs := authRace(8, func(int) error { return d.ConsumeCode(w.ctx, id, authNow+1) })
			expectOneWinner(t, errs, db.ErrConflict)
		}
	})
}
