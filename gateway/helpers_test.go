package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/db/dbtest"
	"github.com/authgw/authgw/db/gatewaystore"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/minttest"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// fixedNow is the clock of every test.
var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

const serverID = "test-gw"

// signingKey is made once per test binary.
var signingKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := infosign.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

// demoPolicy grants GET and POST on the demo API's v1 and GET on v9 (a
// version never registered, for the 404 cases).
const demoPolicy = `{
  "name": "demo",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 900,
  "scopes": [
    {"name": "demo", "routes": ["/demo/v1/**", "/demo/v1", "/demo/v9/**", "/demo/v3/**", "/ghost/v1/**", "/other/v1/**", "/open/v1/**"], "methods": ["GET", "POST", "PUT"]}
  ]
}`

// countingSource is the only door to the store the gateway gets: it
// counts LoadSnapshot calls.
type countingSource struct {
	d     gateway.SnapshotSource
	loads atomic.Int64
}

func (c *countingSource) LoadSnapshot(ctx context.Context, nowMs int64) (gateway.Snapshot, error) {
	c.loads.Add(1)
	return c.d.LoadSnapshot(ctx, nowMs)
}

// env is a gateway on a real SQLite store with a real HTTP listener.
type env struct {
	t       testing.TB
	ctx     context.Context
	d       *db.DB
	src     *countingSource
	gw      *gateway.Gateway
	srv     *httptest.Server
	ring    *mint.KeyRing
	revoked *verifier.RevocationSet
	orgID   string
	seq     int
	logs    *gatewaytest.LogBuffer
}

// newEnv builds the store, an organization, and a gateway (configured by
// mod) serving on an httptest server. The snapshot is not loaded yet.
func newEnv(t testing.TB, mod func(*gateway.Config)) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), d: dbtest.SQLite(t), revoked: verifier.NewRevocationSet(), logs: &gatewaytest.LogBuffer{}}
	e.src = &countingSource{d: gatewaystore.New(e.d)}
	e.ring = minttest.KeyRing(t, "k1", 1)
	userID, orgID := e.id(), e.id()
	if _, err := e.d.CreateUser(e.ctx, db.NewUser{
		User:  db.User{ID: userID, Name: "Ann", CreatedMs: fixedNow.UnixMilli()},
		Email: db.Email{ID: e.id(), Email: "ann@example.com"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.d.CreateOrganization(e.ctx, db.Organization{ID: orgID, Name: "Org", CreatedMs: fixedNow.UnixMilli()},
		db.Membership{ID: e.id(), UserID: userID}); err != nil {
		t.Fatal(err)
	}
	e.orgID = orgID
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "authgw-test", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		Snapshots:   e.src,
		Keys:        e.ring,
		ServerID:    serverID,
		Revocations: e.revoked,
		Signer:      signer,
		Cookies:     verifier.CookieConfig{Insecure: true},
		Public:      map[string][]string{"GET": {"/open/v1/health"}},
		Logger:      e.logs.Logger(),
		Now:         clock,
	}
	if mod != nil {
		mod(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.gw = gw
	e.srv = httptest.NewServer(gw)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) logText() string {
	return e.logs.String()
}

// id returns a fresh store ID.
func (e *env) id() string {
	e.seq++
	return db.NewID(fixedNow.Add(time.Duration(e.seq)*time.Millisecond), bytes.NewReader(bytes.Repeat([]byte{byte(e.seq)}, 8)))
}

// sha256Hex is how secrets are stored.
func sha256Hex(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

// client stores a client whose secret hash is hash and returns its ID.
func (e *env) client(hash string, reqsPerSec int, restrictions ...db.Restriction) string {
	e.t.Helper()
	c, err := e.d.CreateClient(e.ctx, db.Client{ID: e.id(), OrganizationID: e.orgID, Name: "app", SecretHash: hash,
		ReqsPerSec: reqsPerSec, CreatedMs: fixedNow.UnixMilli()})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range restrictions {
		r.ID, r.ClientID, r.CreatedMs = e.id(), c.ID, fixedNow.UnixMilli()
		if err := e.d.AddRestriction(e.ctx, r); err != nil {
			e.t.Fatal(err)
		}
	}
	return c.ID
}

// api registers (name, version) at url.
func (e *env) api(name string, version int, url string, allowUnidentified, active bool) {
	e.t.Helper()
	if err := e.d.CreateAPI(e.ctx, db.API{Name: name, Version: version, URL: url, AllowUnidentified: allowUnidentified,
		Active: active, CreatedMs: fixedNow.UnixMilli()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) refresh() {
	e.t.Helper()
	if err := e.gw.Refresh(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// tokens mints the demo policy for a user and session at mintedAt.
func (e *env) tokens(sessionID string, mintedAt time.Time) mint.Tokens {
	e.t.Helper()
	m, err := mint.New(mint.Config{Keys: e.ring, ServerID: serverID, Now: func() time.Time { return mintedAt }})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := policy.Parse("demo.json", []byte(demoPolicy))
	if err != nil {
		e.t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{p}, mint.Subject{UserID: "user-1", SessionID: sessionID, Roles: []string{"user", "employee"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return toks
}

// basic is a Basic credential value (without the scheme).
func basic(id, secret string) string {
	if secret == "" {
		return base64.StdEncoding.EncodeToString([]byte(id))
	}
	return base64.StdEncoding.EncodeToString([]byte(id + ":" + secret))
}

// authz is an Authorization header with a Basic and a Macaroon credential.
func authz(id, secret, token string) string {
	parts := []string{}
	if id != "" {
		parts = append(parts, "Basic "+basic(id, secret))
	}
	if token != "" {
		parts = append(parts, "Macaroon "+token)
	}
	return strings.Join(parts, ", ")
}

// errorBody is the error envelope.
type errorBody struct {
	T     string `json:"t"`
	Error struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
		Detail string `json:"detail"`
	} `json:"error"`
}

// send makes a request to the gateway and returns the response with its
// body read.
func (e *env) send(method, path string, header http.Header, body io.Reader) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if h := header.Get("Host"); h != "" {
		req.Host = h
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, b
}

// decodeError reads an error envelope, failing the test for another body.
func decodeError(t *testing.T, b []byte) errorBody {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil || eb.T != "error" {
		t.Fatalf("not an error envelope: %q (%v)", b, err)
	}
	return eb
}

// echoed is what the echo backend reports about the request it got.
type echoed struct {
	RequestURI string              `json:"requestURI"`
	Header     map[string][]string `json:"header"`
	Host       string              `json:"host"`
	Claims     *requestinfo.Claims `json:"claims"`
	InfoError  string              `json:"infoError"`
}

// echoBackend answers every request with what it saw, having verified
// X-Auth-Info for the audience.
func echoBackend(t *testing.T, audience string) *httptest.Server {
	t.Helper()
	v, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{&signingKey().PublicKey}, Audience: audience, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := echoed{RequestURI: r.RequestURI, Header: r.Header, Host: r.Host}
		if c, err := requestinfo.FromRequest(r, v); err != nil {
			out.InfoError = err.Error()
		} else {
			out.Claims = &c
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func decodeEcho(t *testing.T, b []byte) echoed {
	t.Helper()
	var out echoed
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("backend body %q: %v", b, err)
	}
	return out
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// sendExpect sends req with client and returns the answer with its whole
// body (already read and closed); it fails the test when the request
// cannot be sent, or when the status is not want (with the body).
func sendExpect(t *testing.T, client *http.Client, req *http.Request, want int) (*http.Response, []byte) {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", res.StatusCode, want, body)
	}
	return res, body
}
