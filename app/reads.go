package app

import (
	"net/http"
	"sync"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// readsLimit is the limit that guards GET /limits in handlers/routes.go
// (RATE_LIMIT_READS). Its decisions leave the peek cache alone: they are
// the reads the cache is there to spare.
const readsLimit = "reads"

// Peek cache bounds: a page reads /limits when it loads and after each
// answer, so a second of staleness is never seen by a person, while a
// client that polls in a loop costs one Redis call a second, not one per
// request.
const (
	peekTTL = time.Second
	peekMax = 10_000
)

// peekCache answers GET /limits from memory for peekTTL per client: with
// Redis every read is a script call, and the limit on the route alone
// still lets each client cost RATE_LIMIT_READS of them a minute. A
// question let through by another limit forgets the client's entry, so
// the standing shown after an answer is fresh (a refusal changes no
// count, so it leaves the entry). It
// holds at most peekMax entries. It is safe for concurrent use.
type peekCache struct {
	peek func(*http.Request) ([]ratelimit.State, error)
	// key names whose standing a request reads; an error bypasses the
	// cache (peek then reports it, such as a bad token's 401).
	key func(*http.Request) (string, error)
	now func() time.Time

	mu      sync.Mutex
	entries map[string]peekEntry
}

type peekEntry struct {
	states []ratelimit.State
	until  time.Time
}

func newPeekCache(peek func(*http.Request) ([]ratelimit.State, error), key func(*http.Request) (string, error)) *peekCache {
	return &peekCache{peek: peek, key: key, now: time.Now, entries: make(map[string]peekEntry)}
}

// Peek is Deps.Peek through the cache.
func (p *peekCache) Peek(r *http.Request) ([]ratelimit.State, error) {
	k, err := p.key(r)
	if err != nil {
		return p.peek(r)
	}
	now := p.now()
	p.mu.Lock()
	e, ok := p.entries[k]
	p.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.states, nil
	}
	states, err := p.peek(r)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) >= peekMax {
		// Entries live a second: starting over costs at most one more
		// peek per client, and no request pays for a sweep.
		clear(p.entries)
	}
	p.entries[k] = peekEntry{states: states, until: now.Add(peekTTL)}
	return states, nil
}

// forget drops the entry of r's client, whose standing just changed.
func (p *peekCache) forget(r *http.Request) {
	k, err := p.key(r)
	if err != nil {
		return
	}
	p.mu.Lock()
	delete(p.entries, k)
	p.mu.Unlock()
}

// len is how many entries the cache holds.
func (p *peekCache) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// peekKey is the peek cache's key for r: the client's key and its per-IP
// key, which name every counter GET /limits reads.
func (c *clientID) peekKey(r *http.Request) (string, error) {
	client, err := c.keys.Client(r)
	if err != nil {
		return "", err
	}
	ip, err := c.ipKey(r)
	if err != nil {
		return "", err
	}
	return client + "\x00" + ip, nil
}

// decided is the OnDecision of limit name: the operations side hears
// every decision and the peek cache forgets the standing of a client
// whose question was let through, except for readsLimit's own decisions:
// the metrics count them, but the analytics, which report on questions,
// do not hear of them. Refusals of every limit, reads included, go to the
// refusal summary where they are answered (limits.refuse).
func (l *limits) decided(name string) func(r *http.Request, res ratelimit.Result) {
	return func(r *http.Request, res ratelimit.Result) {
		if name == readsLimit {
			l.ops.metrics.Decision(res.Allowed, l.cfg.DryRun, res.Policy)
			return
		}
		l.ops.decided(r, res)
		// A refusal counts nothing, so the standing it would show is
		// unchanged: a flood of refusals does not pay for forgetting.
		if l.changed != nil && res.Allowed {
			l.changed(r)
		}
	}
}
