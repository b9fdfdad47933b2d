package ratelimit

import (
	"net/http"
	"strconv"
	"time"
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
	h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.ResetAfter), 10))
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
