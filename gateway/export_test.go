package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// ParseAPIPath exposes parseAPIPath to the black-box tests.
var ParseAPIPath = parseAPIPath

// BasicCredential exposes basicCredential to the black-box tests.
var BasicCredential = basicCredential

// The legacy bcrypt budgets, for the black-box tests.
const (
	BcryptBurst         = bcryptBurst
	BcryptInstanceBurst = bcryptInstanceBurst
)

// BcryptCache exposes the legacy secret cache and its budgets.
type BcryptCache = bcryptCache

// Spend exposes spend.
func (b *bcryptCache) Spend(key string, now time.Time) bool { return b.spend(key, now) }

// StripTokenCookies exposes stripTokenCookies.
func (g *Gateway) StripTokenCookies(h http.Header) { g.stripTokenCookies(h) }

// The header lists proxy configurations must empty for backends (the
// nginx template test sends each one): the client-IP headers, the
// method- and URL-override headers, the known X-Forwarded-* names. All in
// lower case.
var (
	ClientIPHeaders  = clientIPHeaders[:]
	OverrideHeaders  = overrideHeaders[:]
	ForwardedHeaders = forwardedHeaders[:]
)

// GatewayOwned exposes gatewayOwned.
var GatewayOwned = gatewayOwned

// CheckOverrides exposes checkOverrides.
var CheckOverrides = checkOverrides

// UpstreamBuckets exposes the upstream histogram's bucket bounds.
var UpstreamBuckets = upstreamBuckets[:]

// ObserveUpstream records the latencies in a fresh metrics set for the
// API demo and returns its text exposition.
func ObserveUpstream(latencies ...time.Duration) string {
	m := NewMetricsRecorder("demo")
	for _, d := range latencies {
		m.m.upstream("demo", d)
	}
	return m.Text()
}

// MetricsRecorder is a fresh metrics set on a registry of its own, for
// the black-box tests of what the request path records.
type MetricsRecorder struct {
	m   *metrics
	reg *prometheus.Registry
}

// NewMetricsRecorder returns a metrics set whose snapshot has the APIs.
func NewMetricsRecorder(apis ...string) MetricsRecorder {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		panic(err)
	}
	m.setAPIs(apis)
	return MetricsRecorder{m: m, reg: reg}
}

// Request records a finished request as the pipeline does.
func (r MetricsRecorder) Request(api string, status int, d time.Duration, refusal int) {
	r.m.request(api, status, d, refusal)
}

// RateLimit records a rate-limit decision ("allowed", "limited",
// "unavailable") as the pipeline does.
func (r MetricsRecorder) RateLimit(decision string, byClient bool) {
	for i, name := range decisionNames {
		if name == decision {
			r.m.rateLimit(i, byClient)
			return
		}
	}
	panic("unknown decision " + decision)
}

// Text is the set's text exposition.
func (r MetricsRecorder) Text() string {
	families, err := r.reg.Gather()
	if err != nil {
		panic(err)
	}
	var b strings.Builder
	for _, f := range families {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			panic(err)
		}
	}
	return b.String()
}

// PrefersHTML exposes prefersHTML.
var PrefersHTML = prefersHTML

// OriginalPath exposes originalPath.
var OriginalPath = originalPath
