package accounts_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// verifyLink finds the verification page's link in a mail.
var verifyLink = regexp.MustCompile(regexp.QuoteMeta(testPublicURL+"/accounts/v1/ui/verify?") + `\S+`)

// verifyByLink posts what the verification page sends.
func (s *stack) verifyByLink(app appClient, emailID, code string) response {
	s.t.Helper()
	return s.raw(s.newRequest(app, "POST", "/email-verifications", map[string]any{"emailId": emailID, "code": code}))
}

// linkParams reads the email and code parameters of the link in the
// newest mail to addr, and checks the code line is still there.
func (s *stack) linkParams(t testing.TB, addr string) (emailID, code string) {
	t.Helper()
	msgs := s.mailTo(t, addr)
	if len(msgs) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	text := msgs[len(msgs)-1].text
	raw := verifyLink.FindString(text)
	if raw == "" {
		t.Fatalf("no verification link in the mail:\n%s", text)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if len(q) != 2 || !strings.HasPrefix(u.RawQuery, "email=") {
		t.Fatalf("link %s, want email=...&code=...", raw)
	}
	if line := s.lastCode(t, addr); line != q.Get("code") {
		t.Fatalf("the code line %q is not the link's code %q", line, q.Get("code"))
	}
	return q.Get("email"), q.Get("code")
}

// TestVerifyByLink: an address is verified from its mail's link without
// a logged-in user; a wrong code and an unknown address ID get the same
// answer; a used code is refused.
func TestVerifyByLink(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, withPublicURL(nil))
		ann := s.user("Ann")
		app := s.client(s.org("Home", ann))
		const addr = "ann.work@example.com"
		added := s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": addr, "currentPassword": testPassword}).expect(t, http.StatusCreated)
		emailID, code := s.linkParams(t, addr)
		if emailID != added.data()["id"] {
			t.Fatalf("link names address %s, want %v", emailID, added.data()["id"])
		}

		wrong := s.verifyByLink(app, emailID, strings.Repeat("a", 26)).expect(t, http.StatusBadRequest, accounts.CodeCodeInvalid)
		for name, got := range map[string]response{
			"unknown address ID":   s.verifyByLink(app, "0190f0f0-0000-7000-8000-000000000000", code),
			"malformed address ID": s.verifyByLink(app, "../../x", code),
			"another wrong code":   s.verifyByLink(app, emailID, "bbbbbbbbbbbbbbbbbbbbbbbbbb"),
		} {
			if got.Status != wrong.Status || string(got.Raw) != string(wrong.Raw) {
				t.Errorf("%s: %d %s, want the wrong code's %d %s", name, got.Status, got.Raw, wrong.Status, wrong.Raw)
			}
		}

		res := s.verifyByLink(app, emailID, code).expect(t, http.StatusOK)
		if d := res.data(); d["id"] != emailID || d["email"] != addr || d["verifiedMs"] == nil || d["user"] != nil {
			t.Fatalf("answer %s, want the verified address without its user", res.Raw)
		}
		e, err := d.GetEmail(s.ctx, ann.ID, emailID)
		if err != nil || e.VerifiedMs == 0 {
			t.Fatalf("address after: %+v, %v", e, err)
		}
		s.verifyByLink(app, emailID, code).expect(t, http.StatusBadRequest, accounts.CodeCodeInvalid)
		s.expectNoSecretsLogged(t, code, addr)
	})
}

// TestVerifyByLinkAttempts: wrong codes count against the address's
// pending code (dead at the 5th) as the self-only endpoint's do.
func TestVerifyByLinkAttempts(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), withPublicURL(nil))
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": "ann.work@example.com", "currentPassword": testPassword}).expect(t, http.StatusCreated)
	emailID, code := s.linkParams(t, "ann.work@example.com")
	for range 5 {
		s.verifyByLink(app, emailID, strings.Repeat("c", 26)).expect(t, http.StatusBadRequest, accounts.CodeCodeInvalid)
	}
	s.verifyByLink(app, emailID, code).expect(t, http.StatusBadRequest, accounts.CodeCodeInvalid)
}

// TestVerifyByLinkExpired: the code's lifetime holds.
func TestVerifyByLinkExpired(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), withPublicURL(nil))
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": "ann.work@example.com", "currentPassword": testPassword}).expect(t, http.StatusCreated)
	emailID, code := s.linkParams(t, "ann.work@example.com")
	s.clock.Advance(accounts.DefaultVerificationTTL)
	s.verifyByLink(app, emailID, code).expect(t, http.StatusBadRequest, accounts.CodeCodeExpired)
}

// TestVerifyByLinkRegulated: wrong codes are failures of the caller's
// IP: a source guessing across addresses is banned.
func TestVerifyByLinkRegulated(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), withPublicURL(nil))
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": "ann.work@example.com", "currentPassword": testPassword}).expect(t, http.StatusCreated)
	emailID, code := s.linkParams(t, "ann.work@example.com")
	banned := false
	for i := 0; i < 100 && !banned; i++ {
		// Other addresses' IDs: the pending code of Ann's is not touched.
		res := s.verifyByLink(app, s.id(), strings.Repeat("d", 26))
		switch {
		case res.Status == http.StatusTooManyRequests && res.code() == accounts.CodeRegulated:
			banned = true
		case res.Status != http.StatusBadRequest:
			t.Fatalf("wrong code %d answered %d %s", i+1, res.Status, res.Raw)
		}
	}
	if !banned {
		t.Fatal("100 wrong codes and no ban")
	}
	s.verifyByLink(app, emailID, code).expect(t, http.StatusTooManyRequests, accounts.CodeRegulated)
	s.clock.Advance(16 * time.Minute)
	s.verifyByLink(app, emailID, code).expect(t, http.StatusOK)
}

// TestVerificationMailWithoutPublicURL: without Config.PublicURL the
// verification mail has the code and no link.
func TestVerificationMailWithoutPublicURL(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))
	s.do(by(app, ann), "POST", "/users/current/emails", map[string]any{"email": "ann.work@example.com", "currentPassword": testPassword}).expect(t, http.StatusCreated)
	s.lastCode(t, "ann.work@example.com")
	if m := s.mailTo(t, "ann.work@example.com"); strings.Contains(m[len(m)-1].text, "/ui/verify") {
		t.Fatalf("a link without Config.PublicURL:\n%s", m[len(m)-1].text)
	}
}
