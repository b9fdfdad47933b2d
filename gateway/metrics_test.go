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
