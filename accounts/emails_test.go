package accounts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// sentMail is one message the file notifier wrote.
type sentMail struct {
	ms      int64 // when it was written, from the file name
	to      string
	subject string
	text    string // the decoded body
}

// mailTo returns the messages written to the address to, oldest first.
func (s *stack) mailTo(t testing.TB, to string) []sentMail {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.mail, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []sentMail
	for _, f := range files {
		ms, err := strconv.ParseInt(strings.SplitN(filepath.Base(f), "-", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("mail file %s: %v", f, err)
		}
		h, body := notifytest.ReadEML(t, f)
		if h.Get("To") != to {
			continue
		}
		out = append(out, sentMail{ms: ms, to: to, subject: h.Get("Subject"), text: body})
	}
	slices.SortStableFunc(out, func(a, b sentMail) int { return int(a.ms - b.ms) })
	return out
}

// mailedCode finds the code in a message: 26 lower-case base32
// characters on a line of their own.
var mailedCode = regexp.MustCompile(`(?m)^[ \t]*([a-z2-7]{26})[ \t]*\r?$`)

// lastCode returns the code of the newestCode message to the address to. It
// fails the test when there is none, or when two messages to to were
// written in the same millisecond (advance the clock between codes).
func (s *stack) lastCode(t testing.TB, to string) string {
	t.Helper()
	msgs := s.mailTo(t, to)
	if len(msgs) == 0 {
		t.Fatalf("no message to %s", to)
	}
	last := msgs[len(msgs)-1]
	if len(msgs) > 1 && msgs[len(msgs)-2].ms == last.ms {
		t.Fatalf("two messages to %s at %d ms: advance the clock between codes", to, last.ms)
	}
	m := mailedCode.FindStringSubmatch(last.text)
	if m == nil {
		t.Fatalf("no code in the message to %s: %q", to, last.text)
	}
	return m[1]
}

// containsText reports whether raw holds text.
func containsText(raw []byte, text string) bool { return bytes.Contains(raw, []byte(text)) }

// codeRow returns the stored verification code typed as code.
func (s *stack) codeRow(t testing.TB, code string) db.Code {
	t.Helper()
	sum := sha256.Sum256([]byte(code))
	c, err := s.d.GetCodeByHash(s.ctx, hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// unverifiedAddress adds an unverified address to u in the store.
func (s *stack) unverifiedAddress(t testing.TB, u db.User, addr string) db.Email {
	t.Helper()
	e := db.Email{ID: s.id(), UserID: u.ID, Email: addr, CreatedMs: s.clock.Now().UnixMilli()}
	if err := s.d.AddEmail(s.ctx, e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEmails(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)
		annPath := "/users/" + ann.ID + "/emails"
		add := func(addr string) map[string]any {
			return map[string]any{"type": "emails", "email": addr, "currentPassword": testPassword}
		}
		listed := func(t *testing.T) []string {
			t.Helper()
			res := s.do(by(app, ann), "GET", "/users/current/emails", nil).expect(t, http.StatusOK)
			var out []string
			for _, it := range res.list() {
				out = append(out, it["email"].(string))
			}
			// In ID order, and IDs made in one millisecond are random:
			// compare as sets.
			slices.Sort(out)
			return out
		}

		var workID, sysintID string
		t.Run("the owner adds an address", func(t *testing.T) {
			res := s.do(by(app, ann), "POST", "/users/current/emails", add("  Ann.Work@Example.ORG ")).expect(t, http.StatusCreated)
			got := res.data()
			workID, _ = got["id"].(string)
			user, _ := got["user"].(map[string]any)
			ref, _ := user["data"].(map[string]any)
			verified, present := got["verifiedMs"]
			if got["type"] != "emails" || workID == "" || got["email"] != "Ann.Work@example.org" || !present || verified != nil ||
				got["createdMs"] != float64(startTime.UnixMilli()) || ref["type"] != "users" || ref["id"] != ann.ID {
				t.Fatalf("added = %s", res.Raw)
			}
			code := s.lastCode(t, "Ann.Work@example.org")
			if containsText(res.Raw, code) {
				t.Fatal("the answer holds the verification code")
			}
		})

		tests := []struct {
			name         string
			givenCaller  as
			givenPath    string
			whenBody     map[string]any
			expectStatus int
			expectCode   string
		}{
			{"another user's address", by(app, ann), "/users/current/emails", add("bob@example.com"), 409, "DUPLICATE-EMAIL"},
			{"not an address", by(app, ann), "/users/current/emails", add("ann"), 400, "USER_DATA_INVALID"},
			{"no address", by(app, ann), "/users/current/emails", map[string]any{"type": "emails"}, 400, "USER_DATA_INVALID"},
			{"verified given by the caller", by(app, ann), "/users/current/emails", map[string]any{"email": "ann3@example.com", "verifiedMs": 1, "currentPassword": testPassword}, 400, "USER_DATA_INVALID"},
			{"another user", by(app, bob), annPath, add("ann.bob@example.com"), 404, "NOT-FOUND"},
			{"sysadmin through an external client (not SYSINT)", by(app, admin), annPath, add("ann.admin@example.com"), 403, "FORBIDDEN"},
			{"employee through an internal client (not SYSINT)", by(internal, emp), annPath, add("ann.emp@example.com"), 403, "FORBIDDEN"},
		}
		for _, tt := range tests {
			t.Run("refused: "+tt.name, func(t *testing.T) {
				s.do(tt.givenCaller, "POST", tt.givenPath, tt.whenBody).expect(t, tt.expectStatus, tt.expectCode)
				if got := listed(t); !slices.Equal(got, []string{"Ann.Work@example.org", "ann@example.com"}) {
					t.Fatalf("addresses %v", got)
				}
			})
		}

		t.Run("SYSINT adds an address", func(t *testing.T) {
			res := s.do(by(internal, admin), "POST", annPath, add("ann.sysint@example.org")).expect(t, http.StatusCreated)
			sysintID, _ = res.data()["id"].(string)
			if got := listed(t); !slices.Equal(got, []string{"Ann.Work@example.org", "ann.sysint@example.org", "ann@example.com"}) {
				t.Fatalf("addresses %v", got)
			}
		})

		t.Run("who may list", func(t *testing.T) {
			s.do(by(internal, emp), "GET", annPath, nil).expect(t, http.StatusOK)
			s.do(by(app, bob), "GET", annPath, nil).expect(t, http.StatusNotFound)
		})

		bobEmail, err := d.ListEmails(s.ctx, bob.ID)
		if err != nil {
			t.Fatal(err)
		}
		deletes := []struct {
			name         string
			givenCaller  as
			whenMethod   string
			whenPath     func() string
			expectStatus int
			expectCode   string
			expectLeft   []string
		}{
			// Deleting is DELETE only (the original took POST). This needs
			// the router to answer 405 for a known path with another method.
			{name: "POST is not DELETE", givenCaller: by(app, ann), whenMethod: "POST", whenPath: func() string { return annPath + "/" + workID },
				expectStatus: 405, expectCode: "METHOD-NOT-ALLOWED", expectLeft: []string{"Ann.Work@example.org", "ann.sysint@example.org", "ann@example.com"}},
			{name: "another user", givenCaller: by(app, bob), whenMethod: "DELETE", whenPath: func() string { return annPath + "/" + workID },
				expectStatus: 404, expectLeft: []string{"Ann.Work@example.org", "ann.sysint@example.org", "ann@example.com"}},
			{name: "another user's address under one's own path", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: func() string { return "/users/current/emails/" + bobEmail[0].ID },
				expectStatus: 404, expectLeft: []string{"Ann.Work@example.org", "ann.sysint@example.org", "ann@example.com"}},
			{name: "the owner", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: func() string { return "/users/current/emails/" + workID },
				expectStatus: 200, expectLeft: []string{"ann.sysint@example.org", "ann@example.com"}},
			{name: "an address deleted already", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: func() string { return "/users/current/emails/" + workID },
				expectStatus: 404, expectLeft: []string{"ann.sysint@example.org", "ann@example.com"}},
			{name: "SYSINT", givenCaller: by(internal, admin), whenMethod: "DELETE", whenPath: func() string { return annPath + "/" + sysintID },
				expectStatus: 200, expectLeft: []string{"ann@example.com"}},
			{name: "the last address is kept", givenCaller: by(app, ann), whenMethod: "DELETE", whenPath: func() string { return annPath + "/" + firstAddressID(t, s, ann) },
				expectStatus: 409, expectCode: "LAST-EMAIL", expectLeft: []string{"ann@example.com"}},
		}
		for _, st := range deletes {
			t.Run("delete: "+st.name, func(t *testing.T) {
				res := s.do(st.givenCaller, st.whenMethod, st.whenPath(), nil).expect(t, st.expectStatus)
				if st.expectCode != "" && res.code() != st.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), st.expectCode, res.Raw)
				}
				if got := listed(t); !slices.Equal(got, st.expectLeft) {
					t.Fatalf("addresses %v, want %v", got, st.expectLeft)
				}
			})
		}
	})
}

