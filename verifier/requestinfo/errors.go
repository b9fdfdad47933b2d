package requestinfo

import (
	"errors"
	"fmt"
)

// ErrInvalid is the root of every error Verify and FromRequest return: the
// request carries no request info a backend may trust.
var ErrInvalid = errors.New("requestinfo: request info refused")

// Reasons request info is refused. Each wraps ErrInvalid; test them with
// errors.Is.
var (
	// ErrMissing: there is no X-Auth-Info header, or it is empty.
	ErrMissing = fmt.Errorf("%w: no %s header", ErrInvalid, HeaderInfo)
	// ErrMalformed: the token is not a well-formed compact JWS of our
	// claims (a header member other than alg, typ and kid, such as crit,
	// b64, or a key of its own in jwk, jku, x5u or x5c, included), is
	// longer than MaxTokenLength, or the headers disagree (several
	// X-Auth-Info headers, X-Auth-Info-Signed other than 1).
	ErrMalformed = fmt.Errorf("%w: malformed", ErrInvalid)
	// ErrBadSignature: the signature is missing, of the wrong length, not
	// canonical base64url, or not made by any of the Verifier's keys.
	ErrBadSignature = fmt.Errorf("%w: bad signature", ErrInvalid)
	// ErrAlgorithm: the token names an algorithm other than ES256 ("none",
	// HS256, ...). It wraps ErrBadSignature.
	ErrAlgorithm = fmt.Errorf("%w: algorithm is not %s", ErrBadSignature, Algorithm)
	// ErrExpired: exp is in the past, beyond the leeway.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalid)
	// ErrNotYetValid: iat is in the future, beyond the leeway.
	ErrNotYetValid = fmt.Errorf("%w: issued in the future", ErrInvalid)
	// ErrAudience: the token was issued for another backend.
	ErrAudience = fmt.Errorf("%w: wrong audience", ErrInvalid)
	// ErrIssuer: the token was issued by another gateway than configured.
	ErrIssuer = fmt.Errorf("%w: wrong issuer", ErrInvalid)
)
