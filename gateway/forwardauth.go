package gateway

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/authgw/authgw/gateway/infosign"
	"github.com/authgw/authgw/verifier"
)

// Headers in which a reverse proxy describes the original request to the
// forward-auth endpoint. Which of them are read depends on the dialect.
const (
	HeaderForwardedMethod = "X-Forwarded-Method"
	HeaderForwardedURI    = "X-Forwarded-Uri"
	HeaderForwardedHost   = "X-Forwarded-Host"
	HeaderForwardedProto  = "X-Forwarded-Proto"
	HeaderForwardedFor    = "X-Forwarded-For"
	HeaderOriginalMethod  = "X-Original-Method"
	HeaderOriginalURI     = "X-Original-URI"
)

// ForwardAuthDialect names the way a reverse proxy describes the
// original request to the forward-auth endpoint, and the way a browser's
// redirect to the sign-in page reaches it. An endpoint reads exactly the
// headers of its dialect and no others: a proxy passes the client's own
// headers on to the decision, so a header the proxy does not set (and
// overwrite) is the client's to choose.
type ForwardAuthDialect string

// The dialects. Every one also reads X-Forwarded-Proto and
// X-Forwarded-For, and every one but DialectEnvoy X-Forwarded-Host.
const (
	// DialectNginx is nginx auth_request: X-Original-Method and
	// X-Original-URI, with X-Forwarded-Host, X-Forwarded-Proto and
	// X-Forwarded-For, all set by the configuration
	// (testdata/nginx/forward-auth.conf.tmpl). A browser's redirect is a
	// 401 with a Location, which the configuration turns into a 303.
	DialectNginx ForwardAuthDialect = "nginx"
	// DialectForwarded is the X-Forwarded-Method, X-Forwarded-Uri,
	// X-Forwarded-Host, X-Forwarded-Proto and X-Forwarded-For that Traefik
	// forwardAuth and Caddy forward_auth set themselves, replacing the
	// client's, with a browser's redirect as DialectNginx's: a 401 with a
	// Location. It is what the configured default endpoint spoke before
	// the per-proxy endpoints; DialectCaddy and DialectTraefik answer
	// browsers with the redirect itself.
	DialectForwarded ForwardAuthDialect = "forwarded"
	// DialectCaddy is Caddy forward_auth (testdata/caddy/Caddyfile.tmpl):
	// DialectForwarded's headers; a browser's redirect is a 303, which
	// Caddy passes to the client as it is, like every non-2xx answer.
	DialectCaddy ForwardAuthDialect = "caddy"
	// DialectTraefik is Traefik forwardAuth
	// (testdata/traefik/dynamic.yml): DialectForwarded's headers, which
	// Traefik sets on its GET to the endpoint; a browser's redirect is a
	// 303, which Traefik passes to the client as it is.
	DialectTraefik ForwardAuthDialect = "traefik"
	// DialectHAProxy is HAProxy with the Lua action
	// testdata/haproxy/authgw.lua: DialectForwarded's headers, which the
	// action sets; a browser's redirect is a 303, whose Location the
	// action hands to haproxy.cfg's redirect rule.
	DialectHAProxy ForwardAuthDialect = "haproxy"
	// DialectEnvoy is Envoy ext_authz over HTTP
	// (testdata/envoy/envoy.yaml): the request itself is the original one,
	// its method, its path after the configured path_prefix
	// (ForwardAuthEnvoyPrefix) with the query, and its Host; with
	// X-Forwarded-Proto and X-Forwarded-For, which Envoy's connection
	// manager sets and the configuration's allowed_headers passes on. A
	// browser's redirect is a 303, which Envoy passes to the client.
	DialectEnvoy ForwardAuthDialect = "envoy"
)

// ForwardAuthPath is the admin listener's path of the configured
// default dialect's forward-auth endpoint; ForwardAuthPath + "/" + the
// dialect's name is each dialect's (ForwardAuthEnvoyPrefix and the
// original path for DialectEnvoy).
const ForwardAuthPath = "/forward-auth"

