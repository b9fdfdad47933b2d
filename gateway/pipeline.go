package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/authgw/authgw/gateway/internal/hdr"
	"github.com/authgw/authgw/gateway/ratelimit"
	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier"
	"github.com/authgw/authgw/verifier/requestinfo"
)

// HeaderRequestID carries the request ID, in both directions and to the
// backend.
const HeaderRequestID = "X-Request-Id"

// accountsAPI and accountsVersion name the in-process accounts service.
const (
	accountsAPI     = "accounts"
	accountsVersion = 1
)

// pipeline returns the whole chain of the README's "The gateway".
func (g *Gateway) pipeline() http.Handler {
	return g.observe(g.infoKeys(g.cors(http.HandlerFunc(g.serveAPI))))
}

// observe is step 1: request ID, panic recovery, access log and metrics.
// It starts the request's state.
func (g *Gateway) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{start: g.cfg.Now(), id: r.Header.Get(HeaderRequestID)}
		if !validRequestID(st.id) {
			st.id = g.newRequestID()
		}
		ids := [...]string{st.id, st.id} // one allocation for both headers
		r.Header[HeaderRequestID] = ids[0:1:1]
		w.Header()[HeaderRequestID] = ids[1:2:2]
		st.rec.ResponseWriter = w
		rec := &st.rec
		if g.tracer != nil {
			r = g.startSpan(r, st)
			defer g.endSpan(rec, r, st)
		}
		r = r.WithContext(withState(r.Context(), st))
		defer g.logRequest(rec, r, st)
		defer g.recoverPanic(rec, r)
		next.ServeHTTP(rec, r)
	})
}

// recoverPanic answers 500 for a panic in a later step, unless the
// response was started. http.ErrAbortHandler (the proxy's way to abort a
// response) is re-raised for net/http.
func (g *Gateway) recoverPanic(w *recorder, r *http.Request) {
	p := recover()
	if p == nil {
		return
	}
	if p == http.ErrAbortHandler {
		if w.status == 0 {
			w.status = http.StatusBadGateway
		}
		panic(p)
	}
	g.cfg.Logger.Error("gateway: panic", "request_id", stateOf(r).id, "panic", p)
	if w.status == 0 {
		refuse(http.StatusInternalServerError, CodeInternal, "").write(w)
	}
}

// logRequest writes the access line and counts the request. It logs no
// header but the request ID: never Authorization, cookies or tokens.
func (g *Gateway) logRequest(w *recorder, r *http.Request, st *reqState) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	dur := g.cfg.Now().Sub(st.start)
	g.metrics.request(st.apiName, status, dur, w.refusal)
	if w.refusalCode != "" {
		g.metrics.refused(w.refusalCode)
	}
	if !g.cfg.Logger.Enabled(r.Context(), slog.LevelInfo) {
		return // spare the attributes' formatting when access logs are off
	}
	client := st.loggedClientID()
	// The user is the token's user ID, never an email address.
	user := ""
	if st.hasIdentity {
		user = st.identity.UserID
	}
	g.cfg.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("method", r.Method),
		slog.String("path", verifier.RequestPath(r)),
		slog.Int("status", status),
		slog.Duration("duration", dur),
		slog.String("client", client),
		slog.String("user", user),
		slog.String("ip", st.ipText),
		slog.String("request_id", st.id))
}

// logRefusal writes, at debug level, why the pipeline refused a request:
// its code and detail (for a token, the verifier's reason is logged
// where it is found, by checkToken). The detail is the gateway's own
// text, never a credential.
func (g *Gateway) logRefusal(r *http.Request, st *reqState, e *refusal) {
	if !g.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	client := st.loggedClientID()
	g.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "gateway: refused",
		slog.String("request_id", st.id),
		slog.Int("status", e.Status),
		slog.String("code", e.Code),
		slog.String("detail", e.Detail),
		slog.String("client", client))
}

