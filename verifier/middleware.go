package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/authgw/authgw/policy"
	"github.com/authgw/authgw/verifier/envelope"
)

type identityKey struct{}

// IdentityFrom returns the Identity the middleware verified for the
// request whose context this is; ok is false for a public or skipped
// request.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// WithIdentity returns a context carrying id, as the middleware does.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// Authorize runs the whole check on an HTTP request: canonical path,
// public scope, token extraction (Authorization header, else the method's
// cookies), the Origin check for unsafe methods carried by cookie, and
// Verify. public is true when the public scope let the request through.
//
// The header is "Macaroon <token>", or "Macaroon <token> <discharge>"
// for a step-up token and its bound discharge. A browser holds, per
// method, the ordinary token's cookie and, where it has one, the step-up
// token's and its discharge's (CookieConfig.StepUpName, DischargeName):
// the step-up token is tried when the ordinary one is missing or does not
// grant the request, so a browser needs no choosing.
func (v *Verifier) Authorize(r *http.Request) (id Identity, public bool, err error) {
	path := RequestPath(r)
	if err := policy.CanonicalPath(path); err != nil {
		return Identity{}, false, fmt.Errorf("%w: %w", ErrNonCanonicalPath, err)
	}
	if v.IsPublic(r.Method, path) {
		return Identity{}, true, nil
	}
	c, err := v.extract(r)
	if err != nil {
		return Identity{}, false, err
	}
	if c.fromCookie && !safeMethod(r.Method) && !v.originAllowed(r) {
		return Identity{}, false, ErrOrigin
	}
	req := Request{Method: r.Method, Path: path, ClientIP: v.cfg.ClientIP(r)}
	if v.cfg.ClientID != nil {
		req.ClientID = v.cfg.ClientID(r)
	}
	if c.token != "" {
		id, err = v.verifyCanonical(c.token, req, c.discharge)
		if c.stepUp == "" || !errors.Is(err, ErrForbidden) {
			return id, false, err
		}
	}
	upID, upErr := v.verifyCanonical(c.stepUp, req, c.stepUpDischarge)
	if c.token != "" && errors.Is(upErr, ErrForbidden) {
		return id, false, err // the step-up token does not grant it either
	}
	return upID, false, upErr
}

