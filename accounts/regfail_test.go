package accounts_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// failingRecords is a regulator whose bans are read from a working
// regulator while its failures are written by another, on a store that
// fails: the case where a guess is checked but cannot be counted.
type failingRecords struct {
	*regulation.Regulator
	records *regulation.Regulator
}

func (f failingRecords) Fail(ctx context.Context, step string, subjects ...regulation.Subject) error {
	return f.records.Fail(ctx, step, subjects...)
}

// closedDB is a real, migrated database, closed.
func closedDB(t *testing.T) *db.DB {
	t.Helper()
	d := dbtest.SQLite(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return d
}

// deadRedis is a Redis client pointed at a port nothing listens on.
func deadRedis(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newRegulator(t *testing.T, cfg regulation.Config) *regulation.Regulator {
	t.Helper()
	r, err := regulation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRegulationFailsClosed: a wrong guess whose failure cannot be
// recorded anywhere is refused with 503 UNAVAILABLE, not answered as an
// ordinary (uncounted) failure; with Redis down and the database up, the
// failures are counted on the database and the ban still comes.
func TestRegulationFailsClosed(t *testing.T) {
	cases := []struct {
		name    string
		records func(t *testing.T) *regulation.Regulator
	}{
		{"closed database", func(t *testing.T) *regulation.Regulator {
			return newRegulator(t, regulation.Config{Store: closedDB(t)})
		}},
		{"dead Redis and closed database", func(t *testing.T) *regulation.Regulator {
			return newRegulator(t, regulation.Config{Redis: deadRedis(t), Store: closedDB(t), Timeout: 300 * time.Millisecond})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dbtest.SQLite(t)
			s := newStack(t, d, func(c *accounts.Config) {
				c.Regulator = failingRecords{Regulator: newRegulator(t, regulation.Config{Store: d, Now: c.Now}), records: tc.records(t)}
			})
			ann := s.user("Ann")
			app := s.client(s.org("Home", ann))
			// The login step and the proof before a change: every guess goes
			// through the same check.
			s.passwordLogin(app, "ann@example.com", "wrong password").expect(t, http.StatusServiceUnavailable, accounts.CodeUnavailable)
			s.passwordLogin(app, "nobody@example.com", "wrong password").expect(t, http.StatusServiceUnavailable, accounts.CodeUnavailable)
			s.do(as{client: app, user: &ann}, "POST", "/users/"+ann.ID+"/change-password",
				map[string]any{"currentPassword": "a guess", "newPassword": "a brand new passphrase"}).
				expect(t, http.StatusServiceUnavailable, accounts.CodeUnavailable)
			// A right password records nothing, and works.
			sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
		})
	}

	t.Run("regulator down", func(t *testing.T) {
		// Bans that cannot be read refuse every step, right or wrong.
		s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) {
			c.Regulator = newRegulator(t, regulation.Config{Store: closedDB(t)})
		})
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusServiceUnavailable, accounts.CodeUnavailable)
		s.step(app, "email", map[string]any{"email": "ann@example.com", "state": s.newState()}).
			expect(t, http.StatusServiceUnavailable, accounts.CodeUnavailable)
	})

	t.Run("Redis down, database up", func(t *testing.T) {
		d := dbtest.SQLite(t)
		s := newStack(t, d, func(c *accounts.Config) {
			c.Regulator = newRegulator(t, regulation.Config{Redis: deadRedis(t), Store: d, Now: c.Now, Timeout: 300 * time.Millisecond})
		})
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		for range 5 {
			s.passwordLogin(app, "ann@example.com", "wrong password").expect(t, http.StatusUnauthorized)
		}
		s.passwordLogin(app, "ann@example.com", testPassword).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	})
}
