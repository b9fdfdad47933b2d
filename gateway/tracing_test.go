package gateway_test

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/authgw/authgw/db"
	"github.com/authgw/authgw/gateway"
	"github.com/authgw/authgw/gateway/gatewaytest/otlpreceiver"
)

// tracing is a tracer provider exporting over OTLP/HTTP to a real
// receiver, with the sampler serve uses (parent-based, at ratio).
type tracing struct {
	tp       *sdktrace.TracerProvider
	receiver *otlpreceiver.Receiver
}

func newTracing(t *testing.T, ratio float64) *tracing {
	t.Helper()
	rcv := otlpreceiver.Start(t)
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(rcv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &tracing{tp: tp, receiver: rcv}
}

// spans flushes the batch (the export is done when it returns) and
// returns what the receiver decoded.
func (tr *tracing) spans(t *testing.T) []otlpreceiver.Span {
	t.Helper()
	if err := tr.tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tr.receiver.BadRequests(); n > 0 {
		t.Fatalf("the receiver refused %d export requests", n)
	}
	return tr.receiver.Spans()
}

// traceparentBackend records the traceparent of each request it gets.
type traceparentBackend struct {
	mu     sync.Mutex
	seen   []string
	states []string // Tracestate
	bags   []string // Baggage
}

func (b *traceparentBackend) start(t *testing.T) string {
	srv := echoBackend(t, "demo")
	inner := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Get("Traceparent"))
		b.states = append(b.states, r.Header.Get("Tracestate"))
		b.bags = append(b.bags, r.Header.Get("Baggage"))
		b.mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	return srv.URL
}

// lastBaggage is the Baggage header of the last request.
func (b *traceparentBackend) lastBaggage() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.bags) == 0 {
		return ""
	}
	return b.bags[len(b.bags)-1]
}

func (b *traceparentBackend) last() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		return ""
	}
	return b.seen[len(b.seen)-1]
}

// forgedParent is a traceparent a client makes up, sampled flag set.
const forgedParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// forgedBaggage is W3C baggage a client makes up, naming a user.
const forgedBaggage = "enduser.id=admin,tenant=other"

