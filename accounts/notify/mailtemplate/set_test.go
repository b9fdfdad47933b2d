package mailtemplate_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/notify/mailtemplate"
	"github.com/authgw/authgw/accounts/notify/notifytest"
)

const testCode = "abcdefghijklmnopqrstuvwxyz"

// allNames is every mail the accounts service sends.
var allNames = []mailtemplate.Name{
	mailtemplate.AccountDeleted, mailtemplate.AddressAdded, mailtemplate.FactorsReset, mailtemplate.IdentityLinked, mailtemplate.IdentityRemoved, mailtemplate.LoginCode,
	mailtemplate.PasskeyAdded, mailtemplate.PasskeyRemoved,
	mailtemplate.PasswordChanged, mailtemplate.Recovery, mailtemplate.RecoveryCodeUsed, mailtemplate.TOTPOff, mailtemplate.TOTPOn, mailtemplate.Verification,
}

// testLink is a link of a mail, with a query html/template escapes.
const testLink = "https://gw.example.com/accounts/v1/ui/verify?email=0199&code=" + testCode

func newSet(t *testing.T, cfg mailtemplate.Config) *mailtemplate.Set {
	t.Helper()
	s, err := mailtemplate.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// sendAndRead sends m through a file notifier and reads it back.
func sendAndRead(t *testing.T, m notify.Message) notifytest.Mail {
	t.Helper()
	dir := t.TempDir()
	n, err := notify.NewFile(notify.FileConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil || len(files) != 1 {
		t.Fatalf("files %q (%v), want one", files, err)
	}
	return notifytest.ReadMail(t, files[0])
}

func TestNew_names(t *testing.T) {
	if got := newSet(t, mailtemplate.Config{}).Names(); !slices.Equal(got, allNames) {
		t.Errorf("Names() = %q, want %q", got, allNames)
	}
}

// TestRender renders every mail with the product name set and checks
// what people and programs read in it.
func TestRender(t *testing.T) {
	tests := []struct {
		name         string
		givenName    mailtemplate.Name
		givenView    mailtemplate.View
		expectSubj   string
		expectInText []string // lines or phrases of the plain part
		expectInHTML []string
	}{
		{name: "login code: the code line programs grep", givenName: mailtemplate.LoginCode,
			givenView:    mailtemplate.View{Code: testCode, Lifetime: 10 * time.Minute},
			expectSubj:   "Your login code",
			expectInText: []string{"\nYour login code is: " + testCode + "\n", "expires in 10 minutes.", "log in to Example Cloud"},
			expectInHTML: []string{"<strong>" + testCode + "</strong>", "expires in 10 minutes.", "Example Cloud"}},
		{name: "verification: the code alone on its line", givenName: mailtemplate.Verification,
			givenView:    mailtemplate.View{Code: testCode, Lifetime: 90 * time.Minute},
			expectSubj:   "Verify your email address",
			expectInText: []string{"\n    " + testCode + "\n", "expires in 1 hour and 30 minutes and works once"},
			expectInHTML: []string{"<strong>" + testCode + "</strong>", "expires in 1 hour and 30 minutes"}},
		{name: "verification with a link: the link on its line, the code still alone on its own", givenName: mailtemplate.Verification,
			givenView:    mailtemplate.View{Code: testCode, Lifetime: 20 * time.Minute, Link: testLink},
			expectSubj:   "Verify your email address",
			expectInText: []string{"\n" + testLink + "\n", "\n    " + testCode + "\n", "expires in 20 minutes and works once"},
			expectInHTML: []string{`<a href="https://gw.example.com/accounts/v1/ui/verify?email=0199&amp;code=` + testCode + `"`, "<strong>" + testCode + "</strong>"}},
		{name: "recovery with a link", givenName: mailtemplate.Recovery,
			givenView:    mailtemplate.View{Code: testCode, Lifetime: 20 * time.Minute, Link: testLink},
			expectSubj:   "Reset your password",
			expectInText: []string{"reset the password of your Example Cloud account", "\n" + testLink + "\n", "\n    " + testCode + "\n", "expires in 20 minutes and works once", "signs you out everywhere"},
			expectInHTML: []string{`<a href="https://gw.example.com/accounts/v1/ui/verify?email=0199&amp;code=` + testCode + `"`, "<strong>" + testCode + "</strong>", "expires in 20 minutes"}},
		{name: "recovery without a link: the code alone", givenName: mailtemplate.Recovery,
			givenView:    mailtemplate.View{Code: testCode, Lifetime: time.Hour},
			expectSubj:   "Reset your password",
			expectInText: []string{"enter this code on the password reset page:\n\n    " + testCode + "\n", "expires in 1 hour and works once"},
			expectInHTML: []string{"<strong>" + testCode + "</strong>"}},
		{name: "address added names the address", givenName: mailtemplate.AddressAdded,
			givenView:    mailtemplate.View{Address: "new@example.com", When: "2026-03-04 05:06 UTC"},
			expectSubj:   "An email address was added to your account",
			expectInText: []string{"The address new@example.com was added to your Example Cloud account.", "When: 2026-03-04 05:06 UTC.", "change your password"},
			expectInHTML: []string{"The address new@example.com was added", "When: 2026-03-04 05:06 UTC."}},
		{name: "password changed", givenName: mailtemplate.PasswordChanged, givenView: mailtemplate.View{When: "w"},
			expectSubj: "Your password was changed", expectInText: []string{"password of your Example Cloud account was changed", "When: w."}},
		{name: "totp on", givenName: mailtemplate.TOTPOn, givenView: mailtemplate.View{When: "w"},
			expectSubj: "Two-factor authentication was turned on", expectInText: []string{"(TOTP) was turned on"}},
		{name: "totp off", givenName: mailtemplate.TOTPOff, givenView: mailtemplate.View{When: "w"},
			expectSubj: "Two-factor authentication was turned off", expectInText: []string{"(TOTP) was turned off"}},
		{name: "identity linked", givenName: mailtemplate.IdentityLinked, givenView: mailtemplate.View{When: "w", Provider: "Example SSO"},
			expectSubj: "A sign-in provider was linked to your account", expectInText: []string{"Your Example SSO identity was linked to your Example Cloud account", "When: w."}},
		{name: "identity removed", givenName: mailtemplate.IdentityRemoved, givenView: mailtemplate.View{When: "w", Provider: "Example SSO"},
			expectSubj: "A sign-in provider was removed from your account", expectInText: []string{"Your Example SSO identity no longer signs in to your Example Cloud account."}},
		{name: "passkey added", givenName: mailtemplate.PasskeyAdded, givenView: mailtemplate.View{When: "w"},
			expectSubj: "A passkey was added to your account", expectInText: []string{"A passkey was added to your Example Cloud account.", "When: w."}},
		{name: "passkey removed", givenName: mailtemplate.PasskeyRemoved, givenView: mailtemplate.View{When: "w"},
			expectSubj: "A passkey was removed from your account", expectInText: []string{"A passkey was removed from your Example Cloud account."}},
		{name: "account deleted", givenName: mailtemplate.AccountDeleted, givenView: mailtemplate.View{When: "w"},
			expectSubj: "Your account was deleted", expectInText: []string{"Your Example Cloud account was deleted."}},
		{name: "recovery code used: how many are left", givenName: mailtemplate.RecoveryCodeUsed, givenView: mailtemplate.View{When: "w", Left: 7},
			expectSubj: "A recovery code was used to log in", expectInText: []string{"You have 7 recovery codes left.", "When: w."},
			expectInHTML: []string{"<strong>7</strong> recovery codes left"}},
		{name: "factors reset", givenName: mailtemplate.FactorsReset, givenView: mailtemplate.View{When: "w"},
			expectSubj: "Your second factors were removed by an administrator", expectInText: []string{"An administrator removed the second factors", "When: w."}},
	}
	s := newSet(t, mailtemplate.Config{Product: "Example Cloud"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := s.Render(tt.givenName, "ann@example.com", tt.givenView)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}

			if m.To != "ann@example.com" || m.Subject != tt.expectSubj {
				t.Errorf("To, Subject = %q, %q; want ann@example.com, %q", m.To, m.Subject, tt.expectSubj)
			}
			for _, want := range tt.expectInText {
				if !strings.Contains("\n"+m.Text, want) {
					t.Errorf("plain part lacks %q:\n%s", want, m.Text)
				}
			}
			for _, want := range append(tt.expectInHTML, "<title>"+tt.expectSubj+"</title>", ">Example Cloud</p>") {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
				}
			}
			if !strings.HasSuffix(m.Text, "\nExample Cloud\n") {
				t.Errorf("plain part not signed with the product name:\n%s", m.Text)
			}
			if regexp.MustCompile(`\d+[hms]\d`).MatchString(m.Text + m.HTML) {
				t.Errorf("a Go duration in the mail:\n%s\n%s", m.Text, m.HTML)
			}
			if strings.Contains(m.HTML, "login code is: ") {
				t.Errorf("the HTML part repeats the line README commands grep for")
			}
			got := sendAndRead(t, m) // the notifier takes it as it is
			if got.Text != strings.ReplaceAll(m.Text, "\n", "\r\n") || got.HTML == "" {
				t.Errorf("sent plain part %q, want %q; HTML %d bytes", got.Text, m.Text, len(got.HTML))
			}
		})
	}
}

