package ratelimit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Layer is one policy of a Limiter and the way a request is keyed under it.
type Layer struct {
	Policy Policy
	// Key returns r's key under this layer. An error stops the request
	// (see Options.OnError); an empty key with no error leaves the layer
	// out of this request's decision.
	Key func(r *http.Request) (string, error)
	// Select, when set, may return another policy for r, such as the
	// limits of a signed-in user's tier; nil keeps Policy. A selected
	// policy should keep Policy's name, so that counters of limits with the
	// same window carry over; the RateLimit-Policy header of such a request
	// names the selected limits. All policies of one request together may
	// hold at most MaxLimits limits.
	Select func(r *http.Request) *Policy
}

// Options configures a Limiter. Store and at least one Layer are required.
type Options struct {
	Store  Store
	Layers []Layer
	// DryRun decides, counts and sets headers as usual but lets refused
	// requests through, so a stricter policy can be tried on live traffic.
	DryRun bool
	// OnLimited writes a refusal after the rate-limit headers are set.
	// The default writes 429 with Retry-After and a JSON body carrying
	// both slowapi's "error" and FastAPI's "detail".
	OnLimited func(w http.ResponseWriter, r *http.Request, res Result)
	// OnError answers when a Key function or the Store fails. The default
	// writes 503 with Retry-After: 1.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
	// OnDecision, when set, is told every decision (for logs and metrics),
	// including dry-run refusals that were let through.
	OnDecision func(r *http.Request, res Result)
	// Now is used for X-RateLimit-Reset; default time.Now.
	Now func() time.Time
}

// Limiter is HTTP middleware that admits a request only when it fits every
// layer's policy. It is safe for concurrent use.
type Limiter struct {
	opts   Options
	policy string // the RateLimit-Policy header

	// bodies caches the default 429 bodies: a flood is answered with
	// the same few bytes over and over.
	mu     sync.RWMutex
	bodies map[bodyKey][]byte

	// last is the headers of the latest decision (see setHeaders).
	last atomic.Pointer[headerSet]
}

type bodyKey struct {
	policy, note string
	limit        Limit
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
		opts.OnLimited = nil // set below: the Limiter's cached writer
	}
	if opts.OnError == nil {
		opts.OnError = writeUnavailable
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	lim := &Limiter{opts: opts, bodies: map[bodyKey][]byte{}}
	if lim.opts.OnLimited == nil {
		lim.opts.OnLimited = lim.writeLimited
	}
	var items []string
	for i := range lim.opts.Layers {
		p := &lim.opts.Layers[i].Policy
		for j, l := range p.Limits {
			name := itemName(p.Name, j, l)
			items = append(items, fmt.Sprintf("%q;q=%d;w=%d", name, l.Requests, int64(l.Window/time.Second)))
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
			items = append(items, fmt.Sprintf("%q;q=%d;w=%d", itemName(r.Policy.Name, j, lim), lim.Requests, int64(lim.Window/time.Second)))
		}
	}
	return strings.Join(items, ", ")
}

// Policies is the RateLimit-Policy header value the Limiter sends.
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
	reset := ceilSeconds(res.ResetAfter)
	t := reset
	if !res.Allowed {
		t = ceilSeconds(res.RetryAfter)
	}
	want := headerSet{
		limit: res.Limit.Requests, remaining: res.Remaining,
		reset: l.opts.Now().Unix() + reset, t: t,
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
	v := hs.v[:]
	h["X-Ratelimit-Limit"] = v[0:1:1]
	h["X-Ratelimit-Remaining"] = v[1:2:2]
	h["X-Ratelimit-Reset"] = v[2:3:3]
	h["Ratelimit-Policy"] = v[3:4:4]
	h["Ratelimit"] = v[4:5:5]
	if !res.Allowed {
		h["Retry-After"] = v[5:6:6]
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

// Peek reports r's standing under every layer without counting it, for a
// page that shows the quota left before anything is sent.
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

// Message is the text of a refusal: "Rate limit exceeded: 3 per 1 minute",
// with the policy's note in parentheses when it has one.
func (res Result) Message() string {
	m := "Rate limit exceeded: " + res.Limit.String()
	if res.Note != "" {
		m += " (" + res.Note + ")"
	}
	return m
}

// WriteLimited is the default OnLimited: 429 with a JSON body
// {"error": msg, "detail": msg, "policy": name}; Retry-After is already set.
func WriteLimited(w http.ResponseWriter, r *http.Request, res Result) {
	writeLimitedBody(w, res, limitedBody(res))
}

// writeLimited is WriteLimited with the body built once per policy and
// limit.
func (l *Limiter) writeLimited(w http.ResponseWriter, r *http.Request, res Result) {
	k := bodyKey{res.Policy, res.Note, res.Limit}
	l.mu.RLock()
	b, ok := l.bodies[k]
	l.mu.RUnlock()
	if !ok {
		b = limitedBody(res)
		l.mu.Lock()
		if len(l.bodies) < 1024 {
			l.bodies[k] = b
		}
		l.mu.Unlock()
	}
	writeLimitedBody(w, res, b)
}

func writeLimitedBody(w http.ResponseWriter, res Result, body []byte) {
	h := w.Header()
	if len(h["Retry-After"]) == 0 {
		h["Retry-After"] = []string{strconv.FormatInt(max(ceilSeconds(res.RetryAfter), 1), 10)}
	}
	h["Content-Type"] = []string{"application/json"}
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write(body)
}

func limitedBody(res Result) []byte {
	msg := res.Message()
	b := make([]byte, 0, 2*len(msg)+len(res.Policy)+48)
	b = append(b, `{"error":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"detail":`...)
	b = appendJSONString(b, msg)
	b = append(b, `,"policy":`...)
	b = appendJSONString(b, res.Policy)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string: plain printable ASCII
// directly (the common case, no allocation), anything else through
// encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func writeUnavailable(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "rate limiter unavailable"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
