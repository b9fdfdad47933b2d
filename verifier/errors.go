package verifier

import (
	"errors"
	"fmt"
)

// Roots of the error hierarchy; every error Verify returns wraps one.
var (
	// ErrUnauthorized: the request has no acceptable token (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token is valid but does not grant this (HTTP 403).
	ErrForbidden = errors.New("forbidden")
	// ErrBadRequest: the request itself is malformed (HTTP 400).
	ErrBadRequest = errors.New("bad request")
)

// Reasons for refusal. They are logged; clients see only the status.
var (
	ErrMissingToken   = fmt.Errorf("%w: no token", ErrUnauthorized)
	ErrMalformedToken = fmt.Errorf("%w: malformed token", ErrUnauthorized)
	ErrUnknownKey     = fmt.Errorf("%w: unknown key", ErrUnauthorized)
	ErrBadSignature   = fmt.Errorf("%w: bad signature", ErrUnauthorized)
	ErrBadCaveat      = fmt.Errorf("%w: unknown or malformed caveat", ErrUnauthorized)
	ErrMissingCaveat  = fmt.Errorf("%w: mandatory caveat missing", ErrUnauthorized)
	ErrConflict       = fmt.Errorf("%w: caveats disagree", ErrUnauthorized)
	ErrWrongServer    = fmt.Errorf("%w: server-id mismatch", ErrUnauthorized)
	ErrExpired        = fmt.Errorf("%w: expired", ErrUnauthorized)
	ErrRevoked        = fmt.Errorf("%w: revoked", ErrUnauthorized)
	ErrWrongClient    = fmt.Errorf("%w: bound to another client", ErrUnauthorized)
	ErrIPNotAllowed   = fmt.Errorf("%w: client IP not allowed", ErrUnauthorized)
	ErrTokenTooLarge  = fmt.Errorf("%w: token longer than %d bytes", ErrUnauthorized, MaxTokenSize)

	ErrMethodNotGranted = fmt.Errorf("%w: method not granted", ErrForbidden)
	ErrRouteNotGranted  = fmt.Errorf("%w: route not granted", ErrForbidden)
	ErrRouteExcluded    = fmt.Errorf("%w: route excluded (it needs the step-up token)", ErrForbidden)
	ErrOrigin           = fmt.Errorf("%w: cross-origin request with cookie", ErrForbidden)

	ErrNonCanonicalPath = fmt.Errorf("%w: non-canonical path", ErrBadRequest)
)
