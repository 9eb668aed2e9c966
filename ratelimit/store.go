package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// MaxLimits is the most (rule, limit) pairs one decision may cover.
const MaxLimits = 16

// ErrTooManyLimits is returned for a decision over more than MaxLimits.
var ErrTooManyLimits = errors.New("ratelimit: too many limits in one decision")

// Policy is a named set of limits, each over a window of its own. Name (a
// token) names its counters and headers; Note, if set, ends Message.
type Policy struct {
	Name   string
	Note   string
	Limits []Limit
}

// check reports a policy that stores cannot keep: no limits, or two
// limits with one window (their counters would be one and the same).
func (p *Policy) check() error {
	if len(p.Limits) == 0 {
		return fmt.Errorf("ratelimit: policy %q has no limits", p.Name)
	}
	for i, a := range p.Limits {
		if err := a.check(); err != nil {
			return fmt.Errorf("ratelimit: policy %q: %w", p.Name, err)
		}
		for _, b := range p.Limits[:i] {
			if a.Window == b.Window {
				return fmt.Errorf("ratelimit: policy %q has two limits over %v: keep the stricter one", p.Name, a.Window)
			}
		}
	}
	return nil
}

// Rule applies a Policy to one key. A store keeps a counter per policy
// name, key and window.
type Rule struct {
	Policy *Policy
	Key    string
}

// Result is a Store's decision. Policy, Limit and Remaining describe the
// limit with the least room left after counting (if Allowed) or the one
// that keeps the request out longest (Remaining 0, RetryAfter until every
// limit admits one); ResetAfter is until that limit is whole again.
type Result struct {
	Allowed    bool
	Policy     string
	Note       string
	Limit      Limit
	Remaining  int
	RetryAfter time.Duration
	ResetAfter time.Duration
	// Refused has bit i set when rule i had no room.
	Refused uint64
}

// Store makes rate-limit decisions. Allow counts a request under every
// rule only if every limit has room, in one atomic step, so concurrent
// callers never admit more than the limits allow; a refusal counts
// nothing. Implementations are safe for concurrent use.
type Store interface {
	Allow(ctx context.Context, rules []Rule) (Result, error)
	// Peek reports every limit's standing, counting nothing.
	Peek(ctx context.Context, rules []Rule) ([]State, error)
}

// State is one limit's standing for one key.
type State struct {
	Policy    string
	Limit     Limit
	Remaining int
	// RetryAfter is how long until a request fits, 0 if one fits now.
	RetryAfter time.Duration
}

// Counters is one limit's state as a store read it before counting, for
// Decide: SlidingWindow {previous count, current count, µs into the
// window}; FixedWindow {count, µs into the window, 0}; SlidingLog {count,
// the timestamp whose expiry frees a slot, the newest} (unix µs, 0: none).
type Counters [3]int64

// Decide is the arithmetic all stores share, so that they agree to the
// request: it turns cs, one per limit in rule order, read at now (unix µs),
// into the decision. It is safe for concurrent use.
func (a Algorithm) Decide(rules []Rule, now int64, cs []Counters) (Result, error) {
	var owner [MaxLimits]int
	var us [MaxLimits]usage
	n, err := a.usages(rules, now, cs, &owner, &us)
	if err != nil {
		return Result{}, err
	}
	return decide(rules, us[:n], owner[:n]), nil
}

// States is Decide for Store.Peek: every limit's standing.
func (a Algorithm) States(rules []Rule, now int64, cs []Counters) ([]State, error) {
	var owner [MaxLimits]int
	var us [MaxLimits]usage
	n, err := a.usages(rules, now, cs, &owner, &us)
	if err != nil {
		return nil, err
	}
	return states(rules, us[:n], owner[:n]), nil
}

func (a Algorithm) usages(rules []Rule, now int64, cs []Counters, owner *[MaxLimits]int, us *[MaxLimits]usage) (int, error) {
	n, err := flatten(rules, owner)
	if err != nil {
		return 0, err
	}
	if len(cs) != n {
		return 0, fmt.Errorf("ratelimit: %d counters for %d limits", len(cs), n)
	}
	for i, c := range cs {
		l := rules[owner[i]].Policy.Limits[limitIndex(rules, i)]
		switch a {
		case FixedWindow:
			us[i] = fixedUsage(l, c[0], c[1])
		case SlidingLog:
			us[i] = logUsage(l, now, c[0], c[1], c[2])
		default:
			us[i] = slidingUsage(l, c[0], c[1], c[2])
		}
	}
	return n, nil
}

func states(rules []Rule, us []usage, owner []int) []State {
	out := make([]State, len(us))
	for i, u := range us {
		p := rules[owner[i]].Policy
		st := State{Policy: p.Name, Limit: p.Limits[limitIndex(rules, i)]}
		if u.fits {
			st.Remaining = u.remaining + 1
		} else {
			st.RetryAfter = time.Duration(u.retryAfter) * time.Microsecond
		}
		out[i] = st
	}
	return out
}

// Algorithm names how a store counts requests.
type Algorithm string

