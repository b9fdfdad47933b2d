package gateway

import (
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The gateway's metrics live in a prometheus.Registry that the process
// shares (Config.Registry), so that the accounts service and background
// workers add theirs to the one /metrics page. The request path touches
// only label children looked up ahead of time: per API when a snapshot
// is swapped in, per outcome when the gateway is built. A request then
// costs a few atomic adds and no allocation.

// OtherAPI is the api label of a request that names no API of the
// snapshot in use (a mistyped path, a scan): random paths must not add
// series. An API registered under this very name shares its series.
const OtherAPI = "other"

// upstreamBuckets are the upper bounds (seconds) of the upstream latency
// histogram, unchanged from the hand-written exposition this replaced so
// that recorded queries keep their meaning.
var upstreamBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// requestBuckets are the upper bounds (seconds) of the whole-request
// histogram: finer at the bottom than upstreamBuckets, since a refusal
// or the gateway's own share of a request takes well under a millisecond.
var requestBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Request outcomes of authgw_request_duration_seconds: passed on (to a
// backend or the accounts service, whatever it answered), or refused by
// the gateway itself, by the class of the refusal's status (3xx: a
// browser sent to the sign-in page).
const (
	outcomeAllowed = iota
	outcomeRefused3xx
	outcomeRefused4xx
	outcomeRefused5xx
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"allowed", "refused_3xx", "refused_4xx", "refused_5xx"}

// Rate-limit decisions and the budget they were taken on.
const (
	decisionAllowed = iota
	decisionLimited
	decisionUnavailable
	numDecisions
)

var decisionNames = [numDecisions]string{"allowed", "limited", "unavailable"}

const (
	limitKindClient = iota
	limitKindIP
	numLimitKinds
)

var limitKindNames = [numLimitKinds]string{"client", "ip"}

// verifyOutcomes are the values of authgw_verify_total's outcome label.
var verifyOutcomes = []string{"ok", "public", "bad_request", "forbidden", "unauthorized"}

// Status codes with a counter child cached per API; others (1xx, and
// anything a backend makes up) are looked up per request.
const (
	minCachedStatus = 200
	maxCachedStatus = 599
)

type metrics struct {
	requests        *prometheus.CounterVec   // api, status
	duration        *prometheus.HistogramVec // api, outcome
	upstreamVec     *prometheus.HistogramVec // api
	verifyRefusals  *prometheus.CounterVec   // code
	refusals        *prometheus.CounterVec   // code
	refreshFailures prometheus.Counter

	verifyOutcome map[string]prometheus.Counter // read-only after newMetrics
	rateRejected  [numLimitKinds]prometheus.Counter
	rateDecisions [numDecisions][numLimitKinds]prometheus.Counter

	// apis maps the API names of the snapshot in use (and "accounts")
	// to their children; replaced whole by setAPIs, read without a lock.
	apis atomic.Pointer[map[string]*apiMetrics]
	// mu guards built, every API's children ever made, so that a name
	// coming back in a later snapshot reuses them.
	mu    sync.Mutex
	built map[string]*apiMetrics
	other *apiMetrics
}

// apiMetrics are one api label's children.
type apiMetrics struct {
	name     string
	requests *prometheus.CounterVec
	status   [maxCachedStatus - minCachedStatus + 1]atomic.Pointer[counterChild]
	duration [numOutcomes]prometheus.Observer
	upstream prometheus.Observer
}

// counterChild boxes a Counter for an atomic.Pointer.
type counterChild struct{ prometheus.Counter }

// newMetrics makes the gateway's collectors and registers them with reg.
// It fails when reg already holds a collector of the same name (two
// gateways on one registry).
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgw_requests_total",
			Help: `Requests answered, by API ("other" for none of the snapshot's) and status.`,
		}, []string{"api", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authgw_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its answer, by API and outcome (allowed, or refused by the gateway by status class).",
			Buckets: requestBuckets,
		}, []string{"api", "outcome"}),
		upstreamVec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authgw_upstream_duration_seconds",
			Help:    "Time from sending a request to a backend to its response headers, by API.",
			Buckets: upstreamBuckets,
		}, []string{"api"}),
		verifyRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgw_verify_refusals_total",
			Help: "Tokens the verifier refused, by error code (TOKEN-MISSING, TOKEN-EXPIRED, ...).",
		}, []string{"code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authgw_refusals_total",
			Help: "Requests the gateway refused itself, by error code, the verifier's included.",
		}, []string{"code"}),
		refreshFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "authgw_snapshot_refresh_failures_total",
			Help: "Failed snapshot loads.",
		}),
		verifyOutcome: map[string]prometheus.Counter{},
		built:         map[string]*apiMetrics{},
	}
	verify := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authgw_verify_total",
		Help: "Token verification outcomes.",
	}, []string{"outcome"})
	for _, o := range verifyOutcomes {
		m.verifyOutcome[o] = verify.WithLabelValues(o)
	}
	rejections := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authgw_ratelimit_rejections_total",
		Help: "Requests refused by the rate limit, per client or per IP.",
	}, []string{"kind"})
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authgw_ratelimit_decisions_total",
		Help: "Rate-limit decisions (allowed, limited, unavailable: the limiter failed and refused), per client or per IP budget.",
	}, []string{"decision", "kind"})
	for k, kind := range limitKindNames {
		m.rateRejected[k] = rejections.WithLabelValues(kind)
		for d, decision := range decisionNames {
			m.rateDecisions[d][k] = decisions.WithLabelValues(decision, kind)
		}
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.upstreamVec, m.verifyRefusals, m.refusals, m.refreshFailures, verify, rejections, decisions} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	m.other = m.apiChildren(OtherAPI)
	m.setAPIs(nil)
	return m, nil
}