// TestTracing_request runs requests through the real pipeline with a
// tracer exporting to a real OTLP/HTTP receiver: a proxied request makes
// a server span with the steps and a client span whose context the
// backend receives; the in-process accounts service's database calls are
// children of the server span; a refusal is recorded with its code; a
// client's own traceparent is neither continued nor passed on.
func TestTracing_request(t *testing.T) {
	tr := newTracing(t, 1)
	traced, err := db.Open(context.Background(), "sqlite:"+t.TempDir()+"/traced.db", db.WithTracing(tr.tp))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { traced.Close() })
	if _, err := traced.MigrateUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	var backend traceparentBackend
	e := newEnv(t, func(c *gateway.Config) {
		c.Tracer = tr.tp
		c.Public = map[string][]string{"GET": {"/accounts/v1/ping"}}
		// The accounts service stand-in reads the store, as the real one
		// does, with the request's context.
		c.Accounts = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, _, err := traced.ListUsers(r.Context(), db.Page{Size: 1}); err != nil {
				http.Error(w, err.Error(), 500)
			}
		})
	})
	e.api("demo", 1, backend.start(t), false, true)
	id := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	tok := e.tokens("session-1", fixedNow).ByMethod

	res, body := e.send("GET", "/demo/v1/items?secret=do-not-record", header(
		"Authorization", authz(id, "s3cret", tok["GET"]), "Traceparent", forgedParent, "Tracestate", "evil=1"), nil)
	if res.StatusCode != 200 {
		t.Fatalf("proxied request: %d %s", res.StatusCode, body)
	}
	sent := backend.last()
	if st := backend.states[len(backend.states)-1]; st != "" {
		t.Errorf("the client's tracestate %q reached the backend", st)
	}
	if res, body := e.send("GET", "/accounts/v1/ping", header("Authorization", authz(id, "s3cret", "")), nil); res.StatusCode != 200 {
		t.Fatalf("accounts request: %d %s", res.StatusCode, body)
	}
	if res, _ := e.send("GET", "/demo/v1/items", header("Authorization", authz(id, "s3cret", "not-a-token")), nil); res.StatusCode != 401 {
		t.Fatalf("bad token: %d, want 401", res.StatusCode)
	}
	spans := tr.spans(t)

	servers := filterSpans(spans, func(s otlpreceiver.Span) bool { return s.Kind == "Server" })
	if len(servers) != 3 {
		t.Fatalf("%d server spans, want 3: %+v", len(servers), spans)
	}
	proxied, accounts, refused := servers[0], servers[1], servers[2]

	t.Run("server span of a proxied request", func(t *testing.T) {
		for k, want := range map[string]string{
			"http.request.method": "GET", "url.path": "/demo/v1/items", "http.response.status_code": "200",
			"http.route": "/demo/v1/*", "authgw.api": "demo", "authgw.client.id": id, "authgw.user.id": "user-1",
		} {
			if got := proxied.Attrs[k]; got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if proxied.Name != "GET /demo/v1" {
			t.Errorf("name %q, want GET /demo/v1", proxied.Name)
		}
		wantSteps := []string{"authgw.path", "authgw.credentials", "authgw.restrictions", "authgw.rate_limit", "authgw.token"}
		if !slices.Equal(proxied.Events, wantSteps) {
			t.Errorf("events %v, want %v", proxied.Events, wantSteps)
		}
		if proxied.TraceID == "0af7651916cd43dd8448eb211c80319c" || proxied.ParentSpanID != "" {
			t.Errorf("a client's traceparent was continued: trace %s parent %q", proxied.TraceID, proxied.ParentSpanID)
		}
		assertNoSecret(t, proxied)
	})
	t.Run("upstream client span and the backend's traceparent", func(t *testing.T) {
		clients := filterSpans(spans, func(s otlpreceiver.Span) bool { return s.Kind == "Client" && s.ParentSpanID == proxied.SpanID })
		if len(clients) != 1 {
			t.Fatalf("%d client spans under the server span, want 1: %+v", len(clients), spans)
		}
		c := clients[0]
		if c.TraceID != proxied.TraceID || c.Attrs["http.response.status_code"] != "200" || !strings.HasSuffix(c.Attrs["url.full"], "/items") {
			t.Errorf("client span %+v", c)
		}
		assertNoSecret(t, c)
		want := "00-" + c.TraceID + "-" + c.SpanID + "-01"
		if sent != want {
			t.Errorf("backend got traceparent %q, want %q (the gateway's client span)", sent, want)
		}
	})
	t.Run("database spans under the accounts request", func(t *testing.T) {
		dbs := filterSpans(spans, func(s otlpreceiver.Span) bool { return s.Scope == "github.com/authgw/authgw/db" })
		if len(dbs) == 0 {
			t.Fatalf("no database span: %+v", spans)
		}
		for _, s := range dbs {
			if s.TraceID != accounts.TraceID || s.ParentSpanID != accounts.SpanID {
				t.Errorf("database span %q is not a child of the accounts request's span", s.Name)
			}
			if s.Attrs["db.system.name"] != "sqlite" || s.Kind != "Client" {
				t.Errorf("database span %+v", s)
			}
		}
		if !strings.HasPrefix(dbs[0].Attrs["db.query.text"], "SELECT") || dbs[0].Name != "SELECT" {
			t.Errorf("first database span %q %q, want a SELECT", dbs[0].Name, dbs[0].Attrs["db.query.text"])
		}
	})
	t.Run("refusal recorded", func(t *testing.T) {
		if refused.Attrs["authgw.refusal.code"] != "TOKEN-INVALID" || refused.Attrs["http.response.status_code"] != "401" {
			t.Errorf("refused span attributes %v", refused.Attrs)
		}
		if !slices.Contains(refused.Events, "authgw.refused") || refused.StatusError {
			t.Errorf("refused span: events %v, error status %v (a 4xx is no server error)", refused.Events, refused.StatusError)
		}
	})
	t.Run("no background work traced", func(t *testing.T) {
		// Refresh reads the store outside any request: no root span.
		if err := e.gw.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := traced.ListUsers(context.Background(), db.Page{Size: 1}); err != nil {
			t.Fatal(err)
		}
		for _, s := range tr.spans(t) {
			if s.ParentSpanID == "" && s.Kind != "Server" {
				t.Errorf("root span %q (%s) outside a request", s.Name, s.Scope)
			}
		}
	})
}