// ForwardAuthEnvoyPrefix is the path_prefix Envoy's ext_authz
// http_service is configured with: Envoy asks ForwardAuthEnvoyPrefix +
// the original path.
const ForwardAuthEnvoyPrefix = ForwardAuthPath + "/envoy"

// ForwardAuthDialects are the dialects with an endpoint of their own
// under ForwardAuthPath.
var ForwardAuthDialects = []ForwardAuthDialect{DialectNginx, DialectCaddy, DialectTraefik, DialectHAProxy, DialectEnvoy}

// ParseForwardAuthDialect reads the configured default dialect's name:
// "nginx", or "forwarded" (also spelled "traefik" or "caddy", as
// before the per-proxy endpoints). It fails for any other name.
func ParseForwardAuthDialect(name string) (ForwardAuthDialect, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "nginx":
		return DialectNginx, nil
	case "forwarded", "traefik", "caddy":
		return DialectForwarded, nil
	}
	return "", fmt.Errorf("unknown forward-auth dialect %q (nginx, or forwarded for Traefik and Caddy)", name)
}

// headers returns the names of the dialect's method and URI headers,
// "" for DialectEnvoy (the request's own).
func (d ForwardAuthDialect) headers() (method, uri string) {
	switch d {
	case DialectNginx:
		return HeaderOriginalMethod, HeaderOriginalURI
	case DialectEnvoy:
		return "", ""
	}
	return HeaderForwardedMethod, HeaderForwardedURI
}

// redirects reports whether the dialect's proxy passes a 303 with its
// Location on to the client (else a browser gets 401 with a Location).
func (d ForwardAuthDialect) redirects() bool {
	return d != DialectNginx && d != DialectForwarded
}

// ForwardAuthEndpoints serves the forward-auth endpoints on the admin
// listener and passes any other request to next: ForwardAuthPath in
// Config.ForwardAuthDialect, and ForwardAuthPath/<name> for each of
// ForwardAuthDialects (for DialectEnvoy, every path under
// ForwardAuthEnvoyPrefix). The paths are matched on the request target
// as sent, uncleaned: a non-canonical original path is the decision's
// to refuse (400), not a redirect.
func (g *Gateway) ForwardAuthEndpoints(next http.Handler) http.Handler {
	byPath := map[string]http.Handler{ForwardAuthPath: g.ForwardAuth()}
	for _, d := range ForwardAuthDialects {
		if d != DialectEnvoy {
			byPath[ForwardAuthPath+"/"+string(d)] = g.ForwardAuthFor(d)
		}
	}
	envoy := g.ForwardAuthFor(DialectEnvoy)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, _, _ := strings.Cut(r.RequestURI, "?")
		if h, ok := byPath[path]; ok {
			h.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.RequestURI, ForwardAuthEnvoyPrefix+"/") {
			envoy.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ForwardAuth returns the decision endpoint in Config.ForwardAuthDialect
// (ForwardAuthFor gives any other dialect's). It rebuilds the original
// request from the headers of its dialect (method, URI in
// origin form with its query, host, scheme and X-Forwarded-For; every
// one required, once), runs
// steps 3 to 7 (path, credentials, restrictions, rate limit, token) and
// answers 200 with the X-Auth-Info headers (aud: the API name) and
// rate-limit headers, or the refusal in the envelope (400, 401, 403,
// 429, 503). A browser's refused GET or HEAD that signing in would cure
// is sent to the sign-in page: 401 with a Location header, or 303 in the
// dialects whose proxies pass a redirect on (see denyForwardAuth).
//
// Those headers decide everything, and the client IP written into the
// signed request info is the right-most address of X-Forwarded-For that
// is not a trusted proxy (the caller counting as one): so only a peer in
// Config.ForwardAuthCallers may ask. Any other peer, loopback included,
// gets 403 FORWARD-AUTH-UNTRUSTED-PEER. Whether the API is registered and
// active is not checked here (that is routing, step 8, which the proxy in
// front does).
func (g *Gateway) ForwardAuth() http.Handler {
	return g.ForwardAuthFor(g.cfg.ForwardAuthDialect)
}

// ForwardAuthFor is ForwardAuth in dialect d, whatever the configured
// one. DialectEnvoy's endpoint must be served at ForwardAuthEnvoyPrefix
// (the path after it is the original path); ForwardAuthEndpoints serves
// every dialect's. It panics for an unknown dialect.
func (g *Gateway) ForwardAuthFor(d ForwardAuthDialect) http.Handler {
	switch d {
	case DialectNginx, DialectForwarded, DialectCaddy, DialectTraefik, DialectHAProxy, DialectEnvoy:
	default:
		panic("gateway: unknown forward-auth dialect " + string(d))
	}
	return g.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveForwardAuth(w, r, d) }))
}

