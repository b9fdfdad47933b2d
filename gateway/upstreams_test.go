package gateway_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
)

// upstreamBackend is a real loopback backend that counts its requests
// and answers with handler (200 and its name and protocol when nil).
type upstreamBackend struct {
	name string
	srv  *httptest.Server
	hits atomic.Int64
	body atomic.Value // the last request body, string
}

func newUpstreamBackend(t testing.TB, name string, handler http.HandlerFunc) *upstreamBackend {
	t.Helper()
	b := &upstreamBackend{name: name}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		got, _ := io.ReadAll(r.Body)
		b.body.Store(string(got))
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.WriteString(w, name+" "+r.Proto)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *upstreamBackend) start() *upstreamBackend { b.srv.Start(); return b }

// apiUpstreams registers an allow-unidentified API version with the
// given upstreams and options.
func (e *env) apiUpstreams(name string, version int, a db.API, urls ...string) {
	e.t.Helper()
	a.Name, a.Version, a.Upstreams, a.AllowUnidentified, a.Active, a.CreatedMs = name, version, urls, true, true, fixedNow.UnixMilli()
	if err := e.d.CreateAPI(e.ctx, a); err != nil {
		e.t.Fatal(err)
	}
}

// unlimited lifts the per-IP rate limit and makes the test paths public.
func unlimited(c *gateway.Config) {
	c.UnidentifiedPerSecond = -1
	paths := []string{"/svc/v1/x", "/tls/v1/x", "/h2c/v1/x", "/plain/v1/x"}
	c.Public = map[string][]string{"GET": paths, "POST": paths, "PUT": paths}
}

// TestUpstreamsFailoverUnderLoad: two upstreams share the load; one dies
// mid-run (its listener closed, its connections cut); every one of the
// concurrent clients' requests still succeeds, on the other.
func TestUpstreamsFailoverUnderLoad(t *testing.T) {
	e := newEnv(t, unlimited)
	a := newUpstreamBackend(t, "a", nil).start()
	b := newUpstreamBackend(t, "b", nil).start()
	e.apiUpstreams("svc", 1, db.API{}, a.srv.URL, b.srv.URL)
	e.refresh()

	const clients = 8
	run := 2 * time.Second
	deadline := time.Now().Add(run)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				res, err := client.Get(e.srv.URL + "/svc/v1/x")
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, res.Status+" "+string(body))
					continue
				}
				ok.Add(1)
			}
		})
	}
	time.Sleep(run / 3)
	hitsBefore := b.hits.Load()
	b.srv.CloseClientConnections()
	b.srv.Close()
	wg.Wait()
	t.Logf("requests: %d ok, %d failed; a served %d, b served %d (%d before it died)", ok.Load(), failed.Load(), a.hits.Load(), b.hits.Load(), hitsBefore)
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed, want 0; first: %v", failed.Load(), firstErr.Load())
	}
	if hitsBefore == 0 || a.hits.Load() == 0 || ok.Load() < 100 {
		t.Fatalf("want both upstreams used before the failure and a real load: a %d, b %d, ok %d", a.hits.Load(), hitsBefore, ok.Load())
	}
}

