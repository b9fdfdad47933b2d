package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/ratelimit"
)

// failingSource fails every load after the first ok ones.
type failingSource struct {
	src  gateway.SnapshotSource
	fail bool
}

func (f *failingSource) LoadSnapshot(ctx context.Context, nowMs int64) (gateway.Snapshot, error) {
	if f.fail {
		return gateway.Snapshot{}, errors.New("database down")
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

// TestAdmin: health and metrics, and requests still verified on a stale
// snapshot.
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
	if res, _ := e.send("GET", "/demo/v1/x", nil, nil); res.StatusCode != 503 {
		t.Errorf("request before the first snapshot: %d, want 503", res.StatusCode)
	}
	e.refresh()
	fs.fail = true
	now = now.Add(4 * time.Second)
	if err := e.gw.Refresh(e.ctx); err == nil {
		t.Fatal("failing refresh succeeded")
	}
	if res, body := e.send("GET", "/demo/v1/x", nil, nil); res.StatusCode != 401 {
		t.Errorf("request on a stale snapshot: %d, want 401 (verified, no token): %s", res.StatusCode, body)
	}
	code, body := get(t, admin, "/metrics")
	for _, want := range []string{
		`authgw_requests_total{api="other",status="401"} 1`,
		`authgw_snapshot_refresh_failures_total 1`,
		"# TYPE authgw_upstream_duration_seconds histogram",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// readyBody is the JSON body of /readyz.
type readyBody struct {
	Status   string   `json:"status"`
	Detail   string   `json:"detail"`
	Degraded []string `json:"degraded"`
}

// refreshStep is one Refresh, at fixedNow+at, failing or not.
type refreshStep struct {
	at   time.Duration
	fail bool
}

// TestAdmin_readyz: 503 only while no snapshot was ever loaded; a stale
// snapshot or a Redis-less rate limiter is 200 "degraded", with why.
func TestAdmin_readyz(t *testing.T) {
	tests := []struct {
		name           string
		givenRefreshes []refreshStep
		givenRedisDown bool
		whenAt         time.Duration
		expectStatus   int
		expectBody     readyBody
	}{
		{
			name:         "never loaded",
			expectStatus: 503,
			expectBody:   readyBody{Status: "not-ready", Detail: "no snapshot loaded yet"},
		},
		{
			name:           "never loaded, database down",
			givenRefreshes: []refreshStep{{0, true}, {time.Second, true}},
			whenAt:         time.Minute,
			expectStatus:   503,
			expectBody:     readyBody{Status: "not-ready", Detail: "no snapshot loaded yet: gateway: load snapshot: database down"},
		},
		{
			name:           "fresh",
			givenRefreshes: []refreshStep{{0, false}},
			whenAt:         time.Second,
			expectStatus:   200,
			expectBody:     readyBody{Status: "ready"},
		},
		{
			name:           "stale, database down since the second refresh",
			givenRefreshes: []refreshStep{{0, false}, {time.Second, false}, {2 * time.Second, true}, {3 * time.Second, true}},
			whenAt:         5500 * time.Millisecond,
			expectStatus:   200,
			expectBody: readyBody{Status: "degraded", Degraded: []string{
				"snapshot refresh failing since 2026-11-22T12:00:02Z, last good snapshot 4.5s old: gateway: load snapshot: database down",
			}},
		},
		{
			name:           "one failed refresh is reported at once",
			givenRefreshes: []refreshStep{{0, false}, {time.Second, true}},
			whenAt:         time.Second,
			expectStatus:   200,
			expectBody: readyBody{Status: "degraded", Degraded: []string{
				"snapshot refresh failing since 2026-11-22T12:00:01Z, last good snapshot 1s old: gateway: load snapshot: database down",
			}},
		},
		{
			name:           "database back",
			givenRefreshes: []refreshStep{{0, false}, {time.Second, true}, {5 * time.Second, true}, {6 * time.Second, false}},
			whenAt:         6 * time.Second,
			expectStatus:   200,
			expectBody:     readyBody{Status: "ready"},
		},
		{
			name:           "not refreshed for over three intervals",
			givenRefreshes: []refreshStep{{0, false}},
			whenAt:         3100 * time.Millisecond,
			expectStatus:   200,
			expectBody:     readyBody{Status: "degraded", Degraded: []string{"snapshot not refreshed for 3.1s (refresh interval 1s)"}},
		},
		{
			name:           "rate limiter without Redis and database down",
			givenRefreshes: []refreshStep{{0, false}, {time.Second, true}},
			givenRedisDown: true,
			whenAt:         2 * time.Second,
			expectStatus:   200,
			expectBody: readyBody{Status: "degraded", Degraded: []string{
				"snapshot refresh failing since 2026-11-22T12:00:01Z, last good snapshot 2s old: gateway: load snapshot: database down",
				"rate limiter: Redis unavailable at its last call, each gateway process limits on its own",
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var now atomic.Int64
			now.Store(fixedNow.UnixNano())
			clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
			var limiter *ratelimit.Redis
			if tt.givenRedisDown {
				limiter = unreachableRedisLimiter(t, clock)
			}
			var fs *failingSource
			e := newEnv(t, func(c *gateway.Config) {
				fs = &failingSource{src: c.Snapshots}
				c.Snapshots = fs
				c.Now = clock
				c.RefreshInterval = time.Second
				if limiter != nil {
					c.Limiter = limiter
				}
			})
			for _, r := range tt.givenRefreshes {
				now.Store(fixedNow.Add(r.at).UnixNano())
				fs.fail = r.fail
				if err := e.gw.Refresh(e.ctx); (err != nil) != r.fail {
					t.Fatalf("refresh at %v: error %v, want failing %v", r.at, err, r.fail)
				}
			}
			if limiter != nil {
				if _, err := limiter.Allow(e.ctx, "client-1", 10); err != nil {
					t.Fatal(err)
				}
			}
			now.Store(fixedNow.Add(tt.whenAt).UnixNano())

			code, body := get(t, e.gw.Admin(), "/readyz")
			if code != tt.expectStatus {
				t.Errorf("status %d, want %d: %s", code, tt.expectStatus, body)
			}
			var got readyBody
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if !reflect.DeepEqual(got, tt.expectBody) {
				t.Errorf("body\n got %+v\nwant %+v", got, tt.expectBody)
			}
		})
	}
}

// TestAdmin_readyzHealth: other parts' health checks (the revocation
// poller's) are listed among what is degraded, and only while they say so.
func TestAdmin_readyzHealth(t *testing.T) {
	var problem atomic.Value
	problem.Store("")
	e := newEnv(t, func(c *gateway.Config) {
		c.Health = []func() string{func() string { return problem.Load().(string) }}
	})
	e.refresh()
	for _, want := range []readyBody{{Status: "ready"}, {Status: "degraded", Degraded: []string{"revocation feed: polls failing"}}} {
		if len(want.Degraded) > 0 {
			problem.Store(want.Degraded[0])
		}
		code, body := get(t, e.gw.Admin(), "/readyz")
		var got readyBody
		if err := json.Unmarshal([]byte(body), &got); err != nil || code != 200 || !reflect.DeepEqual(got, want) {
			t.Errorf("readyz %d %s, want 200 %+v", code, body, want)
		}
	}
}

// unreachableRedisLimiter is a Redis rate limiter whose Redis is a closed
// port: each call to Redis fails at once.
func unreachableRedisLimiter(t *testing.T, now func() time.Time) *ratelimit.Redis {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() })
	l, err := ratelimit.NewRedis(ratelimit.RedisConfig{Client: c, Now: now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return l
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
