package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// Canonical forms of the RateLimit-* header names.
var (
	headerLimit     = http.CanonicalHeaderKey("RateLimit-Limit")
	headerRemaining = http.CanonicalHeaderKey("RateLimit-Remaining")
	headerReset     = http.CanonicalHeaderKey("RateLimit-Reset")
)

// Headers sets the RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset
// fields of drafts 00–06 of draft-ietf-httpapi-ratelimit-headers for d, and
// Retry-After when d refuses. Reset and Retry-After are whole seconds
// rounded up; Retry-After is at least 1, so a client never retries at
// once. For an unlimited decision (Limit -1) it sets nothing.
func Headers(h http.Header, d Decision) {
	if d.Limit < 0 {
		return
	}
	// The keys are written in canonical form (as http.Header.Set would
	// make them), so that setting them does not allocate a new key per
	// request; header names are case-insensitive on the wire.
	// The three values share one array; the slices are capped, so an
	// append elsewhere copies.
	vals := [...]string{strconv.Itoa(d.Limit), strconv.Itoa(max(d.Remaining, 0)), strconv.FormatInt(ceilSeconds(d.ResetAfter), 10)}
	shared := vals[:]
	h[headerLimit] = shared[0:1:1]
	h[headerRemaining] = shared[1:2:2]
	h[headerReset] = shared[2:3:3]
	if !d.Allowed {
		h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10))
	}
}

// ceilSeconds rounds d up to whole seconds; a negative d is 0.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
