package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
)

// proxyEnv is a gateway with the echo backend as demo v1, a client with
// secret "s3cret" and a GET/POST/PUT token.
func proxyEnv(t *testing.T, mod func(*gateway.Config)) (e *env, clientID string, tok map[string]string) {
	t.Helper()
	e = newEnv(t, mod)
	e.api("demo", 1, echoBackend(t, "demo").URL, false, true)
	clientID = e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	return e, clientID, e.tokens("session-1", fixedNow).ByMethod
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// TestProxy_headerHygiene: what the client sends about itself is replaced
// by what the gateway knows; credentials never reach the backend.
func TestProxy_headerHygiene(t *testing.T) {
	tests := []struct {
		name        string
		givenProxy  []netip.Prefix
		givenProto  string
		expectXFF   string
		expectProto string
	}{
		{"X-Forwarded-For and -Proto ignored without trusted proxies", nil, "https", "127.0.0.1", "http"},
		{"X-Forwarded-For and -Proto honoured from a trusted proxy", loopback, "https", "203.0.113.7", "https"},
		{"-Proto of a chain of proxies: the first hop's", loopback, "HTTPS, http", "203.0.113.7", "https"},
		{"-Proto not a scheme: http", loopback, "gopher", "203.0.113.7", "http"},
		{"an IPv4-mapped trusted proxy prefix matches the IPv4 peer", []netip.Prefix{netip.MustParsePrefix("::ffff:127.0.0.0/104")}, "https", "203.0.113.7", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, id, tok := proxyEnv(t, func(c *gateway.Config) { c.TrustedProxies = tt.givenProxy })
			res, body := e.send("GET", "/demo/v1/items?q=1", header(
				"Authorization", authz(id, "s3cret", tok["GET"]),
				"X-Forwarded-For", "198.51.100.1, 203.0.113.7",
				"X-Forwarded-Host", "spoofed.example",
				"X-Forwarded-Proto", tt.givenProto,
				"X_Forwarded_For", "6.6.6.6",
				"X_Auth_Info", "forged.token.here",
				"X_Real_Ip", "6.6.6.6",
				"X_Request_Id", "forged-request-id",
				"Forwarded", "for=1.2.3.4",
				"X-Auth-Info", "forged.token.here",
				"x-auth-info-extra", "forged",
				"X-Auth-Info-Signed", "0",
				"Cookie", "authgw-get="+tok["GET"]+"; theme=dark",
			), nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			got := decodeEcho(t, body)
			if got.Claims == nil {
				t.Fatalf("backend could not verify X-Auth-Info: %s", got.InfoError)
			}
			c := got.Claims
			if c.Client != id || !c.SecretVerified || c.Audience != "demo" || c.IP != tt.expectXFF || c.User == nil || c.User.ID != "user-1" || c.User.SessionID != "session-1" ||
				!slices.Equal(c.User.Roles, []string{"user", "employee"}) {
				t.Errorf("claims %+v", *c)
			}
			h := http.Header(got.Header)
			for _, name := range []string{"Authorization", "Forwarded", "X-Auth-Info-Extra"} {
				if v := h.Values(name); len(v) != 0 {
					t.Errorf("backend got %s: %q", name, v)
				}
			}
			for name := range h {
				if strings.Contains(name, "_") {
					t.Errorf("backend got the client's %s (CGI-style servers read it as %s)", name, strings.ReplaceAll(name, "_", "-"))
				}
			}
			if v := h.Values("X-Forwarded-For"); len(v) != 1 || v[0] != tt.expectXFF {
				t.Errorf("X-Forwarded-For %q, want %q", v, tt.expectXFF)
			}
			if v := h.Values("X-Forwarded-Proto"); len(v) != 1 || v[0] != tt.expectProto {
				t.Errorf("X-Forwarded-Proto %q, want %q", v, tt.expectProto)
			}
			if v := h.Get("X-Forwarded-Host"); v == "spoofed.example" {
				t.Errorf("X-Forwarded-Host passed through: %q", v)
			}
			if v := h.Get("X-Auth-Info-Signed"); v != "1" {
				t.Errorf("X-Auth-Info-Signed %q", v)
			}
			if v := h.Get("Cookie"); v != "theme=dark" {
				t.Errorf("Cookie %q, want only theme=dark", v)
			}
			if got.RequestURI != "/items?q=1" {
				t.Errorf("backend URI %q", got.RequestURI)
			}
			if res.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("backend CORS header passed through")
			}
		})
	}
}

