package regulation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/accounts/regulation"
	"github.com/authgw/authgw/db/dbtest"
)

// Subjects of the tests.
var (
	ann   = regulation.Subject{Kind: regulation.KindAccount, Value: "ann@example.com"}
	bob   = regulation.Subject{Kind: regulation.KindAccount, Value: "bob@example.com"}
	annUp = regulation.Subject{Kind: regulation.KindAccount, Value: "Ann@example.com"}
	ip    = regulation.Subject{Kind: regulation.KindIP, Value: "192.0.2.7"}
	ip2   = regulation.Subject{Kind: regulation.KindIP, Value: "2001:db8::7"}
)

// event is one login step of a case: a failure reported to Fail, or a
// success (Check answers nil and nothing else is called, as the login
// flow does).
type event struct {
	at       time.Duration // since start
	step     string        // of a failure; "" is "password"
	succeed  bool
	subjects []regulation.Subject
}

// failures returns n failures of subjects, the first at from and then one
// every every.
func failures(n int, from, every time.Duration, subjects ...regulation.Subject) []event {
	events := make([]event, n)
	for i := range events {
		events[i] = event{at: from + time.Duration(i)*every, subjects: subjects}
	}
	return events
}

// stepFailures returns one failure of subjects at at per step.
func stepFailures(at time.Duration, steps []string, subjects ...regulation.Subject) []event {
	events := make([]event, len(steps))
	for i, step := range steps {
		events[i] = event{at: at, step: step, subjects: subjects}
	}
	return events
}

// sprayed returns n failures at from, one second apart, from the IP
// address each against another account, none of them failing twice.
func sprayed(n int, from time.Duration, address regulation.Subject) []event {
	events := make([]event, n)
	for i := range events {
		account := regulation.Subject{Kind: regulation.KindAccount, Value: fmt.Sprintf("user%d@example.com", i)}
		events[i] = event{at: from + time.Duration(i)*time.Second, subjects: []regulation.Subject{account, address}}
	}
	return events
}

// sprayedAt returns n failures of account at from, one second apart,
// each from another IP address.
func sprayedAt(n int, from time.Duration, account regulation.Subject) []event {
	events := make([]event, n)
	for i := range events {
		address := regulation.Subject{Kind: regulation.KindIP, Value: fmt.Sprintf("198.51.100.%d", i+1)}
		events[i] = event{at: from + time.Duration(i)*time.Second, subjects: []regulation.Subject{account, address}}
	}
	return events
}

// spread64 returns n failures of account at from, one second apart,
// each from another address of the IPv6 network 2001:db8:0:1::/64.
func spread64(n int, from time.Duration, account regulation.Subject) []event {
	events := make([]event, n)
	for i := range events {
		address := regulation.Subject{Kind: regulation.KindIP, Value: fmt.Sprintf("2001:db8:0:1:%x::%x", i+1, i+7)}
		events[i] = event{at: from + time.Duration(i)*time.Second, subjects: []regulation.Subject{account, address}}
	}
	return events
}

// configured sets the maxima to 2 per account and 3 per IP in a
// 1-minute window, and the ban time to 1 hour.
func configured(c *regulation.Config) {
	c.MaxFailures, c.MaxIPFailures, c.Window, c.BanTime = 2, 3, time.Minute, time.Hour
}

// success returns a successful step of subjects at at.
func success(at time.Duration, subjects ...regulation.Subject) []event {
	return []event{{at: at, succeed: true, subjects: subjects}}
}