// TestUpstreamsPassiveHealth: an upstream that fails (refuses
// connections, or answers 502/503/504) is skipped afterwards; which
// requests are retried on the other upstream.
func TestUpstreamsPassiveHealth(t *testing.T) {
	unavailable := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	tests := []struct {
		name         string
		badHandler   http.HandlerFunc // nil: the bad upstream refuses connections
		method, body string
		// expectStatus of each of 6 requests in turn (the first goes to
		// the bad upstream: round robin starts with the second of the
		// list, which is the bad one here)
		expectStatus []int
		expectBadHit int64
	}{
		{"refused GET retried, then skipped", nil, "GET", "", []int{200, 200, 200, 200, 200, 200}, 0},
		{"refused POST retried (nothing sent), then skipped", nil, "POST", "payload", []int{200, 200, 200, 200, 200, 200}, 0},
		{"503 to a GET retried, then skipped", unavailable, "GET", "", []int{200, 200, 200, 200, 200, 200}, 1},
		{"503 to a POST passed on (not retried), then skipped", unavailable, "POST", "payload", []int{503, 200, 200, 200, 200, 200}, 1},
		{"503 to a PUT with a body passed on", unavailable, "PUT", "payload", []int{503, 200, 200, 200, 200, 200}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, unlimited)
			good := newUpstreamBackend(t, "good", nil).start()
			bad := newUpstreamBackend(t, "bad", tt.badHandler)
			if tt.badHandler != nil {
				bad.start()
			} else {
				bad.start()
				bad.srv.Close() // a port nobody listens on
			}
			e.apiUpstreams("svc", 1, db.API{}, good.srv.URL, bad.srv.URL)
			e.refresh()
			for i, want := range tt.expectStatus {
				var body io.Reader
				if tt.body != "" {
					body = strings.NewReader(tt.body)
				}
				res, got := e.send(tt.method, "/svc/v1/x", nil, body)
				if res.StatusCode != want {
					t.Fatalf("request %d: %d %s, want %d", i, res.StatusCode, got, want)
				}
				if want == 200 && tt.body != "" && good.body.Load() != tt.body {
					t.Fatalf("request %d: good upstream got body %q, want %q", i, good.body.Load(), tt.body)
				}
			}
			if bad.hits.Load() != tt.expectBadHit {
				t.Fatalf("bad upstream served %d requests, want %d (skipped after its failure)", bad.hits.Load(), tt.expectBadHit)
			}
		})
	}
}

// TestUpstreamsAllDown: with every upstream failing, each is tried and
// the client gets 502 UPSTREAM-UNAVAILABLE.
func TestUpstreamsAllDown(t *testing.T) {
	e := newEnv(t, unlimited)
	a := newUpstreamBackend(t, "a", nil).start()
	b := newUpstreamBackend(t, "b", nil).start()
	a.srv.Close()
	b.srv.Close()
	e.apiUpstreams("svc", 1, db.API{}, a.srv.URL, b.srv.URL)
	e.refresh()
	for i := range 3 {
		res, body := e.send("GET", "/svc/v1/x", nil, nil)
		if res.StatusCode != http.StatusBadGateway || decodeError(t, body).Error.Code != gateway.CodeUpstreamUnavailable {
			t.Fatalf("request %d: %d %s, want 502 %s", i, res.StatusCode, body, gateway.CodeUpstreamUnavailable)
		}
	}
}

// TestUpstreamTimeouts: the per-API response-header and overall timeouts
// answer 504 UPSTREAM-TIMEOUT; an API without them waits.
func TestUpstreamTimeouts(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "late")
	}
	tests := []struct {
		name         string
		api          db.API
		expectStatus int
	}{
		{"header timeout", db.API{HeaderTimeoutMs: 50}, http.StatusGatewayTimeout},
		{"overall timeout", db.API{TimeoutMs: 50}, http.StatusGatewayTimeout},
		{"defaults wait", db.API{}, http.StatusOK},
		{"timeouts longer than the backend", db.API{HeaderTimeoutMs: 5000, TimeoutMs: 5000, ConnectTimeoutMs: 1000}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, unlimited)
			b := newUpstreamBackend(t, "slow", slow).start()
			e.apiUpstreams("svc", 1, tt.api, b.srv.URL)
			e.refresh()
			res, body := e.send("GET", "/svc/v1/x", nil, nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("%d %s, want %d", res.StatusCode, body, tt.expectStatus)
			}
			if tt.expectStatus == http.StatusGatewayTimeout && decodeError(t, body).Error.Code != gateway.CodeUpstreamTimeout {
				t.Fatalf("%s, want %s", body, gateway.CodeUpstreamTimeout)
			}
		})
	}
}

