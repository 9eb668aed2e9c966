// Package analytics measures what the design guide's "Monitoring" section
// asks of a rate-limited public app, from live traffic:
//
//   - how often clients are limited: allowed and limited requests per
//     minute over the last hour;
//   - how many distinct clients there are: unique rate-limit keys this
//     hour and today, by HyperLogLog (PFADD/PFCOUNT in Redis, shared by
//     every instance; a Sketch of the same precision in memory);
//   - how often two people share one key (the collision rate): the share
//     of keys seen in the last hour under which more than one X-Session-ID
//     arrived, the measured form of the guide's "85-90% accuracy" for
//     whichever RATE_LIMIT_KEY is active;
//   - who tries to get around the limit: addresses rotating User-Agents or
//     session ids far more than a person would, and the keys refused most.
//
// It sees only hashed rate-limit keys; User-Agents and session ids are
// hashed with a per-process seed as they arrive and never kept, so
// nothing here reveals an address, a browser or a session. Every
// structure is bounded, whatever the traffic: see Options.
//
// With Redis, unique clients and the per-minute counts are shared by every
// instance; the collision rate, bypass suspects and offenders are kept per
// process, so with several instances each reports on the requests it
// served.
package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Event is one rate-limit decision, as the analytics need it.
type Event struct {
	Time time.Time
	// Key is the per-client rate-limit key (a keyed hash), as shown to
	// the admin: its hex digits, which a key ban matches by prefix.
	Key string
	// IPKey is the per-address key (a keyed hash) in the same form, for
	// bypass suspects.
	IPKey string
	// Session is the X-Session-ID the request carried, "" for none.
	Session string
	// Agent is the User-Agent the request carried.
	Agent string
	// Allowed is false for a refusal (a dry-run refusal included).
	Allowed bool
}

// Options configures Analytics. The zero value keeps everything in memory.
type Options struct {
	// Redis, when set, holds the unique-client sketches and the
	// per-minute counts, shared by every instance using it.
	Redis redis.UniversalClient
	// Prefix starts every Redis key; default "smartdocs:an".
	Prefix string
	// Now defaults to time.Now.
	Now func() time.Time
	// SampleKeys bounds the keys followed for the collision rate; default
	// 4096. Below it every key is followed; above it a uniform sample of
	// keys, chosen by hash.
	SampleKeys int
	// MaxTracked bounds the addresses followed for bypass suspicion and
	// the keys followed for refusals, each; default 10,000.
	MaxTracked int
	// MaxPending bounds the distinct keys buffered between two flushes to
	// Redis; default 50,000. Beyond it keys are not added to the sketch
	// until the next flush.
	MaxPending int
}

// Thresholds of bypass suspicion: more distinct User-Agents or session
// ids from one address within an hour than a household plausibly uses.
const (
	SuspectAgents   = 4
	SuspectSessions = 8
	// setCap is how many distinct values per address are told apart;
	// counts saturate there.
	setCap = 32
	// topN is how many suspects and offenders a Report lists.
	topN = 10
)

// Analytics records events and reports on them. It is safe for concurrent
// use.
type Analytics struct {
	opts Options
	seed maphash.Seed

	mu      sync.Mutex
	minutes [60]minute
	hours   map[int64]*Sketch // memory mode: unix hour → sketch
	days    map[int64]*Sketch // memory mode: unix day → sketch
	keys    collisions
	ips     map[string]*address
	refused map[string]*offender

	pendingKeys map[string]struct{} // Redis mode: since the last flush
	pendingMins map[int64]*minute
	dropped     int64
}

type minute struct {
	start            int64 // unix minute
	allowed, limited int64
}

