package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/gateway/internal/hdr"
)

// Transport tuning of the proxy.
const (
	maxIdleConnsPerHost = 256
	idleConnTimeout     = 90 * time.Second
	proxyBufferSize     = 32 << 10
)

// newProxy returns the reverse proxy of step 9.
func (g *Gateway) newProxy() *httputil.ReverseProxy {
	var transport http.RoundTripper = upstreamTransport{g: g}
	if g.tracer != nil {
		transport = tracingTransport{next: transport, tracer: g.tracer}
	}
	return &httputil.ReverseProxy{
		Rewrite:   g.rewrite,
		Transport: transport,
		// 0: ReverseProxy flushes at once for responses of unknown length
		// and event streams, and lets the rest fill the connection's
		// buffer; -1 would add a write (a syscall) to every response.
		FlushInterval:  0,
		BufferPool:     &bufferPool{},
		ModifyResponse: g.modifyResponse,
		ErrorHandler:   g.proxyError,
		ErrorLog:       nil,
	}
}

// rewrite builds the outbound request: the backend's scheme and host, the
// raw rest of the path after /<api>/v<N> under the backend URL's own path
// (escaped bytes kept as sent), the query as sent; header hygiene; the
// gateway's own X-Forwarded-* and request info.
func (g *Gateway) rewrite(pr *httputil.ProxyRequest) {
	st := stateOf(pr.In)
	target := st.api.target
	out := pr.Out
	setTarget(out.URL, target, st.rest)
	// The backend sees its own host name; the original is X-Forwarded-Host.
	out.Host = ""

	h := out.Header
	for name := range h {
		if gatewayOwned(name) {
			delete(h, name)
		}
	}
	g.stripTokenCookies(h)
	if g.tracer != nil {
		// The backend is sent the gateway's span (tracingTransport), not
		// a trace context the client made up.
		delete(h, "Traceparent")
		delete(h, "Tracestate")
		// Baggage travels with the trace context: next to the gateway's
		// traceparent, a client's would read as the gateway's own (a
		// backend's baggage span processor stamps it on every span, some
		// route or attribute by it). Only a trusted proxy's is passed on,
		// as only its traceparent is continued.
		if !g.trusted(remoteIP(pr.In)) {
			delete(h, "Baggage")
		}
	}
	// X-Forwarded-* as httputil.ProxyRequest.SetXForwarded sets them,
	// except that the client is the one the gateway found (right-most
	// untrusted hop), not the socket peer, and the scheme is requestScheme's.
	// The values share one array (the slices are capped, so an append
	// elsewhere copies): one allocation instead of four.
	vals := [...]string{st.ipText, pr.In.Host, st.scheme, st.id}
	shared := vals[:]
	h["X-Forwarded-For"] = shared[0:1:1]
	h["X-Forwarded-Host"] = shared[1:2:2]
	h["X-Forwarded-Proto"] = shared[2:3:3]
	h[HeaderRequestID] = shared[3:4:4]
	infosign.SetHeaders(h, st.infoToken)
	st.upstreamStart = g.cfg.Now()
}

// setTarget points u at target: its scheme and host, the raw rest of the
// path after /<api>/v<N> under target's own path (escaped bytes kept as
// sent).
func setTarget(u, target *url.URL, rest string) {
	u.Scheme, u.Host = target.Scheme, target.Host
	if rest == "" {
		rest = "/"
	}
	raw := strings.TrimSuffix(target.EscapedPath(), "/") + rest
	if strings.IndexByte(raw, '%') < 0 {
		u.Path, u.RawPath = raw, ""
	} else if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
	} else {
		u.Path, u.RawPath = raw, ""
	}
}

// requestScheme is how the client reached the gateway: "https" over TLS,
// else what a trusted proxy in front (TLS terminated there) says in
// X-Forwarded-Proto, else "http". A chain of trusted proxies may list one
// scheme per hop ("https, http"): the first is the client's. From anyone
// else the header is ignored (and not passed on).
func (g *Gateway) requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if g.trusted(remoteIP(r)) {
		first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		switch strings.ToLower(strings.TrimSpace(first)) {
		case "https":
			return "https"
		}
	}
	return "http"
}

// gatewayOwned reports whether an inbound header is one only the gateway
// may send a backend: Authorization, X-Request-Id, X-Forwarded-* and
// X-Auth-Info* (infosign.IsInfoHeader), which it sets itself, and
// every other header in which some proxy or CDN tells a backend the
// client's address (clientIPHeaders): from a client they are lies, and
// the gateway's X-Forwarded-For says the address it found. Names match
// in any case and also spelled with underscores (X_Forwarded_For):
// CGI-style backends (WSGI, Rack, PHP) read "_" and "-" as the same, so
// X_Request_Id could shadow the ID the gateway checked and sets.
func gatewayOwned(name string) bool {
	if hdr.FoldedPrefix(name, "authorization", true) || hdr.FoldedPrefix(name, "x-request-id", true) ||
		hdr.FoldedPrefix(name, "x-forwarded-", false) || infosign.IsInfoHeader(name) {
		return true
	}
	for _, h := range clientIPHeaders {
		if hdr.FoldedPrefix(name, h, true) {
			return true
		}
	}
	return false
}