// TestRender_defaultProduct: without a product name the mails say
// authgw.
func TestRender_defaultProduct(t *testing.T) {
	m, err := newSet(t, mailtemplate.Config{}).Render(mailtemplate.LoginCode, "ann@example.com", mailtemplate.View{Code: testCode, Lifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "log in to authgw") || !strings.Contains(m.Text, "expires in 1 minute.") || !strings.Contains(m.HTML, ">authgw</p>") {
		t.Errorf("mail without the default product name or lifetime:\n%s\n%s", m.Text, m.HTML)
	}
}

// TestRender_hostileValues: a user-controlled value (a display name, an
// address's local part, the product name) is escaped in the HTML part,
// and no value adds a header or a part to the message sent.
func TestRender_hostileValues(t *testing.T) {
	hostileName := "<script>alert(1)</script>\r\nBcc: x@y.z\r\n\r\n--=_000000000000000000000000\r\nContent-Type: text/html\r\n\r\n<b>"
	s := newSet(t, mailtemplate.Config{Product: `Acme <img src=x onerror="alert(1)">`})
	for _, name := range allNames {
		t.Run(string(name), func(t *testing.T) {
			m, err := s.Render(name, "ann@example.com", mailtemplate.View{
				Name: hostileName, Code: testCode, Lifetime: time.Minute, Address: "a&b'c{x}@example.com", When: "w",
			})
			if err != nil {
				t.Fatal(err)
			}

			for _, bad := range []string{"<script", "<img", "<b>", `onerror="`, "a&b'c"} {
				if strings.Contains(m.HTML, bad) {
					t.Errorf("HTML part holds %q unescaped:\n%s", bad, m.HTML)
				}
			}
			if !strings.Contains(m.HTML, "Hello &lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Errorf("HTML part lacks the escaped name:\n%s", m.HTML)
			}
			if name == mailtemplate.AddressAdded && !strings.Contains(m.HTML, "a&amp;b&#39;c{x}@example.com") {
				t.Errorf("HTML part lacks the escaped address:\n%s", m.HTML)
			}
			got := sendAndRead(t, m)
			if len(got.Header["Bcc"]) != 0 || len(got.Header) != 7 {
				t.Errorf("headers = %v, want the notifier's 7 and no Bcc", got.Header)
			}
			if !strings.Contains(got.Text, "Hello <script>alert(1)</script>\r\nBcc: x@y.z\r\n") {
				t.Errorf("plain part does not carry the name as text:\n%q", got.Text)
			}
		})
	}
}

func TestNew_product(t *testing.T) {
	tests := []struct {
		name         string
		givenProduct string
		expectErr    bool
	}{
		{name: "default", givenProduct: ""},
		{name: "non-ASCII", givenProduct: "Société Générale Login ✓"},
		{name: "line break", givenProduct: "Acme\r\nBcc: x@y.z", expectErr: true},
		{name: "tab", givenProduct: "Acme\tLogin", expectErr: true},
		{name: "leading space", givenProduct: " Acme", expectErr: true},
		{name: "over 100 bytes", givenProduct: strings.Repeat("a", 101), expectErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mailtemplate.New(mailtemplate.Config{Product: tt.givenProduct})
			if (err != nil) != tt.expectErr {
				t.Errorf("New error = %v, want error %v", err, tt.expectErr)
			}
		})
	}
}

