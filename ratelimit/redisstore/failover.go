package redisstore

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// sweepEvery is how often the refusal cache drops expired refusals.
const sweepEvery = 10 * time.Second

// FailureMode says what a Failover decides while its shared store is
// unreachable or slow.
type FailureMode string

// The failure modes.
const (
	// Fallback decides with a local store: limits hold per process.
	Fallback FailureMode = "fallback"
	// Open admits every request.
	Open FailureMode = "open"
	// Closed refuses every request with a one-second Retry-After.
	Closed FailureMode = "closed"
)

// FailoverOptions configures a Failover.
type FailoverOptions struct {
	// Mode defaults to Fallback.
	Mode FailureMode
	// Local decides in Fallback mode; required for it.
	Local ratelimit.Store
	// Timeout bounds every call to the shared store; default 100ms.
	Timeout time.Duration
	// Probe checks whether the shared store answers (a PING; to every
	// master of a cluster); required. It is called by Start and Check,
	// and in the background, every ProbeEvery (default 250ms), while the
	// store is down.
	Probe      func(ctx context.Context) error
	ProbeEvery time.Duration
	// Logger hears of each change of state, once.
	Logger *slog.Logger
	// Now is the local clock, for the refusal cache; default time.Now.
	Now func() time.Time
	// OnCall, when set, is told how long each call to the shared store
	// took and whether it failed.
	OnCall func(d time.Duration, err error)
	// RefusalCacheSize bounds the refusal cache; default 100,000 keys.
	RefusalCacheSize int
	// HonoursDeadline says the shared store returns by its context's
	// deadline on its own (go-redis with ContextTimeoutEnabled), so calls
	// need no watchdog goroutine. Leave it false for a client that may
	// block past its context: Failover then returns at the deadline
	// anyway and lets the call finish in the background.
	HonoursDeadline bool
}

// Failover puts a shared store (Redis) behind a timeout, a failure mode
// and a refusal cache, so that the store's faults never become errors or
// hung requests:
//
//   - A call that fails or takes longer than Timeout marks the store down;
//     from then on requests are decided by the failure mode without
//     waiting for it, while a background probe checks every ProbeEvery
//     and marks it up again as soon as it answers.
//   - A key the shared store refused is remembered locally until its
//     Retry-After has passed, so a flood from one client costs the shared
//     store one call, not one per request. Counts only grow until time
//     frees them, so the cache never refuses what the store would admit.
//
// Each change of state is logged once. Close stops the probe. A Failover
// is safe for concurrent use.
type Failover struct {
	shared ratelimit.Store
	opts   FailoverOptions
	down   atomic.Bool
	stats  struct{ calls, errors, cacheHits, fallbacks atomic.Int64 }

	probing atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	deadlines deadlines

	seed      maphash.Seed
	mu        sync.RWMutex // readers: every request; writers: refusals
	refused   map[uint64]cachedRefusal
	nextSweep int64 // when remember next drops expired refusals
}

type cachedRefusal struct {
	until int64 // local unix microseconds
	res   ratelimit.Result
}

var _ ratelimit.Store = (*Failover)(nil)