// validRequestID accepts 1 to 128 of [A-Za-z0-9._:-]; anything else is
// replaced, so a log line cannot be forged through it.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// newRequestID returns the process's random prefix and the next value
// of its counter: unique across instances without randomness per request.
func (g *Gateway) newRequestID() string {
	return g.idPrefix + strconv.FormatUint(g.idSeq.Add(1), 16)
}

// corsMaxAge is how long browsers may cache a preflight answer (seconds).
const corsMaxAge = "600"

// cors is step 2. Only listed origins get CORS headers, always with
// credentials; other origins get none (the browser then refuses to expose
// the response). A preflight (OPTIONS with Access-Control-Request-Method)
// is answered here: 204 for a listed origin, 403 otherwise; it never
// reaches a backend.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := g.origins[origin]
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			if !allowed {
				refuse(http.StatusForbidden, CodeCORSOriginNotAllowed, "This origin may not make cross-origin requests.").write(w)
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" && validHeaderList(req) {
				h.Set("Access-Control-Allow-Headers", req)
			}
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset")
		}
		next.ServeHTTP(w, r)
	})
}

// validHeaderList accepts a comma-separated list of header-name tokens.
func validHeaderList(s string) bool {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// serveAPI runs steps 3 to 9 for a request of the gateway's own listener.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	st.ip = g.clientIP(r, false)
	st.ipText = st.ip.String()
	st.scheme = g.requestScheme(r)
	st.bindHost = g.bindingHost(r)
	if e := g.decide(w, r, st); e != nil {
		g.deny(w, r, st, e)
		return
	}
	g.route(w, r, st)
}

// decide runs steps 3 to 7 (path, credentials, restrictions, rate limit,
// token) and returns the first refusal, or nil. The rate-limit headers
// are set on w either way.
func (g *Gateway) decide(w http.ResponseWriter, r *http.Request, st *reqState) *refusal {
	st.snap = g.snap.Load()
	if st.snap == nil {
		return refuse(http.StatusServiceUnavailable, CodeNotReady, "")
	}
	if e := g.checkPath(r, st); e != nil {
		return e
	}
	st.step(eventPath)
	if st.boundHost {
		r = apiPathRequest(r, st)
	}
	if e := checkOverrides(r); e != nil {
		return e
	}
	if e := g.checkCredentials(r, st); e != nil {
		return e
	}
	st.step(eventCredentials)
	if e := checkRestrictions(r, st); e != nil {
		return e
	}
	st.step(eventRestrictions)
	if e := g.checkRateLimit(w, r, st); e != nil {
		return e
	}
	st.step(eventRateLimit)
	e := g.checkToken(r, st)
	st.step(eventToken)
	return e
}

// deny writes a refusal of the gateway's own listener. A browser (its
// Accept prefers HTML) is never sent the Basic challenge, which would
// open the browser's own credential dialog; its GET or HEAD refused 401
// for want of a valid token is sent to the sign-in page instead, where
// the API asks for that (loginRedirect) and on the sign-in pages
// themselves; one refused 401 STEP-UP-REQUIRED is sent, likewise, to the
// re-authentication page.
func (g *Gateway) deny(w http.ResponseWriter, r *http.Request, st *reqState, e *refusal) {
	g.logRefusal(r, st, e)
	st.traceRefusal(e)
	markRefused(w, e) // for the metrics, whichever answer it becomes below
	if st.oidcProviderPath() && (e.wwwAuthenticate == basicChallenge || e.restriction) {
		writeOAuthInvalidClient(w, e)
		return
	}
	if e.Status == http.StatusUnauthorized && prefersHTML(r.Header.Values("Accept")) {
		if e.signInCures && readMethod(r.Method) && g.redirectsToSignIn(r, st) {
			g.redirectToSignIn(w, originalPath(r))
			return
		}
		if e.stepUp && readMethod(r.Method) && g.redirectsToSignIn(r, st) {
			g.redirectTo(w, g.cfg.StepUpPath, originalPath(r))
			return
		}
		if e.wwwAuthenticate == basicChallenge {
			e.wwwAuthenticate = ""
		}
	}
	e.write(w)
}

