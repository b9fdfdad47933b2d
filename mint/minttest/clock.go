package minttest

import (
	"sync"
	"time"
)

// Start is the reading a test clock starts at unless a test says
// otherwise: 2026-11-22 12:00 UTC.
var Start = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// Clock is a clock a test sets and moves by hand, safe for concurrent
// use. Its Now method is what a Config's Now field takes.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock reading now.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the clock's reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to now, forward or back.
func (c *Clock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

// Advance moves the clock forward by d (back when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