// apiChildren returns name's children, making them once.
func (m *metrics) apiChildren(name string) *apiMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a := m.built[name]; a != nil {
		return a
	}
	a := &apiMetrics{name: name, requests: m.requests, upstream: m.upstreamVec.WithLabelValues(name)}
	for o := range numOutcomes {
		a.duration[o] = m.duration.WithLabelValues(name, outcomeNames[o])
	}
	m.built[name] = a
	return a
}

// setAPIs makes names (and the accounts service) the API labels the
// request path may use; any other name is OtherAPI.
func (m *metrics) setAPIs(names []string) {
	next := make(map[string]*apiMetrics, len(names)+1)
	next[accountsAPI] = m.apiChildren(accountsAPI)
	for _, n := range names {
		next[n] = m.apiChildren(n)
	}
	m.apis.Store(&next)
}

// api returns the children of name, or OtherAPI's when the snapshot in
// use has no API of that name.
func (m *metrics) api(name string) *apiMetrics {
	if a := (*m.apis.Load())[name]; a != nil {
		return a
	}
	return m.other
}

// request counts a finished request and its duration. refusal is the
// status of the gateway's own refusal, 0 when the request was passed on.
func (m *metrics) request(api string, status int, d time.Duration, refusal int) {
	a := m.api(api)
	a.statusCounter(status).Inc()
	o := outcomeAllowed
	switch {
	case refusal == 0:
	case refusal < 400:
		o = outcomeRefused3xx
	case refusal < 500:
		o = outcomeRefused4xx
	default:
		o = outcomeRefused5xx
	}
	a.duration[o].Observe(d.Seconds())
}

// statusCounter returns the requests counter of status, cached for the
// statuses a response usually has.
func (a *apiMetrics) statusCounter(status int) prometheus.Counter {
	if status < minCachedStatus || status > maxCachedStatus {
		return a.requests.WithLabelValues(a.name, strconv.Itoa(status))
	}
	p := &a.status[status-minCachedStatus]
	if c := p.Load(); c != nil {
		return c.Counter
	}
	c := &counterChild{a.requests.WithLabelValues(a.name, strconv.Itoa(status))}
	p.CompareAndSwap(nil, c) // a racing twin holds the same child
	return c.Counter
}

// refused counts a refusal by its code. Codes are the gateway's and the
// verifier's constants, a bounded set.
func (m *metrics) refused(code string) { m.refusals.WithLabelValues(code).Inc() }

// verify counts a token verification outcome (one of verifyOutcomes).
func (m *metrics) verify(outcome string) { m.verifyOutcome[outcome].Inc() }

// verifyRefused counts a token the verifier refused, by its error code.
func (m *metrics) verifyRefused(code string) { m.verifyRefusals.WithLabelValues(code).Inc() }

// rateLimit counts a rate-limit decision on a client's (byClient) or an
// IP's budget.
func (m *metrics) rateLimit(decision int, byClient bool) {
	k := limitKindIP
	if byClient {
		k = limitKindClient
	}
	m.rateDecisions[decision][k].Inc()
	if decision == decisionLimited {
		m.rateRejected[k].Inc()
	}
}

// upstream records the time a backend of api took to answer headers.
func (m *metrics) upstream(api string, d time.Duration) {
	m.api(api).upstream.Observe(d.Seconds())
}

// snapshotAge is authgw_snapshot_age_seconds: how old the snapshot in
// use is, +Inf before the first one loads, so that an alert on the age
// also fires for an instance that never loaded one.
func (g *Gateway) snapshotAge() float64 {
	s := g.snap.Load()
	if s == nil {
		return math.Inf(1)
	}
	return g.cfg.Now().Sub(s.loadedAt).Seconds()
}

// apiNames lists the snapshot's API names, the api labels of its requests.
func (s *snapshot) apiNames() []string {
	out := make([]string, 0, len(s.apis))
	for name := range s.apis {
		out = append(out, name)
	}
	return out
}
