package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/authgw/authgw/verifier/envelope"
)

// Stable error codes of the gateway's own rejections. The verifier's codes
// (TOKEN-MISSING, TOKEN-INVALID, ...) are passed through unchanged.
const (
	CodeNonCanonicalPath      = "NON-CANONICAL-PATH"
	CodeBadPath               = "BAD-PATH"
	CodeNotOriginForm         = "NOT-ORIGIN-FORM"
	CodeUnknownHost           = "UNKNOWN-HOST"
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

// refusal is a response the gateway sends instead of passing a request
// on: the JSON error envelope and the headers that belong with it. A
// refusal's headers are given where it is made (refuseClient,
// .challenge(...), .retryAfter(...)), beside its status and code, not
// looked up later by code in a list a new code could be missing from.
type refusal struct {
	*envelope.Error
	// wwwAuthenticate is the challenge of a 401; "" for none.
	wwwAuthenticate string
	// retryAfterValue is the Retry-After value, in seconds; "" for none.
	retryAfterValue string
	// signInCures is true for a 401 that signing in again would cure (no
	// token, an expired or invalid one, no client for a browser): a
	// browser may be sent to the sign-in page instead.
	signInCures bool
	// stepUp is true for a 401 STEP-UP-REQUIRED: a browser may be sent
	// to the re-authentication page instead.
	stepUp bool
	// restriction is true for a refusal by the client's access
	// restrictions: on the OpenID provider's endpoints it is the client
	// that is refused, an OAuth invalid_client.
	restriction bool
}

// refuse returns a refusal with status, code and detail and no header.
func refuse(status int, code, detail string) *refusal {
	return &refusal{Error: envelope.New(status, code, detail)}
}

// refuseClient is the 401 of a client credential (HTTP Basic): it
// carries the Basic challenge.
func refuseClient(code, detail string) *refusal {
	return refuse(http.StatusUnauthorized, code, detail).challenge(basicChallenge)
}

// challenge sets the WWW-Authenticate value r is sent with.
func (r *refusal) challenge(value string) *refusal {
	r.wwwAuthenticate = value
	return r
}

// retryAfter sets the Retry-After value r is sent with, in seconds.
func (r *refusal) retryAfter(seconds int) *refusal {
	r.retryAfterValue = strconv.Itoa(seconds)
	return r
}

// restricted marks r as a refusal by the client's restrictions.
func (r *refusal) restricted() *refusal {
	r.restriction = true
	return r
}

// curedBySignIn marks r as a refusal that signing in again would cure.
func (r *refusal) curedBySignIn() *refusal {
	r.signInCures = true
	return r
}

// write sends r: its headers, then the envelope.
func (r *refusal) write(w http.ResponseWriter) {
	markRefused(w, r)
	if r.wwwAuthenticate != "" {
		w.Header().Set("WWW-Authenticate", r.wwwAuthenticate)
	}
	if r.retryAfterValue != "" {
		w.Header().Set("Retry-After", r.retryAfterValue)
	}
	envelope.Write(w, r.Error)
}

// writeOAuthInvalidClient sends a refused client credential, or a client
// its restrictions refuse, on the OpenID provider's endpoints as OAuth
// does (RFC 6749 section 5.2): 401,
// the Basic challenge, and {"error":"invalid_client"} with the refusal's
// detail, so that an OAuth library reads the reason whether the gateway
// or the provider judged the credential. The gateway judges a Basic
// credential on every path, the token endpoint's client_secret_basic
// included, so a client's restrictions apply there too.
func writeOAuthInvalidClient(w http.ResponseWriter, e *refusal) {
	h := w.Header()
	h.Set("WWW-Authenticate", basicChallenge)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"invalid_client", e.Detail})
}
