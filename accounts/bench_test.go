package accounts_test

import (
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// BenchmarkPasswordLogin measures the password step end to end (HTTP
// through the gateway, the accounts service, regulation checks, the
// session row, minting five tokens, the cookies) against its baseline in
// the same run: argon2id verification alone at the same cost, the work
// the step cannot avoid. Both keep every core busy (RunParallel; logins
// with two in flight per core so database waits do not idle a core), so
// login/s ÷ verify/s is the share of the argon2id budget that logins
// reach.
//
//	go test -run '^$' -bench PasswordLogin -benchtime 100x ./accounts/
func BenchmarkPasswordLogin(b *testing.B) {
	hash, err := password.Hash(testPassword, password.DefaultParams, rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline=argon2id-verify", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if ok, _, err := password.Verify(testPassword, hash, password.DefaultParams); !ok || err != nil {
					b.Error("verify failed")
				}
			}
		})
	})
	for _, dialect := range []string{"sqlite", "mariadb"} {
		b.Run("login/"+dialect, func(b *testing.B) {
			var d *db.DB
			if dialect == "sqlite" {
				d = dbtest.SQLite(b)
			} else {
				d = dbtest.MariaDB(b)
			}
			s := newStack(b, d, func(c *accounts.Config) { c.Password = password.DefaultParams })
			ann := s.user("Ann")
			if err := d.SetPasswordHash(s.ctx, ann.ID, hash, 1); err != nil {
				b.Fatal(err)
			}
			app := s.client(s.org("Home", ann))
			b.ReportAllocs()
			// Four logins in flight per core: while some wait for
			// the database (a commit), another hashes, as under real load.
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := s.newRequest(app, "POST", "/sessions/login/password",
						map[string]any{"email": "ann@example.com", "password": testPassword, "state": s.newState()})
					res, err := s.srv.Client().Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						b.Errorf("login answered %d", res.StatusCode)
					}
				}
			})
		})
	}
}