// TestProxy_unidentifiedClaims: without a client or token, the request
// info has no client and no user.
func TestProxy_unidentifiedClaims(t *testing.T) {
	e := newEnv(t, nil)
	e.api("open", 1, echoBackend(t, "open").URL, true, true)
	e.refresh()
	res, body := e.send("GET", "/open/v1/health", nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	got := decodeEcho(t, body)
	if got.Claims == nil || got.Claims.Client != "" || got.Claims.User != nil || got.Claims.SecretVerified {
		t.Errorf("claims %+v (%s)", got.Claims, got.InfoError)
	}
}

// rawRequest sends one request line and headers over a plain connection
// and returns the status code and body.
func rawRequest(t *testing.T, addr, requestLine string, headers ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	msg := requestLine + "\r\nHost: gw.test\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
	if _, err := io.WriteString(conn, msg); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestProxy_pathTricks: traversal and encoding tricks sent byte for byte,
// and the escaped path forwarded byte for byte with the prefix stripped.
func TestProxy_pathTricks(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	auth := "Authorization: " + authz(id, "s3cret", tok["GET"]) + "\r\n"
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	tests := []struct {
		name         string
		givenLine    string
		expectStatus int
		expectURI    string // what the backend saw, for 200
	}{
		{"prefix stripped", "GET /demo/v1/items/42 HTTP/1.1", 200, "/items/42"},
		{"bare prefix becomes /", "GET /demo/v1 HTTP/1.1", 200, "/"},
		{"escaped bytes kept", "GET /demo/v1/caf%C3%A9/a%20b/%7Euser HTTP/1.1", 200, "/caf%C3%A9/a%20b/%7Euser"},
		{"escaped bytes kept with query", "GET /demo/v1/x%3Ay?a=%2F HTTP/1.1", 200, "/x%3Ay?a=%2F"},
		{"dot-dot traversal", "GET /demo/v1/../../admin HTTP/1.1", 400, ""},
		{"traversal to another api", "GET /demo/v1/../../other/v1/x HTTP/1.1", 400, ""},
		{"encoded dot-dot", "GET /demo/v1/%2e%2e/admin HTTP/1.1", 400, ""},
		{"encoded slash", "GET /demo/v1/a%2fb HTTP/1.1", 400, ""},
		{"backslash", "GET /demo/v1/a\\..\\b HTTP/1.1", 400, ""},
		{"overlong utf-8 dot", "GET /demo/v1/%c0%ae%c0%ae/admin HTTP/1.1", 400, ""},
		{"encoded NUL", "GET /demo/v1/a%00b HTTP/1.1", 400, ""},
		{"dot segment with parameter", "GET /demo/v1/..;/admin HTTP/1.1", 400, ""},
		{"double slash", "GET //demo/v1/items HTTP/1.1", 400, ""},
		{"bad escape", "GET /demo/v1/%zz HTTP/1.1", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := rawRequest(t, addr, tt.givenLine, auth)
			if status != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.expectStatus, body)
			}
			if status == 200 {
				if got := decodeEcho(t, []byte(body)).RequestURI; got != tt.expectURI {
					t.Errorf("backend saw %q, want %q", got, tt.expectURI)
				}
			}
		})
	}
}

