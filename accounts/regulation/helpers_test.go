package regulation_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/mint/minttest"
)

// start is the reading of every fixed clock here.
var start = minttest.Start

// testTimeout is Config.Timeout in tests: generous, for -race and CI.
const testTimeout = 30 * time.Second

// newClock returns a settable clock reading start.
func newClock() *minttest.Clock { return minttest.NewClock(start) }

// backend is one storage of failures and bans: a fresh, empty one per
// call of open.
type backend struct {
	name string
	// open returns a Config whose Store or Redis (and RedisPrefix) is
	// set, and a function counting every failure of a subject that the
	// storage holds (for the Redis backend, those within Window).
	open func(t testing.TB) (regulation.Config, func(regulation.Subject) int)
}

// backends are the storages every behaviour is checked against.
var backends = []backend{
	{name: "sqlite", open: func(t testing.TB) (regulation.Config, func(regulation.Subject) int) {
		return sqlConfig(t, dbtest.SQLite(t))
	}},
	{name: "mariadb", open: func(t testing.TB) (regulation.Config, func(regulation.Subject) int) {
		return sqlConfig(t, dbtest.MariaDB(t))
	}},
	{name: "redis", open: func(t testing.TB) (regulation.Config, func(regulation.Subject) int) {
		c := dbtest.Redis(t)
		prefix := dbtest.RedisPrefix(t, c, "reg")
		count := func(s regulation.Subject) int {
			t.Helper()
			n, err := c.ZCard(context.Background(), failureKey(prefix, s)).Result()
			if err != nil {
				t.Fatalf("ZCARD: %v", err)
			}
			return int(n)
		}
		return regulation.Config{Redis: c, RedisPrefix: prefix}, count
	}},
}

// sqlConfig returns a Config on the SQL store d and a counter of its
// failure rows.
func sqlConfig(t testing.TB, d *db.DB) (regulation.Config, func(regulation.Subject) int) {
	count := func(s regulation.Subject) int {
		t.Helper()
		n, err := d.CountFailures(context.Background(), s.Kind, s.Value, 0)
		if err != nil {
			t.Fatalf("CountFailures: %v", err)
		}
		return n
	}
	return regulation.Config{Store: d}, count
}

// eachBackend runs fn as one subtest per backend, with a fresh storage.
func eachBackend(t *testing.T, fn func(t *testing.T, cfg regulation.Config, count func(regulation.Subject) int)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			cfg, count := b.open(t)
			fn(t, cfg, count)
		})
	}
}

// newRegulator returns New(cfg) with the test timeout unless cfg sets
// one, and fails the test if New fails.
func newRegulator(t testing.TB, cfg regulation.Config) *regulation.Regulator {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = testTimeout
	}
	r, err := regulation.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// hashed is the hex SHA-256 of a subject's value, as Redis keys hold it.
func hashed(s regulation.Subject) string {
	sum := sha256.Sum256([]byte(s.Value))
	return hex.EncodeToString(sum[:])
}

// pairSubject is the derived subject of an account from an IPv4 source.
func pairSubject(account, address regulation.Subject) regulation.Subject {
	h := sha256.New()
	h.Write([]byte(account.Value))
	h.Write([]byte{0})
	h.Write([]byte(address.Value))
	return regulation.Subject{Kind: regulation.KindAccountIP, Value: hex.EncodeToString(h.Sum(nil))}
}

// failureKey is the documented Redis key of a subject's failures.
func failureKey(prefix string, s regulation.Subject) string {
	return prefix + "f:" + s.Kind + ":{" + hashed(s) + "}"
}

// banKey is the documented Redis key of a subject's ban.
func banKey(prefix string, s regulation.Subject) string {
	return prefix + "b:" + s.Kind + ":{" + hashed(s) + "}"
}
