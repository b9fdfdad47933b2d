package regulation_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts/regulation"
)

// BenchmarkRegulator measures one login attempt's regulation on each
// storage: "check" is Check of the account and the IP alone (every
// attempt pays it), "check+fail" adds Fail of both (a failed attempt).
// The clock moves one second per attempt over 64 accounts and 64 IPs,
// so each subject holds about 5 failures in its window and some get
// banned, as under a spread-out attack. Run:
//
//	go test -run '^$' -bench Regulator -benchtime 2s ./accounts/regulation/
func BenchmarkRegulator(b *testing.B) {
	const spread = 64
	accounts := make([]regulation.Subject, spread)
	ips := make([]regulation.Subject, spread)
	for i := range spread {
		accounts[i] = regulation.Subject{Kind: regulation.KindAccount, Value: fmt.Sprintf("user%d@example.com", i)}
		ips[i] = regulation.Subject{Kind: regulation.KindIP, Value: fmt.Sprintf("192.0.2.%d", i)}
	}
	for _, be := range backends {
		if be.name == "mariadb" {
			continue // the SQL path is the same as SQLite's; keep the run short
		}
		for _, fail := range []bool{false, true} {
			name := be.name + "/check"
			if fail {
				name += "+fail"
			}
			b.Run(name, func(b *testing.B) {
				cfg, _ := be.open(b)
				clock := newClock()
				cfg.Now = clock.Now
				r := newRegulator(b, cfg)
				ctx := b.Context()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					clock.Advance(time.Second)
					account, ip := accounts[i%spread], ips[(i/spread+i)%spread]
					i++
					if err := r.Check(ctx, account, ip); err != nil && !isBanned(err) {
						b.Fatal(err)
					}
					if fail {
						if err := r.Fail(ctx, "password", account, ip); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