// firstAddressID returns the ID of u's first address.
func firstAddressID(t testing.TB, s *stack, u db.User) string {
	t.Helper()
	es, err := s.d.ListEmails(s.ctx, u.ID)
	if err != nil || len(es) == 0 {
		t.Fatalf("addresses of %s: %v, %v", u.ID, es, err)
	}
	return es[0].ID
}

func TestEmailVerificationAccess(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, nil)
		admin := s.user("Admin", db.RoleSysadmin)
		emp := s.user("Emp", db.RoleEmployee)
		ann := s.user("Ann")
		bob := s.user("Bob")
		home := s.org("Home", admin)
		app := s.client(home)
		internal := s.client(home, db.ClientRoleInternal)

		tests := []struct {
			name         string
			givenCaller  as
			expectStatus int
		}{
			{"the owner", by(app, ann), 200},
			{"SYSINT", by(internal, admin), 200},
			{"another user", by(app, bob), 404},
			{"sysadmin through an external client (not SYSINT)", by(app, admin), 403},
			{"employee through an internal client (not SYSINT)", by(internal, emp), 403},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				addr := fmt.Sprintf("ann.%d@example.org", i)
				e := s.unverifiedAddress(t, ann, addr)
				path := "/users/" + ann.ID + "/emails/" + e.ID
				res := s.do(tt.givenCaller, "POST", path+"/generate-verification", nil).expect(t, tt.expectStatus)
				sent := s.mailTo(t, addr)
				if tt.expectStatus != 200 {
					if len(sent) != 0 {
						t.Fatalf("a refused caller had %d codes sent", len(sent))
					}
					s.do(tt.givenCaller, "POST", path+"/verify", map[string]any{"code": strings.Repeat("a", 26)}).expect(t, tt.expectStatus)
					return
				}
				if res.Body["t"] != "null" {
					t.Fatalf("generate-verification answered %s", res.Raw)
				}
				code := s.lastCode(t, addr)
				if sent[0].subject == "" {
					t.Fatal("the message has no subject")
				}
				verified := s.do(tt.givenCaller, "POST", path+"/verify", map[string]any{"code": code}).expect(t, http.StatusOK)
				if verified.data()["id"] != e.ID || verified.data()["verifiedMs"] != float64(s.clock.Now().UnixMilli()) {
					t.Fatalf("verify answered %s", verified.Raw)
				}
				stored, err := d.GetEmail(s.ctx, ann.ID, e.ID)
				if err != nil || stored.VerifiedMs == 0 {
					t.Fatalf("stored address %+v, %v: want verified", stored, err)
				}
			})
		}

		t.Run("a verified address", func(t *testing.T) {
			s.do(by(app, ann), "POST", "/users/current/emails/"+firstAddressID(t, s, ann)+"/generate-verification", nil).
				expect(t, http.StatusConflict, "ALREADY-VERIFIED")
		})
		t.Run("another user's address under one's own path", func(t *testing.T) {
			e := s.unverifiedAddress(t, bob, "bob.2@example.org")
			s.do(by(app, ann), "POST", "/users/current/emails/"+e.ID+"/generate-verification", nil).expect(t, http.StatusNotFound)
			s.do(by(app, ann), "POST", "/users/current/emails/"+e.ID+"/verify", map[string]any{"code": "x"}).expect(t, http.StatusNotFound)
			if n := len(s.mailTo(t, "bob.2@example.org")); n != 0 {
				t.Fatalf("%d codes sent", n)
			}
		})
	})
}