// HTTPMiddleware returns net/http middleware around next: a request
// Authorize accepts reaches next, with its Identity in the context
// (IdentityFrom) unless it was public; a refused one is answered with
// its DenialError (Write) and never reaches next. Its signature is
// func(http.Handler) http.Handler, so v.HTTPMiddleware can be given to
// routers that take middleware of that type.
func (v *Verifier) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, public, err := v.Authorize(r)
		if err != nil {
			v.deny(r, err).Write(w)
			return
		}
		if !public {
			r = r.WithContext(WithIdentity(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

// EchoConfig configures the Echo middleware, in the shape of Echo's own
// middleware and echo-jwt's: a Skipper, and hooks for each outcome. What
// is checked is the Verifier's Config.
//
// There is no ContinueOnIgnoredError: a refused request never reaches
// the next handler. Routes that need no token are Config.Public (checked
// canonical, and matched per method) or skipped by Skipper.
type EchoConfig struct {
	// Skipper skips verification of a request when it returns true: the
	// request reaches the next handler with no Identity. Optional.
	// Default middleware.DefaultSkipper (verify every request).
	Skipper middleware.Skipper
	// SuccessHandler is called for a request whose token was verified,
	// with its Identity already in the request's context, just before the
	// next handler. It is not called for a public or skipped request.
	// Optional. Default: none.
	SuccessHandler func(c echo.Context)
	// ErrorHandler makes the middleware's return value for a refused
	// request. err is a *DenialError (errors.As), which also matches the
	// verifier's errors (errors.Is(err, ErrForbidden)); its Response is
	// what the client may be told, its Err (and its Error text) the
	// reason, for logs only. The next handler is not called. An
	// ErrorHandler that returns nil must have written the response: if it
	// has not, the middleware returns EchoHTTPError's error all the same,
	// so a refusal is never answered 200. Optional. Default EchoHTTPError.
	ErrorHandler func(c echo.Context, err error) error
}

// DefaultEchoConfig is the configuration MustEchoMiddleware uses, and
// EchoMiddleware's defaults: verify every request, return a refusal as
// EchoHTTPError's *echo.HTTPError.
var DefaultEchoConfig = EchoConfig{
	Skipper:      middleware.DefaultSkipper,
	ErrorHandler: EchoHTTPError,
}

// MustEchoMiddleware is the one-line Echo set-up,
// e.Use(verifier.MustEchoMiddleware(cfg)): New(cfg), then its
// EchoMiddleware with DefaultEchoConfig. It panics when New rejects cfg,
// so it is for start-up code; call New and EchoMiddleware to handle that
// error or to set hooks.
func MustEchoMiddleware(cfg Config) echo.MiddlewareFunc {
	v, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return v.EchoMiddleware(DefaultEchoConfig)
}

// EchoMiddleware returns Echo middleware that verifies every request
// cfg.Skipper does not skip. A request Authorize accepts reaches the next
// handler, with its Identity in the request's context (IdentityFrom)
// unless it was public. A refused request does not: the middleware
// returns cfg.ErrorHandler's error, by default an *echo.HTTPError
// (EchoHTTPError), so the app's HTTPErrorHandler sees it. With Echo's
// default HTTPErrorHandler the client gets the same status, JSON error
// envelope and WWW-Authenticate challenge as from HTTPMiddleware.
func (v *Verifier) EchoMiddleware(cfg EchoConfig) echo.MiddlewareFunc {
	// The defaults are named, not read from DefaultEchoConfig, which an
	// app could have changed.
	if cfg.Skipper == nil {
		cfg.Skipper = middleware.DefaultSkipper
	}
	if cfg.ErrorHandler == nil {
		cfg.ErrorHandler = EchoHTTPError
	}
	m := &echoMiddleware{v: v, cfg: cfg}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { return m.serve(c, next) }
	}
}

// echoMiddleware is the state of one EchoMiddleware: the closure Echo
// makes for each request holds only it and next.
type echoMiddleware struct {
	v   *Verifier
	cfg EchoConfig
}

// serve verifies one request for EchoMiddleware.
func (m *echoMiddleware) serve(c echo.Context, next echo.HandlerFunc) error {
	if m.cfg.Skipper(c) {
		return next(c)
	}
	r := c.Request()
	id, public, err := m.v.Authorize(r)
	if err != nil {
		d := m.v.deny(r, err)
		if herr := m.cfg.ErrorHandler(c, d); herr != nil || c.Response().Committed {
			return herr
		}
		return EchoHTTPError(c, d)
	}
	if public {
		return next(c)
	}
	c.SetRequest(r.WithContext(WithIdentity(r.Context(), id)))
	if m.cfg.SuccessHandler != nil {
		m.cfg.SuccessHandler(c)
	}
	return next(c)
}

// EchoHTTPError is the Echo middleware's default ErrorHandler. For a
// *DenialError it sets the refusal's headers on the response (the
// challenge of a 401; Cache-Control: no-store and
// X-Content-Type-Options: nosniff, as the envelope always has) and
// returns an *echo.HTTPError with the denial's status, whose Message
// marshals as the JSON error envelope (so Echo's default HTTPErrorHandler
// sends the envelope; printed, it shows only the envelope's code and
// detail) and whose Internal is the *DenialError, for errors.As. Any
// other err is returned unchanged.
func EchoHTTPError(c echo.Context, err error) error {
	d, ok := errors.AsType[*DenialError](err)
	if !ok {
		return err
	}
	h := c.Response().Header()
	if d.Challenge != "" {
		h.Set(echo.HeaderWWWAuthenticate, d.Challenge)
	}
	h.Set("Cache-Control", "no-store")
	h.Set(echo.HeaderXContentTypeOptions, "nosniff")
	return &echo.HTTPError{Code: d.Response.Status, Message: envelopeMessage{d.Response}, Internal: d}
}

// envelopeMessage is the Message of EchoHTTPError's *echo.HTTPError: it
// marshals as the whole JSON error envelope, which Echo's default
// HTTPErrorHandler then sends as it is, and prints as the envelope's code
// and detail, never the reason of the refusal.
type envelopeMessage struct{ e *envelope.Error }

// MarshalJSON returns {"t":"error","error":{...}}.
func (m envelopeMessage) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		T     string          `json:"t"`
		Error *envelope.Error `json:"error"`
	}{"error", m.e})
}

