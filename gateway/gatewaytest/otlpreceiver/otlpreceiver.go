// Package otlpreceiver is an OTLP/HTTP trace receiver for tests: a real
// HTTP server that accepts POST /v1/traces in protobuf, as a collector
// does, and keeps the spans for the test to look at. It decodes with the
// OpenTelemetry Collector's pdata, not with the Go SDK's exporter's own
// protobuf types, so a test proves what reaches a collector rather than
// what the exporter believes it wrote.
package otlpreceiver

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Span is one received span, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentSpanID string // lower-case hex; ParentSpanID "" for a root
	Name                          string
	Kind                          string // "Server", "Client", "Internal", ...
	Scope                         string // instrumentation scope name
	Service                       string // the resource's service.name
	Attrs                         map[string]string
	Events                        []string // event names, in order
	EventAttrs                    []map[string]string
	StatusError                   bool
}

// Receiver is the running receiver. Its zero value is not usable: call
// Start.
type Receiver struct {
	// URL is the base URL to configure an exporter with; spans are
	// posted to URL + "/v1/traces".
	URL string

	mu    sync.Mutex
	spans []Span
	// bad counts requests that were not a valid export.
	bad int
}

// Start starts a receiver, closed when the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "want POST /v1/traces, application/x-protobuf", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(req.Body)
	exp := ptraceotlp.NewExportRequest()
	if err == nil {
		err = exp.UnmarshalProto(body)
	}
	if err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, "bad export request", http.StatusBadRequest)
		return
	}
	r.add(exp.Traces())
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *Receiver) add(td ptrace.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				out := Span{
					TraceID: hexID(s.TraceID()), SpanID: hexID(s.SpanID()),
					Name: s.Name(), Kind: strings.TrimPrefix(s.Kind().String(), "SPAN_KIND_"),
					Scope: ss.Scope().Name(), Service: service,
					Attrs:       attrs(s.Attributes()),
					StatusError: s.Status().Code() == ptrace.StatusCodeError,
				}
				if !s.ParentSpanID().IsEmpty() {
					out.ParentSpanID = hexID(s.ParentSpanID())
				}
				events := s.Events()
				for e := 0; e < events.Len(); e++ {
					out.Events = append(out.Events, events.At(e).Name())
					out.EventAttrs = append(out.EventAttrs, attrs(events.At(e).Attributes()))
				}
				r.spans = append(r.spans, out)
			}
		}
	}
}

// hexID is a trace or span ID in lower-case hex.
func hexID[T interface{ ~[16]byte | ~[8]byte }](id T) string {
	switch v := any(id).(type) {
	case pcommon.TraceID:
		return hex.EncodeToString(v[:])
	case pcommon.SpanID:
		return hex.EncodeToString(v[:])
	}
	return ""
}

// attrs flattens attributes to their string forms.
func attrs(m pcommon.Map) map[string]string {
	out := make(map[string]string, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		out[k] = v.AsString()
		return true
	})
	return out
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// BadRequests is the number of requests refused as no valid export.
func (r *Receiver) BadRequests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}