func TestRegulator(t *testing.T) {
	tests := []struct {
		name string
		// givenConfig changes the defaults (5 account and 20 IP failures
		// in 5 minutes ban for 15 minutes); nil keeps them.
		givenConfig func(*regulation.Config)
		givenEvents []event
		whenAt      time.Duration
		whenCheck   []regulation.Subject
		// expectKind is the banned kind Check reports; "" for no ban.
		expectKind  string
		expectUntil time.Duration // since start
	}{
		{
			name:        "no failure: not banned",
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  "",
			expectUntil: 0,
		},
		{
			name:        "four account failures: not banned",
			givenEvents: failures(4, 0, time.Second, ann, ip),
			whenAt:      4 * time.Second,
			whenCheck:   []regulation.Subject{ann, ip},
		},
		{
			name:        "fifth account failure bans the account for BanTime",
			givenEvents: failures(5, 0, time.Second, ann, ip),
			whenAt:      4 * time.Second,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 4*time.Second + 15*time.Minute,
		},
		{
			name:        "five failures in the same millisecond ban",
			givenEvents: failures(5, time.Minute, 0, ann, ip),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 16 * time.Minute,
		},
		{
			name:        "password, code and TOTP failures count together",
			givenEvents: stepFailures(0, []string{"password", "code", "totp", "code", "password"}, ann, ip),
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 15 * time.Minute,
		},
		{
			name:        "failures Window old do not count",
			givenEvents: slices.Concat(failures(4, 0, 0, ann, ip), failures(1, 5*time.Minute, 0, ann, ip)),
			whenAt:      5 * time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
		},
		{
			name:        "failures just under Window old count",
			givenEvents: slices.Concat(failures(4, 0, 0, ann, ip), failures(1, 5*time.Minute-time.Millisecond, 0, ann, ip)),
			whenAt:      5 * time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 20*time.Minute - time.Millisecond,
		},
		{
			name:        "still banned a millisecond before BanTime ends",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenAt:      15*time.Minute - time.Millisecond,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 15 * time.Minute,
		},
		{
			name:        "ban ends after BanTime",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenAt:      15 * time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
		},
		{
			name:        "after a ban, a failure while the window holds the earlier ones bans again",
			givenConfig: func(c *regulation.Config) { c.Window = time.Hour },
			givenEvents: slices.Concat(failures(5, 0, 0, ann, ip), failures(1, 20*time.Minute, 0, ann, ip)),
			whenAt:      20 * time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 35 * time.Minute,
		},
		{
			name:        "a failure while banned moves the end of the ban",
			givenEvents: slices.Concat(failures(5, 0, 0, ann, ip), failures(1, time.Minute, 0, ann, ip)),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 16 * time.Minute,
		},
		{
			name:        "the account maximum does not ban an IP",
			givenEvents: failures(19, 0, time.Second, ip),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ip},
		},
		{
			name:        "the IP maximum bans an IP",
			givenEvents: failures(20, 0, time.Second, ip),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ip},
			expectKind:  regulation.KindIP,
			expectUntil: 19*time.Second + 15*time.Minute,
		},
		{
			// The IP's first failure is out of the 1-minute window: two
			// count, under its maximum of 3; bob's two reach his.
			name:        "configured account maximum, window and ban time",
			givenConfig: configured,
			givenEvents: slices.Concat(failures(1, 0, 0, ann, ip), failures(2, 2*time.Minute, time.Second, bob, ip)),
			whenAt:      3 * time.Minute,
			whenCheck:   []regulation.Subject{bob, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 2*time.Minute + time.Second + time.Hour,
		},
		{
			name:        "configured IP maximum",
			givenConfig: configured,
			givenEvents: sprayed(3, 0, ip),
			whenAt:      3 * time.Second,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindIP,
			expectUntil: 2*time.Second + time.Hour,
		},
		{
			name:        "banning one account does not ban another",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenCheck:   []regulation.Subject{bob, ip},
		},
		{
			name:        "accounts compare exactly",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenCheck:   []regulation.Subject{annUp, ip},
		},
		{
			name:        "banning an account does not ban its IP",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenCheck:   []regulation.Subject{bob, ip},
		},
		{
			name:        "banning an IP does not ban another",
			givenEvents: failures(20, 0, 0, ip),
			whenCheck:   []regulation.Subject{ip2},
		},
		{
			name:        "an account and an IP with the same value are two subjects",
			givenEvents: failures(5, 0, 0, regulation.Subject{Kind: regulation.KindAccount, Value: ip.Value}),
			whenCheck:   []regulation.Subject{ip},
		},
		{
			name:        "several subjects: the banned IP is reported",
			givenEvents: sprayed(20, 0, ip),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindIP,
			expectUntil: 19*time.Second + 15*time.Minute,
		},
		{
			name:        "several subjects banned: the ban that ends last is reported",
			givenEvents: slices.Concat(failures(5, 0, 0, ann, ip), failures(20, time.Minute, 0, ip)),
			whenAt:      2 * time.Minute,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindIP,
			expectUntil: 16 * time.Minute,
		},
		{
			name:        "an account's failures from many sources ban no one",
			givenEvents: sprayedAt(10, 0, ann),
			whenAt:      10 * time.Second,
			whenCheck:   []regulation.Subject{ann, ip},
		},
		{
			name:        "an account alone is never banned",
			givenEvents: failures(30, 0, 0, ann),
			whenCheck:   []regulation.Subject{ann},
		},
		{
			name:        "the account maximum bans the account from its source",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenCheck:   []regulation.Subject{ann, ip2},
		},
		{
			name:        "an IPv6 /64 is one source",
			givenEvents: spread64(20, 0, bob),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ann, {Kind: regulation.KindIP, Value: "2001:db8:0:1:ffff:ffff:ffff:ffff"}},
			expectKind:  regulation.KindIP,
			expectUntil: 19*time.Second + 15*time.Minute,
		},
		{
			name:        "an account from an IPv6 /64 is one pair",
			givenEvents: spread64(5, 0, ann),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{ann, {Kind: regulation.KindIP, Value: "2001:db8:0:1::abcd"}},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 4*time.Second + 15*time.Minute,
		},
		{
			name:        "another /64 is another source",
			givenEvents: spread64(20, 0, bob),
			whenAt:      time.Minute,
			whenCheck:   []regulation.Subject{bob, {Kind: regulation.KindIP, Value: "2001:db8:0:2::1"}},
		},
		{
			name:        "an IPv4-mapped IPv6 address is its IPv4 address",
			givenEvents: failures(5, 0, 0, ann, ip),
			whenCheck:   []regulation.Subject{ann, {Kind: regulation.KindIP, Value: "::ffff:" + ip.Value}},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 15 * time.Minute,
		},
		{
			name:        "success does not reset the counters",
			givenEvents: slices.Concat(failures(4, 0, time.Second, ann, ip), success(5*time.Second, ann, ip), failures(1, 6*time.Second, 0, ann, ip)),
			whenAt:      6 * time.Second,
			whenCheck:   []regulation.Subject{ann, ip},
			expectKind:  regulation.KindAccountIP,
			expectUntil: 6*time.Second + 15*time.Minute,
		},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					cfg, _ := b.open(t)
					clock := newClock()
					cfg.Now = clock.Now
					if tc.givenConfig != nil {
						tc.givenConfig(&cfg)
					}
					r := newRegulator(t, cfg)
					ctx := t.Context()
					for i, e := range tc.givenEvents {
						clock.Set(start.Add(e.at))
						if e.succeed {
							if err := r.Check(ctx, e.subjects...); err != nil {
								t.Fatalf("event %d: Check before a success = %v, want nil", i, err)
							}
							continue
						}
						step := e.step
						if step == "" {
							step = "password"
						}
						if err := r.Fail(ctx, step, e.subjects...); err != nil {
							t.Fatalf("event %d: Fail = %v", i, err)
						}
					}
					clock.Set(start.Add(tc.whenAt))
					err := r.Check(ctx, tc.whenCheck...)
					expectBan(t, err, tc.whenCheck, tc.expectKind, start.Add(tc.expectUntil))
				})
			}
		})
	}
}

