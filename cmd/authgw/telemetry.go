package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// Settings of serve's traces.
const (
	otelEndpointSetting  = "otel-endpoint"
	traceSamplingSetting = "trace-sampling"
	// defaultTraceSampling is the share of requests traced when no
	// trusted peer decided for them: a tenth, so that turning tracing on
	// at thousands of requests a second does not multiply the export
	// traffic; 1 traces every request.
	defaultTraceSampling = 0.1
	// tracesPath is what the OTLP/HTTP convention puts after the
	// collector's base URL (OTEL_EXPORTER_OTLP_ENDPOINT's rule).
	tracesPath = "v1/traces"
	// tracingShutdownTimeout bounds the flush of the last spans at stop.
	tracingShutdownTimeout = 5 * time.Second
)

// telemetrySettings are --otel-endpoint and --trace-sampling, resolved.
type telemetrySettings struct {
	// tracesURL is where spans are sent (the endpoint and /v1/traces);
	// "" when tracing is off.
	tracesURL string
	// sampling is the ratio of the sampler for requests without a
	// trusted parent.
	sampling float64
}

// resolveTelemetry reads --otel-endpoint (an http:// or https:// base
// URL of an OTLP/HTTP receiver, such as a collector's
// http://collector:4318) and --trace-sampling (0 to 1). Tracing is on
// only when the endpoint is set: the standard OTEL_EXPORTER_OTLP_ENDPOINT
// does not turn it on, so that a variable meant for another program in
// the same environment cannot make authgw send data somewhere. The
// exporter's other standard variables (OTEL_EXPORTER_OTLP_HEADERS,
// _TIMEOUT, _COMPRESSION, _CERTIFICATE and their _TRACES_ forms) apply.
func (s *serveCommand) resolveTelemetry(c *cli) (telemetrySettings, error) {
	var t telemetrySettings
	endpoint, err := resolveSetting(c, &s.settings, otelEndpointSetting, "", parseOTLPEndpoint)
	if err != nil {
		return t, err
	}
	t.sampling, err = resolveSetting(c, &s.settings, traceSamplingSetting, defaultTraceSampling, parseSamplingRatio)
	if err != nil {
		return t, err
	}
	t.tracesURL = endpoint
	return t, nil
}

// parseOTLPEndpoint checks a base URL and returns its traces URL.
func parseOTLPEndpoint(v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want the base URL of an OTLP/HTTP receiver, such as http://collector:4318")
	}
	if u.User != nil {
		return "", fmt.Errorf("put the receiver's credentials in OTEL_EXPORTER_OTLP_HEADERS, not in the URL")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + tracesPath
	u.RawPath = ""
	return u.String(), nil
}

// parseSamplingRatio reads a ratio from 0 (no request without a trusted
// parent is traced) to 1 (every one is).
func parseSamplingRatio(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 || f != f {
		return 0, fmt.Errorf("want a ratio from 0 to 1, such as 0.1, got %q", v)
	}
	return f, nil
}

// startTracing makes the tracer provider that exports to the receiver in
// batches, in the background, never on the request path: a receiver
// that is down costs dropped spans and a warning, not slower requests.
// The sampler is parent-based: a request whose trusted parent (see
// gateway.Config.Tracer) says sampled is traced, one it says not is
// not, and any other is traced at the ratio. It returns nil and a no-op
// shutdown when tracing is off.
func startTracing(ctx context.Context, t telemetrySettings, logger *slog.Logger) (*sdktrace.TracerProvider, func(), error) {
	if t.tracesURL == "" {
		return nil, func() {}, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(t.tracesURL))
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", otelEndpointSetting, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("authgw"), semconv.ServiceVersion(moduleVersion())),
		// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override.
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
		resource.WithHost())
	if err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", otelEndpointSetting, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.sampling))))
	// The SDK reports failed exports through the global handler; they
	// are warnings in authgw's log, not lines on stderr of their own.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("tracing: could not export spans", "err", err)
	}))
	shutdown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), tracingShutdownTimeout)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			logger.Warn("tracing: the last spans were not all sent", "err", err)
		}
	}
	logger.Info("tracing on", "endpoint", t.tracesURL, "sampling", t.sampling)
	return tp, shutdown, nil
}

// moduleVersion is authgw's version from the build information, or
// "(devel)".
func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// traceRedis adds spans of the Redis commands made while serving a
// traced request. Commands of background work (subscriptions, polls)
// have no span around them and get none, rather than a trace each. No
// command's arguments are recorded: they hold rate-limit keys with
// client IPs and session IDs.
func traceRedis(client *redis.Client, tp trace.TracerProvider) error {
	return redisotel.InstrumentTracing(client,
		redisotel.WithTracerProvider(childSpansOnly{tp: tp}),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false))
}

// childSpansOnly is a TracerProvider whose tracers start a span only
// under one already in the context; elsewhere they return that context's
// (non-recording) span.
type childSpansOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

// Tracer returns the wrapped provider's tracer, restricted.
func (c childSpansOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{t: c.tp.Tracer(name, opts...)}
}

type childTracer struct {
	embedded.Tracer
	t trace.Tracer
}

// Start starts a span under the context's span, if there is one.
func (c childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return c.t.Start(ctx, name, opts...)
}