// String returns the envelope's code and detail.
func (m envelopeMessage) String() string { return m.e.Error() }

// StepUpCode is the error code of a 401 for want of a valid discharge;
// its obstruction's params hold the caveat ID (base64url) and where to
// get a discharge.
const StepUpCode = "STEP-UP-REQUIRED"

// Challenge is the WWW-Authenticate value of the verifier's 401s.
const Challenge = `Macaroon realm="authgw"`

// DenialError is a request the verifier refused: why (Err, an error of
// Authorize), what the client is told (Response, the JSON error
// envelope) and the challenge its 401 carries. It unwraps to Err, so
// errors.Is(d, ErrForbidden) and the like hold. Its Error text includes
// the reason: it is for logs, never for the client.
type DenialError struct {
	// Err is why the request was refused.
	Err error
	// Response is the envelope the client is sent: its status, a stable
	// code and a detail that never says why a token was refused.
	Response *envelope.Error
	// Challenge is the WWW-Authenticate value sent with Response: the
	// Macaroon challenge on a 401, "" otherwise.
	Challenge string
}

// NewDenialError returns the denial of a request Authorize (or Verify)
// refused with err: each kind of refusal's status, code and detail, and
// its challenge, are chosen here, in one place.
func NewDenialError(err error) *DenialError {
	d := &DenialError{Err: err}
	switch {
	case errors.Is(err, ErrBadRequest):
		d.Response = envelope.New(http.StatusBadRequest, "NON-CANONICAL-PATH", "The request path is not in canonical form.")
	case errors.Is(err, ErrTokenTooLarge):
		d.Response, d.Challenge = envelope.New(http.StatusUnauthorized, "TOKEN-TOO-LARGE", "Your token is longer than any token authgw mints. Log in again."), Challenge
	case errors.Is(err, ErrMissingToken):
		d.Response, d.Challenge = envelope.New(http.StatusUnauthorized, "TOKEN-MISSING", "This request needs a token."), Challenge
	case errors.Is(err, ErrStepUpRequired):
		d.Response, d.Challenge = envelope.New(http.StatusUnauthorized, StepUpCode,
			"This request needs a recent proof that it is you: get a discharge of the caveat from the discharge endpoint, with your password or second factor, and send it bound to your step-up token."), Challenge
		var su *StepUpError
		if errors.As(err, &su) {
			d.Response.Obstructions = append(d.Response.Obstructions, envelope.Obstruction{
				Code: StepUpCode, Text: "Discharge this caveat, then retry with your step-up token and the bound discharge.",
				Params: map[string]any{"caveatId": su.EncodedCaveatID(), "discharge": su.Location},
			})
		}
	case errors.Is(err, ErrRouteExcluded):
		d.Response = envelope.New(http.StatusForbidden, "STEP-UP-TOKEN-REQUIRED",
			"This route needs a step-up: send your step-up token for this method (with a discharge) instead of the ordinary one.")
	case errors.Is(err, ErrOrigin):
		d.Response = envelope.New(http.StatusForbidden, "ORIGIN-NOT-ALLOWED", "Cross-origin requests may not use cookie credentials.")
	case errors.Is(err, ErrForbidden):
		d.Response = envelope.New(http.StatusForbidden, "TOKEN-NOT-GRANTED", "Your token does not grant this request.")
	default:
		d.Response, d.Challenge = envelope.New(http.StatusUnauthorized, "TOKEN-INVALID", "Your token is not valid. Log in or refresh."), Challenge
	}
	return d
}