// expectBan fails the test unless err is nil when expectKind is "", or a
// *BannedError of expectKind until expectUntil that wraps ErrBanned and
// names none of the subjects' values.
func expectBan(t *testing.T, err error, subjects []regulation.Subject, expectKind string, expectUntil time.Time) {
	t.Helper()
	if expectKind == "" {
		if err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
		return
	}
	banned, ok := errors.AsType[*regulation.BannedError](err)
	if !ok {
		t.Fatalf("Check = %v, want a *BannedError", err)
	}
	if !errors.Is(err, regulation.ErrBanned) || errors.Is(err, regulation.ErrUnavailable) {
		t.Errorf("Check = %v: want ErrBanned and not ErrUnavailable", err)
	}
	if banned.Kind != expectKind || !banned.Until.Equal(expectUntil) {
		t.Errorf("Check = %s until %v, want %s until %v", banned.Kind, banned.Until.UTC(), expectKind, expectUntil)
	}
	msg := err.Error()
	if !strings.Contains(msg, expectKind) {
		t.Errorf("Error() = %q does not name the kind %s", msg, expectKind)
	}
	for _, s := range subjects {
		if strings.Contains(msg, s.Value) {
			t.Errorf("Error() = %q contains the subject value %q", msg, s.Value)
		}
	}
}