// clientIPHeaders name the client's address (or its proxy chain) to a
// backend, in lower case: RFC 7239, nginx, Akamai and Cloudflare
// Enterprise, Cloudflare, Fastly, Rackspace, Envoy and others.
var clientIPHeaders = [...]string{
	"forwarded", "x-forwarded", "x-real-ip", "true-client-ip", "x-client-ip", "cf-connecting-ip",
	"fastly-client-ip", "x-cluster-client-ip", "x-originating-ip", "client-ip", "x-envoy-external-address",
}

// forwardedHeaders are the X-Forwarded-* headers known to be read by
// backends, in lower case: what a proxy sends about the request it
// received (nginx, Traefik, Caddy, HAProxy, AWS ELB, Spring, Express,
// Symfony, Rails), Envoy's client certificate, and the identity
// oauth2-proxy passes on. gatewayOwned strips every X-Forwarded-* name by
// prefix; this list is for proxies that cannot match a prefix: the
// shipped nginx template empties each of these (gateway/nginx_test.go
// checks it), and an unknown name is not covered there.
var forwardedHeaders = [...]string{
	"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-prefix",
	"x-forwarded-server", "x-forwarded-ssl", "x-forwarded-scheme", "x-forwarded-protocol", "x-forwarded-uri",
	"x-forwarded-method", "x-forwarded-path", "x-forwarded-client-cert", "x-forwarded-user", "x-forwarded-email",
	"x-forwarded-groups", "x-forwarded-preferred-username", "x-forwarded-access-token",
}

// stripTokenCookies removes from the Cookie header every cookie that a
// backend could read as one of authgw's token cookies (tokenCookieName),
// keeping every other cookie: a backend never sees a token, nor a
// cookie that would pass for one, and its own cookies still reach it.
// Pairs are separated by ";", and also by "," as Rack and old cookie
// parsers read them ("theme=dark, authgw-get=T" is two cookies there);
// a "," inside another cookie's value is kept as it was. It allocates
// only when it removes something.
func (g *Gateway) stripTokenCookies(h http.Header) {
	values := h.Values("Cookie")
	found := false
	for _, v := range values {
		for rest := v; rest != "" && !found; {
			var pair string
			pair, rest = cutCookiePair(rest)
			name, _, _ := strings.Cut(pair, "=")
			found = g.tokenCookieName(name)
		}
	}
	if !found {
		return
	}
	var kept []string
	for _, v := range values {
		for part := range strings.SplitSeq(v, ";") {
			var sub []string
			for pair := range strings.SplitSeq(part, ",") {
				if name, _, _ := strings.Cut(pair, "="); !g.tokenCookieName(name) {
					sub = append(sub, pair)
				}
			}
			if part = strings.TrimSpace(strings.Join(sub, ",")); part != "" {
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// cutCookiePair returns the text before the first ";" or "," of s and
// the rest after it.
func cutCookiePair(s string) (pair, rest string) {
	if i := strings.IndexAny(s, ";,"); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// tokenCookieName reports whether a backend could read a cookie of this
// name (as sent, before any trimming) as one of the token cookies. The
// verifier reads only the exact name, trimmed of spaces and tabs as every
// parser does; servers read more names as that name, and each of those
// is treated as ours here: ASP.NET Core matches names ignoring case, PHP
// and Rack percent-decode them ("+" is a space), PHP reads " " and "." as
// "_" and "name[x]" as an array under name (hdr.CookieNameFolds).
func (g *Gateway) tokenCookieName(name string) bool {
	for _, c := range g.cookieNames {
		if hdr.CookieNameFolds(name, c) {
			return true
		}
	}
	return false
}

// modifyResponse records the upstream latency (to response headers) and
// drops the backend's CORS headers: the gateway answers CORS, and two
// Access-Control-Allow-Origin values make browsers refuse the response.
func (g *Gateway) modifyResponse(res *http.Response) error {
	st := stateOf(res.Request)
	if st.api != nil {
		g.metrics.upstream(st.api.name, g.cfg.Now().Sub(st.upstreamStart))
	}
	for name := range res.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			delete(res.Header, name)
		}
	}
	return nil
}

// proxyError answers 504 for a backend that timed out, 502 for any other
// failure (refused, reset, bad response), in the envelope.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := stateOf(r)
	if st.api != nil && !st.upstreamStart.IsZero() {
		g.metrics.upstream(st.api.name, g.cfg.Now().Sub(st.upstreamStart))
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		// The client went away; nobody reads the answer.
		g.cfg.Logger.Debug("gateway: client gone", "request_id", st.id)
		w.WriteHeader(499)
		return
	}
	g.cfg.Logger.Warn("gateway: upstream failed", "request_id", st.id, "api", st.apiName, "err", err)
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		refuse(http.StatusGatewayTimeout, CodeUpstreamTimeout, "").write(w)
		return
	}
	refuse(http.StatusBadGateway, CodeUpstreamUnavailable, "").write(w)
}

// bufferPool is the proxy's httputil.BufferPool of 32 KiB buffers.
type bufferPool struct{ pool sync.Pool }

func (b *bufferPool) Get() []byte {
	if p, ok := b.pool.Get().(*[]byte); ok {
		return *p
	}
	return make([]byte, proxyBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != proxyBufferSize {
		return
	}
	buf = buf[:proxyBufferSize]
	b.pool.Put(&buf)
}