func (g *Gateway) serveForwardAuth(w http.ResponseWriter, r *http.Request, d ForwardAuthDialect) {
	st := stateOf(r)
	if !g.forwardAuthCaller(remoteIP(r)) {
		refuse(http.StatusForbidden, CodeForwardAuthUntrusted, "Only a configured forward-auth caller may ask for a decision.").write(w)
		return
	}
	orig, missing := g.forwardedRequest(r, d)
	if orig == nil {
		refuse(http.StatusBadRequest, CodeForwardAuthBadRequest,
			"The proxy must describe the original request: "+missing+" is missing or malformed.").write(w)
		return
	}
	st.ip = g.clientIP(r, true)
	st.ipText = st.ip.String()
	st.forwardAuth = true
	if e := g.decide(w, orig, st); e != nil {
		g.logRefusal(orig, st, e)
		st.traceRefusal(e)
		g.denyForwardAuth(w, orig, st, e, d)
		return
	}
	tok, err := g.cfg.Signer.Sign(g.claims(st))
	if err != nil {
		g.cfg.Logger.Error("gateway: sign request info", "request_id", st.id, "err", err)
		refuse(http.StatusInternalServerError, CodeInternal, "").write(w)
		return
	}
	infosign.SetHeaders(w.Header(), tok)
	w.WriteHeader(http.StatusOK)
}

