package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/gateway/ratelimit"
	"github.com/authgw/authgw/mint"
	"github.com/authgw/authgw/policy/netaddr"
	"github.com/authgw/authgw/verifier"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultRefreshInterval       = 5 * time.Second
	DefaultUnidentifiedPerSecond = 10
	DefaultUpstreamTimeout       = 30 * time.Second
	DefaultLoginPath             = "/accounts/v1/ui/login"
	DefaultStepUpPath            = "/accounts/v1/ui/step-up"
)

// Config configures a Gateway.
type Config struct {
	// Snapshots loads clients, restrictions and APIs. Required.
	Snapshots SnapshotSource
	// Keys verify macaroons. Required.
	Keys *mint.KeyRing
	// ServerID must match every token's server-id caveat. Required.
	ServerID string
	// Public is the verifier's public scope: method → route patterns that
	// need no token (login steps, registration, health). Optional.
	Public map[string][]string
	// Revocations is consulted for every verified token. Optional.
	// Default: nothing is revoked.
	Revocations verifier.Revocations
	// Limiter enforces per-client and per-IP rates. Optional. Default
	// ratelimit.NewMemory with Now.
	Limiter ratelimit.Limiter
	// Signer signs the X-Auth-Info header sent to backends. Required.
	Signer *infosign.Signer
	// Accounts serves /accounts/v1 in-process, with the full path (the
	// gateway strips nothing for it), the caller's request-info claims
	// (requestinfo.ClaimsFrom: client, its roles, secret verified, IP,
	// user) and the verified identity (verifier.IdentityFrom) in the
	// request context. Optional. Default: 404.
	Accounts http.Handler
	// TrustedProxies are the peers whose X-Forwarded-For is honoured
	// (right-most untrusted hop). Optional. Default: none, the socket
	// address is the client IP.
	TrustedProxies []netip.Prefix
	// ForwardAuthDialect names the headers ForwardAuth reads the original
	// request from: DialectNginx or DialectForwarded (Traefik, Caddy).
	// Optional. Default DialectNginx, the shipped nginx configuration's.
	// ForwardAuthFor and ForwardAuthEndpoints serve the other dialects
	// whatever this says.
	ForwardAuthDialect ForwardAuthDialect
	// ForwardAuthCallers are the peers that may call ForwardAuth: the
	// proxies whose description of a request it believes. Optional.
	// Default: TrustedProxies. No other peer may, loopback included: any
	// local process could otherwise have any client IP signed.
	ForwardAuthCallers []netip.Prefix
	// AllowedOrigins get CORS responses with credentials, and may send
	// unsafe cookie-carried requests (the verifier's CSRF list), e.g.
	// "https://app.example.com". Optional.
	AllowedOrigins []string
	// Cookies names the per-method token cookies. Optional.
	Cookies verifier.CookieConfig
	// RefreshInterval is how often Run reloads the snapshot. Optional.
	// Default DefaultRefreshInterval (5 s).
	RefreshInterval time.Duration
	// Changes makes Run reload the snapshot at once when it receives, for
	// example from a Redis subscription that writers of clients and APIs
	// publish to. Optional: without it, changes wait for the interval.
	Changes <-chan struct{}
	// UnidentifiedPerSecond is the per-IP rate of requests without a
	// client ID to allowUnidentified APIs. Optional. Default
	// DefaultUnidentifiedPerSecond (10); -1 for unlimited.
	UnidentifiedPerSecond int
	// LoginPath is the sign-in page a browser is sent to (303 See Other,
	// with return_to) instead of a 401 that signing in would cure, for
	// APIs registered with loginRedirect and the pages under
	// /accounts/v1/ui/. It is a path on the gateway, so that the
	// browser's own origin serves it; forward-auth makes it absolute with
	// the original request's scheme and host, so the proxy in front must
	// route it to the gateway. Optional. Default DefaultLoginPath.
	LoginPath string
	// StepUpPath is the re-authentication page a browser is sent to (303
	// See Other, with return_to) instead of a 401 STEP-UP-REQUIRED, where
	// it would be sent to LoginPath for a 401 that signing in cures.
	// Optional. Default DefaultStepUpPath.
	StepUpPath string
	// PublicURL is the gateway's origin as clients see it
	// ("https://auth.example.com"): a 401 STEP-UP-REQUIRED names the
	// discharge endpoint as an absolute URL on it. Optional. Default: the
	// path alone, on whatever origin the client used.
	PublicURL string
	// Hosts are the gateway's own host names (no port), where requests
	// are routed by path (/<api>/v<N>/...). A request whose host is
	// neither one of them nor bound to an API version is refused: 421
	// UNKNOWN-HOST on the gateway's listener, 403 in forward-auth. "*"
	// serves every host. Optional. Default: PublicURL's host, with
	// localhost, 127.0.0.1 and ::1 when that host is a loopback name; no
	// PublicURL, every host.
	Hosts []string
	// BrowserClient is the client the sign-in pages log browsers in
	// through, "" for none. Its ID is public and it has no budget of its
	// own (every signed-in browser shares it), so the gateway gives its
	// budget only to a browser's checked token: a request naming it in a
	// Basic header (no browser does), or in a cookie on a route that needs
	// no token (where the cookie is never checked), spends the per-IP
	// budget instead. Optional.
	BrowserClient string
	// PrivateCookies names cookies of the gateway's own pages (the
	// sign-in pages' CSRF cookie) that, like the token cookies, are
	// removed from every request to a backend. Optional.
	PrivateCookies []string
	// UpstreamTimeout bounds the wait for a backend's response headers
	// (504 after). Optional. Default DefaultUpstreamTimeout (30 s).
	UpstreamTimeout time.Duration
	// UpstreamTLS is the TLS configuration for https:// upstreams (a
	// private CA's roots). Optional. Default: the system's roots.
	UpstreamTLS *tls.Config
	// Logger receives the access log and refresh failures. Optional.
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Optional. Default time.Now.
	Now func() time.Time
	// Tracer makes a server span per request, with an event at the end
	// of each pipeline step, and a client span around the call to the
	// backend, which receives its context in traceparent (W3C
	// tracecontext); a traceparent is read only from TrustedProxies.
	// Optional. Default: nil, no spans and no cost.
	Tracer trace.TracerProvider
	// Rand generates request IDs. Optional. Default crypto/rand.Reader.
	Rand io.Reader
	// Health lists other parts of the process that can be degraded while
	// the gateway serves, such as the revocation poller
	// (revocation.Poller.Degraded): each returns what is wrong, or "".
	// Degraded (and /readyz) reports them. Optional.
	Health []func() string
	// Settings lists the settings read again while serving, for /readyz
	// (SettingStatus); a refused one should also be reported by a Health
	// check. Optional; nil lists none.
	Settings func() []SettingStatus
	// Registry receives the gateway's metrics, and Admin serves all it
	// holds at /metrics: pass the process's one, which the other parts
	// that export metrics (the accounts service) register with too, and
	// where the process adds the Go runtime and process collectors.
	// Optional. Default: a registry of the gateway's own, with its
	// metrics only. New fails when it already holds another gateway's
	// metrics.
	Registry *prometheus.Registry
}

