package ratelimit

import (
	"context"
	"hash/maphash"
	"sort"
	"sync"
	"time"
)

const (
	shardCount = 64
	// sweepEvery is how often a shard looks for idle keys.
	sweepEvery = 10 * time.Second
)

// MemoryOptions configures a MemoryStore; the zero value is usable.
type MemoryOptions struct {
	Algorithm Algorithm        // default SlidingWindow
	Now       func() time.Time // default time.Now
}

// MemoryStore keeps counters in this process, unshared: N processes admit
// N times the limit. Keys are 64-bit seeded hashes (small and fixed
// whatever their length); idle ones go after two windows and their
// memory back to the runtime. It is safe for concurrent use: a decision
// locks the shards it touches, in a fixed order.
type MemoryStore struct {
	alg    Algorithm
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

var _ Store = (*MemoryStore)(nil)

type shard struct {
	mu        sync.Mutex
	counters  map[uint64]counter
	logs      map[uint64]*timeLog
	peak      int
	nextSweep int64
	_         [24]byte // keep shards on separate cache lines
}

// counter is the state of a fixed or sliding window: 24 bytes.
type counter struct {
	expires int64 // unix microseconds after which the key is idle
	win     int64 // index of the current fixed window
	cur     uint32
	prev    uint32
}

// timeLog holds a sliding log's admitted timestamps, oldest first.
type timeLog struct {
	expires int64
	ts      []int64
}

// NewMemoryStore returns an empty store.
func NewMemoryStore(opts MemoryOptions) (*MemoryStore, error) {
	alg, err := ParseAlgorithm(string(opts.Algorithm))
	if err != nil {
		return nil, err
	}
	m := &MemoryStore{alg: alg, now: opts.Now, seed: maphash.MakeSeed()}
	if m.now == nil {
		m.now = time.Now
	}
	for i := range m.shards {
		m.shards[i].counters = make(map[uint64]counter)
		m.shards[i].logs = make(map[uint64]*timeLog)
	}
	return m, nil
}

// Allow implements Store.
func (m *MemoryStore) Allow(_ context.Context, rules []Rule) (Result, error) {
	return m.decide(rules, true)
}

// Peek implements Store.
func (m *MemoryStore) Peek(_ context.Context, rules []Rule) ([]State, error) {
	var owner [MaxLimits]int
	n, err := flatten(rules, &owner)
	if err != nil {
		return nil, err
	}
	now := m.now().UnixMicro()
	us := make([]usage, n)
	for i := 0; i < n; i++ {
		r := rules[owner[i]]
		h := limitHash(m.ruleHash(r), m.limit(rules, i, owner[i]))
		s := &m.shards[h%shardCount]
		s.mu.Lock()
		us[i] = m.usage(rules, i, owner[i], h, now)
		s.mu.Unlock()
	}
	return states(rules, us, owner[:n]), nil
}

func (m *MemoryStore) decide(rules []Rule, count bool) (Result, error) {
	var (
		owner  [MaxLimits]int
		hashes [MaxLimits]uint64
		us     [MaxLimits]usage
		locks  [MaxLimits]int
	)
	n, err := flatten(rules, &owner)
	if err != nil {
		return Result{}, err
	}
	now := m.now().UnixMicro()
	nl := 0
	var rh uint64
	for i := 0; i < n; i++ {
		r := rules[owner[i]]
		if i == 0 || owner[i] != owner[i-1] {
			rh = m.ruleHash(r)
		}
		hashes[i] = limitHash(rh, m.limit(rules, i, owner[i]))
		s := int(hashes[i] % shardCount)
		if !contains(locks[:nl], s) {
			locks[nl] = s
			nl++
		}
	}
	sort.Ints(locks[:nl])
	for _, s := range locks[:nl] {
		m.shards[s].lock(now)
	}
	for i := 0; i < n; i++ {
		us[i] = m.usage(rules, i, owner[i], hashes[i], now)
	}
	res := decide(rules, us[:n], owner[:n])
	if res.Allowed && count {
		for i := 0; i < n; i++ {
			m.count(rules, i, owner[i], hashes[i], now)
		}
	}
	for _, s := range locks[:nl] {
		m.shards[s].mu.Unlock()
	}
	return res, nil
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// ruleHash hashes a rule's policy name and key.
func (m *MemoryStore) ruleHash(r Rule) uint64 {
	return maphash.String(m.seed, r.Key) ^ maphash.String(m.seed, r.Policy.Name)*0x9e3779b97f4a7c15
}

// limitHash gives each window of a rule its own counter, named by the
// window's length like the Redis keys, so that a counter stays the same
// whatever other rules share the decision.
func limitHash(rh uint64, l Limit) uint64 {
	h := rh + uint64(l.Window)*0xbf58476d1ce4e5b9
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	h ^= h >> 29
	return h
}

func (m *MemoryStore) limit(rules []Rule, flat, rule int) Limit {
	return rules[rule].Policy.Limits[limitIndex(rules, flat)]
}

func (m *MemoryStore) usage(rules []Rule, flat, rule int, h uint64, now int64) usage {
	l := m.limit(rules, flat, rule)
	w := l.Window.Microseconds()
	s := &m.shards[h%shardCount]
	if m.alg == SlidingLog {
		count, blocking, newest := int64(0), int64(0), int64(0)
		if lg := s.logs[h]; lg != nil {
			lg.trim(now - w)
			count = int64(len(lg.ts))
			if count > 0 {
				newest = lg.ts[count-1]
			}
			if k := count - int64(l.Requests); k >= 0 {
				blocking = lg.ts[k]
			}
		}
		return logUsage(l, now, count, blocking, newest)
	}
	idx, elapsed := now/w, now%w
	c := s.counters[h]
	var prev, cur int64
	switch c.win {
	case idx:
		prev, cur = int64(c.prev), int64(c.cur)
	case idx - 1:
		prev = int64(c.cur)
	}
	if m.alg == FixedWindow {
		return fixedUsage(l, cur, elapsed)
	}
	return slidingUsage(l, prev, cur, elapsed)
}

func (m *MemoryStore) count(rules []Rule, flat, rule int, h uint64, now int64) {
	l := m.limit(rules, flat, rule)
	w := l.Window.Microseconds()
	s := &m.shards[h%shardCount]
	idx := now / w
	expires := (idx+2)*w + 1
	if m.alg == SlidingLog {
		lg := s.logs[h]
		if lg == nil {
			lg = &timeLog{ts: make([]int64, 0, min(l.Requests, 16))}
			s.logs[h] = lg
		}
		lg.ts = append(lg.ts, now)
		lg.expires = now + w
		s.peak = max(s.peak, len(s.logs))
		return
	}
	c := s.counters[h]
	switch c.win {
	case idx:
	case idx - 1:
		c.prev, c.cur = c.cur, 0
	default:
		c.prev, c.cur = 0, 0
	}
	c.win, c.cur, c.expires = idx, c.cur+1, expires
	s.counters[h] = c
	s.peak = max(s.peak, len(s.counters))
}

// trim drops the timestamps at or before cutoff.
func (l *timeLog) trim(cutoff int64) {
	i := 0
	for i < len(l.ts) && l.ts[i] <= cutoff {
		i++
	}
	if i > 0 {
		l.ts = append(l.ts[:0], l.ts[i:]...)
	}
}

func (s *shard) lock(now int64) {
	s.mu.Lock()
	if now >= s.nextSweep {
		s.sweep(now)
	}
}

// sweep drops idle keys and, when the shard has shrunk to a quarter of its
// peak, rebuilds its maps so that their memory goes back to the runtime
// (a Go map never shrinks by itself). s.mu must be held.
func (s *shard) sweep(now int64) {
	s.nextSweep = now + sweepEvery.Microseconds()
	for h, c := range s.counters {
		if c.expires <= now {
			delete(s.counters, h)
		}
	}
	for h, l := range s.logs {
		if l.expires <= now {
			delete(s.logs, h)
		}
	}
	live := len(s.counters) + len(s.logs)
	if s.peak > 1024 && live < s.peak/4 {
		counters := make(map[uint64]counter, len(s.counters))
		for h, c := range s.counters {
			counters[h] = c
		}
		logs := make(map[uint64]*timeLog, len(s.logs))
		for h, l := range s.logs {
			logs[h] = l
		}
		s.counters, s.logs, s.peak = counters, logs, live
	}
}

// sweepAll drops every idle key now instead of on the shards' next use.
func (m *MemoryStore) sweepAll() {
	now := m.now().UnixMicro()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.sweep(now)
		s.mu.Unlock()
	}
}

// size reports how many counters the store holds.
func (m *MemoryStore) size() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.counters) + len(s.logs)
		s.mu.Unlock()
	}
	return n
}