func TestNew(t *testing.T) {
	noTimeout := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = noTimeout.Close() })
	store := dbtest.SQLite(t)
	tests := []struct {
		name        string
		givenConfig regulation.Config
		expectErr   bool
	}{
		{name: "store and defaults", givenConfig: regulation.Config{Store: store}, expectErr: false},
		{name: "neither store nor Redis", givenConfig: regulation.Config{}, expectErr: true},
		{name: "Redis without ContextTimeoutEnabled", givenConfig: regulation.Config{Redis: noTimeout}, expectErr: true},
		{name: "negative MaxFailures", givenConfig: regulation.Config{Store: store, MaxFailures: -1}, expectErr: true},
		{name: "negative MaxIPFailures", givenConfig: regulation.Config{Store: store, MaxIPFailures: -1}, expectErr: true},
		{name: "negative Window", givenConfig: regulation.Config{Store: store, Window: -time.Second}, expectErr: true},
		{name: "Window under a millisecond", givenConfig: regulation.Config{Store: store, Window: time.Microsecond}, expectErr: true},
		{name: "negative BanTime", givenConfig: regulation.Config{Store: store, BanTime: -time.Second}, expectErr: true},
		{name: "negative Timeout", givenConfig: regulation.Config{Store: store, Timeout: -time.Second}, expectErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := regulation.New(tc.givenConfig)
			if (err != nil) != tc.expectErr || (err == nil) != (r != nil) {
				t.Fatalf("New = %v, %v; want an error: %v", r, err, tc.expectErr)
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	long := strings.Repeat("ü", regulation.MaxValueLen+1)
	tests := []struct {
		name          string
		whenStep      string
		whenSubjects  []regulation.Subject
		expectInCheck bool // Check refuses the subjects too
	}{
		{name: "no subject", whenStep: "password", whenSubjects: nil, expectInCheck: true},
		{name: "unknown kind", whenStep: "password", whenSubjects: []regulation.Subject{{Kind: "email", Value: "ann@example.com"}}, expectInCheck: true},
		{name: "empty value", whenStep: "password", whenSubjects: []regulation.Subject{ann, {Kind: regulation.KindIP}}, expectInCheck: true},
		{name: "value too long", whenStep: "password", whenSubjects: []regulation.Subject{{Kind: regulation.KindAccount, Value: long}, ip}, expectInCheck: true},
		{name: "empty step", whenStep: "", whenSubjects: []regulation.Subject{ann, ip}, expectInCheck: false},
		{name: "step too long", whenStep: strings.Repeat("s", regulation.MaxStepLen+1), whenSubjects: []regulation.Subject{ann, ip}, expectInCheck: false},
	}
	eachBackend(t, func(t *testing.T, cfg regulation.Config, count func(regulation.Subject) int) {
		cfg.MaxFailures = 1
		cfg.Now = newClock().Now
		r := newRegulator(t, cfg)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				err := r.Fail(t.Context(), tc.whenStep, tc.whenSubjects...)
				if !errors.Is(err, regulation.ErrInvalid) || errors.Is(err, regulation.ErrUnavailable) {
					t.Errorf("Fail = %v, want ErrInvalid", err)
				}
				for _, s := range tc.whenSubjects {
					if s.Value != "" && strings.Contains(err.Error(), s.Value) {
						t.Errorf("Fail = %q names the subject", err)
					}
					if s.Kind == regulation.KindAccount || s.Kind == regulation.KindIP {
						if n := count(s); n != 0 {
							t.Errorf("%d failures recorded for a %s, want 0", n, s.Kind)
						}
					}
				}
				err = r.Check(t.Context(), tc.whenSubjects...)
				if errors.Is(err, regulation.ErrInvalid) != tc.expectInCheck {
					t.Errorf("Check = %v, want ErrInvalid: %v", err, tc.expectInCheck)
				}
			})
		}
		t.Run("longest value and step", func(t *testing.T) {
			longest := regulation.Subject{Kind: regulation.KindAccount, Value: long[len("ü"):]}
			if err := r.Fail(t.Context(), strings.Repeat("ß", regulation.MaxStepLen), longest, ip); err != nil {
				t.Fatalf("Fail = %v", err)
			}
			expectBan(t, r.Check(t.Context(), longest, ip), []regulation.Subject{longest}, regulation.KindAccountIP, start.Add(15*time.Minute))
		})
	})
}

