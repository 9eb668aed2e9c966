package ratelimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Layer is one policy of a Limiter and the way a request is keyed under it.
type Layer struct {
	Policy Policy
	Key    KeyFunc // required; an error goes to Options.OnError
	// Select, if set, may return another policy for r (a user's tier;
	// keep Policy's name so counters carry over); nil keeps Policy.
	Select func(r *http.Request) *Policy
}

// Options configures a Limiter: Store and a Layer are required.
type Options struct {
	Store  Store
	Layers []Layer
	// DryRun counts and sets headers but lets refused requests through.
	DryRun  bool
	Headers *Headers // nil: the default set
	// OnLimited answers a refusal after the headers; default: 429 with
	// Result.Message as text. OnError answers a failed Key or Store;
	// default: 503, Retry-After: 1. OnDecision, if set, hears every
	// decision.
	OnLimited  func(w http.ResponseWriter, r *http.Request, res Result)
	OnError    func(w http.ResponseWriter, r *http.Request, err error)
	OnDecision func(r *http.Request, res Result)
	Now        func() time.Time // default time.Now
}

// Headers names the headers a Limiter sets; "" leaves one out. The
// default (nil Options.Headers) is X-RateLimit-Limit, -Remaining, -Reset
// (unix s), RateLimit-Policy, RateLimit (IETF draft) and, on refusals,
// Retry-After. No value is ever negative.
type Headers struct {
	Limit, Remaining, Reset, Policy, RateLimit, RetryAfter string
}

// Limiter admits a request only if it fits every layer, in one Store
// call. It is safe for concurrent use.
type Limiter struct {
	opts   Options
	policy string    // the RateLimit-Policy header
	names  [6]string // canonical header names, "" for none

	// last is the headers of the latest decision (see setHeaders).
	last atomic.Pointer[headerSet]
}

// New checks opts and returns a Limiter.
func New(opts Options) (*Limiter, error) {
	if opts.Store == nil {
		return nil, errors.New("ratelimit: Options.Store is nil")
	}
	if len(opts.Layers) == 0 {
		return nil, errors.New("ratelimit: no layers")
	}
	total := 0
	seen := map[string]bool{}
	for i, l := range opts.Layers {
		if l.Key == nil {
			return nil, fmt.Errorf("ratelimit: layer %d has no Key function", i)
		}
		if !validName(l.Policy.Name) || seen[l.Policy.Name] {
			return nil, fmt.Errorf("ratelimit: layer %d: policy name %q must be unique and made of letters, digits, '-' and '_'", i, l.Policy.Name)
		}
		seen[l.Policy.Name] = true
		if err := l.Policy.check(); err != nil {
			return nil, err
		}
		total += len(l.Policy.Limits)
	}
	if total > MaxLimits {
		return nil, ErrTooManyLimits
	}
	if opts.OnLimited == nil {
		opts.OnLimited = writeLimited
	}
	if opts.OnError == nil {
		opts.OnError = writeUnavailable
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hs := Headers{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit", "Retry-After"}
	if opts.Headers != nil {
		hs = *opts.Headers
	}
	lim := &Limiter{opts: opts}
	for i, n := range []string{hs.Limit, hs.Remaining, hs.Reset, hs.Policy, hs.RateLimit, hs.RetryAfter} {
		if n != "" {
			lim.names[i] = textproto.CanonicalMIMEHeaderKey(n)
		}
	}
	var items []string
	for i := range lim.opts.Layers {
		p := &lim.opts.Layers[i].Policy
		for j, l := range p.Limits {
			items = append(items, policyItem(p.Name, j, l))
		}
	}
	lim.policy = strings.Join(items, ", ")
	return lim, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// itemName names limit j of a policy in the RateLimit headers: the policy's
// own name for its first limit, the name and window for the others
// ("per-client-86400s"), so that every item is distinct.
func itemName(policy string, j int, l Limit) string {
	if j == 0 {
		return policy
	}
	return fmt.Sprintf("%s-%ds", policy, int64(l.Window/time.Second))
}

func policyItem(policy string, j int, l Limit) string {
	return fmt.Sprintf("%q;q=%d;w=%d", itemName(policy, j, l), l.Requests, int64(l.Window/time.Second))
}

// policyHeader is the RateLimit-Policy header for a request's rules: the
// precomputed one unless a layer selected another policy.
func (l *Limiter) policyHeader(rules []Rule) string {
	same := len(rules) == len(l.opts.Layers)
	for i := 0; same && i < len(rules); i++ {
		same = rules[i].Policy == &l.opts.Layers[i].Policy
	}
	if same {
		return l.policy
	}
	var items []string
	for _, r := range rules {
		for j, lim := range r.Policy.Limits {
			items = append(items, policyItem(r.Policy.Name, j, lim))
		}
	}
	return strings.Join(items, ", ")
}

// Policies is the layers' RateLimit-Policy header value.
func (l *Limiter) Policies() string { return l.policy }

// Handler wraps next.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, rules, err := l.check(r)
		if err != nil {
			l.opts.OnError(w, r, err)
			return
		}
		if res.Policy != "" {
			l.setHeaders(w.Header(), res, rules)
		}
		if l.opts.OnDecision != nil {
			l.opts.OnDecision(r, res)
		}
		if res.Allowed || l.opts.DryRun {
			next.ServeHTTP(w, r)
			return
		}
		l.opts.OnLimited(w, r, res)
	})
}