// New returns Analytics.
func New(opts Options) *Analytics {
	if opts.Prefix == "" {
		opts.Prefix = "smartdocs:an"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SampleKeys <= 0 {
		opts.SampleKeys = 4096
	}
	if opts.MaxTracked <= 0 {
		opts.MaxTracked = 10_000
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 50_000
	}
	return &Analytics{
		opts:        opts,
		seed:        maphash.MakeSeed(),
		hours:       map[int64]*Sketch{},
		days:        map[int64]*Sketch{},
		keys:        collisions{max: opts.SampleKeys, keys: map[uint64]*keyEntry{}},
		ips:         map[string]*address{},
		refused:     map[string]*offender{},
		pendingKeys: map[string]struct{}{},
		pendingMins: map[int64]*minute{},
	}
}

func (a *Analytics) hash(s string) uint64 { return maphash.String(a.seed, s) }

// Record takes one decision into account. It does no I/O: in Redis mode
// the shared parts wait for the next Flush.
func (a *Analytics) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = a.opts.Now()
	}
	now := e.Time.Unix()
	a.mu.Lock()
	defer a.mu.Unlock()

	m := &a.minutes[(now/60)%60]
	if m.start != now/60 {
		*m = minute{start: now / 60}
	}
	if e.Allowed {
		m.allowed++
	} else {
		m.limited++
	}
	if e.Key == "" {
		return
	}
	kh := a.hash(e.Key)
	if a.opts.Redis != nil {
		pm := a.pendingMins[now/60]
		if pm == nil {
			pm = &minute{start: now / 60}
			a.pendingMins[now/60] = pm
		}
		if e.Allowed {
			pm.allowed++
		} else {
			pm.limited++
		}
		if _, ok := a.pendingKeys[e.Key]; !ok {
			if len(a.pendingKeys) < a.opts.MaxPending {
				a.pendingKeys[e.Key] = struct{}{}
			} else {
				a.dropped++
			}
		}
	} else {
		sketch(a.hours, now/3600, 2).Add(kh)
		sketch(a.days, now/86400, 2).Add(kh)
	}

	var sess uint64
	if e.Session != "" {
		sess = a.hash(e.Session) | 1 // 0 means "none"
	}
	a.keys.record(kh, sess, now)
	if e.IPKey != "" {
		a.recordAddress(e, sess, now)
	}
	if !e.Allowed || a.refused[e.Key] != nil {
		a.recordOffender(e, now)
	}
}

// sketch returns the sketch of bucket b, creating it and dropping all
// but the newest keep buckets.
func sketch(m map[int64]*Sketch, b int64, keep int64) *Sketch {
	s := m[b]
	if s == nil {
		for old := range m {
			if old <= b-keep {
				delete(m, old)
			}
		}
		s = newSketch()
		m[b] = s
	}
	return s
}

// Run flushes to Redis every second until ctx ends, then once more. In
// memory mode it returns at once.
func (a *Analytics) Run(ctx context.Context) {
	if a.opts.Redis == nil {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			a.Flush(fctx)
			cancel()
			return
		case <-t.C:
			a.Flush(ctx)
		}
	}
}

// Flush writes what Record buffered to Redis in one pipeline: PFADD of
// the keys into this hour's and today's sketch, HINCRBY of the minute
// counts. On failure the buffer is kept for the next try (up to its
// bound). In memory mode it does nothing.
func (a *Analytics) Flush(ctx context.Context) error {
	if a.opts.Redis == nil {
		return nil
	}
	a.mu.Lock()
	keys, mins := a.pendingKeys, a.pendingMins
	a.pendingKeys, a.pendingMins = map[string]struct{}{}, map[int64]*minute{}
	now := a.opts.Now().Unix()
	a.mu.Unlock()
	if len(keys) == 0 && len(mins) == 0 {
		return nil
	}
	pipe := a.opts.Redis.Pipeline()
	if len(keys) > 0 {
		members := make([]any, 0, len(keys))
		for k := range keys {
			members = append(members, k)
		}
		hk, dk := a.hourKey(now/3600), a.dayKey(now/86400)
		pipe.PFAdd(ctx, hk, members...)
		pipe.Expire(ctx, hk, 49*time.Hour)
		pipe.PFAdd(ctx, dk, members...)
		pipe.Expire(ctx, dk, 8*24*time.Hour)
	}
	for start, m := range mins {
		k := a.minuteKey(start)
		if m.allowed > 0 {
			pipe.HIncrBy(ctx, k, "allowed", m.allowed)
		}
		if m.limited > 0 {
			pipe.HIncrBy(ctx, k, "limited", m.limited)
		}
		pipe.Expire(ctx, k, 2*time.Hour)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		a.mu.Lock()
		for k := range keys {
			if len(a.pendingKeys) < a.opts.MaxPending {
				a.pendingKeys[k] = struct{}{}
			}
		}
		for start, m := range mins {
			if pm := a.pendingMins[start]; pm != nil {
				pm.allowed += m.allowed
				pm.limited += m.limited
			} else {
				a.pendingMins[start] = m
			}
		}
		a.mu.Unlock()
		return fmt.Errorf("analytics: redis flush: %w", err)
	}
	return nil
}

func (a *Analytics) hourKey(h int64) string {
	return a.opts.Prefix + ":uniq:h:" + strconv.FormatInt(h, 10)
}
func (a *Analytics) dayKey(d int64) string {
	return a.opts.Prefix + ":uniq:d:" + strconv.FormatInt(d, 10)
}
func (a *Analytics) minuteKey(m int64) string {
	return a.opts.Prefix + ":min:" + strconv.FormatInt(m, 10)
}