func TestFail_concurrent(t *testing.T) {
	const goroutines = 50
	eachBackend(t, func(t *testing.T, cfg regulation.Config, count func(regulation.Subject) int) {
		clock := newClock()
		cfg.Now = clock.Now
		r := newRegulator(t, cfg)
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for range goroutines {
			wg.Go(func() { errs <- r.Fail(t.Context(), "password", ann, ip) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("Fail = %v", err)
			}
		}
		for _, s := range []regulation.Subject{ann, ip} {
			if n := count(s); n != goroutines {
				t.Errorf("%d failures of the %s recorded, want %d", n, s.Kind, goroutines)
			}
		}
		expectBan(t, r.Check(t.Context(), ip), []regulation.Subject{ip}, regulation.KindIP, start.Add(15*time.Minute))
		expectBan(t, r.Check(t.Context(), ann, ip), []regulation.Subject{ann, ip}, regulation.KindIP, start.Add(15*time.Minute))
		expectBan(t, r.Check(t.Context(), ann, ip2), nil, "", time.Time{})
		if d, err := r.Delay(t.Context(), ann); err != nil || d != regulation.DefaultMaxAccountDelay {
			t.Errorf("Delay = %v, %v; want %v", d, err, regulation.DefaultMaxAccountDelay)
		}
	})
}

// TestFail_keepsTheLaterBan checks that a regulator with a shorter BanTime
// sharing the storage never shortens another's ban.
func TestFail_keepsTheLaterBan(t *testing.T) {
	eachBackend(t, func(t *testing.T, cfg regulation.Config, _ func(regulation.Subject) int) {
		clock := newClock()
		cfg.Now = clock.Now
		long, short := cfg, cfg
		long.BanTime = time.Hour
		longBans, shortBans := newRegulator(t, long), newRegulator(t, short)
		for range 5 {
			if err := longBans.Fail(t.Context(), "password", ann, ip); err != nil {
				t.Fatal(err)
			}
		}
		clock.Set(start.Add(time.Minute))
		if err := shortBans.Fail(t.Context(), "password", ann, ip); err != nil {
			t.Fatal(err)
		}
		expectBan(t, shortBans.Check(t.Context(), ann, ip), []regulation.Subject{ann}, regulation.KindAccountIP, start.Add(time.Hour))
	})
}

func TestUnavailable(t *testing.T) {
	closed := func(open func(testing.TB) regulation.Config) func(t *testing.T) regulation.Config {
		return func(t *testing.T) regulation.Config {
			cfg := open(t)
			if err := cfg.Store.(interface{ Close() error }).Close(); err != nil {
				t.Fatal(err)
			}
			return cfg
		}
	}
	tests := []struct {
		name       string
		givenSetup func(t *testing.T) regulation.Config
		whenCtx    func(t *testing.T) context.Context
	}{
		{
			name:       "closed SQLite store",
			givenSetup: closed(func(t testing.TB) regulation.Config { return regulation.Config{Store: dbtest.SQLite(t)} }),
		},
		{
			name:       "closed MariaDB store",
			givenSetup: closed(func(t testing.TB) regulation.Config { return regulation.Config{Store: dbtest.MariaDB(t)} }),
		},
		{
			name: "unreachable Redis",
			givenSetup: func(t *testing.T) regulation.Config {
				c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
				t.Cleanup(func() { _ = c.Close() })
				// go-redis retries refused connections for seconds;
				// Timeout cuts that short.
				return regulation.Config{Redis: c, Timeout: 200 * time.Millisecond}
			},
		},
		{
			name: "ended context",
			givenSetup: func(t *testing.T) regulation.Config {
				return regulation.Config{Store: dbtest.SQLite(t)}
			},
			whenCtx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
		},
		{
			name: "ended context, Redis",
			givenSetup: func(t *testing.T) regulation.Config {
				c := dbtest.Redis(t)
				return regulation.Config{Redis: c, RedisPrefix: dbtest.RedisPrefix(t, c, "reg")}
			},
			whenCtx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.givenSetup(t)
			cfg.Now = newClock().Now
			r := newRegulator(t, cfg)
			ctx := t.Context()
			if tc.whenCtx != nil {
				ctx = tc.whenCtx(t)
			}
			_, delayErr := r.Delay(ctx, ann, ip)
			for name, err := range map[string]error{
				"Check":       r.Check(ctx, ann, ip),
				"Delay":       delayErr,
				"Fail":        r.Fail(ctx, "password", ann, ip),
				"RequestCode": r.RequestCode(ctx, ann, ip),
			} {
				if !errors.Is(err, regulation.ErrUnavailable) || errors.Is(err, regulation.ErrBanned) {
					t.Errorf("%s = %v, want ErrUnavailable", name, err)
				} else if strings.Contains(err.Error(), ann.Value) {
					t.Errorf("%s = %q names the account", name, err)
				}
			}
		})
	}
}