// checkPath is step 3: the same canonical-path function as the verifier,
// then, for a request to a host bound to an API version, that API with
// the whole path as its rest (but for /accounts/v1, the accounts
// service's on every host); for one of the gateway's own hosts,
// /<api>/v<N>[/rest]; for any other host, a refusal (421, or 403 to a
// forward-auth caller, whose proxy may pass on nothing else): a name
// pointed at the gateway by someone else, or a Host header made up, gets
// neither the APIs nor the sign-in pages.
//
// The request target must be a path (origin form). An absolute-form target
// ("GET http://evil.example/x HTTP/1.1", meant for forward proxies) would
// make its authority the request's host in net/http, ahead of the Host
// header: the host restriction, the CSRF check and the backend's
// X-Forwarded-Host would all see a host the client named in a second
// place. A gateway is no forward proxy, so such a request is refused. A
// request built in-process, with no RequestURI, is judged by its URL.
func (g *Gateway) checkPath(r *http.Request, st *reqState) *refusal {
	path := verifier.RequestPath(r)
	if err := policy.CanonicalPath(path); err != nil {
		return refuse(http.StatusBadRequest, CodeNonCanonicalPath, "The request path is not in canonical form.")
	}
	if r.RequestURI != "" && !strings.HasPrefix(r.RequestURI, "/") {
		return refuse(http.StatusBadRequest, CodeNotOriginForm, "The request target must be a path, not a URL (origin form).")
	}
	host := st.bindHost
	if host == "" {
		host = r.Host
	}
	b, bound := st.snap.boundHost(host)
	if bound && !accountsPath(path) {
		if b.name == "" {
			return refuse(http.StatusNotFound, CodeAPINotFound, "This host is bound to more than one API.")
		}
		st.apiName, st.version, st.rest, st.boundHost = b.name, b.version, path, true
		return nil
	}
	if !bound && g.ownHosts != nil && !g.ownHosts[hostKey(host)] {
		if st.forwardAuth {
			return refuse(http.StatusForbidden, CodeUnknownHost, "This host name is not served here.")
		}
		return refuse(http.StatusMisdirectedRequest, CodeUnknownHost, "This host name is not served here.")
	}
	name, version, rest, ok := parseAPIPath(path)
	if !ok {
		return refuse(http.StatusBadRequest, CodeBadPath, "Request paths are /<api>/v<N>/..., N a positive integer.")
	}
	st.apiName, st.version, st.rest = name, version, rest
	return nil
}

// bindingHost is the host a request of the gateway's own listener is
// matched against the host bindings by: from a trusted proxy
// (TrustedProxies), the first host of its X-Forwarded-Host, sent once,
// when it sends one; else "" (the Host header). From anyone else
// X-Forwarded-Host is ignored, as X-Forwarded-Proto and -For are.
func (g *Gateway) bindingHost(r *http.Request) string {
	vs := r.Header.Values("X-Forwarded-Host")
	if len(vs) != 1 || !g.trusted(remoteIP(r)) {
		return ""
	}
	first, _, _ := strings.Cut(vs[0], ",")
	return strings.TrimSpace(first)
}

// accountsPath reports whether path is under /accounts/v1, which stays
// the accounts service's on every host: the sign-in pages a bound host's
// browsers are sent to, which set the token cookies on that host.
func accountsPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/"+accountsAPI+"/v"+strconv.Itoa(accountsVersion))
	return ok && (rest == "" || rest[0] == '/')
}

// apiPathRequest is a shallow copy of r, a request to a bound host, with
// /<api>/v<N> put before its path (the request target and the URL; the
// root "/" is /<api>/v<N>), so
// the later steps, the verifier's policies and caveats above all, judge
// it as the same path of the API would be judged. The original request
// is what is forwarded: the backend sees its path as sent.
func apiPathRequest(r *http.Request, st *reqState) *http.Request {
	prefix := "/" + st.apiName + "/v" + strconv.Itoa(st.version)
	vr := new(http.Request)
	*vr = *r
	if r.RequestURI != "" {
		vr.RequestURI = prefixPath(prefix, r.RequestURI)
	}
	if r.URL != nil {
		u := *r.URL
		u.Path = prefixPath(prefix, u.Path)
		if u.RawPath != "" {
			u.RawPath = prefixPath(prefix, u.RawPath)
		}
		vr.URL = &u
	}
	return vr
}