// Report is every number at one moment. Its JSON is what
// GET /admin/rate-limits answers.
type Report struct {
	Now time.Time `json:"now"`
	// Store is "memory" or "redis": where Unique and Minutes come from.
	Store string `json:"store"`
	// Unique counts distinct rate-limit keys per UTC hour and day.
	Unique Unique `json:"unique_clients"`
	// Allowed and Limited add up Minutes.
	Allowed int64 `json:"allowed_last_hour"`
	Limited int64 `json:"limited_last_hour"`
	// Minutes are the last 60 minutes, oldest first, this one last.
	Minutes   []Minute  `json:"per_minute"`
	Collision Collision `json:"collision"`
	Suspects  []Suspect `json:"bypass_suspects"`
	Offenders []Offense `json:"top_offenders"`
}

// Unique is the HyperLogLog estimate of distinct clients (0.81% standard
// error).
type Unique struct {
	ThisHour  uint64 `json:"this_hour"`
	LastHour  uint64 `json:"last_hour"`
	Today     uint64 `json:"today"`
	Yesterday uint64 `json:"yesterday"`
}

// Minute is one minute's decisions.
type Minute struct {
	Start   time.Time `json:"start"`
	Allowed int64     `json:"allowed"`
	Limited int64     `json:"limited"`
}

// Collision is the measured collision rate of the last hour.
type Collision struct {
	// Keys is how many keys were seen in the last hour (estimated from
	// the sample when SampleRate < 1).
	Keys int64 `json:"keys"`
	// WithSession is how many of them carried an X-Session-ID.
	WithSession int64 `json:"keys_with_session"`
	// Shared is how many of those carried two or more distinct ones:
	// keys that more than one browser session used.
	Shared int64 `json:"keys_shared"`
	// Rate is Shared/WithSession, 0 when nothing carried a session id.
	Rate float64 `json:"rate"`
	// SampleRate is the share of keys followed: 1 below Options.SampleKeys.
	SampleRate float64 `json:"sample_rate"`
}

// Suspect is an address (as its hashed per-IP key) that rotated
// User-Agents or session ids within the last hour.
type Suspect struct {
	IPKey string `json:"ip_key"`
	// Agents and Sessions are distinct values seen in the last hour,
	// saturating at 32.
	Agents   int   `json:"user_agents"`
	Sessions int   `json:"session_ids"`
	Requests int64 `json:"requests"`
	Refusals int64 `json:"refusals"`
}

// Offense is a key refused in the last hour, by the sliding-window
// estimate the limiter itself uses: this hour's count plus last hour's,
// weighted by how much of it is still within the last 60 minutes.
type Offense struct {
	Key      string `json:"key"`
	Refusals int64  `json:"refusals"`
	Allowed  int64  `json:"allowed"`
}

// Report gathers the numbers. In Redis mode it flushes first and reads
// the shared parts in one pipeline.
func (a *Analytics) Report(ctx context.Context) (Report, error) {
	if err := a.Flush(ctx); err != nil {
		return Report{}, err
	}
	now := a.opts.Now()
	sec := now.Unix()
	rep := Report{Now: now.UTC(), Store: "memory", Minutes: make([]Minute, 60), Suspects: []Suspect{}, Offenders: []Offense{}}

	a.mu.Lock()
	for i := range rep.Minutes {
		start := sec/60 - 59 + int64(i)
		rep.Minutes[i].Start = time.Unix(start*60, 0).UTC()
		if m := a.minutes[start%60]; m.start == start {
			rep.Minutes[i].Allowed, rep.Minutes[i].Limited = m.allowed, m.limited
		}
	}
	if a.opts.Redis == nil {
		count := func(m map[int64]*Sketch, b int64) uint64 {
			if s := m[b]; s != nil {
				return s.Count()
			}
			return 0
		}
		rep.Unique = Unique{ThisHour: count(a.hours, sec/3600), LastHour: count(a.hours, sec/3600-1), Today: count(a.days, sec/86400), Yesterday: count(a.days, sec/86400-1)}
	}
	rep.Collision = a.keys.report(sec)
	rep.Suspects = a.suspects(sec)
	rep.Offenders = a.offenders(sec)
	a.mu.Unlock()

	if a.opts.Redis != nil {
		rep.Store = "redis"
		if err := a.readShared(ctx, sec, &rep); err != nil {
			return Report{}, err
		}
	}
	for _, m := range rep.Minutes {
		rep.Allowed += m.Allowed
		rep.Limited += m.Limited
	}
	return rep, nil
}