// TestRedis_keys checks the documented Redis keys: hashed values, no email
// address in clear, and expiries of Window and BanTime.
func TestRedis_keys(t *testing.T) {
	c := dbtest.Redis(t)
	prefix := dbtest.RedisPrefix(t, c, "reg")
	r := newRegulator(t, regulation.Config{Redis: c, RedisPrefix: prefix, Now: newClock().Now})
	ctx := t.Context()
	for range 5 {
		if err := r.Fail(ctx, "password", ann, ip); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	pair := pairSubject(ann, ip)
	expectKeys := []string{banKey(prefix, ann), failureKey(prefix, ann), failureKey(prefix, ip), banKey(prefix, pair), failureKey(prefix, pair)}
	slices.Sort(expectKeys)
	if !slices.Equal(keys, expectKeys) {
		t.Fatalf("keys %q, want %q", keys, expectKeys)
	}
	tests := []struct {
		name      string
		whenKey   string
		expectMin time.Duration
		expectMax time.Duration
	}{
		{name: "account failures expire after Window", whenKey: failureKey(prefix, ann), expectMin: 5*time.Minute - 10*time.Second, expectMax: 5 * time.Minute},
		{name: "IP failures expire after Window", whenKey: failureKey(prefix, ip), expectMin: 5*time.Minute - 10*time.Second, expectMax: 5 * time.Minute},
		{name: "pair failures expire after Window", whenKey: failureKey(prefix, pair), expectMin: 5*time.Minute - 10*time.Second, expectMax: 5 * time.Minute},
		{name: "ban expires after BanTime", whenKey: banKey(prefix, pair), expectMin: 15*time.Minute - 10*time.Second, expectMax: 15 * time.Minute},
		{name: "account hold expires after AccountDelay", whenKey: banKey(prefix, ann), expectMin: 0, expectMax: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.whenKey, ann.Value) || strings.Contains(tc.whenKey, ip.Value) {
				t.Errorf("key %q holds a subject in clear", tc.whenKey)
			}
			ttl, err := c.PTTL(ctx, tc.whenKey).Result()
			if err != nil || ttl < tc.expectMin || ttl > tc.expectMax {
				t.Errorf("PTTL %s = %v, %v; want %v to %v", tc.whenKey, ttl, err, tc.expectMin, tc.expectMax)
			}
		})
	}
	t.Run("ban holds its end in Unix ms", func(t *testing.T) {
		v, err := c.Get(ctx, banKey(prefix, pair)).Int64()
		if want := start.Add(15 * time.Minute).UnixMilli(); err != nil || v != want {
			t.Errorf("ban key = %d, %v; want %d", v, err, want)
		}
		v, err = c.Get(ctx, banKey(prefix, ann)).Int64()
		if want := start.Add(time.Second).UnixMilli(); err != nil || v != want {
			t.Errorf("hold key = %d, %v; want %d", v, err, want)
		}
	})
	t.Run("members hold the step, not the subject", func(t *testing.T) {
		members, err := c.ZRange(ctx, failureKey(prefix, ann), 0, -1).Result()
		if err != nil || len(members) != 5 {
			t.Fatalf("ZRANGE = %q, %v; want 5 members", members, err)
		}
		for _, m := range members {
			if !strings.HasPrefix(m, "password:") || strings.Contains(m, ann.Value) {
				t.Errorf("member %q", m)
			}
		}
	})
	t.Run("a script flushed from Redis is sent again", func(t *testing.T) {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := r.Fail(ctx, "code", bob, ip2); err != nil {
			t.Fatalf("Fail after SCRIPT FLUSH = %v", err)
		}
		// An IPv6 address is counted as its /64.
		for _, s := range []regulation.Subject{bob, {Kind: regulation.KindIP, Value: "2001:db8::/64"}} {
			if n, err := c.ZCard(ctx, failureKey(prefix, s)).Result(); err != nil || n != 1 {
				t.Errorf("ZCARD of the %s = %d, %v; want 1", s.Kind, n, err)
			}
		}
	})
}

// isBanned reports whether err is a ban.
func isBanned(err error) bool { return errors.Is(err, regulation.ErrBanned) }

