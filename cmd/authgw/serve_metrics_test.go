package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/cmd/authgw/internal/clitest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// dashboardFile is the Grafana dashboard the README tells operators to
// import.
var dashboardFile = filepath.Join("..", "..", "testdata", "grafana", "authgw-dashboard.json")

// notYetExported are metrics the dashboard shows that serve does not
// export yet, each with why; the test lets only these be absent. Remove
// an entry as soon as its metric lands.
var notYetExported = map[string]string{}

// dashboardMetrics must each appear in the dashboard: what an operator
// of authgw needs to see, so that a panel dropped by an edit fails here.
var dashboardMetrics = []string{
	"authgw_requests_total", "authgw_request_duration_seconds", "authgw_upstream_duration_seconds",
	"authgw_refusals_total", "authgw_verify_total", "authgw_verify_refusals_total",
	"authgw_ratelimit_decisions_total", "authgw_snapshot_age_seconds", "authgw_snapshot_refresh_failures_total",
	"authgw_login_steps_total", "authgw_password_hash_wait_seconds", "authgw_revocation_lag_seconds",
	"authgw_webhook_queue_depth", "authgw_webhook_deliveries_total", "authgw_build_info",
}

// TestServe_metricsDashboard runs authgw serve, sends it real traffic (a
// proxied request, refusals, a password login, a failed one, a logout,
// requests to made-up APIs), reads /metrics with Prometheus's own parser
// and checks that every metric the Grafana dashboard's queries name is
// exposed, that the traffic shows in them, and that made-up API names
// add no series.
func TestServe_metricsDashboard(t *testing.T) {
	exprs := dashboardExprs(t)
	referenced := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricNames(e) {
			referenced[name] = true
		}
	}
	for _, want := range dashboardMetrics {
		if !referenced[want] && !referenced[want+"_bucket"] {
			t.Errorf("the dashboard shows no %s", want)
		}
	}

	dir := t.TempDir()
	vars := map[string]string{envDataDir: dir}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	creds := bootstrapFor(t, vars)
	mustRun(t, invocation{args: []string{"apis", "add", "--name", "demo", "--version", "1", "--url", backend.URL}, vars: vars})
	gatewayURL, adminURL, _, _, _ := startServe(t, dir)
	var tokens map[string]string
	out := mustRun(t, invocation{args: []string{"mint", "--policy", filepath.Join(dir, "policies", "member.json"),
		"--user", creds.UserID, "--client", creds.ClientID}, vars: vars, now: time.Now()})
	if err := json.Unmarshal([]byte(out), &tokens); err != nil {
		t.Fatal(err)
	}

	a := clitest.NewAccountsCaller(t, gatewayURL, creds)
	if r := a.Do("GET", "/demo/v1/notes", tokens["GET"], nil); r.Status != http.StatusOK {
		t.Fatalf("granted request = %d %s", r.Status, r.Body)
	}
	if r := a.Do("GET", "/demo/v1/notes", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("request without a token = %d %s", r.Status, r.Body)
	}
	for i := range 20 {
		a.Do("GET", fmt.Sprintf("/made-up-%d/v1/x", i), "", nil)
	}
	session := a.LoginWithPassword()
	if r := a.Do("POST", "/accounts/v1/sessions/login/password", "", map[string]any{
		"data": map[string]string{"email": "nobody@example.com", "password": "not the password", "state": clitest.NewState(t)}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("login with a wrong password = %d %s", r.Status, r.Body)
	}
	a.Logout(session.Macaroons["POST"])

	// The logout reaches the database feed, which the poller reads every
	// second: wait for the lag to be observed rather than for a time.
	var families map[string]*dto.MetricFamily
	deadline := time.Now().Add(10 * time.Second)
	for {
		families = scrape(t, adminURL+"/metrics")
		if sample(families, "authgw_revocation_lag_seconds", nil) >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	for name := range referenced {
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && families[base] != nil && families[base].GetType() == dto.MetricType_HISTOGRAM {
				family = base
			}
		}
		if families[family] == nil {
			if why, ok := notYetExported[family]; ok {
				t.Logf("%s is not exported yet (%s)", family, why)
				continue
			}
			t.Errorf("the dashboard queries %s, which /metrics does not expose", name)
		}
	}

	tests := []struct {
		name          string
		givenFamily   string
		givenLabels   map[string]string
		expectAtLeast float64
	}{
		{"proxied request", "authgw_requests_total", map[string]string{"api": "demo", "status": "200"}, 1},
		{"allowed request latency", "authgw_request_duration_seconds", map[string]string{"api": "demo", "outcome": "allowed"}, 1},
		{"refused request latency", "authgw_request_duration_seconds", map[string]string{"api": "demo", "outcome": "refused_4xx"}, 1},
		{"made-up APIs are other", "authgw_requests_total", map[string]string{"api": "other"}, 20},
		{"upstream latency", "authgw_upstream_duration_seconds", map[string]string{"api": "demo"}, 1},
		{"refusal by code", "authgw_refusals_total", map[string]string{"code": "TOKEN-MISSING"}, 1},
		{"verifier refusal by code", "authgw_verify_refusals_total", map[string]string{"code": "TOKEN-MISSING"}, 1},
		{"verified token", "authgw_verify_total", map[string]string{"outcome": "ok"}, 1},
		{"rate limit on the client", "authgw_ratelimit_decisions_total", map[string]string{"decision": "allowed", "kind": "client"}, 1},
		{"password login", "authgw_login_steps_total", map[string]string{"step": "password", "factor": "pwd", "outcome": "signed_in"}, 1},
		{"failed password login", "authgw_login_steps_total", map[string]string{"step": "password", "factor": "none", "outcome": "failed"}, 1},
		{"hashing queue wait", "authgw_password_hash_wait_seconds", nil, 2},
		{"revocation lag of the logout", "authgw_revocation_lag_seconds", nil, 1},
		{"build", "authgw_build_info", map[string]string{"goversion": runtime.Version()}, 1},
		{"Go runtime collector", "go_goroutines", nil, 1},
		{"process collector", "process_resident_memory_bytes", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sample(families, tt.givenFamily, tt.givenLabels); got < tt.expectAtLeast {
				t.Errorf("%s%v = %v, want at least %v", tt.givenFamily, tt.givenLabels, got, tt.expectAtLeast)
			}
		})
	}
	// Made-up API names in paths must not become label values.
	for _, name := range []string{"authgw_requests_total", "authgw_request_duration_seconds", "authgw_upstream_duration_seconds"} {
		for _, m := range families[name].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "api" && !slices.Contains([]string{"demo", "accounts", "other"}, l.GetValue()) {
					t.Errorf("%s has api=%q, not a registered API", name, l.GetValue())
				}
			}
		}
	}
}

// dashboardExprs returns every PromQL expression of the dashboard: the
// panels' targets and the template variables' queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	var exprs []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, k)
			}
		case []any:
			for _, x := range v {
				walk(x, key)
			}
		case string:
			if key == "expr" || key == "definition" {
				exprs = append(exprs, v)
			}
		}
	}
	walk(doc, "")
	if len(exprs) < 20 {
		t.Fatalf("%s holds %d queries; the walk is broken or the dashboard lost its panels", dashboardFile, len(exprs))
	}
	return exprs
}

// metricNameRef matches what is a metric name in the dashboard's
// queries: the families authgw, the Go runtime and the process export.
var metricNameRef = regexp.MustCompile(`\b(?:authgw|go|process)_[a-zA-Z0-9_]+`)

func metricNames(expr string) []string { return metricNameRef.FindAllString(expr, -1) }

// scrape reads url with the Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", url, res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// sample sums the family's samples whose labels include want: counter
// and gauge values, a histogram's observation counts.
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var sum float64
	for _, m := range families[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}