func TestEmailVerificationCodes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		// One user asks for many codes here: past the default mail limits.
		s := newStack(t, d, func(c *accounts.Config) { c.MailsPerUser = 100 })
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))

		tests := []struct {
			name string
			// givenCodes codes are generated, a second apart.
			givenCodes int
			// givenWrong wrong codes are tried first.
			givenWrong int
			// givenUsed: the right code was used once already.
			givenUsed bool
			// givenOtherCode: the code typed is one of another address.
			givenOtherCode bool
			givenAdvance   time.Duration
			whenTyped      func(codes []string) string
			expectStatus   int
			expectCode     string
			expectVerified bool
		}{
			{name: "the code", givenCodes: 1, whenTyped: newestCode, expectStatus: 200, expectVerified: true},
			{name: "the code as retyped", givenCodes: 1, whenTyped: func(c []string) string { return "  " + strings.ToUpper(newestCode(c)) + "\t" },
				expectStatus: 200, expectVerified: true},
			{name: "an older code no longer works", givenCodes: 2, whenTyped: func(c []string) string { return c[0] },
				expectStatus: 400, expectCode: "CODE-INVALID"},
			{name: "the newer code works", givenCodes: 2, whenTyped: newestCode, expectStatus: 200, expectVerified: true},
			{name: "four wrong codes leave it usable", givenCodes: 1, givenWrong: 4, whenTyped: newestCode, expectStatus: 200, expectVerified: true},
			{name: "five wrong codes kill it", givenCodes: 1, givenWrong: 5, whenTyped: newestCode, expectStatus: 400, expectCode: "CODE-INVALID"},
			{name: "a code works once", givenCodes: 1, givenUsed: true, whenTyped: newestCode, expectStatus: 400, expectCode: "CODE-INVALID", expectVerified: true},
			{name: "an expired code", givenCodes: 1, givenAdvance: accounts.DefaultVerificationTTL, whenTyped: newestCode, expectStatus: 400, expectCode: "CODE-EXPIRED"},
			{name: "just before it expires", givenCodes: 1, givenAdvance: accounts.DefaultVerificationTTL - time.Millisecond, whenTyped: newestCode,
				expectStatus: 200, expectVerified: true},
			{name: "another address's code", givenCodes: 1, givenOtherCode: true, expectStatus: 400, expectCode: "CODE-INVALID"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				addr := fmt.Sprintf("ann.%d@example.org", i)
				e := s.unverifiedAddress(t, ann, addr)
				path := "/users/current/emails/" + e.ID
				verify := func(code string) response {
					return s.do(by(app, ann), "POST", path+"/verify", map[string]any{"code": code})
				}
				var codes []string
				for range tt.givenCodes {
					s.clock.Advance(time.Second)
					s.do(by(app, ann), "POST", path+"/generate-verification", nil).expect(t, http.StatusOK)
					codes = append(codes, s.lastCode(t, addr))
				}
				if n := len(s.mailTo(t, addr)); n != tt.givenCodes {
					t.Fatalf("%d messages, want %d", n, tt.givenCodes)
				}
				for range tt.givenWrong {
					verify(strings.Repeat("b", 26)).expect(t, http.StatusBadRequest, "CODE-INVALID")
				}
				if tt.givenUsed {
					verify(newestCode(codes)).expect(t, http.StatusOK)
				}
				s.clock.Advance(tt.givenAdvance)
				typed := ""
				if tt.givenOtherCode {
					other := s.unverifiedAddress(t, ann, fmt.Sprintf("ann.other.%d@example.org", i))
					s.do(by(app, ann), "POST", "/users/current/emails/"+other.ID+"/generate-verification", nil).expect(t, http.StatusOK)
					typed = s.lastCode(t, other.Email)
				} else {
					typed = tt.whenTyped(codes)
				}
				res := verify(typed).expect(t, tt.expectStatus)
				if tt.expectCode != "" && res.code() != tt.expectCode {
					t.Fatalf("code %q, want %q: %s", res.code(), tt.expectCode, res.Raw)
				}
				stored, err := d.GetEmail(s.ctx, ann.ID, e.ID)
				if err != nil {
					t.Fatal(err)
				}
				if (stored.VerifiedMs != 0) != tt.expectVerified {
					t.Fatalf("verified at %d, want verified: %v", stored.VerifiedMs, tt.expectVerified)
				}
				if tt.givenWrong >= 5 {
					c := s.codeRow(t, newestCode(codes))
					if c.Attempts != 5 || c.InvalidatedMs == 0 || c.ConsumedMs != 0 {
						t.Fatalf("code after 5 wrong attempts: %+v", c)
					}
				}
				if tt.givenOtherCode {
					// The wrong code counted against this address's code, and
					// the other address's code is still good.
					if c := s.codeRow(t, newestCode(codes)); c.Attempts != 1 || c.InvalidatedMs != 0 {
						t.Fatalf("this address's code: %+v", c)
					}
					if c := s.codeRow(t, typed); c.Attempts != 0 || c.ConsumedMs != 0 {
						t.Fatalf("the other address's code: %+v", c)
					}
				}
			})
		}
	})
}