// TestRedisFallsBackToStore: with a Store configured next to Redis, a
// Redis that cannot answer does not stop logins: failures and bans go to
// the Store until Redis is back.
func TestRedisFallsBackToStore(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	store := dbtest.SQLite(t)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	r, err := regulation.New(regulation.Config{Redis: c, Store: store, Timeout: 200 * time.Millisecond, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ann := regulation.Subject{Kind: regulation.KindAccount, Value: "ann@example.com"}
	for i := range regulation.DefaultMaxFailures {
		if err := r.Check(t.Context(), ann, ip); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
		if err := r.Fail(t.Context(), "password", ann, ip); err != nil {
			t.Fatalf("fail %d: %v", i, err)
		}
	}
	var banned *regulation.BannedError
	if err := r.Check(t.Context(), ann, ip); !errors.As(err, &banned) {
		t.Fatalf("after %d failures on the fallback: %v, want a ban", regulation.DefaultMaxFailures, err)
	}
	if n, err := store.CountFailures(t.Context(), regulation.KindAccount, "ann@example.com", 0); err != nil || n != regulation.DefaultMaxFailures {
		t.Fatalf("the store holds %d failures (%v), want %d", n, err, regulation.DefaultMaxFailures)
	}
}

// TestDelay: an account's failures from any sources delay its checks,
// growing with each failure past the maximum and capped; they never
// refuse (Check of the account from a clean source passes).
func TestDelay(t *testing.T) {
	tests := []struct {
		name        string
		givenEvents []event
		whenAt      time.Duration
		whenDelay   []regulation.Subject
		expectDelay time.Duration
	}{
		{name: "no failure: no delay", whenDelay: []regulation.Subject{ann, ip}, expectDelay: 0},
		{name: "four failures: no delay", givenEvents: sprayedAt(4, 0, ann), whenAt: 3 * time.Second, whenDelay: []regulation.Subject{ann}, expectDelay: 0},
		{name: "the fifth failure holds AccountDelay", givenEvents: sprayedAt(5, 0, ann), whenAt: 4 * time.Second, whenDelay: []regulation.Subject{ann, ip}, expectDelay: time.Second},
		{name: "the hold counts from the last failure", givenEvents: sprayedAt(5, 0, ann), whenAt: 4*time.Second + 400*time.Millisecond, whenDelay: []regulation.Subject{ann}, expectDelay: 600 * time.Millisecond},
		{name: "each further failure doubles it", givenEvents: sprayedAt(7, 0, ann), whenAt: 6 * time.Second, whenDelay: []regulation.Subject{ann}, expectDelay: 4 * time.Second},
		{name: "capped at MaxAccountDelay", givenEvents: failures(40, 0, 0, ann), whenDelay: []regulation.Subject{ann}, expectDelay: 5 * time.Second},
		{name: "over after the hold", givenEvents: sprayedAt(5, 0, ann), whenAt: 5 * time.Second, whenDelay: []regulation.Subject{ann}, expectDelay: 0},
		{name: "another account: no delay", givenEvents: sprayedAt(8, 0, ann), whenAt: 7 * time.Second, whenDelay: []regulation.Subject{bob, ip}, expectDelay: 0},
		{name: "an IP alone: no delay", givenEvents: failures(30, 0, 0, ip), whenDelay: []regulation.Subject{ip}, expectDelay: 0},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					cfg, _ := b.open(t)
					clock := newClock()
					cfg.Now = clock.Now
					r := newRegulator(t, cfg)
					for i, e := range tc.givenEvents {
						clock.Set(start.Add(e.at))
						if err := r.Fail(t.Context(), "password", e.subjects...); err != nil {
							t.Fatalf("event %d: Fail = %v", i, err)
						}
					}
					clock.Set(start.Add(tc.whenAt))
					d, err := r.Delay(t.Context(), tc.whenDelay...)
					if err != nil || d != tc.expectDelay {
						t.Fatalf("Delay = %v, %v; want %v", d, err, tc.expectDelay)
					}
					if err := r.Check(t.Context(), ann, regulation.Subject{Kind: regulation.KindIP, Value: "203.0.113.9"}); err != nil {
						t.Errorf("Check of the account from a clean source = %v, want nil", err)
					}
				})
			}
		})
	}
}

