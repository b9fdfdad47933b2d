//go:build loadtest

package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	_ "net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/infosign"
)

// TestLoadHarness is the server side of .ci/load (issue 4, point 9): one
// role per process so that each server's CPU can be read from
// /proc/PID/stat. It is not a timed test; it serves until SIGINT or
// SIGTERM. Environment:
//
//	LOADTEST_ROLE      backend | bare | authgw | forwardauth | load
//	                   (forwardauth: the admin listener's forward-auth
//	                   endpoints, for .ci/forward-auth-load)
//	LOADTEST_PORT      loopback port to listen on (default: any free port)
//	LOADTEST_UPSTREAM  bare, authgw: the backend's URL
//	LOADTEST_ACCESS_LOG  authgw: 1 to format the access log (JSON, to
//	                   io.Discard); default off, like the bare proxy
//	LOADTEST_TARGET, LOADTEST_AUTH, LOADTEST_TARGET2, LOADTEST_AUTH2,
//	LOADTEST_RATE, LOADTEST_DURATION, LOADTEST_CONNS
//	                   load: a fixed-rate, open-loop load generator, for
//	                   one target or two paired (see runFixedRate)
//
// A server prints one line "LOADTEST {json}" with its URL (and, for
// authgw, a ready Authorization header value and the path to request).
//
//	go test -c -tags loadtest -o /tmp/authgw-load.test ./gateway
//	LOADTEST_ROLE=backend LOADTEST_PORT=18081 /tmp/authgw-load.test -test.run TestLoadHarness -test.timeout 0
func TestLoadHarness(t *testing.T) {
	role := os.Getenv("LOADTEST_ROLE")
	if role == "" {
		t.Skip("LOADTEST_ROLE is not set; run through .ci/load")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var h http.Handler
	info := map[string]string{"role": role}
	switch role {
	case "backend":
		h = loadBackend()
	case "bare":
		h = bareProxy(t, upstreamURL(t))
	case "authgw":
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(400) // as authgw serve does unless GOGC is set
		}
		h = loadGateway(t, ctx, upstreamURL(t).String(), info)
	case "forwardauth":
		h = loadForwardAuth(t, ctx, info)
	case "load":
		runFixedRate(t)
		return
	default:
		t.Fatalf("LOADTEST_ROLE %q: want backend, bare, authgw, forwardauth or load", role)
	}
	if addr := os.Getenv("LOADTEST_PPROF"); addr != "" {
		// Profiling on demand: LOADTEST_PPROF=127.0.0.1:6060, then
		// go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=5
		go func() { _ = http.ListenAndServe(addr, http.DefaultServeMux) }()
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+envOr("LOADTEST_PORT", "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	info["url"] = "http://" + l.Addr().String()
	info["pid"] = strconv.Itoa(os.Getpid())
	line, _ := json.Marshal(info)
	fmt.Printf("LOADTEST %s\n", line)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		t.Fatal(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func upstreamURL(t *testing.T) *url.URL {
	t.Helper()
	u, err := url.Parse(os.Getenv("LOADTEST_UPSTREAM"))
	if err != nil || u.Host == "" {
		t.Fatalf("LOADTEST_UPSTREAM %q: want the backend's URL", os.Getenv("LOADTEST_UPSTREAM"))
	}
	return u
}

// loadBackend answers every request with the same 100 bytes.
func loadBackend() http.Handler {
	body := []byte(`{"ok":true,"pad":"` + string(make100Pad()) + `"}`)
	n := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{n}
		_, _ = w.Write(body)
	})
}

// make100Pad pads the backend's JSON body to exactly 100 bytes.
func make100Pad() []byte {
	pad := make([]byte, 100-len(`{"ok":true,"pad":""}`))
	for i := range pad {
		pad[i] = 'x'
	}
	return pad
}

// bufferPool is a httputil.BufferPool of 32 KiB buffers.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *b.p.Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { b.p.Put(&p) }

// bareProxy is the baseline (b): httputil.ReverseProxy with Rewrite, 256
// idle connections per host and a 32 KiB buffer pool, nothing else.
func bareProxy(t *testing.T, upstream *url.URL) http.Handler {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 1024
	tr.MaxIdleConnsPerHost = 256
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
		},
		Transport:  tr,
		BufferPool: newBufferPool(),
	}
}

// loadGateway is (c): the gateway on a real SQLite store with a client
// (secret, a rate limit too high to reach), the demo API at upstream and
// a token minted now; real clocks everywhere. info gets the
// Authorization header value and the path to request.
func loadGateway(t *testing.T, ctx context.Context, upstream string, info map[string]string) http.Handler {
	t.Helper()
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "authgw-load", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("LOADTEST_ACCESS_LOG") == "1" {
		level = slog.LevelInfo
	}
	e := newEnv(t, func(c *gateway.Config) {
		c.Now = time.Now
		c.Signer = signer
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	})
	const secret = "load-test-secret"
	id := e.client(sha256Hex(secret), 10_000_000)
	e.api("demo", 1, upstream, false, true)
	e.refresh()
	go e.gw.Run(ctx)
	toks := e.tokens("session-load", time.Now())
	info["authorization"] = authz(id, secret, toks.ByMethod["GET"])
	info["path"] = "/demo/v1/items"
	info["access_log"] = level.String()
	return e.gw
}

