package gateway

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/authgw/authgw/verifier"
)

// reqState is what the pipeline's steps learn about one request, carried
// in its context: one allocation per request.
type reqState struct {
	id    string // request ID
	start time.Time
	ip    netip.Addr
	// ipText is ip.String(), formatted once for the log, the rate-limit
	// key, the request info and X-Forwarded-For.
	ipText string
	// scheme is "http" or "https": how the client reached the gateway
	// (or the proxy in front), for the CSRF check's own origin and the
	// backend's X-Forwarded-Proto.
	scheme string
	snap   *snapshot

	apiName string
	version int
	rest    string // raw path after /<api>/v<N>: "" or "/..."
	// bindHost, when not "", is the host matched against the bindings
	// instead of the request's Host (a trusted proxy's X-Forwarded-Host).
	bindHost string
	api      *api // the active API routed to, nil for accounts or none

	client *client

	identity verifier.Identity

	infoToken     string
	upstreamStart time.Time

	// claimedClient is the known client a Basic credential named, for
	// the access log of a request refused before the client was
	// accepted (a wrong secret): its ID is no secret.
	claimedClient *client
	// span is the request's server span; nil when tracing is off.
	span trace.Span

	// The flags, side by side: they share one word instead of padding
	// one each, which keeps the state, tracing hooks and all, in the
	// allocator's 480-byte size class.

	// boundHost: the request's host is bound to the API, whose rest is
	// the request's whole path.
	boundHost bool
	// forwardAuth: the request is a forward-auth caller's description of
	// the original one.
	forwardAuth    bool
	secretVerified bool
	// limitByIP makes the rate limit the per-IP one even though client
	// is set: the sign-in pages, which one client serves for everybody.
	limitByIP   bool
	hasIdentity bool

	// rec wraps the response writer; kept here so that the state and the
	// wrapper are one allocation.
	rec recorder
}

type stateKey struct{}

// stateOf returns the request's state; a zero one outside the pipeline, so
// the verifier's hooks never see nil.
func stateOf(r *http.Request) *reqState {
	if st, ok := r.Context().Value(stateKey{}).(*reqState); ok {
		return st
	}
	return &reqState{}
}

func withState(ctx context.Context, st *reqState) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// clientID is the verifier's ClientID hook: the client that the
// credentials step identified.
func (st *reqState) clientID() string {
	if st.client == nil {
		return ""
	}
	return st.client.id
}

// loggedClientID is the client for the access log: the accepted one,
// else the known one a Basic credential named (claimedClient), else "".
func (st *reqState) loggedClientID() string {
	switch {
	case st.client != nil:
		return st.client.id
	case st.claimedClient != nil:
		return st.claimedClient.id
	}
	return ""
}

// recorder remembers the status for the access log and metrics. It passes
// Flush and Hijack through (streaming, WebSocket) and unwraps for
// http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	// refusal and refusalCode are the status and code of the gateway's
	// own refusal (markRefused); 0 and "" for a request passed on.
	refusal     int
	refusalCode string
}

// markRefused notes on w, when it is the pipeline's recorder, that the
// gateway refused the request with e, for the request metrics' outcome.
func markRefused(w http.ResponseWriter, e *refusal) {
	if rec, ok := w.(*recorder); ok {
		rec.refusal, rec.refusalCode = e.Status, e.Code
	}
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (w *recorder) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack takes over the connection, for protocol upgrades; the status is
// then 101.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