// TestRequestCode: login-code requests are bounded per (address,
// source) and per source; the address from all sources is counted apart
// (RequestCodeToAddress, for sources its account has not logged in
// from). They are no failures: they neither ban nor delay a login step.
func TestRequestCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, cfg regulation.Config, _ func(regulation.Subject) int) {
		clock := newClock()
		cfg.Now = clock.Now
		r := newRegulator(t, cfg)
		ctx := t.Context()
		// A stranger on rotating sources: each request is granted (the
		// address alone is not capped here), but only MaxCodeRequests
		// reach the address's cap of mails to unknown sources.
		for i := range 3 * regulation.DefaultMaxCodeRequests {
			clock.Set(start.Add(time.Duration(i) * time.Second))
			stranger := regulation.Subject{Kind: regulation.KindIP, Value: fmt.Sprintf("2001:db8:%x::1", i+1)}
			if err := r.RequestCode(ctx, ann, stranger); err != nil {
				t.Fatalf("request %d from a new source: %v", i, err)
			}
			err := r.RequestCodeToAddress(ctx, ann)
			if i < regulation.DefaultMaxCodeRequests {
				if err != nil {
					t.Fatalf("mail %d to the address: %v", i, err)
				}
				continue
			}
			if b, ok := errors.AsType[*regulation.BannedError](err); !ok || b.Kind != regulation.KindMail {
				t.Fatalf("mail %d to the address for an unknown source = %v, want a mail ban", i, err)
			}
		}
		// The owner's source still has its own budget for the address.
		if err := r.RequestCode(ctx, ann, ip); err != nil {
			t.Fatalf("the owner's source = %v, want nil", err)
		}
		if err := r.Check(ctx, ann, ip); err != nil {
			t.Errorf("Check of the password step after code requests = %v, want nil", err)
		}
		if d, err := r.Delay(ctx, ann, ip); err != nil || d != 0 {
			t.Errorf("Delay after code requests = %v, %v; want 0", d, err)
		}
		t.Run("per address and source", func(t *testing.T) {
			src := regulation.Subject{Kind: regulation.KindIP, Value: "198.51.100.9"}
			for i := range regulation.DefaultMaxCodeRequests {
				if err := r.RequestCode(ctx, bob, src); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			err := r.RequestCode(ctx, bob, src)
			if b, ok := errors.AsType[*regulation.BannedError](err); !ok || b.Kind != regulation.KindMailPair {
				t.Fatalf("request %d from one source = %v, want a mail-pair ban", regulation.DefaultMaxCodeRequests+1, err)
			}
			if err := r.RequestCode(ctx, bob, ip2); err != nil {
				t.Errorf("another source = %v, want nil", err)
			}
			if err := r.RequestCode(ctx, regulation.Subject{Kind: regulation.KindAccount, Value: "carol@example.com"}, src); err != nil {
				t.Errorf("another address from the source = %v, want nil", err)
			}
		})
		t.Run("per source", func(t *testing.T) {
			src := regulation.Subject{Kind: regulation.KindIP, Value: "2001:db8:0:9::1"}
			for i := range regulation.DefaultMaxIPCodeRequests {
				a := regulation.Subject{Kind: regulation.KindAccount, Value: fmt.Sprintf("user%d@example.com", i)}
				if err := r.RequestCode(ctx, a, src); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			other := regulation.Subject{Kind: regulation.KindIP, Value: "2001:db8:0:9:ffff::2"} // same /64
			err := r.RequestCode(ctx, bob, other)
			if b, ok := errors.AsType[*regulation.BannedError](err); !ok || b.Kind != regulation.KindMailIP {
				t.Fatalf("request %d from the /64 = %v, want a mail-ip ban", regulation.DefaultMaxIPCodeRequests+1, err)
			}
		})
	})
}

// TestFactor: failures at a step past the first factor (KindFactor) are
// counted per account from all sources together and ban the account at
// those steps, even for a fresh source; the password step (the account
// and a source, without the factor subject) stays open.
func TestFactor(t *testing.T) {
	annID := regulation.Subject{Kind: regulation.KindAccount, Value: "01J000000000000000000ANN00"}
	factor := regulation.Subject{Kind: regulation.KindFactor, Value: annID.Value}
	fresh := regulation.Subject{Kind: regulation.KindIP, Value: "2001:db8:ffff:1::1"}
	eachBackend(t, func(t *testing.T, cfg regulation.Config, _ func(regulation.Subject) int) {
		clock := newClock()
		cfg.Now = clock.Now
		r := newRegulator(t, cfg)
		ctx := t.Context()
		// One failure from each of many sources, a minute apart: no
		// source and no (account, source) pair comes near a ban.
		for i := range regulation.DefaultMaxFactorFailures {
			clock.Set(start.Add(time.Duration(i) * time.Minute))
			src := regulation.Subject{Kind: regulation.KindIP, Value: fmt.Sprintf("2001:db8:%x::1", i+1)}
			if err := r.Check(ctx, annID, factor, src); err != nil {
				t.Fatalf("guess %d: Check = %v, want nil", i, err)
			}
			if err := r.Fail(ctx, "totp", annID, factor, src); err != nil {
				t.Fatalf("guess %d: Fail = %v", i, err)
			}
		}
		last := time.Duration(regulation.DefaultMaxFactorFailures-1) * time.Minute
		err := r.Check(ctx, annID, factor, fresh)
		expectBan(t, err, []regulation.Subject{annID, factor, fresh}, regulation.KindFactor, start.Add(last+regulation.DefaultBanTime))
		if err := r.Check(ctx, annID, fresh); err != nil {
			t.Errorf("the password step's Check from a fresh source = %v, want nil", err)
		}
		if err := r.Check(ctx, regulation.Subject{Kind: regulation.KindFactor, Value: "another-user"}, fresh); err != nil {
			t.Errorf("another account's factor = %v, want nil", err)
		}
		clock.Set(start.Add(last + regulation.DefaultBanTime))
		if err := r.Check(ctx, annID, factor, fresh); err != nil {
			t.Errorf("after BanTime = %v, want nil", err)
		}
	})
}
