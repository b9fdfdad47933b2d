package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
)

// failingSource fails every load after the first ok ones.
type failingSource struct {
	src  gateway.SnapshotSource
	fail bool
}

func (f *failingSource) LoadSnapshot(ctx context.Context, nowMs int64) (db.Snapshot, error) {
	if f.fail {
		return db.Snapshot{}, errors.New("database down")
	}
	return f.src.LoadSnapshot(ctx, nowMs)
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// TestAdmin: health, readiness (no snapshot, fresh, stale) and metrics.
func TestAdmin(t *testing.T) {
	now := fixedNow
	var fs *failingSource
	e := newEnv(t, func(c *gateway.Config) {
		fs = &failingSource{src: c.Snapshots}
		c.Snapshots = fs
		c.Now = func() time.Time { return now }
		c.RefreshInterval = time.Second
	})
	admin := e.gw.Admin()
	if code, body := get(t, admin, "/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("healthz %d %s", code, body)
	}
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.Contains(body, "no snapshot") {
		t.Errorf("readyz before refresh %d %s", code, body)
	}
	if res, _ := e.send("GET", "/demo/v1/x", nil, nil); res.StatusCode != 503 {
		t.Errorf("request before the first snapshot: %d, want 503", res.StatusCode)
	}
	e.refresh()
	if code, body := get(t, admin, "/readyz"); code != 200 {
		t.Errorf("readyz after refresh %d %s", code, body)
	}
	fs.fail = true
	now = now.Add(4 * time.Second)
	if err := e.gw.Refresh(e.ctx); err == nil {
		t.Fatal("failing refresh succeeded")
	}
	if code, body := get(t, admin, "/readyz"); code != 503 || !strings.Contains(body, "stale") || !strings.Contains(body, "database down") {
		t.Errorf("readyz stale %d %s", code, body)
	}
	e.send("GET", "/demo/v1/x", nil, nil)
	code, body := get(t, admin, "/metrics")
	for _, want := range []string{
		`authgw_requests_total{api="",status="401"} 1`,
		`authgw_snapshot_refresh_failures_total 1`,
		"# TYPE authgw_upstream_duration_seconds histogram",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestAdmin_metricsCountProxiedRequests: a proxied request shows in the
// request counter, the verify outcomes and the latency histogram.
func TestAdmin_metricsCountProxiedRequests(t *testing.T) {
	e, id, tok := proxyEnv(t, nil)
	e.send("GET", "/demo/v1/x", header("Authorization", authz(id, "", tok["GET"])), nil)
	_, body := get(t, e.gw.Admin(), "/metrics")
	for _, want := range []string{
		`authgw_requests_total{api="demo",status="200"} 1`,
		`authgw_verify_total{outcome="ok"} 1`,
		`authgw_upstream_duration_seconds_count{api="demo"} 1`,
		`authgw_upstream_duration_seconds_bucket{api="demo",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestCORS: preflight answered for listed origins only; credentials only
// for listed origins.
func TestCORS(t *testing.T) {
	e, id, tok := proxyEnv(t, func(c *gateway.Config) { c.AllowedOrigins = []string{"https://app.example.com"} })
	tests := []struct {
		name         string
		givenMethod  string
		givenHeader  http.Header
		expectStatus int
		expectACAO   string
		expectCreds  string
	}{
		{"preflight listed", "OPTIONS", header("Origin", "https://app.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"), 204, "https://app.example.com", "true"},
		{"preflight unlisted", "OPTIONS", header("Origin", "https://evil.example", "Access-Control-Request-Method", "POST"), 403, "", ""},
		{"request listed", "GET", header("Origin", "https://app.example.com", "Authorization", authz(id, "", tok["GET"])), 200, "https://app.example.com", "true"},
		{"request unlisted", "GET", header("Origin", "https://evil.example", "Authorization", authz(id, "", tok["GET"])), 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := e.send(tt.givenMethod, "/demo/v1/x", tt.givenHeader, nil)
			if res.StatusCode != tt.expectStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.expectStatus, body)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.expectACAO {
				t.Errorf("ACAO %q, want %q", got, tt.expectACAO)
			}
			if got := res.Header.Get("Access-Control-Allow-Credentials"); got != tt.expectCreds {
				t.Errorf("ACAC %q, want %q", got, tt.expectCreds)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("no Vary: Origin")
			}
		})
	}
}
