package accounts_test

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/password"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
)

// Passwords of the breached-password tests: the first is in the
// generated corpus, the second's range file cannot be read, the third
// is in neither.
const (
	breachedPassphrase   = "a breached passphrase 2019"
	unreadablePassphrase = "a passphrase nobody can look up"
	freshPassphrase      = "a fresh passphrase 2019"
)

// sha1Hex is the upper-case hex SHA-1 of pw.
func sha1Hex(pw string) string {
	sum := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// breachedCorpus writes a range-file directory (the Pwned Passwords
// layout: PREFIX.txt files of "SUFFIX:COUNT" lines) listing
// breachedPassphrase, with a directory where unreadablePassphrase's
// range file should be, so reading it fails; it returns the checker.
func breachedCorpus(t *testing.T) *password.RangeDir {
	t.Helper()
	dir := t.TempDir()
	h := sha1Hex(breachedPassphrase)
	lines := strings.Repeat("0", 35) + ":4\r\n" + h[5:] + ":1337\r\n"
	if err := os.WriteFile(filepath.Join(dir, h[:5]+".txt"), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, sha1Hex(unreadablePassphrase)[:5]+".txt"), 0o700); err != nil {
		t.Fatal(err)
	}
	rd, err := password.NewRangeDir(password.RangeDirConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// TestNewPasswordRules: registration and change-password refuse common
// passwords of the public list, passwords made of the user's name or
// address, the organization's name or the product's name, and, when a
// corpus is configured, breached passwords; a corpus that cannot be
// read lets the password through with a warning (fail-open).
func TestNewPasswordRules(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newStack(t, d, func(cfg *accounts.Config) { cfg.BreachedPasswords = breachedCorpus(t) })
		owner := s.user("Owner")
		home := s.org("Quuxfabrik Labs", owner)
		app := s.client(home)

		register := []struct {
			name         string
			givenName    string
			givenEmail   string
			givenPass    string
			expectStatus int
			expectText   string // in the obstruction's text
		}{
			{name: "common: michael1", givenPass: "michael1", expectStatus: 400, expectText: "most common"},
			{name: "common: charlie1", givenPass: "charlie1", expectStatus: 400, expectText: "most common"},
			{name: "common: mustang1", givenPass: "mustang1", expectStatus: 400, expectText: "most common"},
			{name: "season and year: winter2023", givenPass: "winter2023", expectStatus: 400, expectText: "season"},
			{name: "own name and digits", givenName: "Zebulon Quartermain", givenPass: "Zebulon1984!", expectStatus: 400, expectText: "user's name"},
			{name: "address local part and digits", givenEmail: "xanthippe.q@example.net", givenPass: "xanthippe.q.77", expectStatus: 400, expectText: "user's name"},
			{name: "the client's organization and digits", givenPass: "QuuxfabrikLabs2024", expectStatus: 400, expectText: "organization"},
			{name: "product name and digits", givenPass: "authgw-2024!", expectStatus: 400, expectText: "product"},
			{name: "breached", givenPass: breachedPassphrase, expectStatus: 400, expectText: "breached"},
			{name: "a passphrase with the name", givenName: "Zebulon Quartermain", givenPass: "zebulon drinks green tea", expectStatus: 201},
			{name: "not breached", givenPass: freshPassphrase, expectStatus: 201},
		}
		for i, tt := range register {
			t.Run("register/"+tt.name, func(t *testing.T) {
				name, email := tt.givenName, tt.givenEmail
				if name == "" {
					name = "Newcomer"
				}
				if email == "" {
					email = "newcomer" + string(rune('a'+i)) + "@example.org"
				}
				res := s.do(anonymous(app), "POST", "/users", map[string]any{"name": name, "email": email, "password": tt.givenPass}).
					expect(t, tt.expectStatus)
				if tt.expectStatus != 400 {
					return
				}
				expectWeak(t, res, "password", tt.expectText, tt.givenPass)
			})
		}

		t.Run("register/the corpus cannot be read: accepted, warned", func(t *testing.T) {
			s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Io", "email": "io@example.org", "password": unreadablePassphrase}).
				expect(t, http.StatusCreated)
			logs := s.logs.String()
			if !strings.Contains(logs, "breached-password check failed") {
				t.Fatalf("no warning logged:\n%s", logs)
			}
			if strings.Contains(logs, unreadablePassphrase) || strings.Contains(logs, sha1Hex(unreadablePassphrase)[:5]) {
				t.Fatalf("the log holds the password or its hash prefix:\n%s", logs)
			}
		})

		// Change-password: the user's own organizations count too.
		pat := s.user("Pat")
		work := s.org("Snorkelworks", owner)
		s.member(work, pat, "read")
		change := []struct {
			name       string
			givenPass  string
			expectText string
		}{
			{name: "the user's organization and digits", givenPass: "Snorkelworks#99", expectText: "organization"},
			{name: "own name and digits", givenPass: "pat.pat.1999!", expectText: "user's name"},
			{name: "breached", givenPass: breachedPassphrase, expectText: "breached"},
			{name: "common", givenPass: "Michael1", expectText: "most common"},
		}
		for _, tt := range change {
			t.Run("change/"+tt.name, func(t *testing.T) {
				res := s.do(by(app, pat), "POST", "/users/"+pat.ID+"/change-password",
					map[string]any{"currentPassword": testPassword, "newPassword": tt.givenPass}).expect(t, http.StatusBadRequest, "USER_DATA_INVALID")
				expectWeak(t, res, "newPassword", tt.expectText, tt.givenPass)
			})
		}
		t.Run("change/accepted", func(t *testing.T) {
			s.do(by(app, pat), "POST", "/users/"+pat.ID+"/change-password",
				map[string]any{"currentPassword": testPassword, "newPassword": freshPassphrase}).expect(t, http.StatusOK)
		})
	})
}

// TestBreachedCheckOffByDefault: without Config.BreachedPasswords a
// password of the corpus is accepted (the check is the operator's
// choice).
func TestBreachedCheckOffByDefault(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t), nil)
	app := s.client(s.org("Home", s.user("Ann")))
	s.do(anonymous(app), "POST", "/users", map[string]any{"name": "Kim", "email": "kim@example.org", "password": breachedPassphrase}).
		expect(t, http.StatusCreated)
}

// expectWeak fails the test unless res has a WEAK-PASSWORD obstruction
// on field whose text holds want and not the password.
func expectWeak(t *testing.T, res response, field, want, pw string) {
	t.Helper()
	if !slices.Contains(res.obstructionCodes(), accounts.ObstructionWeakPassword) || !slices.Equal(res.obstructionFields(), []string{field}) {
		t.Fatalf("obstructions %v on %v, want WEAK-PASSWORD on %s: %s", res.obstructionCodes(), res.obstructionFields(), field, res.Raw)
	}
	if !strings.Contains(string(res.Raw), want) {
		t.Fatalf("answer does not say %q: %s", want, res.Raw)
	}
	if strings.Contains(string(res.Raw), pw) {
		t.Fatalf("answer repeats the password: %s", res.Raw)
	}
}