// ErrorResponse maps a Verify or Authorize error to the envelope sent to
// the client (NewDenialError's Response). The detail never says why a
// token was refused.
func ErrorResponse(err error) *envelope.Error { return NewDenialError(err).Response }

// Error returns the envelope's code and the reason of the refusal.
func (d *DenialError) Error() string { return d.Response.Code + ": " + d.Err.Error() }

// Unwrap returns Err.
func (d *DenialError) Unwrap() error { return d.Err }

// Write sends the denial: the challenge, if any, then the envelope.
func (d *DenialError) Write(w http.ResponseWriter) {
	if d.Challenge != "" {
		w.Header().Set("WWW-Authenticate", d.Challenge)
	}
	envelope.Write(w, d.Response)
}

// deny logs why a request was refused, at debug level, and returns its
// denial.
func (v *Verifier) deny(r *http.Request, err error) *DenialError {
	d := NewDenialError(err)
	v.cfg.Logger.Debug("request denied", "method", r.Method, "path", RequestPath(r), "status", d.Response.Status, "reason", err.Error())
	return d
}

// MaxTokenSize is the longest token, in bytes as carried (base64), that
// extraction accepts; a longer one is refused before it is decoded. The
// mint refuses to make a token over 3,800 bytes (mint.MaxTokenSize), so
// 4,096 leaves a holder about 300 bytes for attenuation caveats (an ip,
// a time-before and a narrower routes caveat take about 150), and it is
// what browsers keep of one cookie, name included: a token that would not
// fit a cookie is no token of ours. The cap bounds the decoding, the HMAC
// chain and the memory the verified-token memo keeps per entry.
const MaxTokenSize = 4096

// credentials are what a request carries: a token and a discharge from
// the Authorization header, or from the method's cookies the ordinary
// token and the step-up token with its discharge. At least one of token
// and stepUp is set.
type credentials struct {
	token, discharge        string
	stepUp, stepUpDischarge string
	fromCookie              bool
}

// extract finds the credentials: the Macaroon credential of the
// Authorization header (a token, and a discharge after a space), else
// the method's cookies (tokenCookie). Two Macaroon credentials are
// refused, and so is a token or discharge over MaxTokenSize.
func (v *Verifier) extract(r *http.Request) (credentials, error) {
	var c credentials
	if cred, found, ok := MacaroonCredential(r.Header.Values("Authorization")); !ok {
		return c, ErrMalformedToken
	} else if found {
		var more bool
		c.token, c.discharge, more = strings.Cut(cred, " ")
		if more && (c.discharge == "" || strings.ContainsAny(c.discharge, " \t")) {
			return c, ErrMalformedToken
		}
	} else {
		cookies := r.Header.Values("Cookie")
		names := v.cookieNames(r.Method)
		c.token, _ = tokenCookie(cookies, names[0])
		c.stepUp, _ = tokenCookie(cookies, names[1])
		if c.stepUp != "" {
			c.stepUpDischarge, _ = tokenCookie(cookies, names[2])
		}
		c.fromCookie = true
	}
	if c.token == "" && c.stepUp == "" {
		return c, ErrMissingToken
	}
	for _, t := range [...]string{c.token, c.discharge, c.stepUp, c.stepUpDischarge} {
		if len(t) > MaxTokenSize {
			return c, ErrTokenTooLarge
		}
	}
	return c, nil
}

