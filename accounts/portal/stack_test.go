package portal_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/password/passwordtest"
	"github.com/authgw/authgw/accounts/portal"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/accounts/ui"
	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/gateway/revocation"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// startTime is where every stack's clock starts: the real time, so
// that the test browser's cookie jar, which expires cookies by the real
// clock, keeps the token cookies the stack's clock makes.
var startTime = time.Now().UTC().Truncate(time.Minute)

// The password of every user the tests create, a cheap argon2id cost
// (the cost is not what they check) and its hash, computed once.
const testPassword = passwordtest.Password

var (
	fastPassword = passwordtest.Fast
	testHash     = passwordtest.Hash
)

// policyJSON grants signed-in users the accounts API, the pages and the
// demo API, as the shipped example policies do.
const policyJSON = `{
  "name": "everything",
  "appliesTo": {"userRoles": ["user", "employee", "sysadmin"]},
  "expires": 900,
  "bindClient": true,
  "scopes": [{"name": "all", "routes": ["/accounts/v1/**", "/demo/v1/**"], "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]}]
}`

// stack is the accounts service and the portal behind a real gateway on
// a real SQLite store and a real HTTP listener; mail goes to files.
type stack struct {
	t        testing.TB
	ctx      context.Context
	d        *db.DB
	clock    *minttest.Clock
	gw       *gateway.Gateway
	svc      *accounts.Service
	portal   *portal.Portal
	srv      *httptest.Server
	totp     *totp.TOTP
	mail     string // the file notifier's directory
	clientID string // the portal's client
	logs     *gatewaytest.LogBuffer
	seq      atomic.Int64
}

// stackOptions change the stack's configuration.
type stackOptions struct {
	accounts func(*accounts.Config)
	portal   func(*portal.Config)
	// rp configures the relying party of external providers on the
	// stack's store (oidcrp_test.go).
	rp func(*db.DB, *portal.Config)
}

// newStack builds a stack on a fresh SQLite database.
func newStack(t testing.TB, opts stackOptions) *stack {
	t.Helper()
	return newStackOn(t, dbtest.SQLite(t), opts)
}

// newStackOn builds a stack on the store d.
func newStackOn(t testing.TB, d *db.DB, opts stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, ctx: context.Background(), d: d, clock: minttest.NewClock(startTime), mail: t.TempDir(), logs: &gatewaytest.LogBuffer{}}
	ring := minttest.KeyRing(t, "k1", 7)
	minter, err := mint.New(mint.Config{Keys: ring, ServerID: "portal-test", Now: s.clock.Now})
	must(t, err)
	pol, err := policy.Parse("everything.json", []byte(policyJSON))
	must(t, err)
	set, err := policy.NewSet(pol)
	must(t, err)
	key, err := infosign.GenerateKey()
	must(t, err)
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw-test", Now: s.clock.Now})
	must(t, err)
	_, err = requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Audience: "demo", Now: s.clock.Now})
	must(t, err)
	notifier, err := notify.NewFile(notify.FileConfig{Dir: s.mail, Now: s.clock.Now})
	must(t, err)
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s.totp, err = totp.New(totp.Config{Issuer: "authgw-test", Key: bytes.Repeat([]byte{9}, 32), Now: s.clock.Now})
	must(t, err)
	cookies := verifier.CookieConfig{Insecure: true}
	cfg := accounts.Config{
		Store: d, Notifier: notifier, Minter: minter, Keys: ring,
		Policies: func() *policy.Set { return set },
		TOTP:     s.totp, Cookies: cookies, Password: fastPassword, Logger: logger, Now: s.clock.Now,
	}
	if opts.accounts != nil {
		opts.accounts(&cfg)
	}
	s.svc, err = accounts.New(cfg)
	must(t, err)
	t.Cleanup(func() { s.svc.Close() })

	owner := s.user("Portal Owner")
	org := db.Organization{ID: s.id(), Name: "portal", CreatedMs: s.clock.Now().UnixMilli()}
	must(t, d.CreateOrganization(s.ctx, org, db.Membership{ID: s.id(), UserID: owner.ID, Read: true, Edit: true, Manage: true, Delete: true}))
	c, err := d.CreateClient(s.ctx, db.Client{ID: s.id(), OrganizationID: org.ID, Name: "authgw portal",
		SecretHash: strings.Repeat("ab", 32), ReqsPerSec: db.UnlimitedReqsPerSec, CreatedMs: s.clock.Now().UnixMilli()})
	must(t, err)
	s.clientID = c.ID

	renderer, err := ui.NewRenderer(ui.RendererConfig{})
	must(t, err)
	csrf, err := ui.NewCSRF(ui.CSRFConfig{Key: bytes.Repeat([]byte{7}, 32), Insecure: true})
	must(t, err)
	pcfg := portal.Config{API: s.svc, ClientID: s.clientID, Renderer: renderer, CSRF: csrf, Cookies: cookies, Logger: logger, Now: s.clock.Now}
	if opts.portal != nil {
		opts.portal(&pcfg)
	}
	if opts.rp != nil {
		opts.rp(d, &pcfg)
	}
	s.portal, err = portal.New(pcfg)
	must(t, err)

	revoked := verifier.NewRevocationSet()
	poller, err := revocation.New(revocation.Config{Feed: gatewaystore.New(d), Set: revoked, Now: s.clock.Now, Logger: logger})
	must(t, err)
	_ = poller
	public := accounts.PublicScope()
	for m, routes := range portal.PublicScope() {
		public[m] = append(public[m], routes...)
	}
	s.gw, err = gateway.New(gateway.Config{
		Snapshots: gatewaystore.New(d), Revocations: revoked, Keys: ring, ServerID: "portal-test",
		Public: public, Signer: signer, Accounts: s.portal, Cookies: cookies, Logger: logger, Now: s.clock.Now,
		// The pages are unidentified requests, limited per IP (10 a
		// second by default, tested in package gateway); these tests
		// send them faster than a person and are not about that limit.
		UnidentifiedPerSecond: -1,
	})
	must(t, err)
	s.srv = httptest.NewServer(s.gw)
	t.Cleanup(s.srv.Close)
	must(t, s.gw.Refresh(s.ctx))
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// id returns a fresh UUIDv7.
func (s *stack) id() string {
	n := s.seq.Add(1)
	b := make([]byte, 16)
	for i := range 8 {
		b[i] = byte(n >> (8 * i))
	}
	return db.NewID(s.clock.Now().Add(time.Duration(n)*time.Microsecond), bytes.NewReader(b))
}

