package accounts_test

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMailBombing: the verification mails to one address (whatever its
// case), and those one user's requests cause, are bounded within a
// window: past the bound, adding an address and
// generate-verification answer 429 TOO-MANY-MAILS with Retry-After and
// send nothing; the window passes and mail flows again.
func TestMailBombing(t *testing.T) {
	const victim = "victim@example.org"
	tests := []struct {
		name string
		// when sends the i-th request that would mail; it answers
		// whether the call was accepted.
		when  func(t *testing.T, s *stack, app appClient, sess session, i int) response
		limit int
	}{
		{
			name: "generate-verification for one address",
			when: func(t *testing.T, s *stack, app appClient, sess session, i int) response {
				t.Helper()
				if i == 0 {
					return s.withMacaroon(app, sess, "POST", "/users/current/emails", map[string]any{"email": victim, "currentPassword": testPassword})
				}
				es := s.withMacaroon(app, sess, "GET", "/users/current/emails", nil).expect(t, http.StatusOK).list()
				for _, e := range es {
					if e["email"] == victim {
						return s.withMacaroon(app, sess, "POST", "/users/current/emails/"+e["id"].(string)+"/generate-verification", nil)
					}
				}
				t.Fatal("no victim address")
				return response{}
			},
			limit: accounts.DefaultMailsPerAddress,
		},
		{
			name: "one user adding many addresses",
			when: func(t *testing.T, s *stack, app appClient, sess session, i int) response {
				return s.withMacaroon(app, sess, "POST", "/users/current/emails", map[string]any{"email": fmt.Sprintf("v%d@example.org", i), "currentPassword": testPassword})
			},
			limit: accounts.DefaultMailsPerUser,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, dbtest.SQLite(t), nil)
			ann := s.user("Ann")
			app := s.client(s.org("Home", ann))
			sess := sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			for i := range tt.limit {
				s.clock.Advance(time.Second)
				if res := tt.when(t, s, app, sess, i); res.Status >= 300 {
					t.Fatalf("request %d within the limit = %d %s", i, res.Status, res.Raw)
				}
			}
			s.clock.Advance(time.Second)
			res := tt.when(t, s, app, sess, tt.limit).expect(t, http.StatusTooManyRequests, accounts.CodeTooManyMails)
			retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
			if err != nil || retry < 1 || retry > int(accounts.DefaultMailWindow/time.Second) {
				t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
			}
			// The owner's notices (an address was added) go to Ann's own
			// verified address; the rest are the verification mails.
			if got := s.mailCount(t) - len(s.mailTo(t, "ann@example.com")); got != tt.limit {
				t.Fatalf("%d verification mails sent, want %d (the limit)", got, tt.limit)
			}
			// The window passes.
			s.clock.Advance(accounts.DefaultMailWindow)
			sess = sessionOf(t, s.passwordLogin(app, "ann@example.com", testPassword))
			if res := tt.when(t, s, app, sess, tt.limit); res.Status >= 300 {
				t.Fatalf("after the window = %d %s", res.Status, res.Raw)
			}
		})
	}
}

// TestMailQuota checks the store's windowed mail counters.
func TestMailQuota(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		q := func(subject string, limit int) db.MailQuota {
			return db.MailQuota{ID: s.id(), Subject: subject, Limit: limit}
		}
		const window = 1000
		for now := int64(10_000); now < 10_003; now++ {
			if err := d.TakeMailQuota(s.ctx, []db.MailQuota{q("a", 3), q("u", 10)}, db.MailWindow{StartMs: now - window, NowMs: now}); err != nil {
				t.Fatal(err)
			}
		}
		err := d.TakeMailQuota(s.ctx, []db.MailQuota{q("u", 10), q("a", 3)}, db.MailWindow{StartMs: 10_003 - window, NowMs: 10_003})
		var over *db.MailLimitError
		if !asMailLimit(err, &over) || over.Subject != "a" || over.RetryMs != 11_000 {
			t.Fatalf("over the limit: %v", err)
		}
		// Nothing was counted for u by the refused call: 7 more fit.
		for i := range 7 {
			if err := d.TakeMailQuota(s.ctx, []db.MailQuota{q("u", 10)}, db.MailWindow{StartMs: 10_010 - window, NowMs: 10_010 + int64(i)}); err != nil {
				t.Fatalf("u %d: %v", i, err)
			}
		}
		if err := d.TakeMailQuota(s.ctx, []db.MailQuota{q("a", 3)}, db.MailWindow{StartMs: 11_000 - window, NowMs: 11_000}); err != nil {
			t.Fatalf("once the first mail left the window: %v", err)
		}
	})
}

func asMailLimit(err error, target **db.MailLimitError) bool { return errors.As(err, target) }

// mailCount is how many messages the file notifier wrote.
func (s *stack) mailCount(t testing.TB) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.mail, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}