// The algorithms: SlidingWindow weighs the previous fixed window's count
// by its overlap (two counters a key, smooth at edges); FixedWindow is the
// cheapest but lets twice the limit through across an edge; SlidingLog
// keeps every admitted request's time: exact, memory grows with the limit.
const (
	SlidingWindow Algorithm = "sliding-window"
	FixedWindow   Algorithm = "fixed-window"
	SlidingLog    Algorithm = "sliding-log"
)

// ParseAlgorithm checks an algorithm name; "" means SlidingWindow.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(s); a {
	case "":
		return SlidingWindow, nil
	case SlidingWindow, FixedWindow, SlidingLog:
		return a, nil
	}
	return "", fmt.Errorf("ratelimit: unknown algorithm %q: want sliding-window, fixed-window or sliding-log", s)
}

// usage is what one limit says about one request, in microseconds.
type usage struct {
	fits       bool
	remaining  int   // after counting the request, if it fits
	retryAfter int64 // until the request fits, if it does not
	resetAfter int64 // until the whole quota is back, after counting if it fits
}

// slidingUsage computes a sliding-window counter's answer from the counts
// of the previous and the current fixed window, elapsed microseconds into
// the current one. The Redis script makes the same comparison with the
// same floating-point operations, so both stores agree to the request.
func slidingUsage(l Limit, prev, cur, elapsed int64) usage {
	w := l.Window.Microseconds()
	lim := float64(l.Requests)
	est := float64(prev)*float64(w-elapsed)/float64(w) + float64(cur)
	if est+1 <= lim {
		reset := w - elapsed + w
		return usage{fits: true, remaining: int(lim - est - 1), resetAfter: reset}
	}
	var retry float64
	if float64(cur)+1 <= lim {
		// Room comes back within this window as the previous window's
		// weight shrinks.
		retry = float64(w-elapsed) - (lim-float64(cur)-1)*float64(w)/float64(prev)
	} else {
		// Not before the next window, where this one's count is
		// weighed down.
		retry = float64(w-elapsed) + float64(w) - (lim-1)*float64(w)/float64(cur)
	}
	reset := w - elapsed
	if cur > 0 {
		reset += w
	}
	return usage{retryAfter: ceilMicros(retry), resetAfter: reset}
}

func fixedUsage(l Limit, cur, elapsed int64) usage {
	w := l.Window.Microseconds()
	if cur+1 <= int64(l.Requests) {
		return usage{fits: true, remaining: l.Requests - int(cur) - 1, resetAfter: w - elapsed}
	}
	return usage{retryAfter: w - elapsed, resetAfter: w - elapsed}
}

// logUsage answers for a sliding log holding count timestamps inside the
// window; blocking is the timestamp whose expiry frees a slot (the
// count-Requests'th oldest) and newest the latest one.
func logUsage(l Limit, now, count, blocking, newest int64) usage {
	w := l.Window.Microseconds()
	if count+1 <= int64(l.Requests) {
		return usage{fits: true, remaining: l.Requests - int(count) - 1, resetAfter: w}
	}
	return usage{retryAfter: max(blocking+w-now, 1), resetAfter: max(newest+w-now, 1)}
}

func ceilMicros(f float64) int64 {
	n := int64(f)
	if float64(n) < f {
		n++
	}
	return max(n, 1)
}

// decide folds the usages of every (rule, limit) pair into one Result.
// owner[i] is the index of the rule that usage i belongs to.
func decide(rules []Rule, us []usage, owner []int) Result {
	res := Result{Allowed: true}
	best := -1
	for i, u := range us {
		if !u.fits {
			res.Allowed = false
			res.Refused |= 1 << owner[i]
		}
	}
	for i, u := range us {
		switch {
		case res.Allowed && (best < 0 || u.remaining < us[best].remaining):
			best = i
		case !res.Allowed && !u.fits && (best < 0 || u.retryAfter > us[best].retryAfter):
			best = i
		}
	}
	if best < 0 {
		return Result{Allowed: true}
	}
	p := rules[owner[best]].Policy
	res.Policy, res.Note = p.Name, p.Note
	res.Limit = p.Limits[limitIndex(rules, best)]
	res.ResetAfter = time.Duration(us[best].resetAfter) * time.Microsecond
	if res.Allowed {
		res.Remaining = us[best].remaining
	} else {
		res.Remaining = 0
		res.RetryAfter = time.Duration(us[best].retryAfter) * time.Microsecond
	}
	return res
}

// limitIndex maps a flat usage index back to the index of its limit within
// its rule's policy.
func limitIndex(rules []Rule, flat int) int {
	for _, r := range rules {
		if flat < len(r.Policy.Limits) {
			return flat
		}
		flat -= len(r.Policy.Limits)
	}
	return 0
}

// flatten checks rules and lists, for each (rule, limit) pair, its rule.
func flatten(rules []Rule, owner *[MaxLimits]int) (int, error) {
	n := 0
	for i, r := range rules {
		if r.Policy == nil {
			return 0, errors.New("ratelimit: rule without a policy")
		}
		for range r.Policy.Limits {
			if n == MaxLimits || i >= 64 {
				return 0, ErrTooManyLimits
			}
			owner[n] = i
			n++
		}
	}
	return n, nil
}