// user creates a user with role "user" and a verified address derived
// from name ("Ann Smith" → ann.smith@example.com), password testPassword.
func (s *stack) user(name string) db.User {
	s.t.Helper()
	u, err := s.d.CreateUser(s.ctx, db.NewUser{
		User:  db.User{ID: s.id(), Name: name, PasswordHash: testHash(), CreatedMs: s.clock.Now().UnixMilli()},
		Email: db.Email{ID: s.id(), Email: addressOf(name), VerifiedMs: s.clock.Now().UnixMilli()},
		Roles: []string{db.RoleUser},
	})
	must(s.t, err)
	return u
}

func addressOf(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.com"
}

// mailTo returns the text of the newest mail to addr (the file
// notifier's .eml files), waiting up to 5 s for it; "" if none came.
func (s *stack) mailTo(addr string) string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(s.mail, "*.eml"))
		slices.Sort(files)
		for i := len(files) - 1; i >= 0; i-- {
			b, err := os.ReadFile(files[i])
			if err == nil && bytes.Contains(b, []byte("To: "+addr)) {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is a visitor with a cookie jar that does not follow redirects
// (tests follow them with follow), as a browser sends pages: Accept
// text/html, forms urlencoded.
type browser struct {
	s      *stack
	client *http.Client
	last   *page
}

// page is a response of the stack to the browser.
type page struct {
	Status int
	Header http.Header
	Body   string
	URL    string
	doc    *html.Node
}

func (s *stack) browser() *browser {
	jar, err := cookiejar.New(nil)
	must(s.t, err)
	return &browser{s: s, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request as the browser.
func (b *browser) do(method, target string, form url.Values) *page {
	b.s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if strings.HasPrefix(target, "/") {
		target = b.s.srv.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	must(b.s.t, err)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.s.srv.URL)
	}
	res, err := b.client.Do(req)
	must(b.s.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	must(b.s.t, err)
	p := &page{Status: res.StatusCode, Header: res.Header, Body: string(raw), URL: target}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		p.doc, err = html.Parse(bytes.NewReader(raw))
		must(b.s.t, err)
	}
	b.last = p
	return p
}

// get opens target (a path on the stack or a full URL).
func (b *browser) get(target string) *page { return b.do(http.MethodGet, target, url.Values{}) }

// follow follows redirects from p (at most 10) and returns the page
// reached.
func (b *browser) follow(p *page) *page {
	b.s.t.Helper()
	for i := 0; i < 10 && p.Status >= 300 && p.Status < 400; i++ {
		loc, err := url.Parse(p.Header.Get("Location"))
		must(b.s.t, err)
		base, err := url.Parse(p.URL)
		must(b.s.t, err)
		p = b.get(base.ResolveReference(loc).String())
	}
	return p
}

// submit fills the form of p whose action is action with the hidden
// inputs it has (the CSRF token among them) and fields, and posts it.
func (b *browser) submit(p *page, action string, fields map[string]string) *page {
	b.s.t.Helper()
	f := p.form(action)
	if f == nil {
		b.s.t.Fatalf("no form with action %q on the page (status %d):\n%s", action, p.Status, p.Body)
	}
	for k, v := range fields {
		f.Set(k, v)
	}
	return b.do(http.MethodPost, action, f)
}

// form returns the values of the form with action on the page (hidden
// and prefilled inputs), nil when there is none.
func (p *page) form(action string) url.Values {
	var found url.Values
	var walk func(n *html.Node, in bool)
	walk = func(n *html.Node, in bool) {
		if n.Type == html.ElementNode && n.Data == "form" {
			in = attrOf(n, "action") == action
			if in && found == nil {
				found = url.Values{}
			}
		}
		if in && n.Type == html.ElementNode && n.Data == "input" && attrOf(n, "name") != "" {
			switch attrOf(n, "type") {
			case "checkbox", "radio":
				if hasAttr(n, "checked") {
					found.Add(attrOf(n, "name"), attrOf(n, "value"))
				}
			default:
				found.Add(attrOf(n, "name"), attrOf(n, "value"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, in)
		}
	}
	if p.doc != nil {
		walk(p.doc, false)
	}
	return found
}

// text returns the page's visible text, spaces collapsed.
func (p *page) text() string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if p.doc != nil {
		walk(p.doc)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func attrOf(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, name string) bool {
	for _, a := range n.Attr {
		if a.Key == name {
			return true
		}
	}
	return false
}

// codeIn returns the first match of re's first group in text, failing
// the test when there is none.
func (s *stack) codeIn(text string, re *regexp.Regexp) string {
	s.t.Helper()
	m := re.FindStringSubmatch(text)
	if m == nil {
		s.t.Fatalf("no %v in:\n%s", re, text)
	}
	return m[1]
}
