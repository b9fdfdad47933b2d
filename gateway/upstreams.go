package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Upstream defaults and bounds. A timeout of an API entry outside its
// bounds is replaced by the nearest bound (and reported at refresh).
const (
	// DefaultConnectTimeout bounds a dial and TLS handshake to an
	// upstream when the API entry sets none.
	DefaultConnectTimeout = 5 * time.Second
	// MinUpstreamTimeout is the smallest timeout an API entry may set.
	MinUpstreamTimeout = 10 * time.Millisecond
	// MaxConnectTimeout, MaxHeaderTimeout and MaxOverallTimeout are the
	// largest an API entry may set.
	MaxConnectTimeout = time.Minute
	MaxHeaderTimeout  = 10 * time.Minute
	MaxOverallTimeout = time.Hour
	// upstreamBackoff is how long an upstream that failed is skipped,
	// doubled for each further failure up to upstreamBackoffMax.
	upstreamBackoff    = 10 * time.Second
	upstreamBackoffMax = 5 * time.Minute
)

// upstream is one URL of an API version with its passive health.
type upstream struct {
	target *url.URL
	health *upstreamHealth
}

// upstreamHealth is the passive health of one upstream (scheme and
// host), shared by every API listing it and kept across snapshots.
type upstreamHealth struct {
	fails     atomic.Int32 // consecutive failures
	downUntil atomic.Int64 // unix nanoseconds; skipped while now is before
}

// up reports whether the upstream is not being skipped at now.
func (h *upstreamHealth) up(now int64) bool { return h.downUntil.Load() <= now }

// failed marks a failure at now: skipped for upstreamBackoff, doubled
// per consecutive failure up to upstreamBackoffMax. Failures of
// requests in flight when it is already skipped do not count again.
func (h *upstreamHealth) failed(now int64) {
	old := h.downUntil.Load()
	if old > now {
		return
	}
	n := h.fails.Add(1)
	d := upstreamBackoff << min(n-1, 16)
	if d > upstreamBackoffMax || d <= 0 {
		d = upstreamBackoffMax
	}
	h.downUntil.CompareAndSwap(old, now+int64(d))
}

// ok marks a success: the upstream is healthy again.
func (h *upstreamHealth) ok() {
	if h.fails.Load() != 0 {
		h.fails.Store(0)
		h.downUntil.Store(0)
	}
}

// transportKey is what makes two APIs' transports differ.
type transportKey struct {
	connect, header time.Duration
	h2c             bool
}

// Health is kept per scheme and host: two APIs on one backend host share
// it, so a host answering 503 for one API is skipped for the other too.

// upstreams holds the transports (one per distinct timeouts and
// protocols, so connections are pooled across APIs and snapshots) and
// the health of each upstream by scheme and host.
type upstreams struct {
	mu         sync.Mutex
	transports map[transportKey]*http.Transport
	health     map[string]*upstreamHealth
}

// clampTimeout returns d, the default for 0, or the nearest bound.
func clampTimeout(d, def, maxD time.Duration) (time.Duration, bool) {
	switch {
	case d == 0:
		return def, true
	case d < MinUpstreamTimeout:
		return MinUpstreamTimeout, false
	case d > maxD:
		return maxD, false
	}
	return d, true
}

// bindUpstreams gives each API of a compiled snapshot its upstreams,
// transport and overall timeout.
func (g *Gateway) bindUpstreams(s *snapshot, problem func(msg string, args ...any)) {
	g.ups.mu.Lock()
	defer g.ups.mu.Unlock()
	if g.ups.transports == nil {
		g.ups.transports = map[transportKey]*http.Transport{}
		g.ups.health = map[string]*upstreamHealth{}
	}
	for _, fam := range s.apis {
		for _, a := range fam.versions {
			spec := a.spec
			connect, ok1 := clampTimeout(spec.ConnectTimeout, DefaultConnectTimeout, MaxConnectTimeout)
			header, ok2 := clampTimeout(spec.HeaderTimeout, g.cfg.UpstreamTimeout, MaxHeaderTimeout)
			a.timeout = 0
			ok3 := true
			if spec.Timeout != 0 {
				a.timeout, ok3 = clampTimeout(spec.Timeout, 0, MaxOverallTimeout)
			}
			if !ok1 || !ok2 || !ok3 {
				problem("gateway: API timeout out of bounds, clamped", "api", a.name, "version", a.version)
			}
			key := transportKey{connect: connect, header: header, h2c: spec.H2C}
			t := g.ups.transports[key]
			if t == nil {
				t = g.newTransport(key)
				g.ups.transports[key] = t
			}
			a.rt = t
			urls := spec.Upstreams
			if len(urls) == 0 {
				urls = []string{spec.URL}
			}
			for i, raw := range urls {
				var u *url.URL
				if i == 0 {
					u = a.target
				} else if p, err := url.Parse(raw); err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != "" {
					u = p
				} else {
					problem("gateway: API upstream does not parse as http(s)://host (skipped)", "api", a.name, "version", a.version)
				}
				if u == nil {
					continue
				}
				hk := u.Scheme + "://" + u.Host
				h := g.ups.health[hk]
				if h == nil {
					h = &upstreamHealth{}
					g.ups.health[hk] = h
				}
				a.ups = append(a.ups, &upstream{target: u, health: h})
			}
		}
	}
}