func (a *Analytics) readShared(ctx context.Context, sec int64, rep *Report) error {
	pipe := a.opts.Redis.Pipeline()
	h, d := sec/3600, sec/86400
	counts := []*redis.IntCmd{
		pipe.PFCount(ctx, a.hourKey(h)), pipe.PFCount(ctx, a.hourKey(h-1)),
		pipe.PFCount(ctx, a.dayKey(d)), pipe.PFCount(ctx, a.dayKey(d-1)),
	}
	mins := make([]*redis.SliceCmd, len(rep.Minutes))
	for i, m := range rep.Minutes {
		mins[i] = pipe.HMGet(ctx, a.minuteKey(m.Start.Unix()/60), "allowed", "limited")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("analytics: redis report: %w", err)
	}
	rep.Unique = Unique{ThisHour: uint64(counts[0].Val()), LastHour: uint64(counts[1].Val()), Today: uint64(counts[2].Val()), Yesterday: uint64(counts[3].Val())}
	for i, c := range mins {
		v := c.Val()
		rep.Minutes[i].Allowed, rep.Minutes[i].Limited = 0, 0
		if len(v) == 2 {
			rep.Minutes[i].Allowed = toInt(v[0])
			rep.Minutes[i].Limited = toInt(v[1])
		}
	}
	return nil
}

