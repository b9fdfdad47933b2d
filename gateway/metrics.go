package gateway

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The metrics are written in the Prometheus text format by hand: five
// series families do not justify client_golang's dependency tree, and
// the counters are lock-free atomics after their first use.

// upstreamBuckets are the upper bounds (seconds) of the upstream latency
// histogram. It is an array so that its length is a constant: a
// histogram's counts are sized from it, and a bucket added here cannot
// leave them one short.
var upstreamBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

type metrics struct {
	mu              sync.RWMutex
	requests        map[[2]string]*atomic.Uint64 // api, status
	verifyOutcome   map[string]*atomic.Uint64
	rateLimitReject map[string]*atomic.Uint64
	upstreamHist    map[string]*histogram
	refreshFailures atomic.Uint64
}

type histogram struct {
	counts [len(upstreamBuckets) + 1]atomic.Uint64 // each bucket, then +Inf
	sumNs  atomic.Uint64
}

func newMetrics() *metrics {
	return &metrics{
		requests:        map[[2]string]*atomic.Uint64{},
		verifyOutcome:   map[string]*atomic.Uint64{},
		rateLimitReject: map[string]*atomic.Uint64{},
		upstreamHist:    map[string]*histogram{},
	}
}

// counter returns m[key], creating it.
func counter[K comparable](mu *sync.RWMutex, m map[K]*atomic.Uint64, key K) *atomic.Uint64 {
	mu.RLock()
	c := m[key]
	mu.RUnlock()
	if c != nil {
		return c
	}
	mu.Lock()
	defer mu.Unlock()
	if c = m[key]; c == nil {
		c = new(atomic.Uint64)
		m[key] = c
	}
	return c
}

// request counts a finished request; api is "" when it matched no
// registered API (kept apart so that random paths add no series).
func (m *metrics) request(api string, status int) {
	counter(&m.mu, m.requests, [2]string{api, strconv.Itoa(status)}).Add(1)
}

func (m *metrics) verify(outcome string) { counter(&m.mu, m.verifyOutcome, outcome).Add(1) }

func (m *metrics) rateLimited(kind string) { counter(&m.mu, m.rateLimitReject, kind).Add(1) }

func (m *metrics) upstream(api string, d time.Duration) {
	m.mu.RLock()
	h := m.upstreamHist[api]
	m.mu.RUnlock()
	if h == nil {
		m.mu.Lock()
		if h = m.upstreamHist[api]; h == nil {
			h = &histogram{}
			m.upstreamHist[api] = h
		}
		m.mu.Unlock()
	}
	s := d.Seconds()
	i, _ := slices.BinarySearch(upstreamBuckets[:], s)
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// write renders every series in the Prometheus text format 0.0.4, sorted.
func (m *metrics) write(w io.Writer) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var b strings.Builder
	b.WriteString("# HELP authgw_requests_total Requests answered, by API and status.\n# TYPE authgw_requests_total counter\n")
	for _, k := range sortedKeys(m.requests, func(k [2]string) string { return k[0] + "\x00" + k[1] }) {
		fmt.Fprintf(&b, "authgw_requests_total{api=%s,status=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k].Load())
	}
	b.WriteString("# HELP authgw_verify_total Token verification outcomes.\n# TYPE authgw_verify_total counter\n")
	for _, k := range sortedKeys(m.verifyOutcome, func(k string) string { return k }) {
		fmt.Fprintf(&b, "authgw_verify_total{outcome=%s} %d\n", quote(k), m.verifyOutcome[k].Load())
	}
	b.WriteString("# HELP authgw_ratelimit_rejections_total Requests refused by the rate limit, per client or per IP.\n# TYPE authgw_ratelimit_rejections_total counter\n")
	for _, k := range sortedKeys(m.rateLimitReject, func(k string) string { return k }) {
		fmt.Fprintf(&b, "authgw_ratelimit_rejections_total{kind=%s} %d\n", quote(k), m.rateLimitReject[k].Load())
	}
	b.WriteString("# HELP authgw_snapshot_refresh_failures_total Failed snapshot loads.\n# TYPE authgw_snapshot_refresh_failures_total counter\n")
	fmt.Fprintf(&b, "authgw_snapshot_refresh_failures_total %d\n", m.refreshFailures.Load())
	b.WriteString("# HELP authgw_upstream_duration_seconds Time from sending a request to a backend to its response headers.\n# TYPE authgw_upstream_duration_seconds histogram\n")
	for _, api := range sortedKeys(m.upstreamHist, func(k string) string { return k }) {
		h := m.upstreamHist[api]
		var cum uint64
		for i := range len(upstreamBuckets) + 1 {
			cum += h.counts[i].Load()
			le := "+Inf"
			if i < len(upstreamBuckets) {
				le = strconv.FormatFloat(upstreamBuckets[i], 'g', -1, 64)
			}
			fmt.Fprintf(&b, "authgw_upstream_duration_seconds_bucket{api=%s,le=%s} %d\n", quote(api), quote(le), cum)
		}
		fmt.Fprintf(&b, "authgw_upstream_duration_seconds_sum{api=%s} %s\n", quote(api), strconv.FormatFloat(float64(h.sumNs.Load())/1e9, 'g', -1, 64))
		fmt.Fprintf(&b, "authgw_upstream_duration_seconds_count{api=%s} %d\n", quote(api), cum)
	}
	_, _ = io.WriteString(w, b.String())
}

func sortedKeys[K comparable, V any](m map[K]V, key func(K) string) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b K) int { return strings.Compare(key(a), key(b)) })
	return out
}

// quote escapes a label value per the text format: \, " and newline.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
