package gateway_test

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
)

// benchBackend answers 100 bytes, like the load test's backend.
func benchBackend(b *testing.B) *httptest.Server {
	body := make([]byte, 100)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(func() {
		srv.Close()
		b.Logf("backend connections opened: %d", conns.Load())
	})
	return srv
}

type benchPool struct{ p sync.Pool }

func (bp *benchPool) Get() []byte {
	if v := bp.p.Get(); v != nil {
		return *v.(*[]byte)
	}
	return make([]byte, 32<<10)
}
func (bp *benchPool) Put(p []byte) { bp.p.Put(&p) }

// BenchmarkProxy measures one proxied GET in-process (the inbound side is
// a recorder; the backend is a real loopback server): the bare
// ReverseProxy baseline, then authgw with client credentials, rate
// limit, a remembered macaroon and a reused request-info signature.
func BenchmarkProxy(b *testing.B) {
	backend := benchBackend(b)
	target, _ := url.Parse(backend.URL)
	run := benchRequests
	b.Run("bare-ReverseProxy", func(b *testing.B) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 256
		bare := &httputil.ReverseProxy{
			Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
			Transport:  tr,
			BufferPool: &benchPool{},
		}
		run(b, bare, "/items", "")
	})
	b.Run("authgw", func(b *testing.B) {
		const secret = "bench-secret"
		e, id := benchGateway(b, backend.URL, secret, nil)
		toks := e.tokens("session-bench", time.Now())
		run(b, e.gw, "/demo/v1/items", authz(id, secret, toks.ByMethod["GET"]))
	})
	// A browser: no Basic header, the client named by the token cookie's
	// client caveat.
	b.Run("authgw-browser-cookie", func(b *testing.B) {
		e, id := benchGateway(b, backend.URL, "unused", nil)
		tok := bound(b, e.tokens("session-bench", time.Now()).ByMethod["GET"], id)
		run(b, e.gw, "/demo/v1/items", "", "theme=dark; authgw-get="+tok)
	})
}

// benchRequests sends GET path (with the Authorization and Cookie
// values given) to h until the benchmark ends, failing it on a status
// other than 200.
func benchRequests(b *testing.B, h http.Handler, path, auth string, cookie ...string) {
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if len(cookie) > 0 {
			req.Header.Set("Cookie", cookie[0])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// benchGateway is a gateway on the wall clock, logging warnings only
// (configured further by mod), with demo v1 at backendURL and a client
// with secret allowed ten million requests a second; its snapshot is
// loaded.
func benchGateway(b *testing.B, backendURL, secret string, mod func(*gateway.Config)) (e *env, clientID string) {
	b.Helper()
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "bench", Now: time.Now})
	if err != nil {
		b.Fatal(err)
	}
	e = newEnv(b, func(c *gateway.Config) {
		c.Now = time.Now
		c.Signer = signer
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if mod != nil {
			mod(c)
		}
	})
	clientID = e.client(sha256Hex(secret), 10_000_000)
	e.api("demo", 1, backendURL, false, true)
	e.refresh()
	return e, clientID
}
