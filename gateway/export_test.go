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
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		panic(err)
	}
	m.setAPIs([]string{"demo"})
	for _, d := range latencies {
		m.upstream("demo", d)
	}
	families, err := reg.Gather()
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
