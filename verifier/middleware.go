package verifier

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

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
// cookie), the Origin check for unsafe methods carried by cookie, and
// Verify. public is true when the public scope let the request through.
func (v *Verifier) Authorize(r *http.Request) (id Identity, public bool, err error) {
	path := RequestPath(r)
	if err := policy.CanonicalPath(path); err != nil {
		return Identity{}, false, fmt.Errorf("%w: %w", ErrNonCanonicalPath, err)
	}
	if v.IsPublic(r.Method, path) {
		return Identity{}, true, nil
	}
	token, fromCookie, err := v.extract(r)
	if err != nil {
		return Identity{}, false, err
	}
	if fromCookie && !safeMethod(r.Method) && !v.originAllowed(r) {
		return Identity{}, false, ErrOrigin
	}
	req := Request{Method: r.Method, Path: path, ClientIP: v.cfg.ClientIP(r)}
	if v.cfg.ClientID != nil {
		req.ClientID = v.cfg.ClientID(r)
	}
	id, err = v.verifyCanonical(token, req)
	return id, false, err
}

// Handler wraps next so that only requests Authorize accepts reach it,
// with the Identity in their context. It panics on a configuration New
// rejects; NewHandler returns the error instead.
func Handler(cfg Config, next http.Handler) http.Handler {
	h, err := NewHandler(cfg, next)
	if err != nil {
		panic(err)
	}
	return h
}

// NewHandler is Handler returning New's error instead of panicking.
func NewHandler(cfg Config, next http.Handler) (http.Handler, error) {
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return v.Wrap(next), nil
}

// Wrap returns net/http middleware around next.
func (v *Verifier) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, public, err := v.Authorize(r)
		if err != nil {
			v.deny(w, r, err)
			return
		}
		if !public {
			r = r.WithContext(WithIdentity(r.Context(), id))
		}
		next.ServeHTTP(w, r)
	})
}

// Echo returns Echo middleware that verifies every request not skipped by
// cfg.Skipper. It is the Must form of NewEcho: it panics on a
// configuration New rejects.
func Echo(cfg Config) echo.MiddlewareFunc {
	mw, err := NewEcho(cfg)
	if err != nil {
		panic(err)
	}
	return mw
}

// NewEcho returns the Echo middleware, or New's error for a bad configuration.
func NewEcho(cfg Config) (echo.MiddlewareFunc, error) {
	v, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return v.EchoMiddleware(), nil
}

// EchoMiddleware returns Echo middleware using this Verifier.
func (v *Verifier) EchoMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if v.cfg.Skipper != nil && v.cfg.Skipper(c) {
				return next(c)
			}
			r := c.Request()
			id, public, err := v.Authorize(r)
			if err != nil {
				v.deny(c.Response(), r, err)
				return nil
			}
			if !public {
				c.SetRequest(r.WithContext(WithIdentity(r.Context(), id)))
			}
			return next(c)
		}
	}
}

// ErrorResponse maps a Verify or Authorize error to the envelope sent to
// the client. The detail never says why a token was refused.
func ErrorResponse(err error) *envelope.Error {
	switch {
	case errors.Is(err, ErrBadRequest):
		return envelope.New(http.StatusBadRequest, "NON-CANONICAL-PATH", "The request path is not in canonical form.")
	case errors.Is(err, ErrTokenTooLarge):
		return envelope.New(http.StatusUnauthorized, "TOKEN-TOO-LARGE", "Your token is longer than any token authgw mints. Log in again.")
	case errors.Is(err, ErrMissingToken):
		return envelope.New(http.StatusUnauthorized, "TOKEN-MISSING", "This request needs a token.")
	case errors.Is(err, ErrOrigin):
		return envelope.New(http.StatusForbidden, "ORIGIN-NOT-ALLOWED", "Cross-origin requests may not use cookie credentials.")
	case errors.Is(err, ErrForbidden):
		return envelope.New(http.StatusForbidden, "TOKEN-NOT-GRANTED", "Your token does not grant this request.")
	default:
		return envelope.New(http.StatusUnauthorized, "TOKEN-INVALID", "Your token is not valid. Log in or refresh.")
	}
}

// deny logs the reason and answers with the envelope.
func (v *Verifier) deny(w http.ResponseWriter, r *http.Request, err error) {
	e := ErrorResponse(err)
	v.cfg.Logger.Debug("request denied", "method", r.Method, "path", RequestPath(r), "status", e.Status, "reason", err.Error())
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Macaroon realm="authgw"`)
	}
	envelope.Write(w, e)
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

// extract finds the token: the Macaroon credential of the Authorization
// header, else the method's cookie (tokenCookie). Two Macaroon
// credentials are refused, and so is a token over MaxTokenSize.
func (v *Verifier) extract(r *http.Request) (token string, fromCookie bool, err error) {
	if tok, found, ok := MacaroonCredential(r.Header.Values("Authorization")); !ok {
		return "", false, ErrMalformedToken
	} else if found {
		token = tok
	} else {
		token, fromCookie = tokenCookie(r.Header.Values("Cookie"), v.cfg.Cookies.Name(r.Method))
		if token == "" {
			return "", false, ErrMissingToken
		}
	}
	if len(token) > MaxTokenSize {
		return "", false, ErrTokenTooLarge
	}
	return token, fromCookie, nil
}

// MacaroonCredential finds the "Macaroon <token>" credential among
// Authorization header values, which may also hold a Basic credential
// ("Basic <b64>, Macaroon <token>"). ok is false when more than one
// Macaroon credential is present.
func MacaroonCredential(values []string) (token string, found, ok bool) {
	for _, v := range values {
		for cred := range strings.SplitSeq(v, ",") {
			scheme, value, _ := strings.Cut(strings.TrimSpace(cred), " ")
			if !strings.EqualFold(scheme, "Macaroon") {
				continue
			}
			if found {
				return "", false, false
			}
			token, found = strings.TrimSpace(value), true
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
