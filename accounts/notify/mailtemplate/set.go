package mailtemplate

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"sort"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/authgw/authgw/accounts/notify"
)

// Name names one mail: the NAME of its templates/NAME.txt.tmpl and
// templates/NAME.html.tmpl.
type Name string

// The mails the accounts service sends.
const (
	LoginCode       Name = "login-code"       // a login code (View.Code, View.Lifetime)
	Verification    Name = "verification"     // an address verification code (View.Code, View.Lifetime; View.Link when set)
	Recovery        Name = "recovery"         // a password recovery code (View.Code, View.Lifetime; View.Link when set)
	AddressAdded    Name = "address-added"    // notice: View.Address was added (View.When)
	PasswordChanged Name = "password-changed" // notice (View.When)
	TOTPOn          Name = "totp-on"          // notice (View.When)
	TOTPOff         Name = "totp-off"         // notice (View.When)
	PasskeyAdded    Name = "passkey-added"    // notice (View.When)
	PasskeyRemoved  Name = "passkey-removed"  // notice (View.When)
	AccountDeleted  Name = "account-deleted"  // notice (View.When)
	// RecoveryCodeUsed: notice, a second-factor recovery code was used
	// to log in (View.When, View.Left).
	RecoveryCodeUsed Name = "recovery-code-used"
	// FactorsReset: notice, an administrator removed the user's second
	// factors and ended their sessions (View.When).
	FactorsReset Name = "factors-reset"
	// IdentityLinked: notice, an identity at an external sign-in
	// provider (View.Provider) was linked to the account (View.When).
	IdentityLinked Name = "identity-linked"
	// IdentityRemoved: notice, an identity at an external sign-in
	// provider (View.Provider) was unlinked from the account (View.When).
	IdentityRemoved Name = "identity-removed"
)

// DefaultProduct is the default Config.Product.
const DefaultProduct = "authgw"

// maxProductLen bounds Config.Product, in bytes.
const maxProductLen = 100

//go:embed templates/*.tmpl
var files embed.FS

// Config configures New.
type Config struct {
	// Product is the product name the mails name and are signed with,
	// one line of printable UTF-8 of at most 100 bytes. Optional.
	// Default DefaultProduct ("authgw").
	Product string
}

// View is what a template prints. Render fills Product and Subject; the
// caller fills what its mail uses (see the Name constants) and leaves
// the rest empty.
type View struct {
	Product  string        // the product name, from Config
	Subject  string        // the mail's subject, for the HTML title
	Name     string        // the user's display name; "" greets nobody by name
	Code     string        // a code to type in
	Lifetime time.Duration // how long Code lives, printed with words
	// Link is a page of the service that takes Code (a full http or
	// https URL, its query escaped by the caller); "" leaves the link
	// out and the mail gives the code alone.
	Link    string
	Address string // an email address the mail is about
	When    string // when the change happened, e.g. "2026-03-04 05:06 UTC"
	Left    int    // how many recovery codes the user has left
	// Provider is the name of an external sign-in provider the mail is
	// about (IdentityLinked, IdentityRemoved).
	Provider string
}

// mail is one parsed template pair.
type mail struct {
	text *texttemplate.Template // defines "subject" and "body"
	html *htmltemplate.Template // the layout, with "content"
}

// Set is the parsed mails. It is safe for concurrent use.
type Set struct {
	product string
	mails   map[Name]mail
}

// funcs are the functions templates may call: display only.
var funcs = map[string]any{"words": Words}

// New parses the embedded templates. It fails when cfg.Product is not
// one printable line of at most 100 bytes, or a template is broken or
// lacks its pair, "subject", "body" or "content" (a bug caught by the
// package's tests).
func New(cfg Config) (*Set, error) {
	product := cfg.Product
	if product == "" {
		product = DefaultProduct
	}
	if strings.TrimSpace(product) != product || len(product) > maxProductLen ||
		strings.IndexFunc(product, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return nil, errors.New("mailtemplate: the product name must be one line of printable characters, at most 100 bytes, without leading or trailing spaces")
	}
	return parse(files, product)
}

// parse parses every pair in fsys's templates/: NAME.txt.tmpl with the
// shared _*.txt.tmpl, NAME.html.tmpl with the shared _*.html.tmpl.
func parse(fsys fs.FS, product string) (*Set, error) {
	names, err := fs.Glob(fsys, "templates/*.txt.tmpl")
	if err != nil {
		return nil, err
	}
	s := &Set{product: product, mails: map[Name]mail{}}
	for _, path := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".txt.tmpl")
		if strings.HasPrefix(base, "_") {
			continue
		}
		text, err := texttemplate.New(base+".txt.tmpl").Option("missingkey=error").Funcs(funcs).
			ParseFS(fsys, "templates/_*.txt.tmpl", path)
		if err != nil {
			return nil, fmt.Errorf("mailtemplate: %s: %w", base, err)
		}
		html, err := htmltemplate.New("_layout.html.tmpl").Option("missingkey=error").Funcs(funcs).
			ParseFS(fsys, "templates/_*.html.tmpl", "templates/"+base+".html.tmpl")
		if err != nil {
			return nil, fmt.Errorf("mailtemplate: %s: %w", base, err)
		}
		for _, want := range []string{"subject", "body"} {
			if text.Lookup(want) == nil {
				return nil, fmt.Errorf("mailtemplate: %s.txt.tmpl does not define %q", base, want)
			}
		}
		if html.Lookup("content") == nil {
			return nil, fmt.Errorf("mailtemplate: %s.html.tmpl does not define \"content\"", base)
		}
		s.mails[Name(base)] = mail{text: text, html: html}
	}
	return s, nil
}

// Names returns the names of the mails in the set, sorted.
func (s *Set) Names() []Name {
	out := make([]Name, 0, len(s.mails))
	for n := range s.mails {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Product returns the product name the mails are signed with.
func (s *Set) Product() string { return s.product }

// Render writes the mail name to the address to from v (its Product and
// Subject are set by Render) as a notify.Message with a plain-text and an
// HTML body. It fails for an unknown name or when a template fails to
// execute; the error names the template, never v's values. The message
// is validated by the notifier that sends it.
func (s *Set) Render(name Name, to string, v View) (notify.Message, error) {
	m, ok := s.mails[name]
	if !ok {
		return notify.Message{}, fmt.Errorf("mailtemplate: no mail %q", name)
	}
	v.Product = s.product
	var subject, text, html bytes.Buffer
	if err := m.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return notify.Message{}, fmt.Errorf("mailtemplate: %s subject: %w", name, err)
	}
	v.Subject = strings.TrimSpace(subject.String())
	if err := m.text.ExecuteTemplate(&text, "body", v); err != nil {
		return notify.Message{}, fmt.Errorf("mailtemplate: %s body: %w", name, err)
	}
	if err := m.html.Execute(&html, v); err != nil {
		return notify.Message{}, fmt.Errorf("mailtemplate: %s HTML: %w", name, err)
	}
	return notify.Message{To: to, Subject: v.Subject, Text: text.String(), HTML: html.String()}, nil
}