// prefixPath puts prefix before p, a path (with or without a query); the
// root "/" becomes prefix itself, as /<api>/v<N> is the root of an API
// ("/<api>/v<N>/" is not canonical).
func prefixPath(prefix, p string) string {
	if p == "/" || strings.HasPrefix(p, "/?") {
		return prefix + p[1:]
	}
	return prefix + p
}

// overrideHeaders make some frameworks (Rails, Express, Symfony, Laravel,
// ASP.NET, Zend) handle a request as another method or another path than
// the one sent; in lower case.
var overrideHeaders = [...]string{"x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-rewrite-url"}

// overrideQueryKeys are query parameters some frameworks read as the
// method (Laravel and Symfony, Express methodOverride('_method'),
// Jersey's _method; a few read the header names too); in lower case.
var overrideQueryKeys = [...]string{"_method", "x-http-method-override", "x-http-method", "x-method-override"}

// checkOverrides refuses a request carrying a method- or URL-override
// header, in any case or spelled with underscores, or a method-override
// query parameter (overrideQueryKeys, matched as frameworks read keys:
// any case, percent-decoded with "+" as a space, trimmed, PHP's "." and
// " " for "_" and "key[x]"; pairs split at "&" and at ";" as older
// parsers do): the token was judged for the request's own method and
// path, and a backend that honours the override would act on another (a
// POST token deleting). Stripping it would silently change what the
// client asked for, so the request is refused with 400 instead. It
// allocates nothing.
func checkOverrides(r *http.Request) *refusal {
	for name := range r.Header {
		for _, o := range overrideHeaders {
			if hdr.FoldedPrefix(name, o, true) {
				return refuse(http.StatusBadRequest, CodeOverrideHeader,
					"Method and URL override headers (X-HTTP-Method-Override and the like) are not accepted; send the real method and path.")
			}
		}
	}
	if r.URL != nil && overrideQuery(r.URL.RawQuery) {
		return refuse(http.StatusBadRequest, CodeOverrideHeader,
			"Method override query parameters (_method and the like) are not accepted; send the real method.")
	}
	return nil
}

// overrideQuery reports whether a raw query holds a key some framework
// reads as a method override.
func overrideQuery(raw string) bool {
	for raw != "" {
		var pair string
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, ""
		}
		key, _, _ := strings.Cut(pair, "=")
		for _, k := range overrideQueryKeys {
			if hdr.QueryKeyFolds(key, k) {
				return true
			}
		}
	}
	return false
}

// maxVersionDigits keeps a version within an int32.
const maxVersionDigits = 9

// parseAPIPath splits a canonical path into the API name (1 or more of
// [A-Za-z0-9._~-], so its raw and decoded forms agree), the version (a
// positive integer without leading zeros, at most 9 digits) and the raw
// rest ("" or starting with "/").
func parseAPIPath(path string) (name string, version int, rest string, ok bool) {
	p := strings.TrimPrefix(path, "/")
	name, p, found := strings.Cut(p, "/")
	if !found || name == "" {
		return "", 0, "", false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '~' || c == '-') {
			return "", 0, "", false
		}
	}
	v, rest, _ := strings.Cut(p, "/")
	if rest != "" || strings.HasSuffix(p, "/") {
		rest = "/" + rest
	}
	digits, hasV := strings.CutPrefix(v, "v")
	if !hasV || digits == "" || len(digits) > maxVersionDigits || digits[0] == '0' {
		return "", 0, "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", 0, "", false
		}
	}
	version, _ = strconv.Atoi(digits)
	return name, version, rest, true
}

