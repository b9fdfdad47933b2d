package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/authgw/authgw/verifier"
)

// tracerName is the instrumentation scope of the gateway's spans.
const tracerName = "github.com/authgw/authgw/gateway"

// Names of the span events that mark the end of each pipeline step on the
// request's server span. Events, not child spans: an event costs a slice
// append on a span already there, a child span an allocation and an
// export of its own; the events' timestamps still show where the time
// went (the step between two events).
const (
	eventPath         = "authgw.path"
	eventCredentials  = "authgw.credentials"
	eventRestrictions = "authgw.restrictions"
	eventRateLimit    = "authgw.rate_limit"
	eventToken        = "authgw.token"
	eventRefused      = "authgw.refused"
)

// Attributes of the server span that are the gateway's own.
const (
	attrAPI         = attribute.Key("authgw.api")
	attrAPIVersion  = attribute.Key("authgw.api.version")
	attrClient      = attribute.Key("authgw.client.id")
	attrUser        = attribute.Key("authgw.user.id")
	attrRefusalCode = attribute.Key("authgw.refusal.code")
)

// traceContext is the only propagator: W3C tracecontext (traceparent,
// tracestate). Baggage is neither read nor sent: a client's baggage is
// unchecked input (rewrite drops an untrusted peer's), and the gateway has
// none of its own to send.
var traceContext propagation.TextMapPropagator = propagation.TraceContext{}

// startSpan starts the request's server span and returns the context
// that carries it. An incoming traceparent is continued only from a
// trusted peer (TrustedProxies: the load balancer or mesh in front, which
// made or checked it); from anyone else it is ignored and the request
// starts a trace of its own. A client can thus neither join its requests
// to another's trace nor, with the sampled flag, force every one of its
// requests to be recorded and exported: the sampler (parent-based) then
// decides at the configured ratio.
func (g *Gateway) startSpan(r *http.Request, st *reqState) *http.Request {
	ctx := r.Context()
	if g.trusted(remoteIP(r)) {
		ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	method := spanMethod(r.Method)
	name := method
	if method == otherMethod {
		name = "HTTP"
	}
	ctx, span := g.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(method),
			// The path only: a query may hold codes or other secrets.
			semconv.URLPath(verifier.RequestPath(r)),
			semconv.ServerAddress(r.Host),
			semconv.UserAgentOriginal(r.UserAgent()),
			attribute.String("authgw.request_id", st.id),
		))
	st.span = span
	return r.WithContext(ctx)
}

// endSpan ends the request's server span with what the pipeline found:
// the API, client, user (an ID, never an address) and status. A 5xx is an
// error of the gateway's; a 4xx is the client's, so the span's status
// stays unset, as the semantic conventions ask of server spans.
func (g *Gateway) endSpan(w *recorder, r *http.Request, st *reqState) {
	span := st.span
	if !span.IsRecording() {
		// Not sampled: nothing would be kept of the attributes.
		span.End()
		return
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, semconv.HTTPResponseStatusCode(status), semconv.ClientAddress(st.ipText))
	if st.registeredAPI() {
		attrs = append(attrs, attrAPI.String(st.apiName), attrAPIVersion.Int(st.version),
			semconv.HTTPRoute("/"+st.apiName+"/v"+strconv.Itoa(st.version)+"/*"))
		name := spanMethod(r.Method)
		if name == otherMethod {
			name = "HTTP"
		}
		span.SetName(name + " /" + st.apiName + "/v" + strconv.Itoa(st.version))
	}
	if id := st.clientID(); id != "" {
		attrs = append(attrs, attrClient.String(id))
	}
	if st.hasIdentity {
		attrs = append(attrs, attrUser.String(st.identity.UserID))
	}
	span.SetAttributes(attrs...)
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// otherMethod is the method attribute of a request whose method is not
// one of HTTP's: the semantic conventions' _OTHER.
const otherMethod = "_OTHER"

// spanMethod is m when it is one of HTTP's methods, else otherMethod.
// Go's server takes any token as a method, and trace backends turn span
// names into metric series (spanmetrics, Tempo's metrics generator): a
// client's made-up methods would be a series each.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return otherMethod
}

// registeredAPI reports whether the request's /<api>/v<N> names the
// accounts service or a version registered in the snapshot. checkPath
// sets apiName and version from any path; only these may name a span or
// its route, for the same reason as spanMethod (a path per request would
// be a series per request).
func (st *reqState) registeredAPI() bool {
	switch {
	case st.apiName == "":
		return false
	case st.api != nil, st.apiName == accountsAPI && st.version == accountsVersion:
		return true
	case st.snap == nil:
		return false
	}
	fam := st.snap.apis[st.apiName]
	return fam != nil && fam.versions[st.version] != nil
}

// step marks the end of a pipeline step on the server span; nothing
// when the request is not traced.
func (st *reqState) step(name string) {
	if st.span != nil {
		st.span.AddEvent(name)
	}
}

// traceRefusal records a refusal's code and detail on the server span.
func (st *reqState) traceRefusal(e *refusal) {
	if st.span == nil || !st.span.IsRecording() {
		return
	}
	st.span.SetAttributes(attrRefusalCode.String(e.Code))
	st.span.AddEvent(eventRefused, trace.WithAttributes(attrRefusalCode.String(e.Code), attribute.String("authgw.refusal.detail", e.Detail)))
}

// tracingTransport is the proxy's RoundTripper when tracing is on: a
// client span around the call to the backend (retries on other upstreams
// included), whose context the backend receives in traceparent. The
// span's url.full has no query: a query may hold secrets, and the
// backend's own spans have it if it wants it. The contrib otelhttp
// transport records the whole URL, which is why this is not it.
type tracingTransport struct {
	next   http.RoundTripper
	tracer trace.Tracer
}

// RoundTrip sends req through next inside a client span.
func (t tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(req.Context(), req.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	recording := span.IsRecording()
	if recording {
		u := *req.URL
		u.RawQuery, u.ForceQuery, u.User, u.Fragment = "", false, nil, ""
		span.SetAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.URLFull(u.String()),
			semconv.ServerAddress(req.URL.Hostname()))
		if p, err := strconv.Atoi(req.URL.Port()); err == nil {
			span.SetAttributes(semconv.ServerPort(p))
		}
	}
	// The request is the proxy's own outbound copy: its headers may be
	// set here. A traceparent or tracestate the client sent was removed
	// by rewrite; this one names the client span.
	traceContext.Inject(ctx, propagation.HeaderCarrier(req.Header))
	res, err := t.next.RoundTrip(req.WithContext(ctx))
	if !recording {
		return res, err
	}
	if err != nil {
		// Not the error's text: net/http's names the URL, query and all.
		kind := "unavailable"
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			kind = "timeout"
		}
		span.SetAttributes(semconv.ErrorTypeKey.String(kind))
		span.SetStatus(codes.Error, "upstream "+kind)
		return res, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(res.StatusCode))
	if res.StatusCode >= 400 {
		span.SetStatus(codes.Error, http.StatusText(res.StatusCode))
	}
	return res, nil
}
