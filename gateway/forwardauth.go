package gateway

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/authgw/authgw/gateway/requestinfo"
	"github.com/authgw/authgw/verifier/envelope"
)

// Headers a reverse proxy sends to the forward-auth endpoint to describe
// the original request.
const (
	HeaderForwardedMethod = "X-Forwarded-Method"
	HeaderForwardedURI    = "X-Forwarded-Uri"
	HeaderOriginalURI     = "X-Original-URI"
	HeaderForwardedHost   = "X-Forwarded-Host"
)

// ForwardAuth returns the decision endpoint of SPEC §5.4, for nginx
// auth_request, Traefik ForwardAuth, Caddy forward_auth or Envoy
// ext_authz over HTTP. It rebuilds the original request from
// X-Forwarded-Method (default: the request's own method),
// X-Forwarded-Uri or else X-Original-URI (required, origin-form with
// query) and X-Forwarded-Host (default: Host), runs steps 3 to 7 (path,
// credentials, restrictions, rate limit, token) and answers 200 with the
// X-Auth-Info headers (aud: the API name) and rate-limit headers, or the
// refusal in the envelope (400, 401, 403, 429, 503).
//
// Those headers decide everything, so they are trusted only from a peer
// in TrustedProxies or on loopback; any other peer gets 403
// FORWARD-AUTH-UNTRUSTED-PEER. The client IP is then the right-most
// untrusted hop of X-Forwarded-For, the calling proxy itself counting as
// trusted. Whether the API is registered and active is not checked here
// (that is routing, step 8, which the proxy in front does).
func (g *Gateway) ForwardAuth() http.Handler {
	return g.observe(http.HandlerFunc(g.serveForwardAuth))
}

func (g *Gateway) serveForwardAuth(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	peer := remoteIP(r)
	if !peer.IsLoopback() && !g.trusted(peer) {
		writeError(w, envelope.New(http.StatusForbidden, CodeForwardAuthUntrusted, "Only a trusted proxy may ask for a decision."))
		return
	}
	orig, ok := forwardedRequest(r)
	if !ok {
		writeError(w, envelope.New(http.StatusBadRequest, CodeForwardAuthBadRequest,
			"The original request needs "+HeaderForwardedURI+" or "+HeaderOriginalURI+" starting with /."))
		return
	}
	st.ip = g.clientIP(r, true)
	st.ipText = st.ip.String()
	if e := g.decide(w, orig, st); e != nil {
		writeError(w, e)
		return
	}
	tok, err := g.cfg.Signer.Sign(g.claims(st))
	if err != nil {
		g.cfg.Logger.Error("gateway: sign request info", "request_id", st.id, "err", err)
		writeError(w, envelope.New(http.StatusInternalServerError, CodeInternal, ""))
		return
	}
	requestinfo.SetHeaders(w.Header(), tok)
	w.WriteHeader(http.StatusOK)
}

// forwardedRequest is a shallow copy of r describing the original request.
// Headers (Authorization, Cookie, Origin) are the forward-auth request's,
// which the proxies pass on from the original.
func forwardedRequest(r *http.Request) (*http.Request, bool) {
	uri := r.Header.Get(HeaderForwardedURI)
	if uri == "" {
		uri = r.Header.Get(HeaderOriginalURI)
	}
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		return nil, false
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, false
	}
	orig := new(http.Request)
	*orig = *r
	orig.URL, orig.RequestURI = u, uri
	if m := r.Header.Get(HeaderForwardedMethod); m != "" {
		orig.Method = strings.ToUpper(m)
	}
	if h := r.Header.Get(HeaderForwardedHost); h != "" {
		orig.Host = h
	}
	return orig, true
}
