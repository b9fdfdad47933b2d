package verifier_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/verifier"
)

// seenIdentity is what the protected handler reports about the request's
// context: the Identity the middleware left there, if any.
type seenIdentity struct {
	OK      bool      `json:"ok"`
	User    string    `json:"user"`
	Session string    `json:"session"`
	Client  string    `json:"client"`
	Method  string    `json:"method"`
	Expires time.Time `json:"expires"`
	Routes  []string  `json:"routes"`
}

func writeIdentity(w http.ResponseWriter, r *http.Request) {
	id, ok := verifier.IdentityFrom(r.Context())
	b, err := json.Marshal(seenIdentity{
		OK: ok, User: id.UserID, Session: id.SessionID, Client: id.ClientID,
		Method: id.Method, Expires: id.Expires, Routes: id.Routes(),
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// In a header too, so that HEAD requests see it.
	w.Header().Set("X-Identity", string(b))
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// errorBody is the JSON error envelope as a client reads it.
type errorBody struct {
	T     string `json:"t"`
	Error struct {
		Status       int               `json:"status"`
		Code         string            `json:"code"`
		Title        string            `json:"title"`
		Detail       string            `json:"detail"`
		Obstructions []json.RawMessage `json:"obstructions"`
	} `json:"error"`
}

// server is one kind of protected test server.
type server struct {
	name  string
	start func(t *testing.T, cfg verifier.Config) *httptest.Server
}

// echoServer protects every route of an Echo app, which keeps Echo's
// default HTTPErrorHandler, with verifier.MustEchoMiddleware.
func echoServer(t *testing.T, cfg verifier.Config) *httptest.Server {
	t.Helper()
	return echoApp(t, verifier.MustEchoMiddleware(cfg), nil)
}

// echoApp serves an Echo app whose every route writes the identity it
// sees, behind mw; errorHandler, when not nil, is the app's
// HTTPErrorHandler.
func echoApp(t *testing.T, mw echo.MiddlewareFunc, errorHandler echo.HTTPErrorHandler) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.HideBanner = true
	if errorHandler != nil {
		e.HTTPErrorHandler = errorHandler
	}
	e.Use(mw)
	e.Any("/*", func(c echo.Context) error {
		writeIdentity(c.Response(), c.Request())
		return nil
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// handlerServer protects a net/http handler with HTTPMiddleware.
func handlerServer(t *testing.T, cfg verifier.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mustNew(t, cfg).HTTPMiddleware(http.HandlerFunc(writeIdentity)))
	t.Cleanup(srv.Close)
	return srv
}

// mustNew is verifier.New, failing the test on an error.
func mustNew(t *testing.T, cfg verifier.Config) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var servers = []server{{"echo", echoServer}, {"net/http", handlerServer}}

const allowedOrigin = "https://app.example.com"

// baseConfig is the configuration most middleware tests start from: local
// HTTP cookies, one allowed origin, the login steps and /healthz public
// (the gateway's public scope).
func baseConfig(ring *mint.KeyRing) verifier.Config {
	return verifier.Config{
		ServerID:       testServerID,
		Keys:           ring,
		Now:            clock,
		Cookies:        verifier.CookieConfig{Insecure: true},
		AllowedOrigins: []string{allowedOrigin},
		Public: map[string][]string{
			"POST": {"/accounts/v1/sessions/login/*"},
			"GET":  {"/healthz"},
		},
	}
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) envelope(t *testing.T) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("body %q is not a JSON envelope: %v", r.body, err)
	}
	return e
}

func (r response) identity(t *testing.T) seenIdentity {
	t.Helper()
	h := r.header.Get("X-Identity")
	if h == "" {
		t.Fatalf("handler not reached: %d %s", r.status, r.body)
	}
	var s seenIdentity
	if err := json.Unmarshal([]byte(h), &s); err != nil {
		t.Fatalf("X-Identity %q: %v", h, err)
	}
	return s
}

// request is one HTTP request for do.
type request struct {
	method  string
	path    string
	header  map[string][]string
	cookies []*http.Cookie
}

// do sends the request with a real HTTP client.
func do(t *testing.T, srv *httptest.Server, req request) response {
	t.Helper()
	method := req.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, srv.URL+req.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range req.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for _, c := range req.cookies {
		r.AddCookie(c)
	}
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// doRaw writes the request line and headers to the server's socket as
// given, so that paths reach the server exactly as written.
func doRaw(t *testing.T, srv *httptest.Server, method, target string, header map[string]string) response {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString(method + " " + target + " HTTP/1.1\r\n")
	b.WriteString("Host: " + srv.Listener.Addr().String() + "\r\n")
	for k, v := range header {
		b.WriteString(k + ": " + v + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func macaroonAuth(tok string) map[string][]string {
	return map[string][]string{"Authorization": {"Macaroon " + tok}}
}

// tamper changes one character of the token's signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	i := len(tok) - 5
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestMiddlewareHeaderToken(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	get, post := toks.ByMethod["GET"], toks.ByMethod["POST"]
	tests := []struct {
		name         string
		whenMethod   string
		whenPath     string
		whenHeader   map[string][]string
		expectStatus int
		expectCode   string
		expectMethod string // of the identity, when the handler is reached
	}{
		{"GET token on own profile", "GET", userPath(""), macaroonAuth(get), 200, "", "GET"},
		{"GET token below own profile", "GET", userPath("/emails/1"), macaroonAuth(get), 200, "", "GET"},
		{"HEAD with GET token", "HEAD", userPath(""), macaroonAuth(get), 200, "", "GET"},
		{"scheme is case-insensitive", "GET", userPath(""), map[string][]string{"Authorization": {"macaroon " + get}}, 200, "", "GET"},
		{"combined with Basic client credentials", "GET", userPath(""),
			map[string][]string{"Authorization": {"Basic Y2xpZW50LTE6c2VjcmV0, Macaroon " + get}}, 200, "", "GET"},
		{"POST token by header needs no Origin", "POST", "/projects/v1/shared/x", macaroonAuth(post), 200, "", "POST"},
		{"two Macaroon credentials in one header", "GET", userPath(""),
			map[string][]string{"Authorization": {"Macaroon " + get + ", Macaroon " + get}}, 401, "TOKEN-INVALID", ""},
		{"two Macaroon credentials in two headers", "GET", userPath(""),
			map[string][]string{"Authorization": {"Macaroon " + get, "Macaroon " + get}}, 401, "TOKEN-INVALID", ""},
		{"Basic only is no token", "GET", userPath(""), map[string][]string{"Authorization": {"Basic Y2xpZW50LTE6c2VjcmV0"}}, 401, "TOKEN-MISSING", ""},
		{"no token", "GET", userPath(""), nil, 401, "TOKEN-MISSING", ""},
		{"empty Macaroon credential", "GET", userPath(""), map[string][]string{"Authorization": {"Macaroon "}}, 401, "TOKEN-MISSING", ""},
		{"tampered signature", "GET", userPath(""), macaroonAuth(tamper(t, get)), 401, "TOKEN-INVALID", ""},
		{"not a token", "GET", userPath(""), macaroonAuth("not-a-token"), 401, "TOKEN-INVALID", ""},
		{"another user's profile", "GET", "/accounts/v1/users/someone-else", macaroonAuth(get), 403, "TOKEN-NOT-GRANTED", ""},
		{"other org", "GET", "/reports/v1/orgs/org-c/q3", macaroonAuth(get), 403, "TOKEN-NOT-GRANTED", ""},
		{"GET token on POST", "POST", "/projects/v1/shared/x", macaroonAuth(get), 403, "TOKEN-NOT-GRANTED", ""},
		{"POST token on GET", "GET", "/projects/v1/shared/x", macaroonAuth(post), 403, "TOKEN-NOT-GRANTED", ""},
		{"GET token on PUT", "PUT", userPath(""), macaroonAuth(get), 403, "TOKEN-NOT-GRANTED", ""},
	}
	for _, s := range servers {
		srv := s.start(t, baseConfig(ring))
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				resp := do(t, srv, request{method: tt.whenMethod, path: tt.whenPath, header: tt.whenHeader})
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus == 200 {
					id := resp.identity(t)
					if !id.OK || id.User != testSubject.UserID || id.Session != testSubject.SessionID ||
						id.Method != tt.expectMethod || id.Client != "" {
						t.Errorf("identity = %+v", id)
					}
					if !id.Expires.Equal(toks.Expires) {
						t.Errorf("expires = %v, want %v", id.Expires, toks.Expires)
					}
					if !slices.Equal(id.Routes, toks.Routes[tt.expectMethod]) {
						t.Errorf("routes = %q, want %q", id.Routes, toks.Routes[tt.expectMethod])
					}
					return
				}
				if resp.header.Get("X-Identity") != "" {
					t.Errorf("handler reached on a %d", resp.status)
				}
				wantAuth := ""
				if tt.expectStatus == 401 {
					wantAuth = `Macaroon realm="authgw"`
				}
				if got := resp.header.Get("WWW-Authenticate"); got != wantAuth {
					t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
				}
				if tt.whenMethod == "HEAD" {
					return
				}
				if e := resp.envelope(t); e.Error.Code != tt.expectCode || e.Error.Status != tt.expectStatus {
					t.Errorf("envelope = %+v, want %d %s", e, tt.expectStatus, tt.expectCode)
				}
			})
		}
	}
}

func TestMiddlewareMissingTokenEnvelope(t *testing.T) {
	ring := testRing(t)
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			srv := s.start(t, baseConfig(ring))
			resp := do(t, srv, request{path: userPath("")})
			if resp.status != http.StatusUnauthorized {
				t.Fatalf("status = %d", resp.status)
			}
			if got := resp.header.Get("WWW-Authenticate"); got != `Macaroon realm="authgw"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(resp.body, &raw); err != nil {
				t.Fatal(err)
			}
			if string(raw["t"]) != `"error"` {
				t.Errorf("t = %s", raw["t"])
			}
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(raw["error"], &inner); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"status": `401`, "code": `"TOKEN-MISSING"`, "title": `"Unauthorized"`, "obstructions": `[]`}
			for k, v := range want {
				if string(inner[k]) != v {
					t.Errorf("error.%s = %s, want %s", k, inner[k], v)
				}
			}
			if _, ok := inner["detail"]; !ok {
				t.Error("error.detail missing")
			}
		})
	}
}

// TestMiddlewareDenyReasonNotDisclosed checks that a refused token's body
// says only that it is not valid, never why.
func TestMiddlewareDenyReasonNotDisclosed(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	get := toks.ByMethod["GET"]
	revoked := verifier.NewRevocationSet()
	revoked.RevokeSession(testSubject.SessionID, fixedNow.Add(time.Hour))
	otherRing, err := mint.GenerateKeyRing("k9", strings.NewReader(strings.Repeat("x", 32)))
	if err != nil {
		t.Fatal(err)
	}
	ipBound, err := mint.AttenuateText(get, "ip 10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		givenMod  func(*verifier.Config)
		whenToken string
	}{
		{"bad signature", nil, tamper(t, get)},
		{"expired", func(c *verifier.Config) { c.Now = func() time.Time { return fixedNow.Add(time.Hour) } }, get},
		{"revoked", func(c *verifier.Config) { c.Revocations = revoked }, get},
		{"wrong server", func(c *verifier.Config) { c.ServerID = "other-server" }, get},
		{"unknown key", func(c *verifier.Config) { c.Keys = otherRing }, get},
		{"ip not allowed", nil, ipBound},
		{"malformed", nil, "%%%"},
	}
	secrets := []string{"signature", "expired", "revoked", "server", "key", "ip", "malformed", "caveat", "10.0.0.0"}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				cfg := baseConfig(ring)
				if tt.givenMod != nil {
					tt.givenMod(&cfg)
				}
				resp := do(t, s.start(t, cfg), request{path: userPath(""), header: macaroonAuth(tt.whenToken)})
				if resp.status != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401; body %s", resp.status, resp.body)
				}
				if e := resp.envelope(t); e.Error.Code != "TOKEN-INVALID" {
					t.Errorf("code = %s, want TOKEN-INVALID", e.Error.Code)
				}
				body := strings.ToLower(string(resp.body))
				for _, word := range secrets {
					if strings.Contains(body, word) {
						t.Errorf("body %s discloses %q", resp.body, word)
					}
				}
			})
		}
	}
}

func TestMiddlewareCookies(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	cookie := func(name, method string) *http.Cookie {
		return &http.Cookie{Name: name, Value: toks.ByMethod[method]}
	}
	own := "" // the server's own origin, filled per server
	tests := []struct {
		name         string
		givenSecure  bool
		whenMethod   string
		whenPath     string
		whenCookie   *http.Cookie
		whenHeader   map[string]string
		expectStatus int
		expectCode   string
	}{
		{"insecure GET cookie", false, "GET", userPath(""), cookie("authgw-get", "GET"), nil, 200, ""},
		{"secure GET cookie", true, "GET", userPath(""), cookie("__Host-authgw-get", "GET"), nil, 200, ""},
		{"secure config ignores insecure name", true, "GET", userPath(""), cookie("authgw-get", "GET"), nil, 401, "TOKEN-MISSING"},
		{"insecure config ignores secure name", false, "GET", userPath(""), cookie("__Host-authgw-get", "GET"), nil, 401, "TOKEN-MISSING"},
		{"HEAD uses the GET cookie", false, "HEAD", userPath(""), cookie("authgw-get", "GET"), nil, 200, ""},
		{"GET cookie not read for POST", false, "POST", "/projects/v1/shared/x", cookie("authgw-get", "GET"),
			map[string]string{"Origin": allowedOrigin}, 401, "TOKEN-MISSING"},
		{"POST cookie from allowed origin", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Origin": allowedOrigin}, 200, ""},
		{"POST cookie from evil origin", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Origin": "https://evil.example"}, 403, "ORIGIN-NOT-ALLOWED"},
		{"evil origin wins over same-host referer", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Origin": "https://evil.example", "Referer": "{own}/page"}, 403, "ORIGIN-NOT-ALLOWED"},
		{"POST cookie with own origin", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Origin": "{own}"}, 200, ""},
		{"POST cookie with same-host referer", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Referer": "{own}/app/page?x=1"}, 200, ""},
		{"POST cookie with allowed-origin referer", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Referer": allowedOrigin + "/page"}, 200, ""},
		{"POST cookie with evil referer", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Referer": "https://evil.example/page"}, 403, "ORIGIN-NOT-ALLOWED"},
		{"POST cookie with neither origin nor referer", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			nil, 403, "ORIGIN-NOT-ALLOWED"},
		{"POST cookie with null origin", false, "POST", "/projects/v1/shared/x", cookie("authgw-post", "POST"),
			map[string]string{"Origin": "null"}, 403, "ORIGIN-NOT-ALLOWED"},
		{"DELETE cookie from evil origin", false, "DELETE", "/accounts/v1/sessions/" + testSubject.SessionID, cookie("authgw-delete", "DELETE"),
			map[string]string{"Origin": "https://evil.example"}, 403, "ORIGIN-NOT-ALLOWED"},
		{"PATCH cookie from allowed origin", false, "PATCH", userPath(""), cookie("authgw-patch", "PATCH"),
			map[string]string{"Origin": allowedOrigin}, 200, ""},
		{"GET cookie needs no origin even from evil", false, "GET", userPath(""), cookie("authgw-get", "GET"),
			map[string]string{"Origin": "https://evil.example"}, 200, ""},
		{"header token on POST from evil origin", false, "POST", "/projects/v1/shared/x", nil,
			map[string]string{"Authorization": "Macaroon " + toks.ByMethod["POST"], "Origin": "https://evil.example"}, 200, ""},
		{"POST token in GET cookie slot", false, "GET", "/projects/v1/shared/x", cookie("authgw-get", "POST"), nil, 403, "TOKEN-NOT-GRANTED"},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				cfg := baseConfig(ring)
				cfg.Cookies.Insecure = !tt.givenSecure
				srv := s.start(t, cfg)
				own = srv.URL
				req := request{method: tt.whenMethod, path: tt.whenPath, header: map[string][]string{}}
				if tt.whenCookie != nil {
					req.cookies = []*http.Cookie{tt.whenCookie}
				}
				for k, v := range tt.whenHeader {
					req.header[k] = []string{strings.ReplaceAll(v, "{own}", own)}
				}
				resp := do(t, srv, req)
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus == 200 {
					if id := resp.identity(t); !id.OK || id.User != testSubject.UserID {
						t.Errorf("identity = %+v", id)
					}
					return
				}
				if tt.whenMethod != "HEAD" {
					if e := resp.envelope(t); e.Error.Code != tt.expectCode {
						t.Errorf("code = %s, want %s", e.Error.Code, tt.expectCode)
					}
				}
			})
		}
	}
}

// TestMiddlewareCookieJar runs a browser-like round trip over TLS: a
// public login route sets CookieConfig.Cookies, and a client with a
// cookie jar then reaches protected routes with them.
func TestMiddlewareCookieJar(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	cfg := baseConfig(ring)
	cfg.Cookies = verifier.CookieConfig{} // secure defaults: __Host- names
	protect := mustNew(t, cfg).HTTPMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/accounts/v1/sessions/login/password" {
			// The jar runs on the real clock, the tokens on the fixed one.
			for _, c := range cfg.Cookies.Cookies(toks.ByMethod, time.Now().Add(time.Hour)) {
				http.SetCookie(w, c)
			}
			return
		}
		writeIdentity(w, r)
	}))
	srv := httptest.NewTLSServer(protect)
	t.Cleanup(srv.Close)
	client := srv.Client()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client.Jar = jar

	post := func(path string, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest("POST", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("/accounts/v1/sessions/login/password", http.Header{}); resp.StatusCode != 200 {
		t.Fatalf("login status = %d", resp.StatusCode)
	}
	u, _ := url.Parse(srv.URL)
	var names []string
	for _, c := range jar.Cookies(u) {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	wantNames := []string{"__Host-authgw-delete", "__Host-authgw-get", "__Host-authgw-patch", "__Host-authgw-post"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("jar cookies = %q, want %q", names, wantNames)
	}
	resp, err := client.Get(srv.URL + userPath(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET with jar = %d, want 200", resp.StatusCode)
	}
	if resp := post("/projects/v1/shared/x", http.Header{"Origin": {allowedOrigin}}); resp.StatusCode != 200 {
		t.Errorf("POST with jar from allowed origin = %d, want 200", resp.StatusCode)
	}
	if resp := post("/projects/v1/shared/x", http.Header{"Origin": {"https://evil.example"}}); resp.StatusCode != 403 {
		t.Errorf("POST with jar from evil origin = %d, want 403", resp.StatusCode)
	}
}

func TestMiddlewarePublicScope(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	tests := []struct {
		name         string
		whenMethod   string
		whenPath     string
		whenHeader   map[string][]string
		expectStatus int
	}{
		{"login step", "POST", "/accounts/v1/sessions/login/email", nil, 200},
		{"another login step", "POST", "/accounts/v1/sessions/login/totp", nil, 200},
		{"health", "GET", "/healthz", nil, 200},
		{"HEAD health", "HEAD", "/healthz", nil, 200},
		{"public route with a token still public", "GET", "/healthz", macaroonAuth(toks.ByMethod["GET"]), 200},
		{"public route with a bad token still public", "GET", "/healthz", macaroonAuth("garbage"), 200},
		{"login without a step", "POST", "/accounts/v1/sessions/login", nil, 401},
		{"below a login step", "POST", "/accounts/v1/sessions/login/email/x", nil, 401},
		{"GET on a POST-only public route", "GET", "/accounts/v1/sessions/login/email", nil, 401},
		{"POST on a GET-only public route", "POST", "/healthz", nil, 401},
		{"below health", "GET", "/healthz/deep", nil, 401},
		{"health prefix", "GET", "/healthzz", nil, 401},
	}
	for _, s := range servers {
		srv := s.start(t, baseConfig(ring))
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				resp := do(t, srv, request{method: tt.whenMethod, path: tt.whenPath, header: tt.whenHeader})
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus != 200 || tt.whenMethod == "HEAD" {
					return
				}
				if id := resp.identity(t); id.OK || id.User != "" {
					t.Errorf("public request has identity %+v, want none", id)
				}
			})
		}
	}
}

func TestMiddlewareNonCanonicalRawPaths(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	auth := map[string]string{"Authorization": "Macaroon " + toks.ByMethod["GET"]}
	tests := []struct {
		name         string
		whenMethod   string
		whenTarget   string // {host} is replaced by the server's address
		whenHeader   map[string]string
		expectStatus int
	}{
		{"canonical", "GET", "/notes/v1/x", auth, 200},
		{"query is not the path", "GET", "/notes/v1/x?next=/../admin//a%2Fb", auth, 200},
		{"encoded space is fine", "GET", "/notes/v1/a%20b", auth, 200},
		{"encoded letter matches its route", "GET", "/%6eotes/v1/x", auth, 200},
		{"encoded UTF-8 is fine", "GET", "/notes/v1/caf%C3%A9", auth, 200},
		{"double slash at start", "GET", "//notes/v1/x", auth, 400},
		{"double slash inside", "GET", "/notes/v1//x", auth, 400},
		{"trailing slash", "GET", "/notes/v1/x/", auth, 400},
		{"encoded slash", "GET", "/notes/v1/a%2Fb", auth, 400},
		{"encoded lower-case slash", "GET", "/notes/v1/a%2fb", auth, 400},
		{"dot-dot", "GET", "/notes/v1/../admin", auth, 400},
		{"dot", "GET", "/notes/v1/./x", auth, 400},
		{"encoded dot-dot", "GET", "/notes/v1/%2e%2e/admin", auth, 400},
		{"dot-dot with parameter", "GET", "/notes/v1/..;/admin", auth, 400},
		{"encoded backslash", "GET", "/notes/v1/a%5cb", auth, 400},
		{"backslash", "GET", `/notes/v1/a\b`, auth, 400},
		{"encoded NUL", "GET", "/notes/v1/a%00b", auth, 400},
		{"overlong UTF-8", "GET", "/notes/v1/%c0%ae", auth, 400},
		{"lone UTF-8 lead byte", "GET", "/notes/v1/a%C3", auth, 400},
		{"UTF-8 sequence split across segments", "GET", "/notes/v1/%C3/%A9", auth, 400},
		{"non-canonical public path", "POST", "/accounts/v1/sessions/login/%2e%2e", nil, 400},
		{"non-canonical without token", "GET", "/notes/v1/../x", nil, 400},
		{"absolute form canonical", "GET", "http://{host}/notes/v1/x", auth, 200},
		{"absolute form dot-dot", "GET", "http://{host}/notes/v1/../admin", auth, 400},
		{"absolute form double slash", "GET", "http://{host}//notes/v1/x", auth, 400},
		{"absolute form encoded slash", "GET", "http://{host}/notes/v1/a%2Fb", auth, 400},
	}
	for _, s := range servers {
		srv := s.start(t, baseConfig(ring))
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				target := strings.ReplaceAll(tt.whenTarget, "{host}", srv.Listener.Addr().String())
				resp := doRaw(t, srv, tt.whenMethod, target, tt.whenHeader)
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus == 200 {
					if id := resp.identity(t); !id.OK {
						t.Errorf("identity missing")
					}
					return
				}
				if resp.header.Get("X-Identity") != "" {
					t.Error("handler reached")
				}
				if got := resp.header.Get("WWW-Authenticate"); got != "" {
					t.Errorf("WWW-Authenticate = %q on a 400", got)
				}
				if e := resp.envelope(t); e.Error.Code != "NON-CANONICAL-PATH" || e.Error.Title != "BadRequest" {
					t.Errorf("envelope = %+v", e)
				}
			})
		}
	}
}

func TestEchoSkipper(t *testing.T) {
	ring := testRing(t)
	skip := func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/internal/") }
	srv := echoApp(t, mustNew(t, baseConfig(ring)).EchoMiddleware(verifier.EchoConfig{Skipper: skip}), nil)
	tests := []struct {
		name         string
		whenPath     string
		expectStatus int
	}{
		{"skipped", "/internal/metrics", 200},
		{"skipped deeper", "/internal/a/b", 200},
		{"not skipped", "/notes/v1/x", 401},
		{"prefix look-alike not skipped", "/internalx/metrics", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, srv, request{path: tt.whenPath})
			if resp.status != tt.expectStatus {
				t.Fatalf("status = %d, want %d", resp.status, tt.expectStatus)
			}
			if tt.expectStatus == 200 {
				if id := resp.identity(t); id.OK {
					t.Errorf("skipped request has identity %+v", id)
				}
			}
		})
	}
}

// bindPolicy binds the client, as a policy with bindClient does.
const bindPolicy = `{
  "name": "bound",
  "appliesTo": {"userRoles": ["user"]},
  "expires": 600,
  "bindClient": true,
  "scopes": [{"name": "notes", "routes": ["/notes/v1/**"], "methods": ["GET"]}]
}`

func TestMiddlewareClientBinding(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, bindPolicy)
	fromHeader := func(r *http.Request) string { return r.Header.Get("X-Client-Id") }
	tests := []struct {
		name         string
		givenHook    func(*http.Request) string
		whenClient   string
		expectStatus int
	}{
		{"bound client", fromHeader, testSubject.ClientID, 200},
		{"other client", fromHeader, "client-2", 401},
		{"no client", fromHeader, "", 401},
		{"no hook", nil, testSubject.ClientID, 401},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				cfg := baseConfig(ring)
				cfg.ClientID = tt.givenHook
				srv := s.start(t, cfg)
				h := macaroonAuth(toks.ByMethod["GET"])
				h["X-Client-Id"] = []string{tt.whenClient}
				resp := do(t, srv, request{path: "/notes/v1/x", header: h})
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
				if tt.expectStatus == 200 {
					if id := resp.identity(t); id.Client != testSubject.ClientID {
						t.Errorf("identity client = %q, want %q", id.Client, testSubject.ClientID)
					}
				}
			})
		}
	}
}

func TestMiddlewareClientIP(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	attenuate := func(caveat string) string {
		t.Helper()
		tok, err := mint.AttenuateText(get, caveat)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name         string
		givenHook    func(*http.Request) netip.Addr
		whenToken    string
		expectStatus int
	}{
		{"loopback address", nil, attenuate("ip 127.0.0.1"), 200},
		{"loopback network", nil, attenuate("ip 127.0.0.0/8"), 200},
		{"one of several", nil, attenuate("ip 10.0.0.0/8 127.0.0.1 ::1"), 200},
		{"private network", nil, attenuate("ip 10.0.0.0/8"), 401},
		{"other address", nil, attenuate("ip 127.0.0.2"), 401},
		{"hook decides", func(*http.Request) netip.Addr { return netip.MustParseAddr("10.1.2.3") }, attenuate("ip 10.0.0.0/8"), 200},
		{"hook unknown address", func(*http.Request) netip.Addr { return netip.Addr{} }, attenuate("ip 0.0.0.0/0"), 401},
		{"X-Forwarded-For not trusted", nil, attenuate("ip 10.0.0.0/8"), 401},
	}
	for _, s := range servers {
		for _, tt := range tests {
			t.Run(s.name+"/"+tt.name, func(t *testing.T) {
				cfg := baseConfig(ring)
				cfg.ClientIP = tt.givenHook
				srv := s.start(t, cfg)
				h := macaroonAuth(tt.whenToken)
				h["X-Forwarded-For"] = []string{"10.9.9.9"}
				h["X-Real-Ip"] = []string{"10.9.9.9"}
				resp := do(t, srv, request{path: userPath(""), header: h})
				if resp.status != tt.expectStatus {
					t.Fatalf("status = %d, want %d; body %s", resp.status, tt.expectStatus, resp.body)
				}
			})
		}
	}
}

func TestMiddlewareBadConfig(t *testing.T) {
	ring := testRing(t)
	tests := []struct {
		name string
		mod  func(*verifier.Config)
	}{
		{"empty ServerID", func(c *verifier.Config) { c.ServerID = "" }},
		{"nil Keys", func(c *verifier.Config) { c.Keys = nil }},
		{"public pattern not absolute", func(c *verifier.Config) { c.Public = map[string][]string{"GET": {"healthz"}} }},
		{"public pattern with parameter", func(c *verifier.Config) { c.Public = map[string][]string{"GET": {"/users/:userId"}} }},
		{"public pattern with inner **", func(c *verifier.Config) { c.Public = map[string][]string{"GET": {"/a/**/b"}} }},
		{"public pattern with empty segment", func(c *verifier.Config) { c.Public = map[string][]string{"GET": {"/a//b"}} }},
		{"public unknown method", func(c *verifier.Config) { c.Public = map[string][]string{"FETCH": {"/healthz"}} }},
		{"origin without scheme", func(c *verifier.Config) { c.AllowedOrigins = []string{"app.example.com"} }},
		{"origin with path", func(c *verifier.Config) { c.AllowedOrigins = []string{"https://app.example.com/"} }},
		{"origin with other scheme", func(c *verifier.Config) { c.AllowedOrigins = []string{"ftp://app.example.com"} }},
		{"origin with user", func(c *verifier.Config) { c.AllowedOrigins = []string{"https://u@app.example.com"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(ring)
			tt.mod(&cfg)
			if v, err := verifier.New(cfg); err == nil || v != nil {
				t.Errorf("New = %v, %v; want nil, error", v, err)
			}
			// The middleware are made from a Verifier, which only New
			// makes, or by MustEchoMiddleware, which panics.
			expectPanic(t, "MustEchoMiddleware", func() { verifier.MustEchoMiddleware(cfg) })
		})
	}
	t.Run("good config", func(t *testing.T) {
		cfg := baseConfig(ring)
		if _, err := verifier.New(cfg); err != nil {
			t.Errorf("New: %v", err)
		}
		if mw := verifier.MustEchoMiddleware(cfg); mw == nil {
			t.Error("MustEchoMiddleware = nil")
		}
	})
}

func expectPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", name)
		}
	}()
	f()
}

func TestMacaroonCredential(t *testing.T) {
	tests := []struct {
		name        string
		whenValues  []string
		expectToken string
		expectFound bool
		expectOK    bool
	}{
		{"none", nil, "", false, true},
		{"basic only", []string{"Basic abc"}, "", false, true},
		{"macaroon", []string{"Macaroon tok"}, "tok", true, true},
		{"extra spaces", []string{"Macaroon   tok  "}, "tok", true, true},
		{"after basic", []string{"Basic abc, Macaroon tok"}, "tok", true, true},
		{"before basic", []string{"Macaroon tok, Basic abc"}, "tok", true, true},
		{"upper-case scheme", []string{"MACAROON tok"}, "tok", true, true},
		{"two in one value", []string{"Macaroon a, Macaroon b"}, "", false, false},
		{"two values", []string{"Macaroon a", "Macaroon b"}, "", false, false},
		{"bearer (OAuth access token)", []string{"Bearer tok"}, "tok", true, true},
		{"bearer after basic", []string{"Basic abc, bearer tok"}, "tok", true, true},
		{"bearer and macaroon", []string{"Bearer a, Macaroon b"}, "", false, false},
		{"bearer twice", []string{"Bearer a", "Bearer b"}, "", false, false},
		{"bearer with a discharge", []string{"Bearer tok dis"}, "", false, false},
		{"other scheme", []string{"Digest x"}, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, found, ok := verifier.MacaroonCredential(tt.whenValues)
			if tok != tt.expectToken || found != tt.expectFound || ok != tt.expectOK {
				t.Errorf("MacaroonCredential(%q) = %q, %v, %v; want %q, %v, %v",
					tt.whenValues, tok, found, ok, tt.expectToken, tt.expectFound, tt.expectOK)
			}
		})
	}
}

// TestEchoDefaultErrorHandlerSameAsHTTP: an Echo app that keeps Echo's
// default HTTPErrorHandler sends each refusal as the net/http middleware
// does: the same status, the same envelope byte for byte, the same
// challenge and caching headers.
func TestEchoDefaultErrorHandlerSameAsHTTP(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	expired := baseConfig(ring)
	expired.Now = func() time.Time { return fixedNow.Add(time.Hour) }
	tests := []struct {
		name       string
		givenCfg   verifier.Config
		whenMethod string
		whenTarget string
		whenHeader map[string]string
		expectCode string
	}{
		{"missing", baseConfig(ring), "GET", userPath(""), nil, "TOKEN-MISSING"},
		{"invalid", baseConfig(ring), "GET", userPath(""), map[string]string{"Authorization": "Macaroon " + tamper(t, toks.ByMethod["GET"])}, "TOKEN-INVALID"},
		{"expired", expired, "GET", userPath(""), map[string]string{"Authorization": "Macaroon " + toks.ByMethod["GET"]}, "TOKEN-INVALID"},
		{"too large", baseConfig(ring), "GET", userPath(""), map[string]string{"Authorization": "Macaroon " + strings.Repeat("A", verifier.MaxTokenSize+1)}, "TOKEN-TOO-LARGE"},
		{"not granted", baseConfig(ring), "GET", "/accounts/v1/users/other", map[string]string{"Authorization": "Macaroon " + toks.ByMethod["GET"]}, "TOKEN-NOT-GRANTED"},
		{"origin", baseConfig(ring), "POST", "/projects/v1/shared/x", map[string]string{"Cookie": "authgw-post=" + toks.ByMethod["POST"], "Origin": "https://evil.example"}, "ORIGIN-NOT-ALLOWED"},
		{"non-canonical", baseConfig(ring), "GET", "/notes/v1/../x", nil, "NON-CANONICAL-PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fromHTTP := doRaw(t, handlerServer(t, tt.givenCfg), tt.whenMethod, tt.whenTarget, tt.whenHeader)
			fromEcho := doRaw(t, echoServer(t, tt.givenCfg), tt.whenMethod, tt.whenTarget, tt.whenHeader)
			if fromEcho.status != fromHTTP.status || fromHTTP.status < 400 {
				t.Fatalf("status: echo %d, net/http %d", fromEcho.status, fromHTTP.status)
			}
			if e := fromEcho.envelope(t); e.Error.Code != tt.expectCode {
				t.Errorf("code = %s, want %s", e.Error.Code, tt.expectCode)
			}
			if string(fromEcho.body) != string(fromHTTP.body) {
				t.Errorf("body: echo %s, net/http %s", fromEcho.body, fromHTTP.body)
			}
			for _, h := range []string{"WWW-Authenticate", "Cache-Control", "X-Content-Type-Options"} {
				if got, want := fromEcho.header.Get(h), fromHTTP.header.Get(h); got != want {
					t.Errorf("%s: echo %q, net/http %q", h, got, want)
				}
			}
			if ct := fromEcho.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// TestEchoRefusalReachesAppErrorHandler: a refusal is returned to Echo,
// not written by the middleware, so the app's HTTPErrorHandler sees it as
// an *echo.HTTPError carrying the *DenialError, and the handler is never
// reached. Printed, the HTTPError's message tells the code and detail,
// never why the token was refused.
func TestEchoRefusalReachesAppErrorHandler(t *testing.T) {
	ring := testRing(t)
	toks := mintTokens(t, ring, browserPolicy)
	cfg := baseConfig(ring)
	cfg.Now = func() time.Time { return fixedNow.Add(time.Hour) } // tokens expired
	tests := []struct {
		name         string
		whenPath     string
		whenToken    string
		expectStatus int
		expectCode   string
		expectIs     error
	}{
		{"missing", userPath(""), "", 401, "TOKEN-MISSING", verifier.ErrMissingToken},
		{"expired", userPath(""), toks.ByMethod["GET"], 401, "TOKEN-INVALID", verifier.ErrExpired},
		{"non-canonical", "/notes/v1//x", "", 400, "NON-CANONICAL-PATH", verifier.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []error
			srv := echoApp(t, mustNew(t, cfg).EchoMiddleware(verifier.EchoConfig{}), func(err error, c echo.Context) {
				seen = append(seen, err)
				_ = c.NoContent(599)
			})
			var header map[string]string
			if tt.whenToken != "" {
				header = map[string]string{"Authorization": "Macaroon " + tt.whenToken}
			}
			resp := doRaw(t, srv, "GET", tt.whenPath, header)
			if resp.status != 599 || len(seen) != 1 {
				t.Fatalf("status %d, %d errors seen; want the app's 599 from one error", resp.status, len(seen))
			}
			err := seen[0]
			he, ok := errors.AsType[*echo.HTTPError](err)
			if !ok || he.Code != tt.expectStatus {
				t.Fatalf("err = %#v, want an *echo.HTTPError with code %d", err, tt.expectStatus)
			}
			d, ok := errors.AsType[*verifier.DenialError](err)
			if !ok || d.Response.Code != tt.expectCode || d.Response.Status != tt.expectStatus {
				t.Fatalf("err = %v, want a *DenialError %d %s", err, tt.expectStatus, tt.expectCode)
			}
			if !errors.Is(err, tt.expectIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.expectIs)
			}
			if got := fmt.Sprint(he.Message); got != d.Response.Error() || strings.Contains(got, "expired") {
				t.Errorf("message prints %q, want %q", got, d.Response.Error())
			}
			if wantChallenge := tt.expectStatus == 401; (d.Challenge == verifier.Challenge) != wantChallenge || (d.Challenge == "") == wantChallenge {
				t.Errorf("challenge = %q", d.Challenge)
			}
		})
	}
}

// TestEchoHooks: the ErrorHandler decides what a refusal returns (and a
// nil without a response still refuses), the SuccessHandler sees each
// verified request with its identity, and neither runs for a public or
// skipped request.
func TestEchoHooks(t *testing.T) {
	ring := testRing(t)
	get := mintTokens(t, ring, browserPolicy).ByMethod["GET"]
	teapot := echo.NewHTTPError(http.StatusTeapot, "no")
	tests := []struct {
		name          string
		givenHandler  func(c echo.Context, err error) error
		whenPath      string
		whenToken     string
		expectStatus  int
		expectBody    string // a prefix
		expectErrors  int    // ErrorHandler calls
		expectSuccess []string
	}{
		{"custom error", func(echo.Context, error) error { return teapot }, userPath(""), "", 418, `{"message":"no"}`, 1, nil},
		{"handler writes and returns nil", func(c echo.Context, err error) error {
			return c.String(http.StatusUnauthorized, "log in at /login")
		}, userPath(""), "", 401, "log in at /login", 1, nil},
		{"nil without a response still refuses", func(echo.Context, error) error { return nil }, userPath(""), "", 401, `{"t":"error","error":{"status":401,"code":"TOKEN-MISSING"`, 1, nil},
		{"verified", nil, userPath(""), get, 200, `{"ok":true`, 0, []string{testSubject.UserID}},
		{"public", nil, "/healthz", "", 200, `{"ok":false`, 0, nil},
		{"skipped", nil, "/internal/x", "", 200, `{"ok":false`, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errorCalls := 0
			var success []string
			mw := mustNew(t, baseConfig(ring)).EchoMiddleware(verifier.EchoConfig{
				Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/internal/") },
				ErrorHandler: func(c echo.Context, err error) error {
					errorCalls++
					if _, ok := errors.AsType[*verifier.DenialError](err); !ok {
						t.Errorf("ErrorHandler got %T, want a *DenialError", err)
					}
					if tt.givenHandler == nil {
						return verifier.EchoHTTPError(c, err)
					}
					return tt.givenHandler(c, err)
				},
				SuccessHandler: func(c echo.Context) {
					id, ok := verifier.IdentityFrom(c.Request().Context())
					if !ok {
						t.Error("SuccessHandler: no identity in the context")
					}
					success = append(success, id.UserID)
				},
			})
			resp := do(t, echoApp(t, mw, nil), request{path: tt.whenPath, header: macaroonAuthOrNone(tt.whenToken)})
			if resp.status != tt.expectStatus || !strings.HasPrefix(string(resp.body), tt.expectBody) {
				t.Fatalf("got %d %s, want %d %s…", resp.status, resp.body, tt.expectStatus, tt.expectBody)
			}
			if tt.expectStatus != 200 && resp.header.Get("X-Identity") != "" {
				t.Error("handler reached on a refusal")
			}
			if errorCalls != tt.expectErrors {
				t.Errorf("ErrorHandler called %d times, want %d", errorCalls, tt.expectErrors)
			}
			if !slices.Equal(success, tt.expectSuccess) {
				t.Errorf("SuccessHandler saw %q, want %q", success, tt.expectSuccess)
			}
		})
	}
}

// macaroonAuthOrNone is macaroonAuth, or no header for no token.
func macaroonAuthOrNone(tok string) map[string][]string {
	if tok == "" {
		return nil
	}
	return macaroonAuth(tok)
}
