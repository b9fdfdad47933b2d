package accounts_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/notify"
	"github.com/authgw/authgw/accounts/password/passwordtest"
	"github.com/authgw/authgw/accounts/totp"
	"github.com/authgw/authgw/db"
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

// startTime is where every stack's clock starts.
var startTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const serverID = "accounts-test"

// The password of every user the tests create, a cheap argon2id cost
// (the cost is not what they check) and its hash, computed once.
const testPassword = passwordtest.Password

var (
	fastPassword = passwordtest.Fast
	testHash     = passwordtest.Hash
)

// allRoutes grants every method on every accounts route, so the tests
// exercise the service's own rules (the README's "Authorization"), not a policy's.
const allRoutes = `{
  "name": "everything",
  "appliesTo": {"userRoles": ["user", "employee", "sysadmin"]},
  "expires": 900,
  "scopes": [{"name": "all", "routes": ["/accounts/v1/**", "/demo/v1/**"], "methods": ["GET", "POST", "PUT", "PATCH", "DELETE"]}]
}`

// stack is the accounts service behind a real gateway on a real store and
// a real HTTP listener, with the file notifier writing to a temp dir.
type stack struct {
	t      testing.TB
	ctx    context.Context
	d      *db.DB
	clock  *minttest.Clock // shared by the gateway, the service and the minter
	gw     *gateway.Gateway
	svc    *accounts.Service
	srv    *httptest.Server
	minter *mint.Minter
	policy *policy.Policy
	totp   *totp.TOTP
	// info verifies the gateway's X-Auth-Info as a backend would.
	info *requestinfo.Verifier
	// revoked is the gateway's revocation set, fed by poller from the
	// store's feed (pollRevocations).
	revoked *verifier.RevocationSet
	poller  *revocation.Poller
	mail    string // the file notifier's directory
	// codesSeen counts the codes per address waitCode returned.
	codesSeen map[string]int
	seq       atomic.Int64
	logs      *gatewaytest.LogBuffer

	// announced counts the service's change announcements.
	announced atomic.Int64
}