// checkCredentials is step 4: the Basic client ID and optional secret.
// Without a Basic credential, the client is the one a browser's token
// cookie names (identifyBrowser); without either, only an
// allowUnidentified API, or a sign-in page, may be called.
func (g *Gateway) checkCredentials(r *http.Request, st *reqState) *refusal {
	id, secret, hasSecret, found, ok := basicCredential(r.Header.Values("Authorization"))
	if !ok {
		return refuseClient(CodeMalformedBasicAuth, "The Basic credential is malformed.")
	}
	if !found {
		return g.identifyBrowser(r, st)
	}
	c := st.snap.clients[id]
	if c == nil {
		// The unknown ID is not kept for the log: it is whatever the
		// caller typed, a secret pasted in the wrong field included.
		return refuseClient(CodeUnknownClient, "The client is unknown.")
	}
	st.claimedClient = c
	if hasSecret {
		ok, throttled := g.secretMatches(c, st.ip, secret)
		if throttled {
			return refuse(http.StatusTooManyRequests, CodeSecretCheckThrottled,
				"Too many checks of legacy client secrets; retry in a second.").
				retryAfter(1) // the budget refills one check a second
		}
		if !ok {
			return refuseClient(CodeInvalidClientSecret, "The client secret is wrong.")
		}
		st.secretVerified = true
	}
	st.client = c
	// No browser sends the sign-in pages' client in a Basic header: its
	// ID is public, so such a request gets the per-IP budget, not the
	// budget all browsers share.
	st.limitByIP = g.cfg.BrowserClient != "" && id == g.cfg.BrowserClient
	return nil
}

// checkRestrictions is step 5: types AND, values of a type OR. No
// restriction applies to a request without a client.
func checkRestrictions(r *http.Request, st *reqState) *refusal {
	c := st.client
	if c == nil {
		return nil
	}
	if c.ips != nil && !ipAllowed(c, st.ip) {
		return refuse(http.StatusUnauthorized, CodeRestrictionIP, "This client may not be used from this address.").restricted()
	}
	if c.hosts != nil && !hostAllowed(c, requestHost(r)) {
		return refuse(http.StatusUnauthorized, CodeRestrictionHost, "This client may not be used from this host.").restricted()
	}
	if c.apis != nil && !c.apis[st.apiName] {
		return refuse(http.StatusForbidden, CodeRestrictionAPI, "This client may not call this API.").restricted()
	}
	return nil
}

// checkRateLimit is step 6: per client at its reqsPerSec, or per IP for
// requests without a client. A limiter failure that refuses (the Redis
// limiter's fail-closed case) is a 503, not a 429.
func (g *Gateway) checkRateLimit(w http.ResponseWriter, r *http.Request, st *reqState) *refusal {
	key, rate := "", g.cfg.UnidentifiedPerSecond
	if st.client != nil && !st.limitByIP {
		key, rate = st.client.limitKey, st.client.reqsPerSec
	} else {
		key = "ip:" + st.ipText
	}
	d, err := g.limiter.Allow(r.Context(), key, rate)
	byClient := st.client != nil && !st.limitByIP
	if d.Allowed {
		g.metrics.rateLimit(decisionAllowed, byClient)
		ratelimit.Headers(w.Header(), d)
		return nil
	}
	if err != nil {
		g.metrics.rateLimit(decisionUnavailable, byClient)
		g.cfg.Logger.Warn("gateway: rate limiter failed", "request_id", st.id, "err", err)
		return refuse(http.StatusServiceUnavailable, CodeRateLimitUnavailable, "")
	}
	g.metrics.rateLimit(decisionLimited, byClient)
	ratelimit.Headers(w.Header(), d)
	return refuse(http.StatusTooManyRequests, CodeRateLimited, "Too many requests; retry later.")
}