// TestUpstreamHTTP2: HTTP/2 over TLS to an upstream that offers it by
// ALPN; h2c (HTTP/2 without TLS) only to an API configured for it.
func TestUpstreamHTTP2(t *testing.T) {
	tlsBackend := newUpstreamBackend(t, "tls", nil)
	tlsBackend.srv.EnableHTTP2 = true
	tlsBackend.srv.StartTLS()
	roots := x509.NewCertPool()
	roots.AddCert(tlsBackend.srv.Certificate())

	h2cBackend := newUpstreamBackend(t, "h2c", nil)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	h2cBackend.srv.Config.Protocols = &p
	h2cBackend.start()

	e := newEnv(t, func(c *gateway.Config) { unlimited(c); c.UpstreamTLS = &tls.Config{RootCAs: roots} })
	e.apiUpstreams("tls", 1, db.API{}, tlsBackend.srv.URL)
	e.apiUpstreams("h2c", 1, db.API{H2C: true}, h2cBackend.srv.URL)
	e.apiUpstreams("plain", 1, db.API{}, h2cBackend.srv.URL)
	e.refresh()
	tests := []struct {
		path, expect string
	}{
		{"/tls/v1/x", "tls HTTP/2.0"},
		{"/h2c/v1/x", "h2c HTTP/2.0"},
		{"/plain/v1/x", "h2c HTTP/1.1"},
	}
	for _, tt := range tests {
		res, body := e.send("GET", tt.path, nil, nil)
		if res.StatusCode != 200 || string(body) != tt.expect {
			t.Errorf("%s: %d %q, want %q", tt.path, res.StatusCode, body, tt.expect)
		}
	}
}

// TestUpstreamsBackoff: a skipped upstream is tried again once its
// backoff (10 s, doubled per consecutive failure) has passed, and a
// success makes it healthy.
func TestUpstreamsBackoff(t *testing.T) {
	var now atomic.Int64
	now.Store(fixedNow.UnixNano())
	var failing atomic.Bool
	failing.Store(true)
	e := newEnv(t, func(c *gateway.Config) {
		unlimited(c)
		c.Now = func() time.Time { return time.Unix(0, now.Load()) }
	})
	good := newUpstreamBackend(t, "good", nil).start()
	flaky := newUpstreamBackend(t, "flaky", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}).start()
	e.apiUpstreams("svc", 1, db.API{}, good.srv.URL, flaky.srv.URL)
	e.refresh()
	steps := []struct {
		name          string
		advance       time.Duration
		heal          bool
		expectFlakyTo int64 // flaky's hit count after 4 requests
	}{
		{"first failure: skipped", 0, false, 1},
		{"within 10 s: still skipped", 9 * time.Second, false, 1},
		{"after 10 s: tried again, fails, now 20 s", 2 * time.Second, false, 2},
		{"11 s later: still skipped", 11 * time.Second, false, 2},
		{"after 20 s: tried again and healthy", 10 * time.Second, true, 4},
	}
	for _, st := range steps {
		now.Add(int64(st.advance))
		failing.Store(!st.heal)
		for range 4 {
			if res, body := e.send("GET", "/svc/v1/x", nil, nil); res.StatusCode != 200 {
				t.Fatalf("%s: %d %s", st.name, res.StatusCode, body)
			}
		}
		if got := flaky.hits.Load(); got != st.expectFlakyTo {
			t.Fatalf("%s: flaky served %d, want %d", st.name, got, st.expectFlakyTo)
		}
	}
}

// TestUpstreamTimeoutBounds: a timeout stored outside the gateway's
// bounds (the store does not check them) is clamped to the nearest one
// and reported at refresh; the API still serves.
func TestUpstreamTimeoutBounds(t *testing.T) {
	tests := []struct {
		name          string
		api           db.API
		expectProblem bool
	}{
		{"defaults", db.API{}, false},
		{"within bounds", db.API{ConnectTimeoutMs: 10, HeaderTimeoutMs: 600000, TimeoutMs: 3600000}, false},
		{"connect below the minimum", db.API{ConnectTimeoutMs: 1}, true},
		{"header above the maximum", db.API{HeaderTimeoutMs: 600001}, true},
		{"overall above the maximum", db.API{TimeoutMs: 3600001}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, unlimited)
			b := newUpstreamBackend(t, "b", nil).start()
			e.apiUpstreams("svc", 1, tt.api, b.srv.URL)
			e.refresh()
			if got := strings.Contains(e.logText(), "API timeout out of bounds"); got != tt.expectProblem {
				t.Fatalf("reported = %v, want %v: %s", got, tt.expectProblem, e.logText())
			}
			if res, body := e.send("GET", "/svc/v1/x", nil, nil); res.StatusCode != 200 {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
		})
	}
}
