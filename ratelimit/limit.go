// Package ratelimit decides whether an HTTP request fits its rate limits,
// for any net/http or chi application: r.Use(ratelimit.LimitByIP(100,
// time.Minute)) is the short way, New the full one (several layers, each
// with windows such as 3/minute;50/day, your own headers and 429).
//
// A Store decides for every limit of a request in one atomic step (one
// mutex in MemoryStore, one Lua script in package redisstore, which shares
// counters between processes), so concurrent requests never all see room
// that only one of them may take.
package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidLimit is wrapped by every error of ParseLimits.
var ErrInvalidLimit = errors.New("invalid limit")

// A Limit allows 1 to MaxRequests requests in 1 second to MaxWindow (whole
// seconds), a range in which no count, wait or header can overflow.
const (
	MaxRequests = 1_000_000_000
	MaxWindow   = 366 * 24 * time.Hour
)

// Limit is one rate: at most Requests requests in any Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

func (l Limit) check() error {
	if l.Requests < 1 || l.Requests > MaxRequests || l.Window < time.Second || l.Window > MaxWindow || l.Window%time.Second != 0 {
		return fmt.Errorf("ratelimit: %w %v: want 1 to %d requests in 1 second to 366 days, whole seconds", ErrInvalidLimit, l, MaxRequests)
	}
	return nil
}

// String formats l as slowapi does: "3 per 1 minute", "5 per 30 second".
func (l Limit) String() string {
	unit, n := "second", int64(l.Window/time.Second)
	for _, u := range units {
		if l.Window >= u.d && l.Window%u.d == 0 {
			unit, n = u.name, int64(l.Window/u.d)
			break
		}
	}
	return fmt.Sprintf("%d per %d %s", l.Requests, n, unit)
}

var units = []struct {
	name string
	d    time.Duration
}{
	{"day", 24 * time.Hour},
	{"hour", time.Hour},
	{"minute", time.Minute},
	{"second", time.Second},
}

// ParseLimits parses slowapi's syntax, "N/unit", "N per unit" or "N/M
// units" (second, minute, hour, day), joined by ";", "," or "|":
// "3/minute;50/day". It checks the range, each window is used once, and
// at most MaxLimits.
func ParseLimits(s string) ([]Limit, error) {
	var out []Limit
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
		l, err := parseLimit(part)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.Window == l.Window {
				return nil, fmt.Errorf("ratelimit: %w %q: two limits over %v: keep the stricter one", ErrInvalidLimit, s, l.Window)
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ratelimit: %w %q: want N/second|minute|hour|day, such as 3/minute or 3/minute;50/day", ErrInvalidLimit, s)
	}
	if len(out) > MaxLimits {
		return nil, fmt.Errorf("ratelimit: %w %q: %d limits, at most %d fit one decision", ErrInvalidLimit, s, len(out), MaxLimits)
	}
	return out, nil
}

func parseLimit(s string) (Limit, error) {
	bad := func(why string) (Limit, error) {
		return Limit{}, fmt.Errorf("ratelimit: %w %q: %s; want N/second|minute|hour|day, \"N per minute\" or \"N/30 seconds\"", ErrInvalidLimit, strings.TrimSpace(s), why)
	}
	f := strings.Fields(strings.ReplaceAll(strings.ToLower(s), "/", " / "))
	if len(f) < 3 {
		return bad("too short")
	}
	count, err := strconv.Atoi(f[0])
	if err != nil || count < 1 || count > MaxRequests {
		return bad("the count must be a whole number from 1 to 1000000000")
	}
	if f[1] != "/" && f[1] != "per" {
		return bad(`"/" or "per" must follow the count`)
	}
	rest := f[2:]
	mult := int64(1)
	if len(rest) == 2 {
		mult, err = strconv.ParseInt(rest[0], 10, 64)
		if err != nil || mult < 1 {
			return bad("the window multiple must be a whole number of at least 1")
		}
		rest = rest[1:]
	}
	if len(rest) != 1 {
		return bad("unexpected words")
	}
	unit := strings.TrimSuffix(rest[0], "s")
	for _, u := range units {
		if u.name == unit {
			if mult > int64(MaxWindow/u.d) {
				return bad("the window must be from 1 second to 366 days")
			}
			return Limit{Requests: count, Window: time.Duration(mult) * u.d}, nil
		}
	}
	return bad("unknown unit " + strconv.Quote(rest[0]))
}
