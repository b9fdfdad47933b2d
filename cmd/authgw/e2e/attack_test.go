package e2e

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/macaroon.v2"

	"github.com/authgw/authgw/accounts"
	"github.com/authgw/authgw/accounts/totp/totptest"
	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/mint/wire"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// TestAttackSuite attacks one running `authgw serve` over real TCP, as an
// outsider would (issue 7, point 6): token tampering, cross-method use,
// path traversal and encoding tricks, header spoofing, CSRF on cookies,
// refresh and TOTP replay, credential stuffing, enumeration, oversized
// headers and bodies, slowloris, and random bodies to every accounts
// route. Requests are written byte for byte on their own connections, so
// no client library cleans a path or a header first. Every case states
// what it expects, and every refusal must be the JSON error envelope
// except where net/http itself answers (431, and 400 for a request line
// it cannot parse).
//
// The login regulation counts failures per client IP, so each group that
// fails logins on purpose connects from its own loopback address
// (127.0.0.11, 127.0.0.12, ...): Linux routes all of 127.0.0.0/8 to lo.
func TestAttackSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts authgw serve and waits out the slowloris and refresh-grace timers (about 15 s)")
	}
	s := newAttackSuite(t)

	t.Run("attacks", func(t *testing.T) {
		// The slow cases wait on the server's timers; they run alongside
		// the rest.
		t.Run("slowloris", func(t *testing.T) { t.Parallel(); s.slowloris(t) })
		t.Run("refresh replay", func(t *testing.T) { t.Parallel(); s.refreshReplay(t) })
		t.Run("random bodies", func(t *testing.T) { t.Parallel(); s.randomBodies(t) })
		t.Run("requests", func(t *testing.T) {
			t.Parallel()
			t.Run("token tampering", s.tokenTampering)
			t.Run("cross-method", s.crossMethod)
			t.Run("traversal and encoding", s.traversal)
			t.Run("header spoofing", s.headerSpoofing)
			t.Run("CSRF and CORS", s.csrf)
			t.Run("oversized", s.oversized)
			t.Run("TOTP replay", s.totpReplay)
			t.Run("credential stuffing", s.credentialStuffing)
			t.Run("enumeration", s.enumeration)
		})
	})
	t.Run("what the backend saw", s.backendSawOnlyCanonical)
}

// attackTagHeader carries a number unique to each request of the suite,
// so the backend's record says which request reached it.
const attackTagHeader = "X-Attack-Case"

// attackPassword is the password of every user the suite registers.
const attackPassword = "attack suite passphrase 7"

// Source addresses. The regulation bans per IP, so the groups that fail
// logins on purpose each have their own.
const (
	attackFromMain         = "127.0.0.1"
	attackFromStuffAccount = "127.0.0.11"
	attackFromStuffOther   = "127.0.0.21"
	attackFromStuffIP      = "127.0.0.12"
	attackFromStuffIPOther = "127.0.0.22"
	attackFromTOTP         = "127.0.0.13"
	attackFromEnumeration  = "127.0.0.14"
	attackFromFuzz         = "127.0.0.15"
	attackFromRefresh      = "127.0.0.16"
)

// attackSuite is the running instance and what the suite set up on it.
type attackSuite struct {
	dir      string
	addr     string // the gateway's host:port
	seq      atomic.Int64
	backend  *attackBackend
	creds    clitest.Creds
	system   string // "Basic ..." of the bootstrapped system client
	serverID string
	ring     *mint.KeyRing
	member   *policy.Policy
	infoKey  *ecdsa.PublicKey
	admin    attackSession // the sysadmin, logged in from attackFromMain
	pat      attackSession // a plain user, registered from attackFromMain
	// Clients of the bootstrapped organization: unrestricted, restricted
	// to 10.0.0.0/8, and restricted to the host app.example.com.
	other, ipLocked, hostLocked attackClient

	// adminAddr is the admin listener's host:port.
	adminAddr string
}

// attackClient is an API client's ID and secret.
type attackClient struct{ id, secret string }

// basic is the client's "Basic ..." credential.
func (c attackClient) basic() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.id+":"+c.secret))
}

// attackSession is the data of a {"t":"session"} answer and its cookies.
type attackSession struct {
	SessionID string            `json:"sessionId"`
	UserID    string            `json:"userId"`
	Refresh   string            `json:"refresh"`
	Macaroons map[string]string `json:"macaroons"`
	// StepUp are the step-up tokens of the routes the example policies
	// keep under a step-up.
	StepUp  map[string]string `json:"stepUpMacaroons"`
	cookies map[string]string
}

