package gateway_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/gateway"
)

// TestUpstreamHistogram_everyBucket: a latency at each bound, just above
// the last and far beyond it lands in its bucket (cumulative counts), the
// longest ones in +Inf, without a panic.
func TestUpstreamHistogram_everyBucket(t *testing.T) {
	bounds := gateway.UpstreamBuckets
	var latencies []time.Duration
	for _, b := range bounds {
		latencies = append(latencies, time.Duration(b*float64(time.Second)))
	}
	last := time.Duration(bounds[len(bounds)-1] * float64(time.Second))
	latencies = append(latencies, last+time.Nanosecond, 24*time.Hour, -time.Second)
	text := gateway.ObserveUpstream(latencies...)
	// The negative latency counts in the first bucket, with the first bound.
	for i, b := range bounds {
		le := strconv.FormatFloat(b, 'g', -1, 64)
		want := fmt.Sprintf(`authgw_upstream_duration_seconds_bucket{api="demo",le="%s"} %d`, le, i+2)
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
	total := len(latencies)
	for _, want := range []string{
		fmt.Sprintf(`authgw_upstream_duration_seconds_bucket{api="demo",le="+Inf"} %d`, total),
		fmt.Sprintf(`authgw_upstream_duration_seconds_count{api="demo"} %d`, total),
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// TestMetrics_requestLabels: the api label is the request's API only
// when the snapshot has it (or it is the accounts service), so made-up
// paths add no series; the outcome is allowed for a request passed on
// and the refusal's status class otherwise.
func TestMetrics_requestLabels(t *testing.T) {
	tests := []struct {
		name         string
		givenAPI     string
		givenStatus  int
		givenRefusal int
		expect       []string
	}{
		{"registered API passed on", "demo", 200, 0, []string{
			`authgw_requests_total{api="demo",status="200"} 1`,
			`authgw_request_duration_seconds_count{api="demo",outcome="allowed"} 1`}},
		{"backend's own 500 is still allowed", "demo", 500, 0, []string{
			`authgw_requests_total{api="demo",status="500"} 1`,
			`authgw_request_duration_seconds_count{api="demo",outcome="allowed"} 1`}},
		{"refused by the gateway", "demo", 401, 401, []string{
			`authgw_request_duration_seconds_count{api="demo",outcome="refused_4xx"} 1`}},
		{"sent to the sign-in page", "demo", 303, 401, []string{
			`authgw_requests_total{api="demo",status="303"} 1`,
			`authgw_request_duration_seconds_count{api="demo",outcome="refused_4xx"} 1`}},
		{"rate limiter down", "demo", 503, 503, []string{
			`authgw_request_duration_seconds_count{api="demo",outcome="refused_5xx"} 1`}},
		{"made-up API", "made-up", 404, 404, []string{
			`authgw_requests_total{api="other",status="404"} 1`,
			`authgw_request_duration_seconds_count{api="other",outcome="refused_4xx"} 1`}},
		{"no API at all", "", 400, 400, []string{`authgw_requests_total{api="other",status="400"} 1`}},
		{"accounts service", "accounts", 200, 0, []string{`authgw_requests_total{api="accounts",status="200"} 1`}},
		{"status outside the cached range", "demo", 101, 0, []string{`authgw_requests_total{api="demo",status="101"} 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := gateway.NewMetricsRecorder("demo")
			m.Request(tt.givenAPI, tt.givenStatus, time.Millisecond, tt.givenRefusal)
			text := m.Text()
			for _, want := range tt.expect {
				if !strings.Contains(text, want+"\n") {
					t.Errorf("metrics lack %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, `api="made-up"`) || strings.Contains(text, `api=""`) {
				t.Errorf("a made-up API became a label value:\n%s", text)
			}
		})
	}
}

// TestMetrics_rateLimitDecisions: each decision counts on its budget;
// a limited one also in the older rejections counter.
func TestMetrics_rateLimitDecisions(t *testing.T) {
	m := gateway.NewMetricsRecorder()
	m.RateLimit("allowed", true)
	m.RateLimit("limited", false)
	m.RateLimit("unavailable", true)
	text := m.Text()
	for _, want := range []string{
		`authgw_ratelimit_decisions_total{decision="allowed",kind="client"} 1`,
		`authgw_ratelimit_decisions_total{decision="limited",kind="ip"} 1`,
		`authgw_ratelimit_decisions_total{decision="unavailable",kind="client"} 1`,
		`authgw_ratelimit_rejections_total{kind="ip"} 1`,
		`authgw_ratelimit_rejections_total{kind="client"} 0`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, text)
		}
	}
}

// TestMetrics_requestAllocatesNothing: once a status has been seen, the
// request path's recording allocates nothing, for a registered API and
// for a made-up one.
func TestMetrics_requestAllocatesNothing(t *testing.T) {
	m := gateway.NewMetricsRecorder("demo")
	for _, api := range []string{"demo", "made-up"} {
		m.Request(api, 200, time.Millisecond, 0)
		if n := testing.AllocsPerRun(100, func() { m.Request(api, 200, time.Millisecond, 0) }); n != 0 {
			t.Errorf("recording a request of %q: %v allocations, want 0", api, n)
		}
	}
}

// BenchmarkMetricsRequest is the request path's recording alone.
func BenchmarkMetricsRequest(b *testing.B) {
	m := gateway.NewMetricsRecorder("demo")
	b.ReportAllocs()
	for b.Loop() {
		m.Request("demo", 200, time.Millisecond, 0)
	}
}
