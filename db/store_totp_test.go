package db_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestTOTP_lifecycle walks a user's TOTP secret through enrolment,
// re-enrolment, confirmation and removal; each step depends on the ones
// before.
func TestTOTP_lifecycle(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1")
		secret := func(b byte, n int) db.TOTPSecret {
			return db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{b}, n), CreatedMs: authNow + int64(b)}
		}
		tests := []struct {
			name            string
			when            func() error
			expectErr       error
			expectSecret    *db.TOTPSecret // nil: no secret afterwards
			expectConfirmed int64
		}{
			{
				name:         "enrol",
				when:         func() error { return d.SaveTOTPSecret(w.ctx, secret(1, 28)) },
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{1}, 28), CreatedMs: authNow + 1},
			},
			{
				name:         "use a step before confirming",
				when:         func() error { return d.UseTOTPStep(w.ctx, "u1", 100) },
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{1}, 28), CreatedMs: authNow + 1, LastUsedStep: 100},
			},
			{
				name:         "enrol again before confirming: replaced, last step kept",
				when:         func() error { return d.SaveTOTPSecret(w.ctx, secret(2, 255)) },
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{2}, 255), CreatedMs: authNow + 2, LastUsedStep: 100},
			},
			{
				name:         "ciphertext one byte too long",
				when:         func() error { return d.SaveTOTPSecret(w.ctx, secret(3, 256)) },
				expectErr:    db.ErrInvalid,
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{2}, 255), CreatedMs: authNow + 2, LastUsedStep: 100},
			},
			{
				name:         "confirm",
				when:         func() error { return d.ConfirmTOTP(w.ctx, "u1", authNow+10) },
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{2}, 255), CreatedMs: authNow + 2, LastUsedStep: 100, ConfirmedMs: authNow + 10},
			},
			{
				name:         "confirm twice",
				when:         func() error { return d.ConfirmTOTP(w.ctx, "u1", authNow+20) },
				expectErr:    db.ErrTOTPConfirmed,
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{2}, 255), CreatedMs: authNow + 2, LastUsedStep: 100, ConfirmedMs: authNow + 10},
			},
			{
				name:         "enrol over a confirmed secret",
				when:         func() error { return d.SaveTOTPSecret(w.ctx, secret(4, 28)) },
				expectErr:    db.ErrTOTPConfirmed,
				expectSecret: &db.TOTPSecret{UserID: "u1", Ciphertext: bytes.Repeat([]byte{2}, 255), CreatedMs: authNow + 2, LastUsedStep: 100, ConfirmedMs: authNow + 10},
			},
			{name: "delete", when: func() error { return d.DeleteTOTP(w.ctx, "u1") }},
			{name: "delete twice", when: func() error { return d.DeleteTOTP(w.ctx, "u1") }, expectErr: db.ErrNotFound},
			{name: "confirm without a secret", when: func() error { return d.ConfirmTOTP(w.ctx, "u1", authNow) }, expectErr: db.ErrNotFound},
			{name: "use a step without a secret", when: func() error { return d.UseTOTPStep(w.ctx, "u1", 200) }, expectErr: db.ErrNotFound},
			{
				name: "enrol an unknown user",
				when: func() error {
					return d.SaveTOTPSecret(w.ctx, db.TOTPSecret{UserID: "nobody", Ciphertext: []byte{1}, CreatedMs: authNow})
				},
				expectErr: db.ErrForeignKey,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				expectAuthErr(t, tt.when(), tt.expectErr)
				got, err := d.GetTOTPSecret(w.ctx, "u1")
				if tt.expectSecret == nil {
					expectAuthErr(t, err, db.ErrNotFound)
					return
				}
				if err != nil || got.UserID != tt.expectSecret.UserID || !bytes.Equal(got.Ciphertext, tt.expectSecret.Ciphertext) ||
					got.CreatedMs != tt.expectSecret.CreatedMs || got.ConfirmedMs != tt.expectSecret.ConfirmedMs || got.LastUsedStep != tt.expectSecret.LastUsedStep {
					t.Errorf("GetTOTPSecret = %+v, %v; want %+v", got, err, *tt.expectSecret)
				}
			})
		}
	})
}

// TestUseTOTPStep checks that a step is accepted once, and never after a
// later one.
func TestUseTOTPStep(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		w := newAuthWorld(t, d)
		w.users("u1", "u2")
		for _, u := range []string{"u1", "u2"} {
			if err := d.SaveTOTPSecret(w.ctx, db.TOTPSecret{UserID: u, Ciphertext: []byte("sealed"), CreatedMs: authNow}); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name      string
			givenUser string
			givenStep int64
			expectErr error
		}{
			{name: "first step", givenUser: "u1", givenStep: 1000},
			{name: "same step again", givenUser: "u1", givenStep: 1000, expectErr: db.ErrTOTPStepUsed},
			{name: "an earlier step", givenUser: "u1", givenStep: 999, expectErr: db.ErrTOTPStepUsed},
			{name: "the next step", givenUser: "u1", givenStep: 1001},
			{name: "same step, another user", givenUser: "u2", givenStep: 1001},
			{name: "unknown user", givenUser: "nobody", givenStep: 1001, expectErr: db.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.UseTOTPStep(w.ctx, tt.givenUser, tt.givenStep)
				expectAuthErr(t, err, tt.expectErr)
				if errors.Is(tt.expectErr, db.ErrTOTPStepUsed) {
					expectAuthErr(t, err, db.ErrConflict)
				}
			})
		}
		t.Run("concurrent uses of one step", func(t *testing.T) {
			for round := range int64(3) {
				step := 2000 + round
				errs := authRace(8, func(int) error { return d.UseTOTPStep(w.ctx, "u2", step) })
				expectOneWinner(t, errs, db.ErrTOTPStepUsed)
			}
		})
	})
}