func toInt(v any) int64 {
	s, _ := v.(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// --- collision rate -------------------------------------------------------

// collisions follows keys for the collision rate with bounded memory:
// every key while there are at most max, then only keys whose hash has
// its top level bits zero, a uniform sample whose rate halves each time
// the sample fills up (adaptive sampling). Each key remembers its two
// most recently seen distinct session ids, enough to tell whether more
// than one arrived within the last hour.
type collisions struct {
	max       int
	level     uint
	keys      map[uint64]*keyEntry
	lastPurge int64
}

type keyEntry struct {
	last     int64
	sessions [2]uint64 // most recent first; 0 is empty
	seen     [2]int64
}

func (c *collisions) sampled(h uint64) bool { return c.level == 0 || h>>(64-c.level) == 0 }

func (c *collisions) record(h, sess uint64, now int64) {
	if now-c.lastPurge >= 60 {
		c.purge(now)
	}
	if !c.sampled(h) {
		return
	}
	e := c.keys[h]
	if e == nil {
		e = &keyEntry{}
		c.keys[h] = e
		for len(c.keys) > c.max && c.level < 63 {
			c.level++
			for k := range c.keys {
				if !c.sampled(k) {
					delete(c.keys, k)
				}
			}
		}
	}
	e.last = now
	switch {
	case sess == 0:
	case e.sessions[0] == sess:
		e.seen[0] = now
	default:
		e.sessions[1], e.seen[1] = e.sessions[0], e.seen[0]
		e.sessions[0], e.seen[0] = sess, now
	}
}

// purge forgets keys idle for an hour, and samples more widely again once
// the sample is a quarter full.
func (c *collisions) purge(now int64) {
	c.lastPurge = now
	for k, e := range c.keys {
		if now-e.last >= 3600 {
			delete(c.keys, k)
		}
	}
	for c.level > 0 && len(c.keys) < c.max/4 {
		c.level--
	}
}

func (c *collisions) report(now int64) Collision {
	var out Collision
	for _, e := range c.keys {
		if now-e.last >= 3600 {
			continue
		}
		out.Keys++
		live0 := e.sessions[0] != 0 && now-e.seen[0] < 3600
		live1 := e.sessions[1] != 0 && now-e.seen[1] < 3600
		if live0 || live1 {
			out.WithSession++
		}
		if live0 && live1 {
			out.Shared++
		}
	}
	if out.WithSession > 0 {
		out.Rate = float64(out.Shared) / float64(out.WithSession)
	}
	scale := int64(1) << c.level
	out.Keys *= scale
	out.WithSession *= scale
	out.Shared *= scale
	out.SampleRate = 1 / float64(scale)
	return out
}

// --- bypass suspects -------------------------------------------------------

// address is what is known of one address within the last hour.
type address struct {
	last     int64
	agents   recentSet
	sessions recentSet
	requests window
	refusals window
}

// recentSet holds up to setCap distinct hashes with the time each was
// last seen; when full, the one seen longest ago makes room.
type recentSet struct {
	h    []uint64
	seen []int64
}

func (s *recentSet) add(h uint64, now int64) {
	for i, x := range s.h {
		if x == h {
			s.seen[i] = now
			return
		}
	}
	if len(s.h) < setCap {
		s.h = append(s.h, h)
		s.seen = append(s.seen, now)
		return
	}
	oldest := 0
	for i, t := range s.seen {
		if t < s.seen[oldest] {
			oldest = i
		}
	}
	s.h[oldest], s.seen[oldest] = h, now
}

func (s *recentSet) count(now int64) int {
	n := 0
	for _, t := range s.seen {
		if now-t < 3600 {
			n++
		}
	}
	return n
}

// window counts events in the current and previous clock hour; its
// estimate for the last 60 minutes weighs the previous hour by how much
// of it is still inside them, as the limiter's sliding window does.
type window struct {
	hour      int64
	cur, prev int64
}

func (w *window) add(now int64) {
	w.roll(now)
	w.cur++
}

func (w *window) roll(now int64) {
	switch h := now / 3600; {
	case h == w.hour:
	case h == w.hour+1:
		w.hour, w.prev, w.cur = h, w.cur, 0
	default:
		w.hour, w.prev, w.cur = h, 0, 0
	}
}

func (w window) estimate(now int64) int64 {
	w.roll(now)
	left := 3600 - now%3600
	return w.cur + (w.prev*left+1800)/3600
}

func (a *Analytics) recordAddress(e Event, sess uint64, now int64) {
	ad := a.ips[e.IPKey]
	if ad == nil {
		if len(a.ips) >= a.opts.MaxTracked {
			evict(a.ips, now, func(ad *address) int64 {
				return int64(ad.agents.count(now) + ad.sessions.count(now))
			}, func(ad *address) int64 { return ad.last })
		}
		ad = &address{}
		a.ips[e.IPKey] = ad
	}
	ad.last = now
	ad.agents.add(a.hash(e.Agent), now)
	if sess != 0 {
		ad.sessions.add(sess, now)
	}
	ad.requests.add(now)
	if !e.Allowed {
		ad.refusals.add(now)
	}
}

// evict makes room in a full map: it drops entries idle for an hour, or
// else the least interesting of a few entries picked at random (map order),
// as Redis evicts by sampling, so that no flood of new entries costs more
// than a bounded amount of work.
func evict[T any](m map[string]T, now int64, score func(T) int64, last func(T) int64) {
	const samples = 8
	victim, best, n := "", int64(0), 0
	for k, v := range m {
		if now-last(v) >= 3600 {
			delete(m, k)
			return
		}
		if s := score(v); victim == "" || s < best {
			victim, best = k, s
		}
		if n++; n == samples {
			break
		}
	}
	delete(m, victim)
}

func (a *Analytics) suspects(now int64) []Suspect {
	out := []Suspect{}
	for k, ad := range a.ips {
		if now-ad.last >= 3600 {
			delete(a.ips, k)
			continue
		}
		s := Suspect{IPKey: k, Agents: ad.agents.count(now), Sessions: ad.sessions.count(now), Requests: ad.requests.estimate(now), Refusals: ad.refusals.estimate(now)}
		if s.Agents > SuspectAgents || s.Sessions > SuspectSessions {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y Suspect) int {
		return cmp.Or(cmp.Compare(y.Agents+y.Sessions, x.Agents+x.Sessions), cmp.Compare(y.Refusals, x.Refusals), strings.Compare(x.IPKey, y.IPKey))
	})
	return out[:min(len(out), topN)]
}

// --- offenders -------------------------------------------------------------

type offender struct {
	last     int64
	refusals window
	allowed  window
}

func (a *Analytics) recordOffender(e Event, now int64) {
	o := a.refused[e.Key]
	if o == nil {
		if len(a.refused) >= a.opts.MaxTracked {
			evict(a.refused, now, func(o *offender) int64 { return o.refusals.estimate(now) }, func(o *offender) int64 { return o.last })
		}
		o = &offender{}
		a.refused[e.Key] = o
	}
	o.last = now
	if e.Allowed {
		o.allowed.add(now)
	} else {
		o.refusals.add(now)
	}
}

func (a *Analytics) offenders(now int64) []Offense {
	out := []Offense{}
	for k, o := range a.refused {
		if now-o.last >= 3600 {
			delete(a.refused, k)
			continue
		}
		if r := o.refusals.estimate(now); r > 0 {
			out = append(out, Offense{Key: k, Refusals: r, Allowed: o.allowed.estimate(now)})
		}
	}
	slices.SortFunc(out, func(x, y Offense) int {
		return cmp.Or(cmp.Compare(y.Refusals, x.Refusals), strings.Compare(x.Key, y.Key))
	})
	return out[:min(len(out), topN)]
}
