// Package ratelimit decides whether an HTTP request fits its rate limits,
// for any net/http or chi application.
//
// A decision covers every limit that applies to a request at once: a
// per-client limit, a per-IP ceiling, a global budget, each with one or more
// windows (3/minute;50/day). A Store makes that decision in one atomic step
// (one mutex in memory, one Lua script in Redis), so concurrent requests can
// never all see room that only one of them may take. The Middleware turns the
// Store's Result into headers and a 429.
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

// Limit is one rate: at most Requests requests in any Window.
type Limit struct {
	Requests int
	Window   time.Duration
}

// String formats l the way slowapi and the limits library do ("3 per 1
// minute", "5 per 30 second"), so 429 messages read the same as the
// Python original's.
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

// ParseLimits parses the limits library's syntax, as slowapi accepts it:
// "N/unit", "N per unit", "N/M units" or "N per M units", where unit is
// second, minute, hour or day (singular or plural), several joined by ";"
// (or "," or "|"): "3/minute;50/day". Every limit must allow at least one
// request in a window of at least one second.
func ParseLimits(s string) ([]Limit, error) {
	var out []Limit
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' || r == '|' }) {
		l, err := parseLimit(part)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("ratelimit: %w %q: want N/second|minute|hour|day, such as 3/minute or 3/minute;50/day", ErrInvalidLimit, s)
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
	if err != nil || count < 1 {
		return bad("the count must be a whole number of at least 1")
	}
	if f[1] != "/" && f[1] != "per" {
		return bad(`"/" or "per" must follow the count`)
	}
	rest := f[2:]
	mult := 1
	if len(rest) == 2 {
		mult, err = strconv.Atoi(rest[0])
		if err != nil || mult < 1 || mult > 1_000_000 {
			return bad("the window multiple must be a whole number from 1 to 1000000")
		}
		rest = rest[1:]
	}
	if len(rest) != 1 {
		return bad("unexpected words")
	}
	unit := strings.TrimSuffix(rest[0], "s")
	for _, u := range units {
		if u.name == unit {
			return Limit{Requests: count, Window: time.Duration(mult) * u.d}, nil
		}
	}
	return bad("unknown unit " + strconv.Quote(rest[0]))
}

// FormatLimits joins limits back into ParseLimits' syntax.
func FormatLimits(ls []Limit) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ";")
}