// TestTracing_traceparentTrust: only a trusted proxy's traceparent is
// continued; with the sampling ratio at 0, a client's sampled flag does
// not get its request traced (it cannot force the cost on the gateway),
// while a trusted proxy's does.
func TestTracing_traceparentTrust(t *testing.T) {
	tests := []struct {
		name         string
		givenTrusted []netip.Prefix
		expectTraced bool
	}{
		{"given an untrusted client, when it sends a sampled traceparent and baggage, expect no trace and no baggage passed on", nil, false},
		{"given a trusted proxy, when it sends a sampled traceparent and baggage, expect its trace continued and its baggage passed on", loopback, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracing(t, 0)
			var backend traceparentBackend
			e := newEnv(t, func(c *gateway.Config) { c.Tracer = tr.tp; c.TrustedProxies = tt.givenTrusted })
			e.api("demo", 1, backend.start(t), false, true)
			id := e.client(sha256Hex("s3cret"), -1)
			e.refresh()
			tok := e.tokens("session-1", fixedNow).ByMethod
			res, body := e.send("GET", "/demo/v1/items", header("Authorization", authz(id, "s3cret", tok["GET"]), "Traceparent", forgedParent, "Baggage", forgedBaggage), nil)
			if res.StatusCode != 200 {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			spans := tr.spans(t)
			sent := backend.last()
			if !tt.expectTraced {
				if len(spans) != 0 {
					t.Errorf("%d spans exported, want none: %+v", len(spans), spans)
				}
				if strings.Contains(sent, "0af7651916cd43dd8448eb211c80319c") {
					t.Errorf("the client's trace ID reached the backend: %q", sent)
				}
				// Next to the gateway's traceparent, the client's baggage
				// would read as the gateway's (a backend's baggage span
				// processor would stamp it on every span).
				if bag := backend.lastBaggage(); bag != "" {
					t.Errorf("the client's baggage reached the backend: %q", bag)
				}
				return
			}
			servers := filterSpans(spans, func(s otlpreceiver.Span) bool { return s.Kind == "Server" })
			if len(servers) != 1 || servers[0].TraceID != "0af7651916cd43dd8448eb211c80319c" || servers[0].ParentSpanID != "b7ad6b7169203331" {
				t.Fatalf("server spans %+v, want one continuing the proxy's trace", servers)
			}
			if !strings.HasPrefix(sent, "00-0af7651916cd43dd8448eb211c80319c-") || strings.Contains(sent, "b7ad6b7169203331") {
				t.Errorf("backend got traceparent %q, want the same trace under the gateway's span", sent)
			}
			if bag := backend.lastBaggage(); bag != forgedBaggage {
				t.Errorf("backend got baggage %q, want the trusted proxy's %q", bag, forgedBaggage)
			}
		})
	}
}