// loadForwardAuth is the forward-auth endpoints of the admin listener
// (ForwardAuthEndpoints) for loopback proxies, set up as loadGateway's
// gateway (the proxy in front routes, so no API is registered). info gets
// the Authorization header value and the path to request.
func loadForwardAuth(t *testing.T, ctx context.Context, info map[string]string) http.Handler {
	t.Helper()
	signer, err := infosign.NewSigner(infosign.SignerConfig{Key: signingKey(), Issuer: "authgw-load", Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *gateway.Config) {
		c.Now = time.Now
		c.Signer = signer
		c.Logger = slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
		c.ForwardAuthCallers = loopbackCallers
	})
	const secret = "load-test-secret"
	id := e.client(sha256Hex(secret), 10_000_000)
	e.refresh()
	go e.gw.Run(ctx)
	toks := e.tokens("session-load", time.Now())
	info["authorization"] = authz(id, secret, toks.ByMethod["GET"])
	info["path"] = "/demo/v1/items"
	return e.gw.ForwardAuthEndpoints(http.NotFoundHandler())
}

// runFixedRate sends GETs at LOADTEST_RATE requests per second to
// LOADTEST_TARGET (with LOADTEST_AUTH as Authorization when set) and, when
// LOADTEST_TARGET2 is set, as many to it (with LOADTEST_AUTH2), slot by
// slot alternately, for LOADTEST_DURATION (default 10s). Paired, both
// targets live through the same moments of a noisy machine (a stall of
// the generator, another process's burst), so the difference of their
// percentiles is not the difference of two moments. Open loop: each
// request is due at its slot and its latency counts from then, so a
// stalled server is not hidden (no coordinated omission). Each target has
// its own client of LOADTEST_CONNS connections (default 64); a request
// that finds them all busy waits for one, and that wait counts. At most
// 1,024 requests per target are pending; a slot that finds none free
// counts as "dropped". It prints one line "LOADTEST {json}" per target
// with the percentiles in milliseconds.
func runFixedRate(t *testing.T) {
	rate, err := strconv.Atoi(os.Getenv("LOADTEST_RATE"))
	if os.Getenv("LOADTEST_TARGET") == "" || err != nil || rate <= 0 {
		t.Fatal("LOADTEST_TARGET and LOADTEST_RATE (> 0) are required")
	}
	dur, err := time.ParseDuration(envOr("LOADTEST_DURATION", "10s"))
	if err != nil {
		t.Fatal(err)
	}
	conns, err := strconv.Atoi(envOr("LOADTEST_CONNS", "64"))
	if err != nil || conns <= 0 {
		t.Fatal("LOADTEST_CONNS: want a positive number")
	}
	targets := []*loadTarget{newLoadTarget(os.Getenv("LOADTEST_TARGET"), os.Getenv("LOADTEST_AUTH"), conns, rate, dur)}
	if u := os.Getenv("LOADTEST_TARGET2"); u != "" {
		targets = append(targets, newLoadTarget(u, os.Getenv("LOADTEST_AUTH2"), conns, rate, dur))
	}
	interval := time.Second / time.Duration(rate*len(targets))
	// Warm the connections up for a second at the same rate, unmeasured.
	warm := time.Now()
	for i := 0; time.Since(warm) < time.Second; i++ {
		time.Sleep(time.Until(warm.Add(time.Duration(i) * interval)))
		targets[i%len(targets)].send(time.Time{})
	}
	for _, lt := range targets {
		lt.wg.Wait()
	}
	start := time.Now()
	n := int(dur/interval) / len(targets) * len(targets)
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(due))
		targets[i%len(targets)].send(due)
	}
	for _, lt := range targets {
		lt.wg.Wait()
	}
	elapsed := time.Since(start)
	for _, lt := range targets {
		fmt.Printf("LOADTEST %s\n", lt.report(n/len(targets), elapsed))
	}
}

// loadTarget is one target of runFixedRate with its own connections and
// latencies.
type loadTarget struct {
	url, auth string
	client    *http.Client
	pending   chan struct{}
	wg        sync.WaitGroup

	mu                 sync.Mutex
	lat                []time.Duration
	errs, bad, dropped int
}

func newLoadTarget(url, auth string, conns, rate int, dur time.Duration) *loadTarget {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = conns
	return &loadTarget{url: url, auth: auth, client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		pending: make(chan struct{}, 1024), lat: make([]time.Duration, 0, rate*int(dur/time.Second+1))}
}

// send makes one request due at due in the background; a zero due
// (warm-up) is not measured.
func (lt *loadTarget) send(due time.Time) {
	select {
	case lt.pending <- struct{}{}:
	default:
		lt.mu.Lock()
		lt.dropped++
		lt.mu.Unlock()
		return
	}
	lt.wg.Add(1)
	go func() {
		defer lt.wg.Done()
		defer func() { <-lt.pending }()
		req, _ := http.NewRequest("GET", lt.url, nil)
		if lt.auth != "" {
			req.Header.Set("Authorization", lt.auth)
		}
		res, err := lt.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
		if due.IsZero() {
			return
		}
		d := time.Since(due)
		lt.mu.Lock()
		defer lt.mu.Unlock()
		switch {
		case err != nil:
			lt.errs++
		case res.StatusCode != http.StatusOK:
			lt.bad++
		default:
			lt.lat = append(lt.lat, d)
		}
	}()
}

// report is the target's result line: counts and percentiles in ms.
func (lt *loadTarget) report(sent int, elapsed time.Duration) []byte {
	lat := lt.lat
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	line, _ := json.Marshal(map[string]any{
		"role": "load", "target": lt.url, "sent": sent, "ok": len(lat), "errors": lt.errs,
		"non200": lt.bad, "dropped": lt.dropped, "achieved_rps": float64(len(lat)) / elapsed.Seconds(),
		"p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "p999_ms": pct(0.999), "max_ms": pct(1),
	})
	return line
}