// checkToken is step 7: the verifier, with the client and IP the earlier
// steps found (its ClientID and ClientIP hooks read st).
func (g *Gateway) checkToken(r *http.Request, st *reqState) *refusal {
	id, public, err := g.verifier.Load().Authorize(r)
	if err != nil {
		d := verifier.NewDenialError(err)
		g.metrics.verifyRefused(d.Response.Code)
		switch {
		case errors.Is(err, verifier.ErrBadRequest):
			g.metrics.verify("bad_request")
		case errors.Is(err, verifier.ErrForbidden):
			g.metrics.verify("forbidden")
		default:
			g.metrics.verify("unauthorized")
		}
		g.cfg.Logger.Debug("gateway: token refused", "request_id", st.id, "reason", err.Error())
		// Each 401 of the verifier is about the token (none, expired,
		// revoked, invalid, bound elsewhere): a new sign-in cures it.
		if errors.Is(err, verifier.ErrStepUpRequired) {
			// A fresh proof of the user cures it, not a new sign-in.
			g.absoluteDischarge(d.Response)
			return &refusal{Error: d.Response, wwwAuthenticate: d.Challenge, stepUp: true}
		}
		return &refusal{Error: d.Response, wwwAuthenticate: d.Challenge, signInCures: d.Response.Status == http.StatusUnauthorized}
	}
	if public {
		g.metrics.verify("public")
		return nil
	}
	g.metrics.verify("ok")
	st.identity, st.hasIdentity = id, true
	return nil
}

// route is step 8: accounts in-process, else the active API's backend.
func (g *Gateway) route(w http.ResponseWriter, r *http.Request, st *reqState) {
	if st.apiName == accountsAPI && st.version == accountsVersion {
		if g.cfg.Accounts == nil {
			refuse(http.StatusNotFound, CodeAPINotFound, "The accounts service is not served here.").write(w)
			return
		}
		ctx := requestinfo.NewContext(r.Context(), g.claims(st))
		if st.hasIdentity {
			ctx = verifier.WithIdentity(ctx, st.identity)
		}
		g.cfg.Accounts.ServeHTTP(w, r.WithContext(ctx))
		return
	}
	a, detail := st.snap.lookupAPI(st.apiName, st.version)
	if a == nil {
		e := refuse(http.StatusNotFound, CodeAPINotFound, detail)
		g.logRefusal(r, st, e)
		st.traceRefusal(e)
		e.write(w)
		return
	}
	st.api = a
	if a.target == nil {
		refuse(http.StatusBadGateway, CodeUpstreamUnavailable, "").write(w)
		return
	}
	tok, err := g.cfg.Signer.Sign(g.claims(st))
	if err != nil {
		g.cfg.Logger.Error("gateway: sign request info", "request_id", st.id, "err", err)
		refuse(http.StatusInternalServerError, CodeInternal, "").write(w)
		return
	}
	st.infoToken = tok
	if a.timeout > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
		defer cancel()
		r = r.WithContext(ctx)
	}
	g.proxy.ServeHTTP(w, r)
}

// claims is the request info of the README's "Request info for backends" for the request. The user's
// roles are those the token was minted with (its user-roles caveat).
func (g *Gateway) claims(st *reqState) requestinfo.Claims {
	c := requestinfo.Claims{IP: st.ipText, Audience: st.apiName, SecretVerified: st.secretVerified}
	if st.client != nil {
		c.Client, c.ClientRoles = st.client.id, st.client.roles
	}
	if st.hasIdentity {
		c.User = &requestinfo.UserClaims{ID: st.identity.UserID, SessionID: st.identity.SessionID, Roles: st.identity.Roles()}
		c.User.AMR = st.identity.AMR()
		if !st.identity.AuthTime.IsZero() {
			c.User.AuthTime = st.identity.AuthTime.Unix()
		}
	}
	return c
}

// requestHost is the host the host restriction checks: the Origin's host
// name if the request has an Origin (a browser), else the Host's; lower
// case, without port. An Origin that does not parse yields "", which no
// rule matches.
func requestHost(r *http.Request) string {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host == "" {
			return ""
		}
		return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	}
	host := r.Host
	if h, _, ok := splitHostPort(host); ok {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