// TestParse_broken: a pair that is incomplete or does not parse is an
// error at start-up, naming the mail.
func TestParse_broken(t *testing.T) {
	layout, err := os.ReadFile("templates/_layout.html.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	good := fstest.MapFS{
		"templates/_layout.html.tmpl": {Data: layout},
		"templates/_shared.txt.tmpl":  {Data: []byte(`{{define "shared"}}{{end}}`)},
		"templates/x.txt.tmpl":        {Data: []byte(`{{define "subject"}}S{{end}}{{define "body"}}B{{end}}`)},
		"templates/x.html.tmpl":       {Data: []byte(`{{define "content"}}<p>B</p>{{end}}`)},
	}
	tests := []struct {
		name      string
		givenEdit func(fstest.MapFS)
		expectErr string
	}{
		{name: "complete pair", givenEdit: func(fstest.MapFS) {}},
		{name: "HTML file missing", givenEdit: func(f fstest.MapFS) { delete(f, "templates/x.html.tmpl") }, expectErr: "x"},
		{name: "no subject", givenEdit: func(f fstest.MapFS) {
			f["templates/x.txt.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "body"}}B{{end}}`)}
		}, expectErr: `"subject"`},
		{name: "no content", givenEdit: func(f fstest.MapFS) { f["templates/x.html.tmpl"] = &fstest.MapFile{Data: []byte(`<p>B</p>`)} }, expectErr: `"content"`},
		{name: "syntax error", givenEdit: func(f fstest.MapFS) {
			f["templates/x.txt.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}{{.Code{{end}}`)}
		}, expectErr: "x"},
		{name: "unknown function", givenEdit: func(f fstest.MapFS) {
			f["templates/x.txt.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}{{shout .Code}}{{end}}`)}
		}, expectErr: "shout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range good {
				fsys[k] = v
			}
			tt.givenEdit(fsys)

			_, err := mailtemplate.Parse(fsys, "authgw")

			if (err != nil) != (tt.expectErr != "") || err != nil && !strings.Contains(err.Error(), tt.expectErr) {
				t.Errorf("Parse error = %v, want one naming %q", err, tt.expectErr)
			}
		})
	}
}

func TestRender_unknownMail(t *testing.T) {
	if _, err := newSet(t, mailtemplate.Config{}).Render("no-such-mail", "ann@example.com", mailtemplate.View{}); err == nil {
		t.Error("Render of a mail that has no templates succeeded")
	}
}

// TestRender_hostileLink: a link is only ever an http or https URL in
// the HTML part (html/template refuses other schemes), and its quotes
// and markup are escaped.
func TestRender_hostileLink(t *testing.T) {
	s := newSet(t, mailtemplate.Config{})
	for _, name := range []mailtemplate.Name{mailtemplate.Recovery, mailtemplate.Verification} {
		for _, link := range []string{`javascript:alert(1)`, `https://x.example/?a="><script>alert(1)</script>`} {
			t.Run(string(name)+" "+link, func(t *testing.T) {
				m, err := s.Render(name, "ann@example.com", mailtemplate.View{Code: testCode, Lifetime: time.Minute, Link: link})
				if err != nil {
					t.Fatal(err)
				}
				for _, bad := range []string{`href="javascript:`, "<script", `"><script`} {
					if strings.Contains(m.HTML, bad) {
						t.Errorf("HTML part holds %q:\n%s", bad, m.HTML)
					}
				}
			})
		}
	}
}
