package gateway

import (
	"net/http"

	"github.com/authgw/authgw/verifier/envelope"
)

// Stable error codes of the gateway's own rejections. The verifier's codes
// (TOKEN-MISSING, TOKEN-INVALID, ...) are passed through unchanged.
const (
	CodeNonCanonicalPath      = "NON-CANONICAL-PATH"
	CodeBadPath               = "BAD-PATH"
	CodeNotOriginForm         = "NOT-ORIGIN-FORM"
	CodeOverrideHeader        = "OVERRIDE-HEADER-REFUSED"
	CodeMalformedBasicAuth    = "MALFORMED-BASIC-AUTH"
	CodeMissingBasicAuth      = "MISSING-BASIC-AUTH"
	CodeUnknownClient         = "UNKNOWN-CLIENT"
	CodeInvalidClientSecret   = "INVALID-CLIENT-SECRET"
	CodeSecretCheckThrottled  = "SECRET-CHECK-THROTTLED"
	CodeRestrictionIP         = "ACCESS-RESTRICTION-IP"
	CodeRestrictionHost       = "ACCESS-RESTRICTION-HOST"
	CodeRestrictionAPI        = "ACCESS-RESTRICTION-API"
	CodeRateLimited           = "RATE-LIMITED"
	CodeRateLimitUnavailable  = "RATE-LIMIT-UNAVAILABLE"
	CodeAPINotFound           = "API-NOT-FOUND"
	CodeUpstreamUnavailable   = "UPSTREAM-UNAVAILABLE"
	CodeUpstreamTimeout       = "UPSTREAM-TIMEOUT"
	CodeInternal              = "INTERNAL"
	CodeNotReady              = "NOT-READY"
	CodeCORSOriginNotAllowed  = "CORS-ORIGIN-NOT-ALLOWED"
	CodeForwardAuthUntrusted  = "FORWARD-AUTH-UNTRUSTED-PEER"
	CodeForwardAuthBadRequest = "FORWARD-AUTH-BAD-REQUEST"
)

// basicChallenge is the WWW-Authenticate of the client-credential 401s.
const basicChallenge = `Basic realm="authgw"`

// writeError sends e; a 401 for client credentials carries the Basic
// challenge.
func writeError(w http.ResponseWriter, e *envelope.Error) {
	switch e.Code {
	case CodeMissingBasicAuth, CodeUnknownClient, CodeInvalidClientSecret, CodeMalformedBasicAuth:
		w.Header().Set("WWW-Authenticate", basicChallenge)
	case CodeSecretCheckThrottled:
		w.Header().Set("Retry-After", "1") // the budget refills one check a second
	}
	envelope.Write(w, e)
}