// Gateway is the request pipeline of the README's "The gateway". It is safe for concurrent
// use.
type Gateway struct {
	cfg Config
	// verifier checks tokens; SetKeys replaces it with one on a new key
	// ring. verifierConfig is what it was made with.
	verifier       atomic.Pointer[verifier.Verifier]
	verifierConfig verifier.Config
	limiter        ratelimit.Limiter
	proxy          *httputil.ReverseProxy
	// ups holds the upstream transports and passive health, kept across
	// snapshots.
	ups     upstreams
	handler http.Handler
	origins map[string]bool
	// cookieNames are the token cookies' names in lower case, the forms
	// tokenCookieName compares with.
	cookieNames []string
	// tokenCookie names, by method, the cookie the verifier reads a
	// method's token from (HEAD: GET's), for the client of a browser
	// request.
	tokenCookie map[string]string
	// stepUpCookie names, by method, the step-up token's cookie, read for
	// the client when the method has no ordinary token cookie.
	stepUpCookie map[string]string
	metrics      *metrics
	// tracer is Config.Tracer's, nil when tracing is off.
	tracer trace.Tracer
	bcrypt bcryptCache
	// ownHosts are the host keys routed by path; nil serves every host.
	ownHosts map[string]bool

	snap        atomic.Pointer[snapshot]
	refreshMu   sync.Mutex
	failing     atomic.Pointer[refreshFailure] // nil while refreshes succeed
	lastAttempt atomic.Int64                   // unix nanoseconds of the last Refresh

	// Request IDs are a random per-process prefix and a counter: unique
	// without a read of the random source per request.
	idPrefix string
	idSeq    atomic.Uint64
}