// TestTracing_boundedNames: what a client chooses (a method, an API name
// or version in the path) never becomes a server span's name, route or
// method. Trace backends derive metrics from span names and http.route
// (the collector's spanmetrics connector, Tempo's metrics generator), so
// one unknown method or path segment per request would be a series per
// request there. As the semantic conventions ask, an unknown method is
// _OTHER and names the span HTTP; an API of no registered version keeps
// the span named by the method alone.
func TestTracing_boundedNames(t *testing.T) {
	tr := newTracing(t, 1)
	var backend traceparentBackend
	e := newEnv(t, func(c *gateway.Config) { c.Tracer = tr.tp })
	e.api("demo", 1, backend.start(t), false, true)
	id := e.client(sha256Hex("s3cret"), -1)
	e.refresh()
	tok := e.tokens("session-1", fixedNow).ByMethod
	auth := header("Authorization", authz(id, "s3cret", tok["GET"]))
	tests := []struct {
		name             string
		whenMethod       string
		whenPath         string
		expectName       string
		expectMethodAttr string
		expectRoute      string
	}{
		{"given a registered API, when GET, expect its route", "GET", "/demo/v1/items", "GET /demo/v1", "GET", "/demo/v1/*"},
		{"given an unknown method, expect HTTP and _OTHER", "XYZZY1", "/demo/v1/items", "HTTP /demo/v1", "_OTHER", "/demo/v1/*"},
		{"given an API name nobody registered, expect no route", "GET", "/nope123/v1/items", "GET", "GET", ""},
		{"given a version nobody registered, expect no route", "GET", "/demo/v987/items", "GET", "GET", ""},
		{"given an unknown method and API, expect HTTP alone", "XYZZY2", "/nope456/v1/x", "HTTP", "_OTHER", ""},
	}
	for _, tt := range tests {
		e.send(tt.whenMethod, tt.whenPath, auth, nil)
	}
	servers := filterSpans(tr.spans(t), func(s otlpreceiver.Span) bool { return s.Kind == "Server" })
	if len(servers) != len(tests) {
		t.Fatalf("%d server spans, want %d: %+v", len(servers), len(tests), servers)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := servers[i]
			if s.Name != tt.expectName || s.Attrs["http.request.method"] != tt.expectMethodAttr || s.Attrs["http.route"] != tt.expectRoute {
				t.Errorf("span %q method %q route %q, want %q %q %q", s.Name, s.Attrs["http.request.method"], s.Attrs["http.route"],
					tt.expectName, tt.expectMethodAttr, tt.expectRoute)
			}
			for k, v := range s.Attrs {
				if k == "url.path" || k == "authgw.request_id" {
					continue // the path is the request's, as in the access log
				}
				if strings.Contains(v, "XYZZY") || strings.Contains(v, "nope") || strings.Contains(v, "987") {
					t.Errorf("attribute %s = %q holds what the client chose", k, v)
				}
			}
		})
	}
}

func filterSpans(spans []otlpreceiver.Span, keep func(otlpreceiver.Span) bool) []otlpreceiver.Span {
	var out []otlpreceiver.Span
	for _, s := range spans {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// assertNoSecret fails when a span holds the query's secret, the client
// secret or a token.
func assertNoSecret(t *testing.T, s otlpreceiver.Span) {
	t.Helper()
	for k, v := range s.Attrs {
		if strings.Contains(v, "do-not-record") || strings.Contains(v, "s3cret") || strings.Contains(strings.ToLower(v), "macaroon") {
			t.Errorf("span %q attribute %s = %q holds a secret", s.Name, k, v)
		}
	}
}

// BenchmarkProxyTraced is BenchmarkProxy's authgw case with tracing on:
// every request sampled (spans batched to an exporter that drops them,
// so the figure is the gateway's cost, not a collector's), and none
// sampled (ratio 0: the cost of tracing being on for requests not
// recorded). Tracing off is BenchmarkProxy/authgw.
func BenchmarkProxyTraced(b *testing.B) {
	backend := benchBackend(b)
	for _, bc := range []struct {
		name  string
		ratio float64
	}{{"sampled", 1}, {"not-sampled", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(bc.ratio))))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			const secret = "bench-secret"
			e, id := benchGateway(b, backend.URL, secret, func(c *gateway.Config) { c.Tracer = tp })
			benchRequests(b, e.gw, "/demo/v1/items", authz(id, secret, e.tokens("session-bench", time.Now()).ByMethod["GET"]))
		})
	}
}