func (l *Limiter) check(r *http.Request) (Result, []Rule, error) {
	rules, err := l.rules(r)
	if err != nil {
		return Result{}, nil, err
	}
	if len(rules) == 0 {
		return Result{Allowed: true, Remaining: -1}, nil, nil
	}
	res, err := l.opts.Store.Allow(r.Context(), rules)
	if err != nil {
		return Result{}, nil, err
	}
	return res, rules, nil
}

func (l *Limiter) rules(r *http.Request) ([]Rule, error) {
	rules := make([]Rule, 0, len(l.opts.Layers))
	for i := range l.opts.Layers {
		layer := &l.opts.Layers[i]
		key, err := layer.Key(r)
		if err != nil {
			return nil, err
		}
		if key == "" {
			continue
		}
		p := &layer.Policy
		if layer.Select != nil {
			if sel := layer.Select(r); sel != nil {
				p = sel
			}
		}
		rules = append(rules, Rule{Policy: p, Key: key})
	}
	return rules, nil
}

// headerSet is one rendering of the rate-limit headers and the numbers it
// was rendered from.
type headerSet struct {
	limit, remaining int
	reset, t         int64 // X-RateLimit-Reset (unix seconds) and t
	policy, item     string
	allowed          bool
	v                [6]string
}

func (a *headerSet) same(b *headerSet) bool {
	return a.limit == b.limit && a.remaining == b.remaining && a.reset == b.reset && a.t == b.t &&
		a.allowed == b.allowed && a.policy == b.policy && a.item == b.item
}

func (l *Limiter) setHeaders(h http.Header, res Result, rules []Rule) {
	// A store's numbers are never negative; the clamps make sure that no
	// header says otherwise whatever a Store returns.
	reset := max(ceilSeconds(res.ResetAfter), 0)
	t := reset
	if !res.Allowed {
		t = max(ceilSeconds(res.RetryAfter), 1)
	}
	want := headerSet{
		limit: max(res.Limit.Requests, 0), remaining: max(res.Remaining, 0),
		reset: max(l.opts.Now().Unix(), 0) + reset, t: t,
		policy: l.policyHeader(rules), item: l.itemOf(res, rules), allowed: res.Allowed,
	}
	// A flood is answered with the same numbers for a second at a time:
	// the last rendering is kept and its values shared by every response
	// that would render the same. net/http only reads header values, and
	// Header.Set replaces a value slice, never writes into it.
	hs := l.last.Load()
	if hs == nil || !hs.same(&want) {
		hs = new(headerSet)
		*hs = want
		v := &hs.v
		v[0] = strconv.Itoa(hs.limit)
		v[1] = strconv.Itoa(hs.remaining)
		v[2] = strconv.FormatInt(hs.reset, 10)
		v[3] = hs.policy
		// Policy names are tokens (checked by New), so they need no escaping.
		v[4] = `"` + hs.item + `";r=` + v[1] + ";t=" + strconv.FormatInt(t, 10)
		v[5] = strconv.FormatInt(t, 10)
		l.last.Store(hs)
	}
	// Canonical keys set directly, each value a capped slice of one
	// array: Header.Set would canonicalize each name and allocate a
	// slice per header on every request, and an append to a capped
	// slice copies it.
	n := 5
	if !res.Allowed {
		n = 6
	}
	for i, name := range l.names[:n] {
		if name != "" {
			h[name] = hs.v[i : i+1 : i+1]
		}
	}
}

func (l *Limiter) itemOf(res Result, rules []Rule) string {
	for _, rule := range rules {
		if rule.Policy.Name != res.Policy {
			continue
		}
		for j, lim := range rule.Policy.Limits {
			if lim == res.Limit {
				return itemName(rule.Policy.Name, j, lim)
			}
		}
	}
	return res.Policy
}

// Peek reports r's standing under every layer, counting nothing.
func (l *Limiter) Peek(r *http.Request) ([]State, error) {
	rules, err := l.rules(r)
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	return l.opts.Store.Peek(r.Context(), rules)
}

func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	return s
}

// Message is "Rate limit exceeded: 3 per 1 minute (note)".
func (res Result) Message() string {
	m := "Rate limit exceeded: " + res.Limit.String()
	if res.Note != "" {
		m += " (" + res.Note + ")"
	}
	return m
}

// writeLimited is the default Options.OnLimited.
func writeLimited(w http.ResponseWriter, r *http.Request, res Result) {
	writeText(w, http.StatusTooManyRequests, res.Message())
}

// writeUnavailable is the default Options.OnError.
func writeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	writeText(w, http.StatusServiceUnavailable, "rate limiter unavailable")
}

func writeText(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