// New checks cfg, fills its defaults and returns a Gateway. It does not
// load the snapshot (Refresh or Run does); until then every request is
// answered 503. It fails when Snapshots, Keys, ServerID or Signer is
// missing, a duration or rate is negative, or the verifier refuses its
// part of the configuration (public patterns, origins).
func New(cfg Config) (*Gateway, error) {
	if cfg.Snapshots == nil {
		return nil, errors.New("gateway: Config.Snapshots is required")
	}
	if cfg.Signer == nil {
		return nil, errors.New("gateway: Config.Signer is required")
	}
	if cfg.RefreshInterval < 0 || cfg.UpstreamTimeout < 0 {
		return nil, errors.New("gateway: RefreshInterval and UpstreamTimeout may not be negative")
	}
	if cfg.UnidentifiedPerSecond < ratelimit.Unlimited {
		return nil, errors.New("gateway: UnidentifiedPerSecond must be -1 (unlimited) or at least 0")
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.UnidentifiedPerSecond == 0 {
		cfg.UnidentifiedPerSecond = DefaultUnidentifiedPerSecond
	}
	if cfg.UpstreamTimeout == 0 {
		cfg.UpstreamTimeout = DefaultUpstreamTimeout
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = DefaultLoginPath
	}
	if !validLoginPath(cfg.LoginPath) {
		return nil, fmt.Errorf("gateway: LoginPath %q must be a canonical path such as %s, without query", cfg.LoginPath, DefaultLoginPath)
	}
	if cfg.StepUpPath == "" {
		cfg.StepUpPath = DefaultStepUpPath
	}
	if !validLoginPath(cfg.StepUpPath) {
		return nil, fmt.Errorf("gateway: StepUpPath %q must be a canonical path such as %s, without query", cfg.StepUpPath, DefaultStepUpPath)
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("gateway: PublicURL %q must be an origin such as https://auth.example.com", cfg.PublicURL)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewMemory(ratelimit.MemoryConfig{Now: cfg.Now})
	}
	switch cfg.ForwardAuthDialect {
	case "":
		cfg.ForwardAuthDialect = DialectNginx
	case DialectNginx, DialectForwarded:
	default:
		return nil, fmt.Errorf("gateway: unknown ForwardAuthDialect %q", cfg.ForwardAuthDialect)
	}
	var err error
	if cfg.TrustedProxies, err = peerPrefixes("TrustedProxies", cfg.TrustedProxies); err != nil {
		return nil, err
	}
	if cfg.ForwardAuthCallers == nil {
		cfg.ForwardAuthCallers = cfg.TrustedProxies
	} else if cfg.ForwardAuthCallers, err = peerPrefixes("ForwardAuthCallers", cfg.ForwardAuthCallers); err != nil {
		return nil, err
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	g := &Gateway{cfg: cfg, limiter: cfg.Limiter, origins: map[string]bool{}}
	if g.metrics, err = newMetrics(cfg.Registry); err != nil {
		return nil, fmt.Errorf("gateway: Config.Registry: %w", err)
	}
	if err := cfg.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "authgw_snapshot_age_seconds",
		Help: "Age of the snapshot of clients and APIs in use; +Inf before the first one loads.",
	}, g.snapshotAge)); err != nil {
		return nil, fmt.Errorf("gateway: Config.Registry: %w", err)
	}
	if g.ownHosts, err = ownHosts(cfg.Hosts, cfg.PublicURL); err != nil {
		return nil, err
	}
	g.verifierConfig = verifier.Config{
		ServerID:       cfg.ServerID,
		Keys:           cfg.Keys,
		Public:         cfg.Public,
		Revocations:    cfg.Revocations,
		Now:            cfg.Now,
		Cookies:        cfg.Cookies,
		AllowedOrigins: cfg.AllowedOrigins,
		ClientID:       func(r *http.Request) string { return stateOf(r).clientID() },
		ClientIP:       func(r *http.Request) netip.Addr { return stateOf(r).ip },
		Scheme:         func(r *http.Request) string { return stateOf(r).scheme },
		Logger:         cfg.Logger,
	}
	v, err := verifier.New(g.verifierConfig)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	g.verifier.Store(v)
	for _, o := range cfg.AllowedOrigins {
		g.origins[o] = true
	}
	g.tokenCookie = map[string]string{http.MethodHead: cfg.Cookies.Name(http.MethodHead)}
	g.stepUpCookie = map[string]string{http.MethodHead: cfg.Cookies.StepUpName(http.MethodHead)}
	for _, name := range cfg.PrivateCookies {
		g.cookieNames = append(g.cookieNames, strings.ToLower(name))
	}
	for _, m := range mint.Methods() {
		// The step-up token's and its discharge's cookies are token
		// cookies too: no backend sees them.
		g.cookieNames = append(g.cookieNames, strings.ToLower(cfg.Cookies.Name(m)),
			strings.ToLower(cfg.Cookies.StepUpName(m)), strings.ToLower(cfg.Cookies.DischargeName(m)))
		g.tokenCookie[m] = cfg.Cookies.Name(m)
		g.stepUpCookie[m] = cfg.Cookies.StepUpName(m)
	}
	if cfg.Tracer != nil {
		g.tracer = cfg.Tracer.Tracer(tracerName)
	}
	g.proxy = g.newProxy()
	g.handler = g.pipeline()
	var prefix [8]byte
	if _, err := io.ReadFull(cfg.Rand, prefix[:]); err != nil {
		return nil, fmt.Errorf("gateway: request ID prefix: %w", err)
	}
	g.idPrefix = hex.EncodeToString(prefix[:]) + "-"
	return g, nil
}