// newTransport returns a transport for key: HTTP/1.1, and HTTP/2 over TLS
// where the upstream offers it by ALPN (ForceAttemptHTTP2); with h2c,
// HTTP/2 only, without TLS to http:// upstreams.
func (g *Gateway) newTransport(key transportKey) *http.Transport {
	dialer := &net.Dialer{Timeout: key.connect, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 nil, // never an environment proxy
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0, // no global cap; per host below
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       idleConnTimeout,
		TLSHandshakeTimeout:   key.connect,
		ResponseHeaderTimeout: key.header,
		ExpectContinueTimeout: time.Second,
	}
	if g.cfg.UpstreamTLS != nil {
		t.TLSClientConfig = g.cfg.UpstreamTLS.Clone()
	}
	if key.h2c {
		var p http.Protocols
		p.SetHTTP2(true)
		p.SetUnencryptedHTTP2(true)
		t.Protocols = &p
	}
	return t
}

// errNotBound is the proxy's error for a request whose API has no
// transport (a 502); bindUpstreams gives every API one.
var errNotBound = errors.New("gateway: API has no upstream transport")

// upstreamTransport is the proxy's RoundTripper: one upstream goes
// straight to its transport; several are balanced round robin over
// those not being skipped (passive health), with a retry on the next for
// a request that is safe to repeat (retryable).
type upstreamTransport struct{ g *Gateway }

// RoundTrip sends the request to an upstream of the routed API.
func (t upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	a := stateOf(req).api
	switch {
	case a == nil || a.rt == nil:
		// Not routed through bindUpstreams: never sent anywhere (and
		// never through an environment proxy).
		return nil, errNotBound
	case len(a.ups) <= 1:
		return a.rt.RoundTrip(req)
	}
	return t.g.balance(req, a)
}

// balance tries the upstreams of a in round-robin order, those being
// skipped last (all skipped: tried anyway, in order).
func (g *Gateway) balance(req *http.Request, a *api) (*http.Response, error) {
	st := stateOf(req)
	n := len(a.ups)
	now := g.cfg.Now().UnixNano()
	var order [16]int
	k := 0
	start := int(a.next.Add(1))
	for pass := 0; pass < 2 && k < n; pass++ {
		for i := 0; i < n && k < len(order); i++ {
			idx := (start + i) % n
			if a.ups[idx].health.up(now) == (pass == 0) {
				order[k] = idx
				k++
			}
		}
	}
	var body *guardBody
	if req.Body != nil && req.Body != http.NoBody {
		// Not closed here: the transport may still be sending it after
		// the response headers came; ReverseProxy closes it when done.
		body = &guardBody{rc: req.Body}
	}
	idempotent := idempotentMethod(req.Method) && body == nil
	var lastErr error
	for attempt := 0; attempt < k; attempt++ {
		u := a.ups[order[attempt]]
		out := req
		if u.target != a.target || attempt > 0 || body != nil {
			out = req.Clone(req.Context())
			setTarget(out.URL, u.target, st.rest)
			if body != nil {
				out.Body = body
			}
		}
		last := attempt == k-1
		res, err := a.rt.RoundTrip(out)
		if err == nil {
			switch res.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				u.health.failed(g.cfg.Now().UnixNano())
				if idempotent && !last {
					_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
					res.Body.Close()
					continue
				}
			default:
				u.health.ok()
			}
			return res, nil
		}
		if req.Context().Err() != nil {
			return nil, err // the client went away or the overall timeout
		}
		u.health.failed(g.cfg.Now().UnixNano())
		lastErr = err
		if last || !retryable(err, idempotent, body) {
			return nil, err
		}
		g.cfg.Logger.Debug("gateway: upstream failed, trying the next", "request_id", st.id, "api", a.name, "err", err)
	}
	return nil, lastErr
}

// retryable reports whether a request that failed with err may be sent
// to another upstream: when the connection was never made (the dial was
// refused or timed out) and no byte of the body was read;
// or for an idempotent method without a body, on any failure but a
// timeout awaiting the response (the upstream may be working on it).
func retryable(err error, idempotent bool, body *guardBody) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return body == nil || !body.read.Load()
	}
	if !idempotent {
		return false
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout()) && !errors.Is(err, context.DeadlineExceeded)
}

// idempotentMethod is RFC 9110's idempotent methods.
func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// guardBody is a request body shared by the attempts of one request: it
// records whether anything was read (then no other upstream may get the
// request) and ignores Close (the transport closes a body on every
// failure; ReverseProxy closes the original once, after the exchange).
type guardBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (b *guardBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *guardBody) Close() error { return nil }