// forwardAuthCaller reports whether peer may call ForwardAuth.
func (g *Gateway) forwardAuthCaller(peer netip.Addr) bool {
	for _, p := range g.cfg.ForwardAuthCallers {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// forwardedRequest is a shallow copy of r describing the original
// request, from the dialect's headers only; the scheme goes to the
// request's state. It returns nil and the name of the first header that
// is missing or malformed. The other headers (Authorization, Cookie,
// Origin, Referer) are the forward-auth request's, which the proxies pass
// on from the original.
func (g *Gateway) forwardedRequest(r *http.Request, d ForwardAuthDialect) (*http.Request, string) {
	methodHeader, uriHeader := d.headers()
	var uri, method, host string
	if d == DialectEnvoy {
		// Envoy asks with the original method, the original path and
		// query after its path_prefix, and the original Host.
		uri, uriHeader = strings.TrimPrefix(r.RequestURI, ForwardAuthEnvoyPrefix), "the path after "+ForwardAuthEnvoyPrefix
		method, methodHeader = r.Method, "the method"
		host = r.Host
	} else {
		uri = singleHeader(r.Header, uriHeader)
		method = singleHeader(r.Header, methodHeader)
		host = singleHeader(r.Header, HeaderForwardedHost)
	}
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") {
		return nil, uriHeader
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, uriHeader
	}
	if !validMethod(method) {
		return nil, methodHeader
	}
	if host == "" {
		if d == DialectEnvoy {
			return nil, "Host"
		}
		return nil, HeaderForwardedHost
	}
	var scheme string
	switch strings.ToLower(singleHeader(r.Header, HeaderForwardedProto)) {
	case "http":
		scheme = "http"
	case "https":
		scheme = "https"
	default:
		return nil, HeaderForwardedProto
	}
	if !validForwardedFor(r.Header) {
		return nil, HeaderForwardedFor
	}
	stateOf(r).scheme = scheme
	orig := new(http.Request)
	*orig = *r
	orig.URL, orig.RequestURI = u, uri
	orig.Method = strings.ToUpper(method)
	orig.Host = host
	return orig, ""
}

// singleHeader returns the one value of header name, "" when it is
// absent or sent more than once (a proxy sets it once; a second value
// is the client's).
func singleHeader(h http.Header, name string) string {
	vs := h.Values(name)
	if len(vs) != 1 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// validForwardedFor reports whether X-Forwarded-For comes exactly once
// and every comma-separated hop in it is a bare IP address (no port, no
// brackets, no zone). The client IP signed into the request info is read
// from it: without it, or with a hop that does not parse, the caller's
// own address would be signed instead, so a proxy that forgets the
// header, or a client value that slipped through, fails closed.
func validForwardedFor(h http.Header) bool {
	vs := h.Values(HeaderForwardedFor)
	if len(vs) != 1 {
		return false
	}
	for rest := vs[0]; ; {
		hop, tail, more := strings.Cut(rest, ",")
		a, err := netip.ParseAddr(strings.TrimSpace(hop))
		if err != nil || a.Zone() != "" {
			return false
		}
		if !more {
			return true
		}
		rest = tail
	}
}

// validMethod accepts 1 to 16 ASCII letters.
func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// denyForwardAuth writes a refusal of the forward-auth endpoint. As on
// the gateway's listener, a browser (its Accept prefers HTML) is never
// sent the Basic challenge. Its GET or HEAD refused 401 for want of a
// valid token gets, whatever the API, a Location header: the sign-in
// page on the original request's origin, with return_to the original
// URL as the proxy described it. In DialectNginx and DialectForwarded
// the status stays 401, since nginx's auth_request passes nothing else
// on; the proxy's configuration turns it into the redirect
// (testdata/nginx/forward-auth.conf.tmpl). The other dialects answer 303
// with that Location, which their proxies pass on to the browser. A GET
// or HEAD refused 401 STEP-UP-REQUIRED gets the re-authentication page
// (StepUpPath) likewise.
func (g *Gateway) denyForwardAuth(w http.ResponseWriter, orig *http.Request, st *reqState, e *refusal, d ForwardAuthDialect) {
	if e.Status == http.StatusUnauthorized && prefersHTML(orig.Header.Values("Accept")) {
		location := ""
		if e.signInCures && readMethod(orig.Method) && verifier.RequestPath(orig) != g.cfg.LoginPath {
			if origin, ok := forwardedOrigin(st.scheme, orig.Host); ok {
				location = signInURL(origin+g.cfg.LoginPath, origin+orig.RequestURI)
			}
		}
		if e.stepUp && readMethod(orig.Method) {
			if origin, ok := forwardedOrigin(st.scheme, orig.Host); ok {
				location = signInURL(origin+g.cfg.StepUpPath, origin+orig.RequestURI)
			}
		}
		if location != "" {
			w.Header().Set("Location", location)
			w.Header().Set("Cache-Control", "no-store")
			if d.redirects() {
				// Caddy, Traefik, Envoy and the HAProxy action pass the
				// answer on to the browser as it is.
				w.WriteHeader(http.StatusSeeOther)
				return
			}
		}
		if e.wwwAuthenticate == basicChallenge {
			e.wwwAuthenticate = ""
		}
	}
	e.write(w)
}

// forwardedOrigin is scheme://host of the original request when host,
// as the proxy passed it, is a well-formed host name or IP address with
// an optional port: no user info, path or anything else a URL could
// hide in it. ok is false otherwise, and no sign-in URL is given.
func forwardedOrigin(scheme, host string) (string, bool) {
	if (scheme != "http" && scheme != "https") || host == "" || len(host) > 255 {
		return "", false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return "", false
		}
	}
	origin := scheme + "://" + host
	u, err := url.Parse(origin)
	if err != nil || u.Host != host || u.Hostname() == "" || u.User != nil || u.Path != "" {
		return "", false
	}
	return origin, true
}
