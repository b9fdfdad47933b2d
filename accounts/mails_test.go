package accounts_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify/notifytest"
	"github.com/authgw/authgw/db/dbtest"
)

// TestMails_templates: the service's mails are multipart, name the
// configured product, give a code's lifetime in words, keep the code on
// the line programs read, and the log holds neither code nor address.
func TestMails_templates(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), func(c *accounts.Config) {
		c.ProductName = "Example Cloud"
		c.LoginCodeTTL = 90 * time.Minute
	})
	ann := s.user("Ann")
	app := s.client(s.org("Home", ann))

	s.step(app, "email", map[string]any{"email": "ann@example.com", "state": s.newState()}).expect(t, http.StatusOK)
	code := s.waitCode(t, "ann@example.com")

	files, err := filepath.Glob(filepath.Join(s.mail, "*.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("mail files %q (%v), want one", files, err)
	}
	m := notifytest.ReadMail(t, files[0])
	for _, want := range []string{"Your login code is: " + code + "\r\n", "It expires in 1 hour and 30 minutes.", "Example Cloud"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("plain part lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{"<strong>" + code + "</strong>", "1 hour and 30 minutes", "Example Cloud"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.Text+m.HTML, "1h30m") {
		t.Error("the lifetime is written as a Go duration")
	}
	if logs := s.logs.String(); strings.Contains(logs, code) || strings.Contains(logs, "ann@example.com") {
		t.Errorf("the log holds the code or the address:\n%s", logs)
	}
}