// MacaroonCredential finds the "Macaroon <token>" credential among
// Authorization header values, which may also hold a Basic credential
// ("Basic <b64>, Macaroon <token>"). "Bearer <token>" (RFC 6750) is the
// same credential, as OAuth clients send the access tokens of the
// OpenID provider, which are macaroons; a Bearer credential is one token,
// so a space inside it (a discharge) is refused. ok is false when more
// than one such credential is present, or for a Bearer value with a space.
func MacaroonCredential(values []string) (token string, found, ok bool) {
	for _, v := range values {
		for cred := range strings.SplitSeq(v, ",") {
			scheme, value, _ := strings.Cut(strings.TrimSpace(cred), " ")
			bearer := strings.EqualFold(scheme, "Bearer")
			if !bearer && !strings.EqualFold(scheme, "Macaroon") {
				continue
			}
			if found {
				return "", false, false
			}
			token, found = strings.TrimSpace(value), true
			if bearer && strings.ContainsAny(token, " \t") {
				return "", false, false
			}
		}
	}
	return token, found, true
}

// originAllowed is the CSRF defence for unsafe methods carried by
// cookie: the request's origin must be one of the allowed origins or the
// request's own origin, scheme, host and port alike (an http page of the
// same host is another origin, and so is another port). The origin is
// the Origin header, else, for browsers that send none, the Referer's
// scheme://host[:port]. "Origin: null" (sandboxed frames, data: URLs,
// redirects across origins) is refused, whatever the Referer says; so is
// a request with neither, or with two Origin headers.
func (v *Verifier) originAllowed(r *http.Request) bool {
	origin := ""
	switch vs := r.Header.Values("Origin"); len(vs) {
	case 0:
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || ref.Host == "" || ref.User != nil {
			return false
		}
		origin = strings.ToLower(ref.Scheme) + "://" + ref.Host
	case 1:
		origin = vs[0]
	default:
		return false
	}
	if origin == "null" {
		return false
	}
	if v.origins[origin] {
		return true
	}
	return sameOrigin(origin, v.cfg.Scheme(r), r.Host)
}

// sameOrigin reports whether origin (scheme://host[:port]) is the origin
// of a request that came with scheme to host (the Host header): schemes
// equal, host names equal ignoring ASCII case, ports equal with the
// scheme's default port for a missing one.
func sameOrigin(origin, scheme, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	if !strings.EqualFold(u.Scheme, scheme) || (scheme != "http" && scheme != "https") {
		return false
	}
	reqHost, reqPort := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		reqHost, reqPort = h, p
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		reqHost = host[1 : len(host)-1]
	}
	return reqHost != "" && strings.EqualFold(u.Hostname(), reqHost) &&
		portOrDefault(u.Port(), scheme) == portOrDefault(reqPort, scheme)
}

// portOrDefault is port, or the scheme's default port when port is "".
func portOrDefault(port, scheme string) string {
	if port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// tlsScheme is the default Config.Scheme: "https" over TLS, else "http".
func tlsScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func validOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.Path == "" && u.RawQuery == "" && u.User == nil && u.Fragment == ""
}

// RequestPath returns the raw request path exactly as the client sent it,
// without the query: the string canonical checks and route matching use.
func RequestPath(r *http.Request) string {
	uri := r.RequestURI
	if strings.HasPrefix(uri, "/") {
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		return uri
	}
	return r.URL.EscapedPath()
}

// RemoteIP returns the address of the socket peer, the zero Addr if it
// cannot be parsed.
func RemoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// cookieNames returns a method's token, step-up and discharge cookie
// names, made once by New (computed here for a method it does not know,
// which no cookie of ours is named after anyway).
func (v *Verifier) cookieNames(method string) *[3]string {
	if names, ok := v.cookies[method]; ok {
		return names
	}
	c := v.cfg.Cookies
	return &[3]string{c.Name(method), c.StepUpName(method), c.DischargeName(method)}
}