// TestProxy_upstreamFailures: a backend that is down is 502, a slow one
// 504, both in the envelope.
func TestProxy_upstreamFailures(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	tests := []struct {
		name         string
		givenURL     string
		expectStatus int
		expectCode   string
	}{
		{"backend down", downURL, 502, "UPSTREAM-UNAVAILABLE"},
		{"backend slow", slow.URL, 504, "UPSTREAM-TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *gateway.Config) { c.UpstreamTimeout = 100 * time.Millisecond })
			e.api("demo", 1, tt.givenURL, false, true)
			id := e.client(sha256Hex("s3cret"), -1)
			e.refresh()
			start := time.Now()
			res, body := e.send("GET", "/demo/v1/x", header("Authorization", authz(id, "", e.tokens("s", fixedNow).ByMethod["GET"])), nil)
			if res.StatusCode != tt.expectStatus || decodeError(t, body).Error.Code != tt.expectCode {
				t.Fatalf("status %d body %s, want %d %s", res.StatusCode, body, tt.expectStatus, tt.expectCode)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v, want about the 100ms timeout", d)
			}
		})
	}
}

// TestProxy_streaming moves 100 MB up and 100 MB down without the
// gateway buffering them.
func TestProxy_streaming(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	const size = 100 << 20
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.Copy(w, io.LimitReader(zeros{}, size))
	}))
	t.Cleanup(backend.Close)
	e := newEnv(t, nil)
	e.api("demo", 1, backend.URL, false, true)
	id := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	toks := e.tokens("s", fixedNow).ByMethod

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()

	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/demo/v1/upload", io.LimitReader(zeros{}, size))
	req.Header.Set("Authorization", authz(id, "", toks["PUT"]))
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(b) != fmt.Sprintf("%d <nil>", size) {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}

	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/demo/v1/download", nil)
	req.Header.Set("Authorization", authz(id, "", toks["GET"]))
	res, err = e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	close(stop)
	wg.Wait()
	if peak > before.HeapInuse && peak-before.HeapInuse > 50<<20 {
		t.Errorf("heap in use grew by %d MB while streaming", (peak-before.HeapInuse)>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestProxy_upgrade: a WebSocket-style Upgrade reaches a hijacking echo
// backend and bytes flow both ways.
func TestProxy_upgrade(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "no upgrade", 400)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		_, _ = io.Copy(conn, brw) // echo
	}))
	t.Cleanup(backend.Close)
	e := newEnv(t, nil)
	e.api("demo", 1, backend.URL, false, true)
	id := e.client(sha256Hex("s3cret"), -1)
	e.refresh()

	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /demo/v1/ws HTTP/1.1\r\nHost: gw.test\r\nAuthorization: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		authz(id, "", e.tokens("s", fixedNow).ByMethod["GET"]))
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	if _, err := io.WriteString(conn, "ping-through-gateway"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("ping-through-gateway"))
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping-through-gateway" {
		t.Fatalf("echo %q, %v", buf, err)
	}
}

// TestProxy_noSQLOnRequestPath: after one Refresh, 1,000 proxied,
// authenticated requests make no store call; with the database closed,
// requests still pass and Refresh fails without dropping the snapshot.
func TestProxy_noSQLOnRequestPath(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	loads := e.src.loads.Load()
	if loads != 1 {
		t.Fatalf("%d loads after one Refresh", loads)
	}
	h := header("Authorization", authz(id, "s3cret", tok["GET"]))
	for i := range 1000 {
		res, body := e.send("GET", fmt.Sprintf("/demo/v1/items/%d", i), h, nil)
		if res.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
	}
	if got := e.src.loads.Load(); got != loads {
		t.Errorf("%d store calls during 1,000 requests", got-loads)
	}
	if err := e.d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.gw.Refresh(e.ctx); err == nil {
		t.Fatal("Refresh with the database closed succeeded")
	}
	for i := range 10 {
		if res, body := e.send("GET", "/demo/v1/items", h, nil); res.StatusCode != 200 {
			t.Fatalf("request %d with the database closed: %d %s", i, res.StatusCode, body)
		}
	}
}