// peerPrefixes returns a masked copy of prefixes that peers are matched
// against. Peers are compared unmapped (::ffff:10.0.0.1 is 10.0.0.1), so
// an IPv4-mapped prefix of /96 or longer becomes its IPv4 form
// (::ffff:10.0.0.0/104 is 10.0.0.0/8); a shorter one, which would match
// no peer, is refused.
func peerPrefixes(setting string, prefixes []netip.Prefix) ([]netip.Prefix, error) {
	if prefixes == nil {
		return nil, nil
	}
	out := make([]netip.Prefix, len(prefixes))
	for i, p := range prefixes {
		var err error
		if out[i], err = netaddr.Unmap(p); err != nil {
			return nil, fmt.Errorf("gateway: %s: %w", setting, err)
		}
	}
	return out, nil
}

// Refresh loads and compiles the snapshot now and swaps it in. On failure
// the previous snapshot stays in use and the error is returned (and
// reported by Ready).
func (g *Gateway) Refresh(ctx context.Context) error {
	g.refreshMu.Lock()
	defer g.refreshMu.Unlock()
	now := g.cfg.Now()
	g.lastAttempt.Store(now.UnixNano())
	s, err := g.cfg.Snapshots.LoadSnapshot(ctx, now.UnixMilli())
	if err != nil {
		err = fmt.Errorf("gateway: load snapshot: %w", err)
		f := &refreshFailure{err: err, since: now}
		if prev := g.failing.Load(); prev != nil {
			f.since = prev.since
		}
		g.failing.Store(f)
		g.metrics.refreshFailures.Inc()
		return err
	}
	problem := func(msg string, args ...any) { g.cfg.Logger.Warn(msg, args...) }
	compiled := compile(s, now, problem)
	g.bindUpstreams(compiled, problem)
	g.metrics.setAPIs(compiled.apiNames())
	g.snap.Store(compiled)
	g.failing.Store(nil)
	return nil
}