// NewFailover wraps shared.
func NewFailover(shared ratelimit.Store, opts FailoverOptions) (*Failover, error) {
	if opts.Mode == "" {
		opts.Mode = Fallback
	}
	switch opts.Mode {
	case Fallback:
		if opts.Local == nil {
			return nil, fmt.Errorf("redisstore: failover mode %q needs a Local store", opts.Mode)
		}
	case Open, Closed:
	default:
		return nil, fmt.Errorf("redisstore: unknown failure mode %q: want fallback, open or closed", opts.Mode)
	}
	if opts.Probe == nil {
		return nil, fmt.Errorf("redisstore: failover needs a Probe")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.ProbeEvery <= 0 {
		opts.ProbeEvery = 250 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefusalCacheSize <= 0 {
		opts.RefusalCacheSize = 100_000
	}
	f := &Failover{shared: shared, opts: opts, seed: maphash.MakeSeed(), refused: map[uint64]cachedRefusal{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.deadlines = deadlines{parent: f.ctx, timeout: opts.Timeout}
	return f, nil
}

// Close stops the background probe.
func (f *Failover) Close() {
	f.cancel()
	f.wg.Wait()
}

// Up reports whether the shared store is in use: as of the last call,
// probe or Check. Before any of them it reports true, an assumption;
// Start replaces it with a probe.
func (f *Failover) Up() bool { return !f.down.Load() }

// Start probes the shared store once, before the first decision, and
// takes the answer as the Failover's state: down (decisions go to the
// failure mode at once, and the background probe watches for the store)
// or up. The probe is bounded by ctx's deadline when ctx has one and the
// store honours deadlines (a first connection, with its TLS handshake or
// a sentinel's answer, may take longer than a decision may wait), else by
// Timeout. It logs nothing, so that the caller can say in one line which
// store it probed; it returns the probe's error.
func (f *Failover) Start(ctx context.Context) error {
	var err error
	if _, ok := ctx.Deadline(); ok && f.opts.HonoursDeadline {
		err = f.opts.Probe(ctx)
	} else {
		_, err = bounded(ctx, f, func(ctx context.Context) (struct{}, error) { return struct{}{}, f.opts.Probe(ctx) })
	}
	if err != nil {
		f.setDown(err, false)
	} else {
		f.down.Store(false)
	}
	return err
}

// Check probes the shared store now, as Start does, and records the
// answer, logging a change of state as a failed call or the background
// probe would. A health check calls it, so that what it reports was seen
// rather than assumed from the last decision, which may be long ago. A
// Check cut short by ctx (the caller left) changes nothing.
func (f *Failover) Check(ctx context.Context) error {
	_, err := bounded(ctx, f, func(ctx context.Context) (struct{}, error) { return struct{}{}, f.opts.Probe(ctx) })
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		f.markDown(err)
	case f.down.Swap(false):
		f.opts.Logger.Info("redis answers again: limits are shared once more")
	}
	return err
}

// FailoverStats counts what a Failover did since it started.
type FailoverStats struct {
	Calls     int64 // calls to the shared store
	Errors    int64 // of which failed or timed out
	CacheHits int64 // requests refused from the refusal cache, saving a call
	Fallbacks int64 // decisions made by the failure mode
}

// Stats reports the counters.
func (f *Failover) Stats() FailoverStats {
	return FailoverStats{
		Calls:     f.stats.calls.Load(),
		Errors:    f.stats.errors.Load(),
		CacheHits: f.stats.cacheHits.Load(),
		Fallbacks: f.stats.fallbacks.Load(),
	}
}

func (f *Failover) ruleHash(r ratelimit.Rule) uint64 {
	return maphash.String(f.seed, r.Key) ^ maphash.String(f.seed, r.Policy.Name)*0x9e3779b97f4a7c15
}

// Allow implements Store.
func (f *Failover) Allow(ctx context.Context, rules []ratelimit.Rule) (ratelimit.Result, error) {
	now := f.opts.Now().UnixMicro()
	if res, ok := f.cached(rules, now); ok {
		f.stats.cacheHits.Add(1)
		return res, nil
	}
	if f.down.Load() {
		return f.degraded(ctx, rules)
	}
	start := time.Now()
	res, err := bounded(ctx, f, func(ctx context.Context) (ratelimit.Result, error) { return f.shared.Allow(ctx, rules) })
	f.observe(time.Since(start), err)
	if err != nil {
		if ctx.Err() != nil {
			// The client left; that says nothing about the store.
			return ratelimit.Result{}, ctx.Err()
		}
		f.markDown(err)
		return f.degraded(ctx, rules)
	}
	if !res.Allowed && res.RetryAfter > 0 {
		f.remember(rules, res, now)
	}
	return res, nil
}

// Peek implements Store. While the shared store is down it peeks at the
// local store, or reports nothing.
func (f *Failover) Peek(ctx context.Context, rules []ratelimit.Rule) ([]ratelimit.State, error) {
	if !f.down.Load() {
		start := time.Now()
		st, err := bounded(ctx, f, func(ctx context.Context) ([]ratelimit.State, error) { return f.shared.Peek(ctx, rules) })
		f.observe(time.Since(start), err)
		if err == nil {
			return st, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		f.markDown(err)
	}
	if f.opts.Mode == Fallback {
		return f.opts.Local.Peek(ctx, rules)
	}
	return nil, nil
}

// bounded calls fn with the Failover's timeout as its deadline. A store
// that honours its deadline is called directly; otherwise fn runs in a
// goroutine and bounded returns at the deadline even if fn does not (go-redis
// without ContextTimeoutEnabled waits for its own ReadTimeout), leaving fn to
// finish in the background. Every call to the shared store and every probe
// goes through here, so none can hold a request past the timeout.
func bounded[T any](ctx context.Context, f *Failover, fn func(context.Context) (T, error)) (T, error) {
	ctx = f.deadlines.bound(ctx, time.Now())
	if f.opts.HonoursDeadline {
		return fn(ctx)
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (f *Failover) observe(d time.Duration, err error) {
	f.stats.calls.Add(1)
	if err != nil {
		f.stats.errors.Add(1)
	}
	if f.opts.OnCall != nil {
		f.opts.OnCall(d, err)
	}
}

func (f *Failover) degraded(ctx context.Context, rules []ratelimit.Rule) (ratelimit.Result, error) {
	f.stats.fallbacks.Add(1)
	switch f.opts.Mode {
	case Open:
		return ratelimit.Result{Allowed: true, Remaining: -1}, nil
	case Closed:
		// The refusal names the first limit that applies; a decision
		// with none has nothing to refuse it.
		for i, r := range rules {
			if r.Policy != nil && len(r.Policy.Limits) > 0 {
				p := r.Policy
				return ratelimit.Result{Policy: p.Name, Note: p.Note, Limit: p.Limits[0], RetryAfter: time.Second, ResetAfter: time.Second, Refused: 1 << min(i, 63)}, nil
			}
		}
		return ratelimit.Result{Allowed: true, Remaining: -1}, nil
	}
	return f.opts.Local.Allow(ctx, rules)
}

func (f *Failover) markDown(err error) {
	f.setDown(err, true)
}

// setDown marks the store down, logging the change when log is set, and
// starts the background probe.
func (f *Failover) setDown(err error, log bool) {
	if f.down.Swap(true) {
		return
	}
	if log {
		f.opts.Logger.Warn("redis unreachable or slow: deciding with the failure mode until it answers", "mode", string(f.opts.Mode), "err", err)
	}
	if f.probing.Swap(true) {
		return
	}
	f.wg.Add(1)
	go f.probe()
}

func (f *Failover) probe() {
	defer f.wg.Done()
	defer f.probing.Store(false)
	t := time.NewTicker(f.opts.ProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		_, err := bounded(f.ctx, f, func(ctx context.Context) (struct{}, error) { return struct{}{}, f.opts.Probe(ctx) })
		if err == nil {
			// Check may have seen it first.
			if f.down.Swap(false) {
				f.opts.Logger.Info("redis answers again: limits are shared once more")
			}
			return
		}
	}
}

// cached returns a remembered refusal for any of the rules.
func (f *Failover) cached(rules []ratelimit.Rule, now int64) (ratelimit.Result, bool) {
	// A read lock: every request passes here, and most find nothing.
	// Expired entries are left for remember to sweep.
	f.mu.RLock()
	defer f.mu.RUnlock()
	if len(f.refused) == 0 {
		return ratelimit.Result{}, false
	}
	for _, r := range rules {
		c, ok := f.refused[f.ruleHash(r)]
		if !ok || c.until <= now {
			continue
		}
		res := c.res
		res.RetryAfter = time.Duration(c.until-now) * time.Microsecond
		return res, true
	}
	return ratelimit.Result{}, false
}

// remember caches a refusal under each rule that refused.
func (f *Failover) remember(rules []ratelimit.Rule, res ratelimit.Result, now int64) {
	until := now + res.RetryAfter.Microseconds()
	f.mu.Lock()
	defer f.mu.Unlock()
	if now >= f.nextSweep || len(f.refused) >= f.opts.RefusalCacheSize {
		f.nextSweep = now + sweepEvery.Microseconds()
		for h, c := range f.refused {
			if c.until <= now {
				delete(f.refused, h)
			}
		}
		if len(f.refused) >= f.opts.RefusalCacheSize {
			return
		}
	}
	for i, r := range rules {
		if i < 64 && res.Refused&(1<<i) != 0 {
			f.refused[f.ruleHash(r)] = cachedRefusal{until: until, res: res}
		}
	}
}

// deadlineStep is how long calls keep starting under one shared deadline.
const deadlineStep = time.Millisecond

// deadlines hands out what bounds each call to the shared store. A timer
// started and stopped for every call (context.WithTimeout) costs a busy
// server as much as the call's own work in Go; so calls that start within
// the same millisecond share one deadline, Timeout after the end of that
// millisecond: each call gets at least Timeout and at most a millisecond
// more. Each shared deadline's timer ends it; Close (the parent) ends all.
type deadlines struct {
	parent  context.Context
	timeout time.Duration
	cur     atomic.Pointer[deadline]
}

type deadline struct {
	from time.Time // calls starting before from+deadlineStep share it
	ctx  context.Context
	// cancel is held, never called: the deadline's own timer ends the
	// context, and Close ends its parent.
	cancel context.CancelFunc
}

// bound returns ctx with its values, bounded by the deadline shared by
// calls that start at now. A call made under it is not cut short when ctx
// itself is cancelled: it is short anyway, and its answer still counts.
func (d *deadlines) bound(ctx context.Context, now time.Time) context.Context {
	cur := d.cur.Load()
	if cur == nil || now.Sub(cur.from) >= deadlineStep || now.Before(cur.from) {
		// Two callers may both start one; the later Store wins and
		// the other deadline serves its own caller only.
		cur = &deadline{from: now}
		cur.ctx, cur.cancel = context.WithDeadline(d.parent, now.Add(deadlineStep+d.timeout))
		d.cur.Store(cur)
	}
	return boundCtx{Context: ctx, shared: cur.ctx}
}

// boundCtx carries its caller's values under a shared deadline.
type boundCtx struct {
	context.Context
	shared context.Context
}

func (c boundCtx) Deadline() (time.Time, bool) { return c.shared.Deadline() }
func (c boundCtx) Done() <-chan struct{}       { return c.shared.Done() }
func (c boundCtx) Err() error                  { return c.shared.Err() }
