package accounts_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestLoginMetrics: each login step is counted by step, the factor it
// proved and its outcome, through a password login, a wrong password, a
// password then TOTP login with a wrong and a right code, and a step
// that does not exist (whose name from the path never becomes a label
// value); every password check's wait for a hashing slot is measured.
func TestLoginMetrics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		reg := prometheus.NewRegistry()
		s := newStack(t, d, func(c *accounts.Config) { c.Metrics = reg })
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		s.passwordLogin(app, "ann@example.com", "not the password").expect(t, http.StatusUnauthorized)
		secret, _ := s.enrolTOTP(t, app, sess)
		s.clock.Advance(30 * time.Second)
		state := s.newState()
		next := s.step(app, "password", map[string]any{"email": "ann@example.com", "password": testPassword, "state": state}).expect(t, http.StatusOK)
		flow, _ := next.data()["code"].(string)
		s.step(app, "totp", map[string]any{"code": flow, "totp": "000000", "state": state}).expect(t, http.StatusUnauthorized)
		sessionOf(t, s.step(app, "totp", map[string]any{"code": flow, "totp": oathtool(t, secret, s.clock.Now()), "state": state}))
		s.step(app, "made-up-step", map[string]any{"state": s.newState()}).expect(t, http.StatusNotFound)

		got := map[[3]string]float64{}
		var hashWaits uint64
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				switch f.GetName() {
				case "authgw_login_steps_total":
					l := map[string]string{}
					for _, p := range m.GetLabel() {
						l[p.GetName()] = p.GetValue()
					}
					got[[3]string{l["step"], l["factor"], l["outcome"]}] += m.GetCounter().GetValue()
				case "authgw_password_hash_wait_seconds":
					hashWaits += m.GetHistogram().GetSampleCount()
				}
			}
		}
		tests := []struct {
			name                                 string
			givenStep, givenFactor, givenOutcome string
			expect                               float64
		}{
			{"password alone", "password", "pwd", "signed_in", 1},
			{"wrong password", "password", "none", "failed", 1},
			{"password before TOTP", "password", "pwd", "next_step", 1},
			{"wrong TOTP code", "totp", "none", "failed", 1},
			{"TOTP completes the login", "totp", "otp", "signed_in", 1},
			{"unknown step", "other", "none", "invalid", 1},
			{"no label from the path", "made-up-step", "none", "invalid", 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if n := got[[3]string{tt.givenStep, tt.givenFactor, tt.givenOutcome}]; n != tt.expect {
					t.Errorf("authgw_login_steps_total{step=%q,factor=%q,outcome=%q} = %v, want %v (all: %v)",
						tt.givenStep, tt.givenFactor, tt.givenOutcome, n, tt.expect, got)
				}
			})
		}
		// Three password steps, the TOTP enrolment's password check:
		// each waited for a slot once at least.
		if hashWaits < 4 {
			t.Errorf("authgw_password_hash_wait_seconds counted %d waits, want at least 4", hashWaits)
		}
	})
}