func newestCode(codes []string) string { return codes[len(codes)-1] }

// downMail is a notifier whose mail server refuses everything, quoting
// the recipient as servers do; it keeps the messages it was given.
type downMail struct {
	mu   sync.Mutex
	sent []notify.Message
}

func (n *downMail) Send(_ context.Context, m notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, m)
	return fmt.Errorf("%w: 452 <%s>: mailbox full", notify.ErrUnavailable, m.To)
}

func (n *downMail) codes() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.sent {
		if c := mailedCode.FindStringSubmatch(m.Text); c != nil {
			out = append(out, c[1])
		}
	}
	return out
}

func TestEmailNotifierDown(t *testing.T) {
	down := &downMail{}
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) { c.Notifier = down })
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	const addr = "zed@example.net"

	res := s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Zed", "email": addr}).expect(t, http.StatusCreated)
	u, e, err := s.d.GetUserByUnprovenEmail(s.ctx, addr)
	if err != nil || u.ID != res.data()["id"] {
		t.Fatalf("the registration was not kept when the mail failed: %v", err)
	}
	s.clock.Advance(time.Second)
	s.do(by(app, u), "POST", "/users/current/emails/"+e.ID+"/generate-verification", nil).expect(t, http.StatusServiceUnavailable, "SERVICE-UNAVAILABLE")
	s.clock.Advance(time.Second)
	// Adding an address needs a proof of the user: Zed sets a password.
	if err := s.d.SetPasswordHash(s.ctx, u.ID, testHash(), s.clock.Now().UnixMilli()); err != nil {
		t.Fatal(err)
	}
	s.do(by(app, u), "POST", "/users/current/emails", map[string]any{"email": "zed2@example.net", "currentPassword": testPassword}).expect(t, http.StatusCreated)

	codes := down.codes()
	if len(codes) != 3 {
		t.Fatalf("%d codes given to the notifier, want 3", len(codes))
	}
	logs := s.logs.String()
	if strings.Count(logs, "verification code not sent") != 3 {
		t.Fatalf("want three failures logged:\n%s", logs)
	}
	for _, secret := range append(codes, addr, "zed2@example.net") {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q:\n%s", secret, logs)
		}
	}
}