// refreshFailure describes a run of failed refreshes, written under
// refreshMu.
type refreshFailure struct {
	err   error     // the last refresh's
	since time.Time // when the first refresh of the run failed
}

// Run refreshes the snapshot at once and then every RefreshInterval until
// ctx ends. A failed refresh is logged and the last good snapshot kept.
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(g.cfg.RefreshInterval)
	defer t.Stop()
	for {
		if err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
			g.cfg.Logger.Error("gateway: snapshot refresh failed; keeping the last good one", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-g.cfg.Changes:
		}
	}
}

// Ready returns nil when the gateway can serve requests, which it can
// from any snapshot, however old. It errors only when no snapshot has
// been loaded yet (every request is answered 503 NOT-READY), wrapping the
// last refresh's error if one failed. A stale snapshot is reported by
// Degraded, not here: the database being down would otherwise make every
// instance unready at once, and a load balancer take them all out.
func (g *Gateway) Ready() error {
	if g.snap.Load() != nil {
		return nil
	}
	if f := g.failing.Load(); f != nil {
		return fmt.Errorf("no snapshot loaded yet: %w", f.err)
	}
	return errors.New("no snapshot loaded yet")
}

// degradedReporter is a Limiter that can tell it is limiting on a
// fallback, as ratelimit.Redis does while Redis is unavailable.
type degradedReporter interface {
	Degraded() bool
}

var _ degradedReporter = (*ratelimit.Redis)(nil)

// Degraded returns what is degraded while the gateway serves, one
// sentence each, or nil when nothing is: snapshot refreshes failing
// (since when, how old the last good snapshot is, the last error); the
// snapshot older than three refresh intervals without a failure (a
// refresh hanging, or Run not running); and the rate limiter limiting
// each process on its own because its last call to Redis failed. Before
// the first snapshot, Ready's error is what counts.
func (g *Gateway) Degraded() []string {
	var out []string
	now := g.cfg.Now()
	var age time.Duration
	s := g.snap.Load()
	if s != nil {
		age = now.Sub(s.loadedAt)
	}
	switch f := g.failing.Load(); {
	case f != nil && s != nil:
		out = append(out, fmt.Sprintf("snapshot refresh failing since %s, last good snapshot %s old: %v",
			f.since.UTC().Format(time.RFC3339), age.Round(time.Millisecond), f.err))
	case f != nil:
		out = append(out, fmt.Sprintf("snapshot refresh failing since %s: %v", f.since.UTC().Format(time.RFC3339), f.err))
	case s != nil && age > 3*g.cfg.RefreshInterval:
		out = append(out, fmt.Sprintf("snapshot not refreshed for %s (refresh interval %s)", age.Round(time.Millisecond), g.cfg.RefreshInterval))
	}
	if l, ok := g.limiter.(degradedReporter); ok && l.Degraded() {
		out = append(out, "rate limiter: Redis unavailable at its last call, each gateway process limits on its own")
	}
	for _, check := range g.cfg.Health {
		if msg := check(); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// ServeHTTP runs the request through the pipeline.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.handler.ServeHTTP(w, r)
}

// SetKeys makes the gateway verify tokens with ring from the next
// request on (the key ring read again while serving): a key added
// verifies its tokens at once, the tokens of a key removed are refused.
// The memo of verified tokens starts empty. On error (an empty ring) the
// gateway keeps its keys. It is safe to call while serving.
func (g *Gateway) SetKeys(ring *mint.KeyRing) error {
	cfg := g.verifierConfig
	cfg.Keys = ring
	v, err := verifier.New(cfg)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	g.verifier.Store(v)
	return nil
}