// newStack builds the stack on the store d; mod may change the service's
// configuration.
func newStack(t testing.TB, d *db.DB, mod func(*accounts.Config)) *stack {
	t.Helper()
	s := &stack{t: t, ctx: context.Background(), d: d, clock: minttest.NewClock(startTime), mail: t.TempDir(), logs: &gatewaytest.LogBuffer{}, codesSeen: map[string]int{}}
	ring := minttest.KeyRing(t, "k1", 7)
	var err error
	if s.minter, err = mint.New(mint.Config{Keys: ring, ServerID: serverID, Now: s.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if s.policy, err = policy.Parse("everything.json", []byte(allRoutes)); err != nil {
		t.Fatal(err)
	}
	key, err := infosign.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: key, Issuer: "authgw-test", Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s.info, err = requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&key.PublicKey}, Audience: "demo", Now: s.clock.Now}); err != nil {
		t.Fatal(err)
	}
	notifier, err := notify.NewFile(notify.FileConfig{Dir: s.mail, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set, err := policy.NewSet(s.policy)
	if err != nil {
		t.Fatal(err)
	}
	totpKeys, err := totp.New(totp.Config{Issuer: "authgw-test", Key: bytes.Repeat([]byte{9}, 32), Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.totp = totpKeys
	cfg := accounts.Config{
		Store:    d,
		Notifier: notifier,
		Minter:   s.minter,
		Keys:     ring,
		Policies: func() *policy.Set { return set },
		TOTP:     totpKeys,
		Cookies:  verifier.CookieConfig{Insecure: true},
		Announce: func(context.Context) { s.announced.Add(1) },
		Password: fastPassword,
		Logger:   logger,
		Now:      s.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	if s.svc, err = accounts.New(cfg); err != nil {
		t.Fatal(err)
	}
	// Registered after the mail directory: cleanups run last-in first-out,
	// so background mail is done before the directory is removed.
	t.Cleanup(func() { s.svc.Close() })
	s.revoked = verifier.NewRevocationSet()
	if s.poller, err = revocation.New(revocation.Config{Feed: gatewaystore.New(d), Set: s.revoked, Now: s.clock.Now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	if s.gw, err = gateway.New(gateway.Config{
		Snapshots:   gatewaystore.New(d),
		Revocations: s.revoked,
		Keys:        ring,
		ServerID:    serverID,
		Public:      accounts.PublicScope(),
		Signer:      signer,
		Accounts:    s.svc,
		Cookies:     verifier.CookieConfig{Insecure: true},
		Logger:      logger,
		Now:         s.clock.Now,
	}); err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(s.gw)
	t.Cleanup(s.srv.Close)
	s.refresh()
	return s
}

// refresh reloads the gateway's snapshot (after clients change).
func (s *stack) refresh() {
	s.t.Helper()
	if err := s.gw.Refresh(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}

// id returns a fresh UUIDv7.
func (s *stack) id() string {
	n := s.seq.Add(1)
	return db.NewID(s.clock.Now().Add(time.Duration(n)*time.Microsecond), bytes.NewReader(binaryOf(n)))
}

func binaryOf(n int64) []byte {
	b := make([]byte, 16)
	for i := range 8 {
		b[i] = byte(n >> (8 * i))
	}
	return b
}

// user creates a user with the roles (default: user) and an email
// address derived from name, and returns it.
func (s *stack) user(name string, roles ...string) db.User {
	s.t.Helper()
	u, err := s.d.CreateUser(s.ctx, db.NewUser{
		User:  db.User{ID: s.id(), Name: name, PasswordHash: testHash(), CreatedMs: s.clock.Now().UnixMilli()},
		Email: db.Email{ID: s.id(), Email: strings.ToLower(name) + "@example.com", VerifiedMs: s.clock.Now().UnixMilli()},
		Roles: roles,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

// org creates an organization with owner as a member with every flag.
func (s *stack) org(name string, owner db.User) db.Organization {
	s.t.Helper()
	o := db.Organization{ID: s.id(), Name: name, CreatedMs: s.clock.Now().UnixMilli()}
	if err := s.d.CreateOrganization(s.ctx, o, db.Membership{ID: s.id(), UserID: owner.ID,
		Read: true, Edit: true, Manage: true, Delete: true}); err != nil {
		s.t.Fatal(err)
	}
	return o
}

// member makes u a member of org with the flags ("read", "edit",
// "manage", "delete") and returns the membership.
func (s *stack) member(org db.Organization, u db.User, flags ...string) db.Membership {
	s.t.Helper()
	m := db.Membership{ID: s.id(), OrganizationID: org.ID, UserID: u.ID, CreatedMs: s.clock.Now().UnixMilli()}
	for _, f := range flags {
		switch f {
		case "read":
			m.Read = true
		case "edit":
			m.Edit = true
		case "manage":
			m.Manage = true
		case "delete":
			m.Delete = true
		default:
			s.t.Fatalf("unknown flag %q", f)
		}
	}
	m, err := s.d.UpsertMembership(s.ctx, m)
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// appClient is a client with its secret.
type appClient struct {
	ID, Secret string
}

// client creates a client of org with the roles and an unlimited rate,
// and reloads the gateway's snapshot.
func (s *stack) client(org db.Organization, roles ...string) appClient {
	s.t.Helper()
	secret := fmt.Sprintf("secret-%d", s.seq.Add(1))
	sum := sha256.Sum256([]byte(secret))
	c, err := s.d.CreateClient(s.ctx, db.Client{ID: s.id(), OrganizationID: org.ID, Name: "app",
		SecretHash: hex.EncodeToString(sum[:]), ReqsPerSec: -1, CreatedMs: s.clock.Now().UnixMilli(), Roles: roles})
	if err != nil {
		s.t.Fatal(err)
	}
	s.refresh()
	return appClient{ID: c.ID, Secret: secret}
}

// as is who sends a request: a client (with or without its secret) and
// optionally a user, for whom a token is minted per request.
type as struct {
	client     appClient
	withSecret bool
	user       *db.User
	session    string
}

// by returns the caller "user u through client c, secret presented".
func by(c appClient, u db.User) as { return as{client: c, withSecret: true, user: &u} }

// anonymous returns the caller "client c, no user, secret presented".
func anonymous(c appClient) as { return as{client: c, withSecret: true} }

// response is an answer of the stack.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// do sends method path with body (marshalled as {"data": body} unless it
// is a string or []byte, sent as is) as the caller.
func (s *stack) do(who as, method, path string, body any) response {
	s.t.Helper()
	var rd io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, contentType = strings.NewReader(b), "application/json"
	case []byte:
		rd, contentType = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(map[string]any{"data": b})
		if err != nil {
			s.t.Fatal(err)
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, s.srv.URL+accounts.Prefix+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	s.authorize(req, who, method)
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.Body); err != nil {
			s.t.Fatalf("%s %s: answer is not a JSON object: %v: %q", method, path, err, raw)
		}
	}
	return out
}

// authorize sets the Authorization header for who: Basic client
// credentials, and a token minted for the user and this method.
func (s *stack) authorize(req *http.Request, who as, method string) {
	s.t.Helper()
	if who.client.ID == "" {
		return
	}
	cred := who.client.ID
	if who.withSecret {
		cred += ":" + who.client.Secret
	}
	value := "Basic " + base64.StdEncoding.EncodeToString([]byte(cred))
	if who.user != nil {
		sessionID := who.session
		if sessionID == "" {
			sessionID = s.id()
		}
		toks, err := s.minter.Mint([]*policy.Policy{s.policy}, mint.Subject{UserID: who.user.ID, SessionID: sessionID, ClientID: who.client.ID})
		if err != nil {
			s.t.Fatal(err)
		}
		value += ", Macaroon " + toks.ByMethod[method]
	}
	req.Header.Set("Authorization", value)
}

// code returns the error code of an error answer, "" for others.
func (r response) code() string {
	e, _ := r.Body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// data returns the data member of a single answer.
func (r response) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

// list returns the data member of a collection answer.
func (r response) list() []map[string]any {
	items, _ := r.Body["data"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		m, _ := it.(map[string]any)
		out = append(out, m)
	}
	return out
}

// obstructionFields returns the fields named by the obstructions of an
// error answer.
func (r response) obstructionFields() []string {
	e, _ := r.Body["error"].(map[string]any)
	obs, _ := e["obstructions"].([]any)
	var fields []string
	for _, o := range obs {
		m, _ := o.(map[string]any)
		p, _ := m["params"].(map[string]any)
		f, _ := p["field"].(string)
		fields = append(fields, f)
	}
	return fields
}

// expect fails the test unless the answer has the status (and the error
// code, when one is given).
func (r response) expect(t testing.TB, status int, code ...string) response {
	t.Helper()
	if r.Status != status || (len(code) > 0 && r.code() != code[0]) {
		t.Fatalf("answer %d %q, want %d %v: %s", r.Status, r.code(), status, code, r.Raw)
	}
	return r
}

// doTyped sends a raw body with the given Content-Type ("" for
// application/json).
func (s *stack) doTyped(who as, method, path, body, contentType string) response {
	s.t.Helper()
	if contentType == "" {
		return s.do(who, method, path, body)
	}
	req, err := http.NewRequest(method, s.srv.URL+accounts.Prefix+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	s.authorize(req, who, method)
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// pollRevocations copies the store's revocation feed into the gateway's
// set, as the background poller of authgw serve does.
func (s *stack) pollRevocations() {
	s.t.Helper()
	if err := s.poller.Poll(s.ctx); err != nil {
		s.t.Fatal(err)
	}
}