// newAttackSuite bootstraps a data directory (a sysadmin and a system
// client), registers the recording backend as demo v1, starts serve with
// --allowed-origins https://app.example.com and --gateway-hosts *, waits until the backend
// answers through it, and sets up a plain user and three clients.
// extraServeArgs are added to serve's arguments.
func newAttackSuite(t *testing.T, extraServeArgs ...string) *attackSuite {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	s := &attackSuite{dir: dir, backend: newAttackBackend(t)}
	s.creds = bootstrapFor(t, vars)
	s.system = attackClient{s.creds.ClientID, s.creds.ClientSecret}.basic()
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", s.backend.URL}, vars: vars})
	// --gateway-hosts *: the suite's Host and Origin cases aim at the
	// client host restriction, a layer of its own, so every host reaches
	// it; TestAttackGateway names its own hosts and attacks the
	// unknown-host refusal (the later flag wins).
	gatewayURL, adminURL, _, _, _ := startServe(t, dir, append([]string{"--allowed-origins", "https://app.example.com", "--gateway-hosts", "*"}, extraServeArgs...)...)
	s.addr = strings.TrimPrefix(gatewayURL, "http://")
	s.adminAddr = strings.TrimPrefix(adminURL, "http://")
	for _, from := range []string{attackFromStuffAccount, attackFromStuffOther, attackFromStuffIP, attackFromStuffIPOther,
		attackFromTOTP, attackFromEnumeration, attackFromFuzz, attackFromRefresh} {
		conn, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}).Dial("tcp", s.addr)
		if err != nil {
			t.Skipf("cannot connect from %s (the suite needs 127.0.0.0/8 source addresses, as on Linux): %v", from, err)
		}
		conn.Close()
	}

	// What serve generated in the data directory: the suite forges
	// tokens with it and verifies the request info the backend gets.
	var err error
	if s.ring, err = mint.LoadKeyRing(filepath.Join(dir, keysFile)); err != nil {
		t.Fatal(err)
	}
	id, err := os.ReadFile(filepath.Join(dir, serverIDFile))
	if err != nil {
		t.Fatal(err)
	}
	s.serverID = strings.TrimSpace(string(id))
	if s.member, err = policy.LoadFile(filepath.Join(dir, "policies", "member.json")); err != nil {
		t.Fatal(err)
	}
	key, err := infosign.LoadPrivateKey(filepath.Join(dir, infoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s.infoKey = &key.PublicKey

	s.admin = attackSessionFrom(t, s.login(t, attackFromMain, clitest.LoginEmail, clitest.LoginPassword, clitest.NewState(t)), http.StatusOK)
	// The backend is in the first snapshot; poll anyway until it answers
	// through the gateway, as the other serve tests do.
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := s.send(t, attackReq{target: "/demo/v1/ready", header: []string{"Authorization", s.auth(s.admin, "GET")}})
		if r.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo backend does not answer through the gateway: %d %s", r.Status, r.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	s.pat = s.register(t, attackFromMain, "Pat", "pat@example.com")
	s.other = s.newClient(t, "other app", "")
	s.ipLocked = s.newClient(t, "ip-locked app", `{"type":"ip-access-restrictions","value":"10.0.0.0/8"}`)
	s.hostLocked = s.newClient(t, "host-locked app", `{"type":"host-access-restrictions","value":"app.example.com"}`)
	// The snapshot reloads on these changes; wait until each client is
	// seen with its restriction.
	for _, w := range []struct {
		c      attackClient
		status int
		code   string
	}{{s.other, 200, ""}, {s.ipLocked, 401, "ACCESS-RESTRICTION-IP"}, {s.hostLocked, 401, "ACCESS-RESTRICTION-HOST"}} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := s.send(t, attackReq{target: "/accounts/v1/openapi.json", header: []string{"Authorization", w.c.basic()}})
			if code, _ := attackErrorCode(r); r.Status == w.status && code == w.code {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %s: openapi.json = %d %s, want %d %s once the snapshot has it", w.c.id, r.Status, r.Body, w.status, w.code)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

// newClient creates an unlimited client of the bootstrapped organization
// as the sysadmin, with one restriction when restriction is not "".
func (s *attackSuite) newClient(t *testing.T, name, restriction string) attackClient {
	t.Helper()
	path := "/accounts/v1/organizations/" + s.creds.OrganizationID + "/clients"
	r := s.call(t, attackFromMain, "POST", path, s.auth(s.admin, "POST"),
		`{"data":{"type":"clients","name":"`+name+`","reqsPerSec":-1}}`)
	c := attackClient{id: attackDataString(t, r, http.StatusCreated, "id"), secret: attackDataString(t, r, http.StatusCreated, "secret")}
	if restriction != "" {
		r := s.call(t, attackFromMain, "POST", path+"/"+c.id+"/access-restrictions", s.auth(s.admin, "POST"), `{"data":`+restriction+`}`)
		attackDataString(t, r, http.StatusCreated, "id")
	}
	return c
}

// auth is the system client's credential with the session's token for
// method.
func (s *attackSuite) auth(sess attackSession, method string) string {
	return s.system + ", Macaroon " + sess.Macaroons[method]
}

// stepUp obtains a discharge of the session's step-up token for method
// with the user's password (POST /accounts/v1/discharge, through the
// client of basic) and returns the Authorization value that reaches the
// method's step-up routes: basic, and the step-up token with the bound
// discharge.
func (s *attackSuite) stepUp(t *testing.T, basic string, sess attackSession, method string) string {
	t.Helper()
	up := sess.StepUp[method]
	if up == "" {
		t.Fatalf("no %s step-up token: %v", method, sess.StepUp)
	}
	r := s.call(t, attackFromMain, "POST", "/accounts/v1/discharge", basic+", Macaroon "+sess.Macaroons["POST"],
		string(attackJSON(t, map[string]any{"data": map[string]string{"token": up, "currentPassword": attackPassword}})))
	return basic + ", Macaroon " + up + " " + attackDataString(t, r, http.StatusOK, "boundDischarge")
}

// attackReq is one request, written byte for byte on its own connection.
type attackReq struct {
	from    string // source address; "" is attackFromMain
	method  string // "" is GET
	target  string // the request-target exactly as sent
	header  []string
	body    []byte
	chunked bool // send body with Transfer-Encoding: chunked
	// framed: header already says how body is framed; it is written
	// as is, with no Content-Length of the suite's.
	framed bool
}

// attackReply is what came back.
type attackReply struct {
	Status  int
	header  http.Header
	Body    []byte
	Cookies []*http.Cookie
	tag     string // the request's attackTagHeader value
}

// send writes req and reads the answer; it fails the test when there is
// none.
func (s *attackSuite) send(t *testing.T, req attackReq) attackReply {
	t.Helper()
	r, err := s.trySend(req)
	if err != nil {
		t.Fatalf("%s %.200s: %v", cmp.Or(req.method, "GET"), req.target, err)
	}
	return r
}

// trySend is send returning its failure (for any goroutine). A Host
// header is added unless req has one, then the tag and Connection:
// close; Content-Length is set for a body (or for an unsafe method).
func (s *attackSuite) trySend(req attackReq) (attackReply, error) {
	tag := strconv.FormatInt(s.seq.Add(1), 10)
	method := cmp.Or(req.method, "GET")
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, req.target)
	hasHost := false
	for i := 0; i+1 < len(req.header); i += 2 {
		hasHost = hasHost || strings.EqualFold(req.header[i], "Host")
		fmt.Fprintf(&b, "%s: %s\r\n", req.header[i], req.header[i+1])
	}
	if !hasHost {
		fmt.Fprintf(&b, "Host: %s\r\n", s.addr)
	}
	fmt.Fprintf(&b, "%s: %s\r\nConnection: close\r\n", attackTagHeader, tag)
	switch {
	case req.framed:
		b.WriteString("\r\n")
		b.Write(req.body)
	case req.chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for chunk := range slices.Chunk(req.body, 64<<10) {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		b.WriteString("0\r\n\r\n")
	case req.body != nil || (method != "GET" && method != "HEAD"):
		fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(req.body))
		b.Write(req.body)
	default:
		b.WriteString("\r\n")
	}
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(cmp.Or(req.from, attackFromMain))}}
	conn, err := d.Dial("tcp", s.addr)
	if err != nil {
		return attackReply{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	// Write while reading: a server may answer (413, 431) before it has
	// read everything.
	wrote := make(chan error, 1)
	go func() { _, err := conn.Write(b.Bytes()); wrote <- err }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return attackReply{}, fmt.Errorf("no answer: %w (writing: %v)", err, <-wrote)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return attackReply{}, fmt.Errorf("reading the answer: %w", err)
	}
	return attackReply{Status: resp.StatusCode, header: resp.Header, Body: body, Cookies: resp.Cookies(), tag: tag}, nil
}

// call sends a request to the accounts service with authz as the
// Authorization header and body (JSON text) when not "".
func (s *attackSuite) call(t *testing.T, from, method, path, authz, body string) attackReply {
	t.Helper()
	req := attackReq{from: from, method: method, target: path, header: []string{"Authorization", authz}}
	if body != "" {
		req.header = append(req.header, "Content-Type", "application/json")
		req.body = []byte(body)
	}
	return s.send(t, req)
}

// login posts the password step through the system client.
func (s *attackSuite) login(t *testing.T, from, email, password, state string) attackReply {
	t.Helper()
	return s.call(t, from, "POST", "/accounts/v1/sessions/login/password", s.system,
		string(attackJSON(t, map[string]any{"data": map[string]string{"email": email, "password": password, "state": state}})))
}

// register signs a user up through the system client with attackPassword,
// verifies the address with the mailed code (an unverified address does
// not log in), and returns the session the registration answers.
func (s *attackSuite) register(t *testing.T, from, name, email string) attackSession {
	t.Helper()
	r := s.call(t, from, "POST", "/accounts/v1/users", s.system, string(attackJSON(t, map[string]any{"data": map[string]string{
		"type": "users", "name": name, "email": email, "password": attackPassword}})))
	sess := attackSessionFrom(t, r, http.StatusCreated)
	s.verifyAddress(t, from, sess, email)
	return sess
}

// refresh posts a refresh token through the client of basic.
func (s *attackSuite) refresh(t *testing.T, from, basic, token string) attackReply {
	t.Helper()
	return s.call(t, from, "POST", "/accounts/v1/sessions/refresh", basic, `{"data":{"t":"refresh-tokens","token":"`+token+`"}}`)
}

func attackJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attackSessionFrom reads a {"t":"session"} answer of the expected status.
func attackSessionFrom(t *testing.T, r attackReply, status int) attackSession {
	t.Helper()
	var out struct {
		T    string        `json:"t"`
		Data attackSession `json:"data"`
	}
	if r.Status != status || json.Unmarshal(r.Body, &out) != nil || out.T != "session" {
		t.Fatalf("answer %d %s, want %d {\"t\":\"session\"}", r.Status, r.Body, status)
	}
	if out.Data.Macaroons["GET"] == "" || out.Data.Macaroons["POST"] == "" || out.Data.Refresh == "" {
		t.Fatalf("session %s lacks a GET or POST token or a refresh token", r.Body)
	}
	out.Data.cookies = map[string]string{}
	for _, c := range r.Cookies {
		out.Data.cookies[c.Name] = c.Value
	}
	return out.Data
}

// attackDataString returns data.<field> of a {"t":"single"} answer of the
// expected status.
func attackDataString(t *testing.T, r attackReply, status int, field string) string {
	t.Helper()
	var out struct {
		T    string         `json:"t"`
		Data map[string]any `json:"data"`
	}
	if r.Status != status || json.Unmarshal(r.Body, &out) != nil {
		t.Fatalf("answer %d %s, want %d with data", r.Status, r.Body, status)
	}
	v, _ := out.Data[field].(string)
	if v == "" {
		t.Fatalf("answer %s has no data.%s", r.Body, field)
	}
	return v
}

// attackErrorCode returns the code of an error envelope, and whether r is one:
// {"t":"error","error":{"status" (r's), "code", "title", ...}} served as
// application/json.
func attackErrorCode(r attackReply) (string, bool) {
	var env struct {
		T     string `json:"t"`
		Error *struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
			Title  string `json:"title"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.T != "error" || env.Error == nil {
		return "", false
	}
	ok := env.Error.Status == r.Status && env.Error.Code != "" && env.Error.Title != "" &&
		strings.HasPrefix(r.header.Get("Content-Type"), "application/json")
	return env.Error.Code, ok
}

// attackExpectRefusal checks that r is the envelope with status and code.
func attackExpectRefusal(t *testing.T, what string, r attackReply, status int, code string) {
	t.Helper()
	got, ok := attackErrorCode(r)
	if r.Status != status || !ok || got != code {
		t.Errorf("%s = %d %.300s, want %d and the JSON envelope with code %s", what, r.Status, r.Body, status, code)
	}
}

// attackCase is one request and what the product must answer.
type attackCase struct {
	name string
	// expect says, in words, what the product must do.
	expect string
	when   attackReq
	// expectStatus is the status; a 4xx must come as the JSON envelope
	// with expectCode, unless expectPlain (net/http answered).
	expectStatus int
	expectCode   string
	expectPlain  bool
	// expectBackend is the request-target the backend must receive; ""
	// means the request must not reach it.
	expectBackend string
	// check makes further assertions, with the backend's record of the
	// request (empty when it did not reach it).
	check func(t *testing.T, r attackReply, hits []attackHit)
}

// runCases runs each case as a subtest. Whatever a case expects, no
// answer may be a 5xx.
func (s *attackSuite) runCases(t *testing.T, cases []attackCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("expect: %s", tc.expect)
			r := s.send(t, tc.when)
			what := fmt.Sprintf("%s %.120q", cmp.Or(tc.when.method, "GET"), tc.when.target)
			if r.Status >= 500 {
				t.Errorf("%s = %d %.300s: a server error", what, r.Status, r.Body)
			}
			if r.Status != tc.expectStatus {
				t.Errorf("%s = %d %.300s, want %d", what, r.Status, r.Body, tc.expectStatus)
			}
			if tc.expectStatus >= 400 && !tc.expectPlain {
				if code, ok := attackErrorCode(r); !ok || code != tc.expectCode {
					t.Errorf("%s answered %.300s, want the JSON error envelope with code %s", what, r.Body, tc.expectCode)
				}
			}
			if r.Status == http.StatusUnauthorized && strings.HasPrefix(tc.expectCode, "TOKEN-") {
				if got := r.header.Get("WWW-Authenticate"); got != `Macaroon realm="authgw"` {
					t.Errorf("%s: WWW-Authenticate = %q, want the Macaroon challenge", what, got)
				}
			}
			hits := s.backend.hitsFor(r.tag)
			switch {
			case tc.expectBackend == "" && len(hits) > 0:
				t.Errorf("%s reached the backend as %q; it must not", what, hits[0].target)
			case tc.expectBackend != "" && (len(hits) != 1 || hits[0].target != tc.expectBackend):
				var got []string
				for _, h := range hits {
					got = append(got, h.target)
				}
				t.Errorf("%s: the backend received %q, want exactly %q", what, got, tc.expectBackend)
			}
			if tc.check != nil {
				tc.check(t, r, hits)
			}
		})
	}
}

// attackScenario is a case made of several requests.
type attackScenario struct {
	name   string
	expect string
	run    func(t *testing.T)
}

func attackRunScenarios(t *testing.T, scenarios []attackScenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Logf("expect: %s", sc.expect)
			sc.run(t)
		})
	}
}

// attackHit is one request the backend received.
type attackHit struct {
	method, target string // target: the request-target as received
	header         http.Header
	bodyLen        int64
	bodySum        [sha256.Size]byte
}

// attackBackend is the demo API: it records every request and answers
// 200 "backend METHOD TARGET".
type attackBackend struct {
	*httptest.Server
	mu   sync.Mutex
	hits []attackHit
}

func newAttackBackend(t *testing.T) *attackBackend {
	t.Helper()
	b := &attackBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		hit := attackHit{method: r.Method, target: r.RequestURI, header: r.Header.Clone(), bodyLen: n}
		copy(hit.bodySum[:], h.Sum(nil))
		b.mu.Lock()
		b.hits = append(b.hits, hit)
		b.mu.Unlock()
		io.WriteString(w, "backend "+r.Method+" "+r.RequestURI)
	}))
	t.Cleanup(b.Close)
	return b
}

// hitsFor returns the requests that carried the tag.
func (b *attackBackend) hitsFor(tag string) []attackHit {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []attackHit
	for _, h := range b.hits {
		if h.header.Get(attackTagHeader) == tag {
			out = append(out, h)
		}
	}
	return out
}

// all returns every request received so far.
func (b *attackBackend) all() []attackHit {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.hits)
}

// ---- token tampering ----

// attackSplitToken decodes a token and splits it (wire.SplitV2).
func attackSplitToken(t *testing.T, token string) ([]byte, wire.UnsafeToken) {
	t.Helper()
	raw, err := mint.DecodeBase64(token)
	if err != nil {
		t.Fatal(err)
	}
	var ut wire.UnsafeToken
	if !wire.SplitV2(raw, &ut) {
		t.Fatalf("the token does not split as a V2 macaroon")
	}
	return raw, ut
}

func attackEncodeToken(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// attackV2Packet is a V2 binary field: type, length (varint), data.
func attackV2Packet(fieldType byte, data []byte) []byte {
	p := binary.AppendUvarint([]byte{fieldType}, uint64(len(data)))
	return append(p, data...)
}

// attackSpliceCaveat adds a caveat packet after the last caveat and keeps
// the old signature: what a holder without the HMAC chain could forge.
func attackSpliceCaveat(t *testing.T, token, caveat string) string {
	t.Helper()
	raw, ut := attackSplitToken(t, token)
	sigPacket := ut.Sig.Off - 2 // type 6, length 32
	if raw[sigPacket] != 6 || raw[sigPacket-1] != 0 {
		t.Fatalf("unexpected layout before the signature")
	}
	out := slices.Clone(raw[:sigPacket-1])
	out = append(out, attackV2Packet(2, []byte(caveat))...)
	out = append(out, 0)
	return attackEncodeToken(append(out, raw[sigPacket-1:]...))
}

// attackDropCaveat removes the first caveat starting with prefix and
// keeps the old signature.
func attackDropCaveat(t *testing.T, token, prefix string) string {
	t.Helper()
	raw, ut := attackSplitToken(t, token)
	for _, c := range ut.Caveats[:ut.N] {
		if !bytes.HasPrefix(raw[c.Off:c.Off+c.N], []byte(prefix)) {
			continue
		}
		start := c.Off - len(binary.AppendUvarint(nil, uint64(c.N))) - 1
		if raw[start] != 2 {
			t.Fatalf("unexpected caveat layout")
		}
		return attackEncodeToken(slices.Concat(raw[:start], raw[c.Off+c.N+1:]))
	}
	t.Fatalf("the token has no caveat %q", prefix)
	return ""
}

// attackFlipByte flips the low bit of the decoded byte at i.
func attackFlipByte(t *testing.T, token string, i func(raw []byte, ut wire.UnsafeToken) int) string {
	t.Helper()
	raw, ut := attackSplitToken(t, token)
	out := slices.Clone(raw)
	out[i(raw, ut)] ^= 0x01
	return attackEncodeToken(out)
}

// attackMixAlphabets spells one of the tokens in base64url and standard
// base64 at once: a character of one alphabet's own pair (-_ or +/)
// beside one of the other's.
func attackMixAlphabets(t *testing.T, tokens ...string) string {
	t.Helper()
	for _, tok := range tokens {
		if i := strings.IndexAny(tok, "-_"); i >= 0 && strings.IndexAny(tok[i+1:], "-_") >= 0 {
			c := map[byte]string{'-': "+", '_': "/"}[tok[i]]
			return tok[:i] + c + tok[i+1:]
		}
	}
	// No token has two of them (rare): spell both alphabets' own
	// characters into the first token's middle instead.
	tok := tokens[0]
	mid := len(tok) / 2
	return tok[:mid] + "-+" + tok[mid+2:]
}

// forged mints the member policy for the plain user's session with ring
// and serverID at now: the tokens another installation (or a thief of
// the key) could make.
func (s *attackSuite) forged(t *testing.T, ring *mint.KeyRing, serverID string, now time.Time) map[string]string {
	t.Helper()
	m, err := mint.New(mint.Config{Keys: ring, ServerID: serverID, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := m.Mint([]*policy.Policy{s.member}, mint.Subject{UserID: s.pat.UserID, SessionID: s.pat.SessionID, ClientID: s.creds.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	return toks.ByMethod
}

// uncaveated is a token signed with this server's key ring but with no
// caveat at all.
func (s *attackSuite) uncaveated(t *testing.T) string {
	t.Helper()
	ident, err := mint.NewIdentifier(s.ring.PrimaryID(), s.pat.SessionID, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ident.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	root, err := s.ring.RootKey(s.ring.PrimaryID(), id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := macaroon.New(root, id, "", macaroon.V2)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := mint.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (s *attackSuite) tokenTampering(t *testing.T) {
	get := s.pat.Macaroons["GET"]
	raw, ut := attackSplitToken(t, get)
	stdSpelling := base64.StdEncoding.EncodeToString(raw)
	otherRing, err := mint.GenerateKeyRing(s.ring.PrimaryID(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	unknownRing, err := mint.GenerateKeyRing("attacker-key", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, postSplit := attackSplitToken(t, s.pat.Macaroons["POST"])
	postRaw, _ := mint.DecodeBase64(s.pat.Macaroons["POST"])
	methodSwapped := bytes.Replace(raw, []byte("method GET"), []byte("method PUT"), 1)
	if bytes.Equal(methodSwapped, raw) {
		t.Fatal("the GET token has no caveat \"method GET\"")
	}

	tampered := func(name, expect, method, token string) attackCase {
		return attackCase{name: name, expect: expect,
			when:         attackReq{method: method, target: "/demo/v1/tamper", header: []string{"Authorization", s.system + ", Macaroon " + token}},
			expectStatus: 401, expectCode: "TOKEN-INVALID"}
	}
	refused := "401 TOKEN-INVALID with the Macaroon challenge; the backend never sees it"
	s.runCases(t, []attackCase{
		{name: "control: the token as issued", expect: "200 from the backend (the other cases differ only in the token)",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.auth(s.pat, "GET")}},
			expectStatus: 200, expectBackend: "/tamper"},
		{name: "control: a token minted offline with this server's ring", expect: "200: the ring and server ID are the only trust roots",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.system + ", Macaroon " + s.forged(t, s.ring, s.serverID, time.Now())["GET"]}},
			expectStatus: 200, expectBackend: "/tamper"},
		{name: "standard base64 with padding", expect: "200: SPEC §2.1 accepts the standard alphabet and padding as the same token",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.system + ", Macaroon " + stdSpelling}},
			expectStatus: 200, expectBackend: "/tamper"},
		tampered("a bit flipped in the middle", refused, "GET", attackFlipByte(t, get, func(raw []byte, _ wire.UnsafeToken) int { return len(raw) / 2 })),
		tampered("a bit flipped in the identifier", refused, "GET", attackFlipByte(t, get, func(_ []byte, ut wire.UnsafeToken) int { return ut.ID.Off + ut.ID.N/2 })),
		tampered("a bit flipped in a caveat", refused, "GET", attackFlipByte(t, get, func(_ []byte, ut wire.UnsafeToken) int { return ut.Caveats[1].Off + 3 })),
		tampered("a bit flipped in the signature", refused, "GET", attackFlipByte(t, get, func(_ []byte, ut wire.UnsafeToken) int { return ut.Sig.Off + ut.Sig.N - 1 })),
		tampered("the POST token's signature on the GET token", refused, "GET",
			attackEncodeToken(slices.Concat(raw[:ut.Sig.Off], postRaw[postSplit.Sig.Off:postSplit.Sig.Off+postSplit.Sig.N]))),
		tampered("an all-zero signature", refused, "GET", attackEncodeToken(slices.Concat(raw[:ut.Sig.Off], make([]byte, 32)))),
		tampered("base64url and standard alphabets mixed", refused, "GET",
			attackMixAlphabets(t, get, s.pat.Macaroons["POST"], s.pat.Macaroons["PUT"], s.pat.Macaroons["DELETE"], s.pat.Macaroons["PATCH"])),
		tampered("a character of neither alphabet", refused, "GET", get[:len(get)/2]+"."+get[len(get)/2+1:]),
		tampered("truncated by 8 characters", refused, "GET", get[:len(get)-8]),
		tampered("truncated to half", refused, "GET", get[:len(get)/2]),
		tampered("a byte after the signature", refused, "GET", attackEncodeToken(append(slices.Clone(raw), 0))),
		tampered("a caveat appended without re-signing", refused, "GET", attackSpliceCaveat(t, get, "routes /accounts/v1/**")),
		tampered("the routes caveat removed without re-signing", refused, "GET", attackDropCaveat(t, get, "routes ")),
		tampered("the client caveat removed without re-signing", refused, "GET", attackDropCaveat(t, get, "client ")),
		tampered("the user-roles caveat removed without re-signing", refused, "GET", attackDropCaveat(t, get, "user-roles ")),
		tampered("method GET rewritten to method PUT in place, used for PUT", "401 TOKEN-INVALID: a rewritten caveat breaks the signature", "PUT", attackEncodeToken(methodSwapped)),
		tampered("minted for another server ID with this server's ring", "401 TOKEN-INVALID: the server-id caveat must equal this server's", "GET",
			s.forged(t, s.ring, "another-server", time.Now())["GET"]),
		tampered("minted with another ring under this server's key ID", "401 TOKEN-INVALID: the signature needs this server's master key", "GET",
			s.forged(t, otherRing, s.serverID, time.Now())["GET"]),
		tampered("minted with a key ID this server does not have", refused, "GET", s.forged(t, unknownRing, s.serverID, time.Now())["GET"]),
		tampered("validly signed but expired", "401 TOKEN-INVALID: time-before has passed (beyond the 30 s skew)", "GET",
			s.forged(t, s.ring, s.serverID, time.Now().Add(-2*time.Hour))["GET"]),
		tampered("validly signed with no caveat at all", "401 TOKEN-INVALID: the seven mandatory caveats are missing", "GET", s.uncaveated(t)),
		tampered("the refresh token presented as a macaroon", refused, "GET", s.pat.Refresh),
		{name: "an over-long token (20,000 characters)", expect: "401 TOKEN-TOO-LARGE: refused before decoding",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.system + ", Macaroon " + strings.Repeat("A", 20000)}},
			expectStatus: 401, expectCode: "TOKEN-TOO-LARGE"},
		{name: "two Macaroon credentials", expect: "401 TOKEN-INVALID: which one would count is ambiguous, so neither does",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.auth(s.pat, "GET") + ", Macaroon " + get}},
			expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "the GET token through another client", expect: "401 TOKEN-INVALID: the token is bound to the client that logged in (bindClient)",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.other.basic() + ", Macaroon " + get}},
			expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "no token", expect: "401 TOKEN-MISSING",
			when:         attackReq{target: "/demo/v1/tamper", header: []string{"Authorization", s.system}},
			expectStatus: 401, expectCode: "TOKEN-MISSING"},
	})
}

// ---- cross-method ----

func (s *attackSuite) crossMethod(t *testing.T) {
	note := "/demo/v1/notes/" + s.pat.UserID + "_1"
	get, post := s.pat.Macaroons["GET"], s.pat.Macaroons["POST"]
	attenuate := func(token string, caveats ...string) string {
		t.Helper()
		out, err := mint.AttenuateText(token, caveats...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	with := func(token string) []string { return []string{"Authorization", s.system + ", Macaroon " + token} }
	notesOnly := attenuate(get, "routes /demo/v1/notes/**")
	s.runCases(t, []attackCase{
		{name: "GET token on POST", expect: "403 TOKEN-NOT-GRANTED: a GET token cannot POST",
			when: attackReq{method: "POST", target: note, header: with(get), body: []byte("x")}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "GET token on DELETE", expect: "403 TOKEN-NOT-GRANTED",
			when: attackReq{method: "DELETE", target: note, header: with(get)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "GET token on PUT", expect: "403 TOKEN-NOT-GRANTED",
			when: attackReq{method: "PUT", target: note, header: with(get), body: []byte("x")}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "POST token on GET", expect: "403 TOKEN-NOT-GRANTED: the POST token's method caveat is POST",
			when: attackReq{target: note, header: with(post)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "control: POST token on POST", expect: "200 from the backend",
			when: attackReq{method: "POST", target: note, header: with(post), body: []byte("x")}, expectStatus: 200, expectBackend: "/notes/" + s.pat.UserID + "_1"},
		{name: "control: HEAD with the GET token", expect: "200: HEAD counts as GET",
			when: attackReq{method: "HEAD", target: note, header: with(get)}, expectStatus: 200, expectBackend: "/notes/" + s.pat.UserID + "_1"},
		{name: "lower-case method get with the GET token", expect: "403 TOKEN-NOT-GRANTED: methods are case-sensitive, \"get\" is not GET",
			when: attackReq{method: "get", target: note, header: with(get)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "unknown method PROPFIND with the GET token", expect: "403 TOKEN-NOT-GRANTED",
			when: attackReq{method: "PROPFIND", target: note, header: with(get)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "TRACE with the GET token", expect: "403 TOKEN-NOT-GRANTED: no token grants TRACE",
			when: attackReq{method: "TRACE", target: note, header: with(get)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "X-HTTP-Method-Override: DELETE on a GET of the accounts service", expect: "400 OVERRIDE-HEADER-REFUSED: the token was judged for GET (the user still exists, checked after)",
			when:         attackReq{target: "/accounts/v1/users/current", header: append(with(get), "X-HTTP-Method-Override", "DELETE")},
			expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED",
			check: func(t *testing.T, r attackReply, _ []attackHit) {
				if again := s.call(t, attackFromMain, "GET", "/accounts/v1/users/current", s.auth(s.pat, "GET"), ""); again.Status != 200 {
					t.Errorf("after the override attempt GET /users/current = %d %s, want 200", again.Status, again.Body)
				}
			}},
		{name: "X-HTTP-Method-Override: GET on a POST of the accounts service", expect: "400 OVERRIDE-HEADER-REFUSED: the POST is neither turned into a list nor silently done",
			when: attackReq{method: "POST", target: "/accounts/v1/organizations", header: append(with(post), "X-HTTP-Method-Override", "GET", "Content-Type", "application/json"),
				body: []byte(`{"data":{"type":"organizations","name":"Override Co"}}`)},
			expectStatus: 400, expectCode: "OVERRIDE-HEADER-REFUSED"},
		{name: "token attenuated to /demo/v1/notes/** on another route", expect: "403 TOKEN-NOT-GRANTED: routes caveats are ANDed",
			when: attackReq{target: "/demo/v1/reports", header: with(notesOnly)}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "control: the attenuated token on its route", expect: "200 from the backend",
			when: attackReq{target: "/demo/v1/notes/a", header: with(notesOnly)}, expectStatus: 200, expectBackend: "/notes/a"},
		{name: "attenuation cannot widen: POST token plus routes /demo/v1/**", expect: "403 TOKEN-NOT-GRANTED: the minted routes caveat still holds",
			when:         attackReq{method: "POST", target: "/demo/v1/other", header: with(attenuate(post, "routes /demo/v1/**")), body: []byte("x")},
			expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "roles widened by attenuation (GET token plus user-roles sysadmin)", expect: "401 TOKEN-INVALID: user-roles caveats must all be equal, so no holder can give a backend more roles (u.r)",
			when: attackReq{target: note, header: with(attenuate(get, "user-roles sysadmin employee user"))}, expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "a second method caveat (GET token plus method POST), used for POST", expect: "401 TOKEN-INVALID: disagreeing method caveats fail closed",
			when:         attackReq{method: "POST", target: note, header: with(attenuate(get, "method POST")), body: []byte("x")},
			expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "the POST token in the DELETE cookie, for a DELETE", expect: "403 TOKEN-NOT-GRANTED: the cookie name does not make a POST token a DELETE token",
			when: attackReq{method: "DELETE", target: note, header: []string{"Authorization", s.system, "Origin", "https://app.example.com",
				"Cookie", "authgw-delete=" + post}},
			expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "control: the DELETE token in the DELETE cookie", expect: "200 from the backend (allowed Origin)",
			when: attackReq{method: "DELETE", target: note, header: []string{"Authorization", s.system, "Origin", "https://app.example.com",
				"Cookie", "authgw-delete=" + s.pat.Macaroons["DELETE"]}},
			expectStatus: 200, expectBackend: "/notes/" + s.pat.UserID + "_1"},
	})
}

// ---- traversal and encoding ----

func (s *attackSuite) traversal(t *testing.T) {
	notesOnly, err := mint.AttenuateText(s.pat.Macaroons["GET"], "routes /demo/v1/notes/**")
	if err != nil {
		t.Fatal(err)
	}
	full := []string{"Authorization", s.auth(s.pat, "GET")}
	notes := []string{"Authorization", s.system + ", Macaroon " + notesOnly}
	nonCanonical := func(target, why string) attackCase {
		return attackCase{name: target, expect: "400 NON-CANONICAL-PATH before any match: " + why,
			when: attackReq{target: target, header: full}, expectStatus: 400, expectCode: "NON-CANONICAL-PATH"}
	}
	plain400 := func(target, why string) attackCase {
		return attackCase{name: target, expect: "400 from net/http, which cannot parse the request-target: " + why,
			when: attackReq{target: target, header: full}, expectStatus: 400, expectPlain: true}
	}
	s.runCases(t, []attackCase{
		nonCanonical("/demo/v1/../accounts/v1/users", "a dot-dot segment"),
		nonCanonical("/demo/v1/%2e%2e/accounts/v1/users", "an encoded dot"),
		nonCanonical("/demo/v1/%2E%2E/x", "an encoded dot, upper case"),
		nonCanonical("/demo/v1/.%2e/x", "half-encoded dot-dot"),
		nonCanonical("/demo/v1/./x", "a dot segment"),
		nonCanonical("/demo/v1/x/..", "a trailing dot-dot"),
		nonCanonical("/demo/v1/%2e", "an encoded dot segment"),
		nonCanonical("/demo/v1//x", "an empty segment"),
		nonCanonical("//demo/v1/x", "an empty first segment"),
		nonCanonical("/demo/v1/x/", "a trailing slash (an empty last segment)"),
		nonCanonical("/demo/v1/a%2Fb", "an encoded slash"),
		nonCanonical("/demo/v1/a%2fb", "an encoded slash, lower case"),
		nonCanonical("/demo/v1/a%5Cb", "an encoded backslash"),
		nonCanonical(`/demo/v1/a\b`, "a raw backslash"),
		nonCanonical(`/demo/v1/..\accounts`, "a raw backslash after dot-dot"),
		nonCanonical("/demo/v1/a%00b", "an encoded NUL"),
		nonCanonical("/demo/v1/a%0d%0aSet-Cookie:x", "encoded CR LF"),
		nonCanonical("/demo/v1/%C0%AE%C0%AE/x", "overlong UTF-8 dots"),
		nonCanonical("/demo/v1/%C0%AF", "an overlong UTF-8 slash"),
		nonCanonical("/demo/v1/%E0%80%AE", "a three-byte overlong dot"),
		nonCanonical("/demo/v1/..;/accounts/v1/users", "dot-dot hidden by a ; parameter"),
		nonCanonical("/demo/v1/..%3B/accounts/v1/users", "dot-dot hidden by an encoded ; parameter"),
		nonCanonical("/demo/v1/;jsessionid=1", "a segment empty but for its parameter"),
		nonCanonical("/demo/v1/x#frag", "a raw #"),
		nonCanonical("/demo/v1/\xc3\xa9", "a raw byte outside ASCII"),
		nonCanonical("/demo/v1/"+strings.Repeat("a", 9000), "longer than 8,192 bytes"),
		nonCanonical("/accounts/v1/users/current/../../users", "dot-dot in the accounts service"),
		nonCanonical("/accounts/v1/users/current%2F..%2F..%2Fusers", "encoded slashes in the accounts service"),
		nonCanonical("http://"+s.addr+"/demo/v1/../accounts/v1/users", "dot-dot in the absolute form"),
		nonCanonical("http://"+s.addr+"/demo/v1/%2e%2e/accounts/v1/users", "an encoded dot in the absolute form"),
		nonCanonical("*", "the asterisk form"),
		plain400("/demo/v1/%zz", "invalid percent-encoding"),
		plain400("/demo/v1/%", "a truncated escape"),
		plain400("/demo/v1/a\x01b", "a raw control byte"),
		{name: "/demo/V1/x", expect: "400 BAD-PATH: the version is v<N>, lower case",
			when: attackReq{target: "/demo/V1/x", header: full}, expectStatus: 400, expectCode: "BAD-PATH"},
		{name: "/demo/v01/x", expect: "400 BAD-PATH: no leading zero, so one API has one spelling",
			when: attackReq{target: "/demo/v01/x", header: full}, expectStatus: 400, expectCode: "BAD-PATH"},
		{name: "/DEMO/v1/x", expect: "403 TOKEN-NOT-GRANTED: canonical, but routes are case-sensitive",
			when: attackReq{target: "/DEMO/v1/x", header: full}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "/demo/v1/notes/../secret with a notes-only token", expect: "400 NON-CANONICAL-PATH: no climbing out of the granted subtree",
			when: attackReq{target: "/demo/v1/notes/../secret", header: notes}, expectStatus: 400, expectCode: "NON-CANONICAL-PATH"},
		{name: "/demo/v1/notes;/secret with a notes-only token", expect: "403 TOKEN-NOT-GRANTED: canonical, and \"notes;\" is not the segment \"notes\"",
			when: attackReq{target: "/demo/v1/notes;/secret", header: notes}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "/demo/v1/secret with a notes-only token", expect: "403 TOKEN-NOT-GRANTED",
			when: attackReq{target: "/demo/v1/secret", header: notes}, expectStatus: 403, expectCode: "TOKEN-NOT-GRANTED"},
		{name: "/demo/v1/x;jsessionid=1", expect: "200, passed byte for byte: a parameter on a plain segment is canonical",
			when: attackReq{target: "/demo/v1/x;jsessionid=1", header: full}, expectStatus: 200, expectBackend: "/x;jsessionid=1"},
		{name: "/demo/v1/notes/%252e%252e/secret with a notes-only token", expect: "200, passed byte for byte: %25 decodes to a literal %, so the segment is \"%2e%2e\", not a dot-dot",
			when: attackReq{target: "/demo/v1/notes/%252e%252e/secret", header: notes}, expectStatus: 200, expectBackend: "/notes/%252e%252e/secret"},
		{name: "/demo/v1/%6eotes/a with a notes-only token", expect: "200: an escape of a plain letter matches as the letter, and the backend gets it as sent",
			when: attackReq{target: "/demo/v1/%6eotes/a", header: notes}, expectStatus: 200, expectBackend: "/%6eotes/a"},
		{name: "/demo/v1/x?../../accounts/v1/users", expect: "200: dots in the query are not path segments; the query passes as sent",
			when: attackReq{target: "/demo/v1/x?../../accounts/v1/users", header: full}, expectStatus: 200, expectBackend: "/x?../../accounts/v1/users"},
		{name: "absolute form of a canonical path", expect: "400 NOT-ORIGIN-FORM: its authority would stand in for the Host (issue 12, point 14)",
			when: attackReq{target: "http://" + s.addr + "/demo/v1/abs", header: full}, expectStatus: 400, expectCode: "NOT-ORIGIN-FORM"},
	})
}

// ---- header spoofing ----

func (s *attackSuite) headerSpoofing(t *testing.T) {
	infoVerifier, err := requestinfo.NewVerifier(requestinfo.VerifierConfig{Keys: []*ecdsa.PublicKey{s.infoKey}, Audience: "demo",
		Issuer: "authgw:" + s.serverID, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	// gatewayInfo checks that the backend got exactly the gateway's
	// request info, for the plain user through the system client from
	// attackFromMain.
	gatewayInfo := func(t *testing.T, h attackHit) {
		t.Helper()
		req := &http.Request{Header: h.header}
		claims, err := requestinfo.FromRequest(req, infoVerifier)
		if err != nil {
			t.Errorf("the backend's X-Auth-Info %q does not verify with the gateway's key: %v", h.header.Values(requestinfo.HeaderInfo), err)
			return
		}
		if claims.Client != s.creds.ClientID || claims.User == nil || claims.User.ID != s.pat.UserID || claims.IP != attackFromMain {
			t.Errorf("request info = %+v, want client %s, user %s, IP %s", claims, s.creds.ClientID, s.pat.UserID, attackFromMain)
		}
		for name, want := range map[string]string{requestinfo.HeaderSigned: "1", requestinfo.HeaderAlgorithm: requestinfo.Algorithm} {
			if got := h.header.Values(name); !slices.Equal(got, []string{want}) {
				t.Errorf("the backend's %s = %q, want exactly [%s]", name, got, want)
			}
		}
	}
	backendHeader := func(name string, want ...string) func(*testing.T, attackReply, []attackHit) {
		return func(t *testing.T, _ attackReply, hits []attackHit) {
			if len(hits) == 1 && !slices.Equal(hits[0].header.Values(name), want) {
				t.Errorf("the backend's %s = %q, want %q", name, hits[0].header.Values(name), want)
			}
			if len(hits) == 1 {
				gatewayInfo(t, hits[0])
			}
		}
	}
	withToken := func(kv ...string) []string { return append([]string{"Authorization", s.auth(s.pat, "GET")}, kv...) }
	ipLocked := func(kv ...string) attackReq {
		return attackReq{target: "/accounts/v1/openapi.json", header: append([]string{"Authorization", s.ipLocked.basic()}, kv...)}
	}
	hostLocked := func(kv ...string) attackReq {
		return attackReq{target: "/accounts/v1/openapi.json", header: append([]string{"Authorization", s.hostLocked.basic()}, kv...)}
	}
	ipAttenuated := func(cidr string) string {
		tok, err := mint.AttenuateText(s.pat.Macaroons["GET"], "ip "+cidr)
		if err != nil {
			t.Fatal(err)
		}
		return s.system + ", Macaroon " + tok
	}
	spoofedIP := "401 ACCESS-RESTRICTION-IP: no proxy is trusted, so only the socket address counts"
	spoofedHost := "401 ACCESS-RESTRICTION-HOST"
	s.runCases(t, []attackCase{
		{name: "X-Forwarded-For 10.0.0.1 for a 10.0.0.0/8 client", expect: spoofedIP,
			when: ipLocked("X-Forwarded-For", "10.0.0.1"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "X-Forwarded-For list ending in 10.0.0.1", expect: spoofedIP,
			when: ipLocked("X-Forwarded-For", "10.0.0.2, 10.0.0.1"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "X-Real-IP, Forwarded, True-Client-IP, CF-Connecting-IP, X-Client-IP", expect: spoofedIP,
			when: ipLocked("X-Real-IP", "10.0.0.1", "Forwarded", "for=10.0.0.1;proto=https", "True-Client-IP", "10.0.0.1",
				"CF-Connecting-IP", "10.0.0.1", "X-Client-IP", "10.0.0.1"),
			expectStatus: 401, expectCode: "ACCESS-RESTRICTION-IP"},
		{name: "a token attenuated to 10.0.0.0/8 with X-Forwarded-For 10.0.0.1", expect: "401 TOKEN-INVALID: the ip caveat sees the socket address",
			when:         attackReq{target: "/demo/v1/ip", header: []string{"Authorization", ipAttenuated("10.0.0.0/8"), "X-Forwarded-For", "10.0.0.1"}},
			expectStatus: 401, expectCode: "TOKEN-INVALID"},
		{name: "control: a token attenuated to 127.0.0.0/8", expect: "200 from the backend",
			when:         attackReq{target: "/demo/v1/ip", header: []string{"Authorization", ipAttenuated("127.0.0.0/8")}},
			expectStatus: 200, expectBackend: "/ip"},
		{name: "the client's own X-Auth-Info headers", expect: "200; the backend gets only the gateway's X-Auth-Info, -Signed and -Algorithm, and they verify",
			when: attackReq{target: "/demo/v1/spoof", header: withToken("X-Auth-Info", "forged.forged.forged", "X-Auth-Info-Signed", "0",
				"X-Auth-Info-Algorithm", "none", "x-auth-info", "forged2", "X-AUTH-INFO-EXTRA", "x")},
			expectStatus: 200, expectBackend: "/spoof",
			check: func(t *testing.T, _ attackReply, hits []attackHit) {
				if len(hits) != 1 {
					return
				}
				gatewayInfo(t, hits[0])
				for name, values := range hits[0].header {
					if strings.HasPrefix(strings.ToLower(name), "x-auth-info") && !slices.Contains([]string{requestinfo.HeaderInfo, requestinfo.HeaderSigned, requestinfo.HeaderAlgorithm}, name) {
						t.Errorf("the backend received the client's %s: %q", name, values)
					}
				}
			}},
		{name: "underscore spellings X_Auth_Info and X_Forwarded_For", expect: "200; the backend gets no header that a CGI-style server (WSGI, Rack, PHP) would read as X-Auth-Info* or X-Forwarded-* (CVE-2024-45614 class)",
			when: attackReq{target: "/demo/v1/spoof", header: withToken("X_Auth_Info", "forged.forged.forged", "X_Auth_Info_Signed", "1",
				"X_Forwarded_For", "10.0.0.1", "X_Real_IP", "10.0.0.1")},
			expectStatus: 200, expectBackend: "/spoof",
			check: func(t *testing.T, _ attackReply, hits []attackHit) {
				if len(hits) != 1 {
					return
				}
				var passed []string
				for name, values := range hits[0].header {
					norm := strings.ReplaceAll(strings.ToLower(name), "_", "-")
					if strings.Contains(name, "_") && (strings.HasPrefix(norm, "x-auth-info") || strings.HasPrefix(norm, "x-forwarded-") || norm == "x-real-ip") {
						passed = append(passed, fmt.Sprintf("%s: %q", name, values))
					}
				}
				if len(passed) > 0 {
					slices.Sort(passed)
					t.Errorf("the backend received the client's %s", strings.Join(passed, ", "))
				}
			}},
		{name: "X-Forwarded-For from the client", expect: "200; the backend's X-Forwarded-For is the socket address the gateway saw",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("X-Forwarded-For", "10.0.0.1")},
			expectStatus: 200, expectBackend: "/spoof", check: backendHeader("X-Forwarded-For", attackFromMain)},
		{name: "X-Forwarded-Proto https from the client", expect: "200; the backend's X-Forwarded-Proto is http, what the gateway served",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("X-Forwarded-Proto", "https")},
			expectStatus: 200, expectBackend: "/spoof", check: backendHeader("X-Forwarded-Proto", "http")},
		{name: "X-Forwarded-Host from the client", expect: "200; the backend's X-Forwarded-Host is the Host the gateway was asked for",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("X-Forwarded-Host", "evil.example")},
			expectStatus: 200, expectBackend: "/spoof", check: backendHeader("X-Forwarded-Host", s.addr)},
		{name: "Forwarded and X-Real-Ip from the client", expect: "200; neither reaches the backend",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("Forwarded", "for=10.0.0.1;proto=https", "X-Real-Ip", "10.0.0.1")},
			expectStatus: 200, expectBackend: "/spoof",
			check: func(t *testing.T, r attackReply, hits []attackHit) {
				backendHeader("Forwarded")(t, r, hits)
				backendHeader("X-Real-Ip")(t, r, hits)
			}},
		{name: "credentials and token cookies", expect: "200; the backend gets no Authorization and no authgw cookie, but its own cookie",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("Cookie", "authgw-get="+s.pat.Macaroons["GET"]+"; theme=dark; authgw-post="+s.pat.Macaroons["POST"])},
			expectStatus: 200, expectBackend: "/spoof",
			check: func(t *testing.T, r attackReply, hits []attackHit) {
				backendHeader("Authorization")(t, r, hits)
				backendHeader("Cookie", "theme=dark")(t, r, hits)
			}},
		{name: "a forged X-Request-Id", expect: "200; an ID that is not 1-128 of [A-Za-z0-9._:-] is replaced before logs or the backend see it",
			when:         attackReq{target: "/demo/v1/spoof", header: withToken("X-Request-Id", `"><script>`)},
			expectStatus: 200, expectBackend: "/spoof",
			check: func(t *testing.T, r attackReply, hits []attackHit) {
				if got := r.header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, `"<>`) {
					t.Errorf("answer X-Request-Id = %q, want a fresh well-formed ID", got)
				}
				if len(hits) == 1 && strings.ContainsAny(hits[0].header.Get("X-Request-Id"), `"<>`) {
					t.Errorf("the backend got X-Request-Id %q", hits[0].header.Get("X-Request-Id"))
				}
			}},
		{name: "host-locked client, X-Forwarded-Host app.example.com", expect: spoofedHost + ": X-Forwarded-Host is not the Host",
			when: hostLocked("X-Forwarded-Host", "app.example.com"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, Host app.example.com and Origin https://evil.example", expect: spoofedHost + ": a browser's Origin wins over Host",
			when: hostLocked("Host", "app.example.com", "Origin", "https://evil.example"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, Host app.example.com.evil.example", expect: spoofedHost + ": a suffix is another host",
			when: hostLocked("Host", "app.example.com.evil.example"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, Host evilapp.example.com", expect: spoofedHost + ": a prefix is another host",
			when: hostLocked("Host", "evilapp.example.com"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, Origin https://app.example.com@evil.example", expect: spoofedHost + ": the userinfo is not the host",
			when: hostLocked("Origin", "https://app.example.com@evil.example"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, Origin null and Host app.example.com", expect: spoofedHost + ": an opaque Origin names no host",
			when: hostLocked("Host", "app.example.com", "Origin", "null"), expectStatus: 401, expectCode: "ACCESS-RESTRICTION-HOST"},
		{name: "host-locked client, two Host headers", expect: "400 from net/http: a request with two Hosts is malformed",
			when: hostLocked("Host", "app.example.com", "Host", "evil.example"), expectStatus: 400, expectPlain: true},
		{name: "control: host-locked client, Origin https://APP.example.com", expect: "200: the restriction holds for its host, case-insensitively",
			when: hostLocked("Origin", "https://APP.example.com"), expectStatus: 200},
		{name: "control: host-locked client, Host app.example.com:8443", expect: "200: without an Origin the Host is checked, port ignored",
			when: hostLocked("Host", "app.example.com:8443"), expectStatus: 200},
	})
}

// ---- CSRF and CORS ----

func (s *attackSuite) csrf(t *testing.T) {
	postCookie := "authgw-post=" + s.pat.cookies["authgw-post"]
	getCookie := "authgw-get=" + s.pat.cookies["authgw-get"]
	if s.pat.cookies["authgw-post"] == "" || s.pat.cookies["authgw-get"] == "" {
		t.Fatalf("the registration set no authgw-get and authgw-post cookies: %v", s.pat.cookies)
	}
	org := []byte(`{"data":{"type":"organizations","name":"CSRF Co"}}`)
	byCookie := func(kv ...string) attackReq {
		return attackReq{method: "POST", target: "/accounts/v1/organizations", body: org,
			header: append([]string{"Authorization", s.system, "Content-Type", "application/json", "Cookie", postCookie}, kv...)}
	}
	refused := "403 ORIGIN-NOT-ALLOWED: an unsafe method carried by cookie needs an allowed Origin (or Referer)"
	created := func(t *testing.T, r attackReply, _ []attackHit) {
		if !bytes.Contains(r.Body, []byte(`"t":"single"`)) {
			t.Errorf("answer %s, want the new organization", r.Body)
		}
	}
	s.runCases(t, []attackCase{
		{name: "POST by cookie without Origin or Referer", expect: refused,
			when: byCookie(), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie from Origin https://evil.example", expect: refused,
			when: byCookie("Origin", "https://evil.example"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie from Origin null", expect: refused,
			when: byCookie("Origin", "null"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie from Origin https://app.example.com.evil.example", expect: refused,
			when: byCookie("Origin", "https://app.example.com.evil.example"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie from Origin http://app.example.com", expect: refused + "; the scheme is part of the origin",
			when: byCookie("Origin", "http://app.example.com"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie with only Referer https://evil.example/page", expect: refused,
			when: byCookie("Referer", "https://evil.example/page"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie with Origin null and Referer https://app.example.com.evil.example/", expect: refused,
			when: byCookie("Origin", "null", "Referer", "https://app.example.com.evil.example/"), expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie to the backend from Origin https://evil.example", expect: refused + "; the backend never sees it",
			when: attackReq{method: "POST", target: "/demo/v1/notes/" + s.pat.UserID + "_csrf", body: []byte("x"),
				header: []string{"Authorization", s.system, "Cookie", postCookie, "Origin", "https://evil.example"}},
			expectStatus: 403, expectCode: "ORIGIN-NOT-ALLOWED"},
		{name: "POST by cookie from Origin https://app.example.com", expect: "201: an allowed origin",
			when: byCookie("Origin", "https://app.example.com"), expectStatus: 201, check: created},
		{name: "POST by cookie with only Referer https://app.example.com/settings", expect: "201: the Referer's origin stands in for a missing Origin",
			when: byCookie("Referer", "https://app.example.com/settings"), expectStatus: 201, check: created},
		{name: "POST with the token in the header from Origin https://evil.example", expect: "201: a header credential is not ambient, so no CSRF check applies",
			when: attackReq{method: "POST", target: "/accounts/v1/organizations", body: org,
				header: []string{"Authorization", s.auth(s.pat, "POST"), "Content-Type", "application/json", "Origin", "https://evil.example"}},
			expectStatus: 201, check: created},
		{name: "GET by cookie from Origin https://evil.example", expect: "200: a safe method is not checked; CORS keeps the answer from evil.example",
			when:         attackReq{target: "/accounts/v1/organizations", header: []string{"Authorization", s.system, "Cookie", getCookie, "Origin", "https://evil.example"}},
			expectStatus: 200,
			check: func(t *testing.T, r attackReply, _ []attackHit) {
				if got := r.header.Get("Access-Control-Allow-Origin"); got != "" {
					t.Errorf("Access-Control-Allow-Origin = %q for evil.example, want none", got)
				}
			}},
		{name: "control: GET from Origin https://app.example.com", expect: "200 with CORS headers for the allowed origin, credentials included",
			when:         attackReq{target: "/accounts/v1/organizations", header: []string{"Authorization", s.system, "Cookie", getCookie, "Origin", "https://app.example.com"}},
			expectStatus: 200,
			check: func(t *testing.T, r attackReply, _ []attackHit) {
				if r.header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
					t.Errorf("CORS headers %v, want the allowed origin with credentials", r.header)
				}
			}},
		{name: "preflight from Origin https://evil.example", expect: "403 CORS-ORIGIN-NOT-ALLOWED, answered by the gateway, never the backend",
			when: attackReq{method: "OPTIONS", target: "/demo/v1/notes", header: []string{"Origin", "https://evil.example",
				"Access-Control-Request-Method", "DELETE", "Access-Control-Request-Headers", "authorization"}},
			expectStatus: 403, expectCode: "CORS-ORIGIN-NOT-ALLOWED"},
	})
}

// ---- oversized ----

func (s *attackSuite) oversized(t *testing.T) {
	manyHeaders := make([]string, 0, 4000)
	for i := range 2000 {
		manyHeaders = append(manyHeaders, fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", 40))
	}
	bigJSON := []byte(`{"data":{"type":"users","name":"` + strings.Repeat("a", accounts.MaxBodyBytes) + `"}}`)
	upload := make([]byte, 2_000_000)
	rng := mrand.New(mrand.NewPCG(2, 3))
	for i := range upload {
		upload[i] = byte(rng.Uint32())
	}
	uploadSum := sha256.Sum256(upload)
	smuggled := "5\r\nhello\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: backend\r\n\r\n"
	s.runCases(t, []attackCase{
		{name: "a 100 KiB header", expect: "431 from net/http: headers are capped at 64 KiB",
			when:         attackReq{target: "/demo/v1/big", header: []string{"Authorization", s.auth(s.pat, "GET"), "X-Big", strings.Repeat("a", 100<<10)}},
			expectStatus: 431, expectPlain: true},
		{name: "2,000 headers of 50 bytes", expect: "431 from net/http: the cap is on all headers together",
			when:         attackReq{target: "/demo/v1/big", header: append([]string{"Authorization", s.auth(s.pat, "GET")}, manyHeaders...)},
			expectStatus: 431, expectPlain: true},
		{name: "a body over 1 MiB to the accounts service", expect: "413 BODY-TOO-LARGE in the envelope",
			when:         attackReq{method: "POST", target: "/accounts/v1/users", header: []string{"Authorization", s.system, "Content-Type", "application/json"}, body: bigJSON},
			expectStatus: 413, expectCode: "BODY-TOO-LARGE"},
		{name: "a chunked body over 1 MiB to the accounts service", expect: "413 BODY-TOO-LARGE: the cap does not rely on Content-Length",
			when: attackReq{method: "POST", target: "/accounts/v1/users", header: []string{"Authorization", s.system, "Content-Type", "application/json"},
				body: bigJSON, chunked: true},
			expectStatus: 413, expectCode: "BODY-TOO-LARGE"},
		{name: "a 2 MB body to the backend", expect: "200; the backend receives every byte (bodies to backends are streamed, not capped)",
			when:         attackReq{method: "POST", target: "/demo/v1/notes/" + s.pat.UserID + "_big", header: []string{"Authorization", s.auth(s.pat, "POST")}, body: upload},
			expectStatus: 200, expectBackend: "/notes/" + s.pat.UserID + "_big",
			check: func(t *testing.T, _ attackReply, hits []attackHit) {
				if len(hits) == 1 && (hits[0].bodyLen != int64(len(upload)) || hits[0].bodySum != uploadSum) {
					t.Errorf("the backend received %d bytes (SHA-256 %x), want %d (%x)", hits[0].bodyLen, hits[0].bodySum, len(upload), uploadSum)
				}
			}},
		{name: "Content-Length and Transfer-Encoding together (CL.TE smuggling)", expect: "200; chunked framing wins (RFC 9112), the backend gets one request with the 5-byte body and nothing smuggled",
			when: attackReq{method: "POST", target: "/demo/v1/notes/" + s.pat.UserID + "_smuggle", framed: true,
				header: []string{"Authorization", s.auth(s.pat, "POST"), "Content-Length", strconv.Itoa(len(smuggled)), "Transfer-Encoding", "chunked"},
				body:   []byte(smuggled)},
			expectStatus: 200, expectBackend: "/notes/" + s.pat.UserID + "_smuggle",
			check: func(t *testing.T, _ attackReply, hits []attackHit) {
				if len(hits) == 1 && hits[0].bodySum != sha256.Sum256([]byte("hello")) {
					t.Errorf("the backend's body has %d bytes, want \"hello\"", hits[0].bodyLen)
				}
				for _, h := range s.backend.all() {
					if strings.HasPrefix(h.target, "/admin") {
						t.Errorf("a smuggled request reached the backend: %s %s", h.method, h.target)
					}
				}
			}},
	})
}

// ---- slowloris ----

// slowloris opens connections that send a request's headers one byte a
// second: the server must drop each within its 10 s header timeout, and
// serve normal requests meanwhile.
func (s *attackSuite) slowloris(t *testing.T) {
	t.Logf("expect: 16 connections trickling headers are closed 9-15 s after they open (ReadHeaderTimeout 10 s), while normal requests get 200")
	const conns = 16
	type outcome struct {
		closedAfter time.Duration
		err         error
	}
	results := make(chan outcome, conns)
	start := time.Now()
	for range conns {
		go func() {
			conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
			if err != nil {
				results <- outcome{err: err}
				return
			}
			defer conn.Close()
			opened := time.Now()
			if _, err := io.WriteString(conn, "GET /demo/v1/slow HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
				results <- outcome{err: err}
				return
			}
			closed := make(chan time.Duration, 1)
			go func() {
				_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				_, _ = io.Copy(io.Discard, conn) // returns when the server closes
				closed <- time.Since(opened)
			}()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case d := <-closed:
					results <- outcome{closedAfter: d}
					return
				case <-tick.C:
					_, _ = conn.Write([]byte("a")) // an error here means closed: the reader sees it
				}
			}
		}()
	}
	// Normal requests keep working while the slow connections are open.
	for _, at := range []time.Duration{2 * time.Second, 6 * time.Second} {
		time.Sleep(time.Until(start.Add(at)))
		r := s.send(t, attackReq{target: "/demo/v1/normal", header: []string{"Authorization", s.auth(s.pat, "GET")}})
		if r.Status != http.StatusOK {
			t.Errorf("a normal request %v into the slowloris = %d %s, want 200", at, r.Status, r.Body)
		}
	}
	var longest time.Duration
	for range conns {
		o := <-results
		switch {
		case o.err != nil:
			t.Errorf("slow connection: %v", o.err)
		case o.closedAfter < 9*time.Second || o.closedAfter > 15*time.Second:
			t.Errorf("a slow connection was closed after %v, want 9-15 s (the 10 s header timeout)", o.closedAfter)
		}
		longest = max(longest, o.closedAfter)
	}
	t.Logf("every slow connection was closed within %v", longest)
}

// ---- refresh replay ----

func (s *attackSuite) refreshReplay(t *testing.T) {
	t.Logf("expect: an immediate replay of a spent refresh token is 409 REFRESH-TOKEN-PASSED and the session lives; " +
		"a replay after the 10 s grace is 401 SESSION-INVALIDATED and revokes the whole session")
	rey := s.register(t, attackFromRefresh, "Rey", "rey@example.com")
	first := attackSessionFrom(t, s.refresh(t, attackFromRefresh, s.system, rey.Refresh), http.StatusOK)
	spentAt := time.Now()
	if first.SessionID != rey.SessionID || first.Refresh == rey.Refresh {
		t.Fatalf("refresh answered session %s refresh rotated=%v, want the same session and a new refresh token",
			first.SessionID, first.Refresh != rey.Refresh)
	}
	attackExpectRefusal(t, "an immediate replay of the spent refresh token", s.refresh(t, attackFromRefresh, s.system, rey.Refresh), 409, "REFRESH-TOKEN-PASSED")
	if r := s.call(t, attackFromRefresh, "GET", "/accounts/v1/users/current", s.auth(first, "GET"), ""); r.Status != 200 {
		t.Errorf("after the replay within the grace, GET /users/current = %d %s, want 200 (the session lives)", r.Status, r.Body)
	}
	attackExpectRefusal(t, "the refresh token through another client", s.refresh(t, attackFromRefresh, s.other.basic(), first.Refresh), 401, "SESSION-INVALIDATED")
	second := attackSessionFrom(t, s.refresh(t, attackFromRefresh, s.system, first.Refresh), http.StatusOK)

	// The grace is 10 s from the rotation and serve's clock is the real
	// one, so wait it out.
	time.Sleep(time.Until(spentAt.Add(11 * time.Second)))
	r := s.refresh(t, attackFromRefresh, s.system, rey.Refresh)
	attackExpectRefusal(t, "a replay of the first refresh token after the grace", r, 401, "SESSION-INVALIDATED")
	r = s.refresh(t, attackFromRefresh, s.system, second.Refresh)
	if code, ok := attackErrorCode(r); r.Status != 401 || !ok || (code != "SESSION-EXPIRED" && code != "SESSION-INVALIDATED") {
		t.Errorf("the newest refresh token after reuse detection = %d %s, want 401 SESSION-EXPIRED or SESSION-INVALIDATED", r.Status, r.Body)
	}
	r = s.call(t, attackFromRefresh, "GET", "/accounts/v1/users/current", s.auth(second, "GET"), "")
	attackExpectRefusal(t, "the newest GET token after reuse detection", r, 401, "TOKEN-INVALID")
}

// ---- TOTP replay ----

// attackOathtool returns the TOTP code of the base32 secret at a time,
// from oathtool (an implementation independent of authgw's).
var attackOathtool = totptest.Code

func (s *attackSuite) totpReplay(t *testing.T) {
	attackOathtool(t, "JBSWY3DPEHPK3PXP", time.Now()) // skip early without oathtool
	tess := s.register(t, attackFromTOTP, "Tess", "tess@example.com")
	enrol := s.call(t, attackFromTOTP, "POST", "/accounts/v1/users/"+tess.UserID+"/totp", s.auth(tess, "POST"), `{"data":{"currentPassword":"`+attackPassword+`"}}`)
	secret := attackDataString(t, enrol, http.StatusCreated, "secret")
	used := attackOathtool(t, secret, time.Now())
	r := s.call(t, attackFromTOTP, "POST", "/accounts/v1/users/"+tess.UserID+"/totp/confirm", s.auth(tess, "POST"), `{"data":{"totp":"`+used+`"}}`)
	if r.Status != 200 {
		t.Fatalf("confirming TOTP with oathtool's code = %d %s, want 200", r.Status, r.Body)
	}
	// passwordThenTOTP logs Tess in up to the totp step and sends code.
	passwordThenTOTP := func(t *testing.T, code string) attackReply {
		t.Helper()
		state := clitest.NewState(t)
		r := s.login(t, attackFromTOTP, "tess@example.com", attackPassword, state)
		var step struct {
			T    string
			Data struct{ Step, Code string }
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &step) != nil || step.T != "step" || step.Data.Step != "totp" || step.Data.Code == "" {
			t.Fatalf("password step with TOTP on = %d %s, want step totp with a flow code", r.Status, r.Body)
		}
		return s.call(t, attackFromTOTP, "POST", "/accounts/v1/sessions/login/totp", s.system,
			`{"data":{"code":"`+step.Data.Code+`","totp":"`+code+`","state":"`+state+`"}}`)
	}
	var next string
	attackRunScenarios(t, []attackScenario{
		{name: "the code that confirmed enrolment, at login", expect: "401 TOTP-INVALID: a used step is never accepted twice",
			run: func(t *testing.T) {
				attackExpectRefusal(t, "the confirm's code at login", passwordThenTOTP(t, used), 401, "TOTP-INVALID")
			}},
		{name: "control: the code of the next step", expect: "200 session: a later step, within the one-step window",
			run: func(t *testing.T) {
				next = attackOathtool(t, secret, time.Now().Add(30*time.Second))
				attackSessionFrom(t, passwordThenTOTP(t, next), http.StatusOK)
			}},
		{name: "the code that just logged in, in a new login", expect: "401 TOTP-INVALID",
			run: func(t *testing.T) {
				if next == "" {
					t.Skip("the control did not run")
				}
				attackExpectRefusal(t, "the login's code again", passwordThenTOTP(t, next), 401, "TOTP-INVALID")
			}},
	})
}

// ---- credential stuffing ----

func (s *attackSuite) credentialStuffing(t *testing.T) {
	retryAfter := func(t *testing.T, what string, r attackReply) {
		t.Helper()
		attackExpectRefusal(t, what, r, 429, "TOO-MANY-FAILURES")
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 15*60+1 {
			t.Errorf("%s: Retry-After = %q, want 1 to 901 seconds", what, r.header.Get("Retry-After"))
		}
	}
	attackRunScenarios(t, []attackScenario{
		{name: "six wrong passwords for one account", expect: "the first five 401 INCORRECT-PASSWORD, the sixth 429 TOO-MANY-FAILURES with Retry-After; " +
			"then the right password is 429 too from this IP, and logs in from another (issue 12, point 7: no stranger locks the owner out)",
			run: func(t *testing.T) {
				s.register(t, attackFromStuffAccount, "Vic", "vic@example.com")
				for i := 1; i <= 5; i++ {
					attackExpectRefusal(t, fmt.Sprintf("wrong password %d", i), s.login(t, attackFromStuffAccount, "vic@example.com", fmt.Sprintf("guess number %d!", i), clitest.NewState(t)),
						401, "INCORRECT-PASSWORD")
				}
				retryAfter(t, "wrong password 6", s.login(t, attackFromStuffAccount, "vic@example.com", "guess number 6!", clitest.NewState(t)))
				retryAfter(t, "the right password after the ban", s.login(t, attackFromStuffAccount, "vic@example.com", attackPassword, clitest.NewState(t)))
				attackSessionFrom(t, s.login(t, attackFromStuffOther, "vic@EXAMPLE.com", attackPassword, clitest.NewState(t)), http.StatusOK)
			}},
		{name: "25 unknown addresses from one IP, each with a different X-Forwarded-For", expect: "the first twenty 401 INCORRECT-PASSWORD, the rest 429; " +
			"then a known account's right password from that IP is 429 with Retry-After, and from another IP it logs in",
			run: func(t *testing.T) {
				s.register(t, attackFromStuffIPOther, "Kai", "kai@example.com")
				for i := 1; i <= 25; i++ {
					body := string(attackJSON(t, map[string]any{"data": map[string]string{
						"email": fmt.Sprintf("nobody%d@example.net", i), "password": "Winter2024!", "state": clitest.NewState(t)}}))
					r := s.send(t, attackReq{from: attackFromStuffIP, method: "POST", target: "/accounts/v1/sessions/login/password", body: []byte(body),
						header: []string{"Authorization", s.system, "Content-Type", "application/json", "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i)}})
					if i <= 20 {
						attackExpectRefusal(t, fmt.Sprintf("attempt %d", i), r, 401, "INCORRECT-PASSWORD")
					} else {
						retryAfter(t, fmt.Sprintf("attempt %d", i), r)
					}
				}
				retryAfter(t, "a known account's right password from the banned IP", s.login(t, attackFromStuffIP, "kai@example.com", attackPassword, clitest.NewState(t)))
				attackSessionFrom(t, s.login(t, attackFromStuffIPOther, "kai@example.com", attackPassword, clitest.NewState(t)), http.StatusOK)
			}},
	})
}

// ---- enumeration ----

// attackSameAnswer checks that two answers have the same status, body and
// the headers that could differ by account.
func attackSameAnswer(t *testing.T, what string, a, b attackReply) {
	t.Helper()
	if a.Status != b.Status || !bytes.Equal(a.Body, b.Body) {
		t.Errorf("%s: %d %s and %d %s, want the same status and bytes", what, a.Status, a.Body, b.Status, b.Body)
	}
	for _, h := range []string{"Content-Type", "Cache-Control", "WWW-Authenticate", "Retry-After", "Set-Cookie"} {
		if !slices.Equal(a.header.Values(h), b.header.Values(h)) {
			t.Errorf("%s: %s %q and %q, want the same", what, h, a.header.Values(h), b.header.Values(h))
		}
	}
}

func (s *attackSuite) enumeration(t *testing.T) {
	kim := s.register(t, attackFromEnumeration, "Kim", "kim@example.com")
	attackRunScenarios(t, []attackScenario{
		{name: "password step: a known and an unknown address", expect: "the same 401 INCORRECT-PASSWORD, byte for byte",
			run: func(t *testing.T) {
				state := clitest.NewState(t)
				known := s.login(t, attackFromEnumeration, "kim@example.com", "not the password 1", state)
				unknown := s.login(t, attackFromEnumeration, "kim.nobody@example.com", "not the password 1", state)
				attackExpectRefusal(t, "a wrong password", known, 401, "INCORRECT-PASSWORD")
				attackSameAnswer(t, "known and unknown address", known, unknown)
			}},
		{name: "email step: a known and an unknown address", expect: "the same 200 step code, byte for byte",
			run: func(t *testing.T) {
				state := clitest.NewState(t)
				step := func(email string) attackReply {
					return s.call(t, attackFromEnumeration, "POST", "/accounts/v1/sessions/login/email", s.system, `{"data":{"email":"`+email+`","state":"`+state+`"}}`)
				}
				known, unknown := step("kim@example.com"), step("kim.nobody@example.com")
				if known.Status != 200 || !bytes.Contains(known.Body, []byte(`"step":"code"`)) {
					t.Errorf("email step = %d %s, want 200 step code", known.Status, known.Body)
				}
				attackSameAnswer(t, "known and unknown address", known, unknown)
			}},
		{name: "registration of a taken address", expect: "409 DUPLICATE-EMAIL: the SPEC's choice, documented in the README (a change must be noticed)",
			run: func(t *testing.T) {
				r := s.call(t, attackFromEnumeration, "POST", "/accounts/v1/users", s.system,
					`{"data":{"type":"users","name":"Kim Two","email":"kim@example.com","password":"`+attackPassword+`"}}`)
				attackExpectRefusal(t, "registering kim@example.com again", r, 409, "DUPLICATE-EMAIL")
			}},
		{name: "another user's ID and an unknown ID", expect: "the same 403 TOKEN-NOT-GRANTED: a token names only its own user",
			run: func(t *testing.T) {
				other := s.call(t, attackFromEnumeration, "GET", "/accounts/v1/users/"+kim.UserID, s.auth(s.pat, "GET"), "")
				unknown := s.call(t, attackFromEnumeration, "GET", "/accounts/v1/users/01900000-0000-7000-8000-000000000000", s.auth(s.pat, "GET"), "")
				attackExpectRefusal(t, "another user's ID", other, 403, "TOKEN-NOT-GRANTED")
				attackSameAnswer(t, "another user's ID and an unknown one", other, unknown)
			}},
	})
}

// ---- random bodies ----

// attackGarbage are JSON-like bodies of the wrong shape for every route
// (an empty PATCH is the only one a route may accept, as a no-op).
var attackGarbage = []string{
	`{}`, `null`, `[]`, `"data"`, `{"data":null}`, `{"data":[]}`, `{"data":{}}`, `{"data":"x"}`, `{"data":1e999}`,
	`{"data":{"type":null,"id":null}}`, `{"data":{"id":{"$gt":""}}}`, `{"data":{"name":"\u0000\ud800"}}`,
	`{"data":{"a":1},"data":{"b":2}}`, `{"data":{"type":"users"}} {"data":{}}`, `{"data":{"__proto__":{"admin":true}}}`,
	`{"data":{"reqsPerSec":9007199254740993,"version":-1,"active":"yes"}}`, `{"data":{"email":["a@example.com"],"password":{"x":1}}}`,
	`{"data":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	`{"data":{"name":"` + strings.Repeat("é", 600) + `"}}`,
	"{\"data\":{\"name\":\"\xff\xfe\"}}",
	`{"data":[{"t":"sessions","value":null}]}`,
	`{"data":[` + strings.Repeat(`{"t":"sessions","value":"x"},`, 40) + `{"t":"sessions","value":"x"}]}`,
	`{"data":{"t":"password-step","email":"a@b","password":"","state":"` + strings.Repeat("g", 32) + `"}}`,
}

// attackBodyRoute is a route that reads a body, with its path filled.
type attackBodyRoute struct{ method, path string }

// randomBodies posts random bytes and JSON-like garbage, as the
// sysadmin, to every accounts route that reads a body: every answer must
// be a JSON envelope with a "t", and none a 5xx.
func (s *attackSuite) randomBodies(t *testing.T) {
	t.Logf("expect: every answer to random and malformed bodies is below 500 and a JSON envelope with \"t\" (\"error\" for a 4xx)")
	admin := attackSessionFrom(t, s.login(t, attackFromFuzz, clitest.LoginEmail, clitest.LoginPassword, clitest.NewState(t)), http.StatusOK)
	call := func(method, path, body string) attackReply {
		return s.call(t, attackFromFuzz, method, path, s.auth(admin, method), body)
	}
	// A resource of each kind the paths name, kept apart from the rest
	// of the suite.
	org := attackDataString(t, call("POST", "/accounts/v1/organizations", `{"data":{"type":"organizations","name":"Fuzz Co"}}`), 201, "id")
	client := attackDataString(t, call("POST", "/accounts/v1/organizations/"+org+"/clients", `{"data":{"type":"clients","name":"fuzz app"}}`), 201, "id")
	mia := s.register(t, attackFromFuzz, "Mia", "mia@example.com")
	var emails struct{ Data []struct{ ID string } }
	if r := call("GET", "/accounts/v1/users/"+mia.UserID+"/emails", ""); r.Status != 200 || json.Unmarshal(r.Body, &emails) != nil || len(emails.Data) == 0 {
		t.Fatalf("Mia's emails = %d %s", r.Status, r.Body)
	}
	membership := attackDataString(t, call("POST", "/accounts/v1/organizations/"+org+"/memberships",
		`{"data":{"type":"org-memberships","user":{"data":{"type":"users","id":"`+mia.UserID+`"}},"read":true}}`), 201, "id")
	attackDataString(t, call("POST", "/accounts/v1/apis", `{"data":{"type":"apis","name":"fuzz","version":1,"url":"http://127.0.0.1:9/"}}`), 201, "name")
	webhook := attackDataString(t, call("POST", "/accounts/v1/webhooks", `{"data":{"url":"http://127.0.0.1:9/hook","events":["user.created"]}}`), 201, "id")

	param := regexp.MustCompile(`:\w+`)
	var routes []attackBodyRoute
	for _, rt := range accounts.Routes() {
		// POST and PATCH routes read bodies; of the DELETE routes only
		// the TOTP one does (the others would delete what they name).
		if rt.Method != "POST" && rt.Method != "PATCH" && !(rt.Method == "DELETE" && strings.HasSuffix(rt.Path, "/totp")) {
			continue
		}
		paths := []string{rt.Path}
		if strings.Contains(rt.Path, ":step") {
			paths = nil
			for _, step := range []string{"email", "code", "password", "totp", "nope"} {
				paths = append(paths, strings.Replace(rt.Path, ":step", step, 1))
			}
		}
		for _, p := range paths {
			filled := param.ReplaceAllStringFunc(p, func(name string) string {
				switch {
				case name == ":id" && strings.HasPrefix(p, "/users/") && strings.Contains(p, "/totp"):
					return admin.UserID // the TOTP routes are the caller's own
				case name == ":id" && strings.HasPrefix(p, "/users/"):
					return mia.UserID
				case name == ":id" && strings.HasPrefix(p, "/organizations/"):
					return org
				case name == ":id" && strings.HasPrefix(p, "/org-memberships/"):
					return membership
				case name == ":id" && strings.HasPrefix(p, "/webhooks/"):
					return webhook
				case name == ":deliveryId":
					return "01a20320-a200-7000-830a-11181f262d35" // no such delivery: 404
				case name == ":id" && strings.HasPrefix(p, "/oidc-requests/"):
					return "01a20320-a200-7000-830a-11181f262d34" // no such request: the body is read, then 404
				case name == ":clientId":
					return client
				case name == ":emailId":
					return emails.Data[0].ID
				case name == ":name":
					return "fuzz"
				case name == ":version":
					return "1"
				}
				t.Fatalf("no value for %s in %s: extend the suite", name, p)
				return ""
			})
			routes = append(routes, attackBodyRoute{method: rt.Method, path: accounts.Prefix + filled})
		}
	}
	if len(routes) < 25 {
		t.Fatalf("only %d body routes found in accounts.Routes()", len(routes))
	}

	rng := mrand.New(mrand.NewPCG(6, 7))
	var bodies [][]byte
	for i := range 20 {
		b := make([]byte, 1+rng.IntN(512))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 1 { // past the first byte, into the envelope
			b = append([]byte(`{"data":{"`), b...)
		}
		bodies = append(bodies, b)
	}
	for _, g := range attackGarbage {
		bodies = append(bodies, []byte(g))
	}

	statuses := map[int]int{}
	failures := 0
	for _, rt := range routes {
		for _, body := range bodies {
			r := s.send(t, attackReq{from: attackFromFuzz, method: rt.method, target: rt.path, body: body,
				header: []string{"Authorization", s.auth(admin, rt.method), "Content-Type", "application/json"}})
			statuses[r.Status]++
			var env struct {
				T string `json:"t"`
			}
			problem := ""
			switch {
			case r.Status >= 500:
				problem = "a server error"
			case json.Unmarshal(r.Body, &env) != nil || env.T == "":
				problem = "not a JSON envelope with \"t\""
			case r.Status >= 400 && env.T != "error":
				problem = "a 4xx that is not t=error"
			}
			if problem != "" {
				failures++
				if failures <= 10 {
					t.Errorf("%s %s with body %.80q = %d %.200s: %s", rt.method, rt.path, body, r.Status, r.Body, problem)
				}
			}
		}
	}
	if failures > 10 {
		t.Errorf("... and %d more", failures-10)
	}
	t.Logf("%d routes x %d bodies: statuses %v", len(routes), len(bodies), statuses)
	if r := s.call(t, attackFromFuzz, "GET", "/accounts/v1/users/current", s.auth(admin, "GET"), ""); r.Status != 200 {
		t.Errorf("after the random bodies the sysadmin's session = %d %s, want 200 (still alive)", r.Status, r.Body)
	}
}

// ---- what the backend saw ----

// backendSawOnlyCanonical checks every request the backend received in
// the whole suite: each path, put back under /demo/v1, is canonical (so
// it never climbed out of the prefix), and no credential reached it.
func (s *attackSuite) backendSawOnlyCanonical(t *testing.T) {
	t.Logf("expect: every path the backend received is canonical under /demo/v1, with no Authorization and no authgw token cookie")
	hits := s.backend.all()
	if len(hits) == 0 {
		t.Fatal("the backend received nothing")
	}
	for _, h := range hits {
		path, _, _ := strings.Cut(h.target, "?")
		if err := policy.CanonicalPath("/demo/v1" + path); err != nil || !strings.HasPrefix(h.target, "/") {
			t.Errorf("the backend received %q: not a canonical path below its prefix (%v)", h.target, err)
		}
		if h.header.Get("Authorization") != "" {
			t.Errorf("the backend received an Authorization header with %s %s", h.method, h.target)
		}
		if strings.Contains(h.header.Get("Cookie"), "authgw-") {
			t.Errorf("the backend received an authgw cookie with %s %s", h.method, h.target)
		}
	}
	t.Logf("%d requests reached the backend", len(hits))
}
