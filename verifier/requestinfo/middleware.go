package requestinfo

import (
	"context"
	"errors"
	"net/http"

	"github.com/authgw/authgw/verifier/envelope"
)

type contextKey struct{}

// NewContext returns a copy of ctx carrying c, as Middleware stores it.
func NewContext(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// ClaimsFrom returns the claims Middleware stored in ctx, and false when
// there are none.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(contextKey{}).(Claims)
	return c, ok
}

// Middleware returns net/http middleware that verifies each request's info
// with v (see FromRequest), refuses the request with a 401 error envelope
// when it fails, and otherwise passes it on with the claims in its
// context (see ClaimsFrom). v must not be nil. An Echo backend wraps it
// with echo.WrapMiddleware.
func Middleware(v *Verifier) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := FromRequest(r, v)
			if err != nil {
				envelope.Write(w, ErrorResponse(err))
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// ErrorResponse maps a FromRequest or Verify error to the envelope a
// backend answers with: 401 AUTH-INFO-MISSING or AUTH-INFO-INVALID. The
// detail does not say why the info was refused.
func ErrorResponse(err error) *envelope.Error {
	if errors.Is(err, ErrMissing) {
		return envelope.New(http.StatusUnauthorized, "AUTH-INFO-MISSING", "This service is reachable only through the gateway.")
	}
	return envelope.New(http.StatusUnauthorized, "AUTH-INFO-INVALID", "The request info from the gateway is not valid.")
}
