package ratelimit

import (
	"sync"
	"time"
)

// clock is a test clock that only moves when told. (The tests of package
// ratelimit_test use storetest.Clock; this package's own tests cannot
// import storetest, which imports ratelimit.)
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// A minute boundary, so window edges are easy to reason about.
	return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
