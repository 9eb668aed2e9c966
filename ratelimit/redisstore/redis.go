// Package redisstore keeps the counters of package ratelimit in Redis, so
// that every instance of an application shares one limit. It is a package
// of its own so that an application limiting in memory does not link
// go-redis.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// Options configures a Store. The zero value is usable.
type Options struct {
	// Algorithm defaults to ratelimit.SlidingWindow.
	Algorithm ratelimit.Algorithm
	// Prefix starts every key; default "rl".
	Prefix string
	// Now, when set, replaces Redis's own clock. Leave it nil in
	// production: then every decision reads TIME inside the script, so
	// instances whose clocks disagree still share one limit. Tests set it
	// to move time without sleeping.
	Now func() time.Time
	// Pipelines is how many round trips to Redis may be in flight at
	// once, each carrying the decisions that arrived while the others
	// were out (see batcher); default DefaultPipelines. A negative value
	// sends every decision in a round trip of its own, as does a client
	// without Pipeline().
	Pipelines int
}

// Store is a ratelimit.Store that keeps counters in Redis, shared by
// every process that uses the same server and prefix. Each decision is one
// EVALSHA of one Lua script (EVAL once after a server restart flushed its
// script cache): the script reads every counter of the decision, and only
// if all have room counts the request in all of them, so the decision is
// atomic across any number of processes. Under load, the scripts of
// concurrent decisions share round trips (see Options.Pipelines).
//
// Keys are Prefix:algorithm:policy:key:window-seconds. In a Redis Cluster
// (a *redis.ClusterClient) a decision whose rules do not share one hash
// slot is decided slot by slot, each slot atomically, without ever
// admitting past a limit: see cluster.go. A Store is safe for concurrent
// use.
type Store struct {
	rdb    redis.Scripter
	alg    ratelimit.Algorithm
	prefix string
	now    func() time.Time
	script *redis.Script
	// refund takes back what script counted, for a cluster decision
	// that a later slot refused.
	refund *redis.Script
	tag    string
	batch  *batcher // nil: one round trip per decision
	// cluster is set for a *redis.ClusterClient: each rule's keys are
	// kept in one slot, and rules of different slots decided in turn.
	cluster bool
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a store that uses rdb (a *redis.Client, a
// *redis.ClusterClient or a *redis.Ring). In a cluster, Prefix and the
// policy names must not hold braces: they would choose the keys' slot.
func New(rdb redis.Scripter, opts Options) (*Store, error) {
	alg, err := ratelimit.ParseAlgorithm(string(opts.Algorithm))
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, alg: alg, prefix: opts.Prefix, now: opts.Now}
	if s.prefix == "" {
		s.prefix = "rl"
	}
	_, s.cluster = rdb.(*redis.ClusterClient)
	if s.cluster && strings.ContainsAny(s.prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q: in a cluster a prefix must not hold braces, which would put every key in one slot", s.prefix)
	}
	switch alg {
	case ratelimit.SlidingWindow:
		s.script, s.refund, s.tag = redis.NewScript(slidingScript), redis.NewScript(slidingRefund), "sw"
	case ratelimit.FixedWindow:
		s.script, s.refund, s.tag = redis.NewScript(fixedScript), redis.NewScript(fixedRefund), "fw"
	case ratelimit.SlidingLog:
		s.script, s.refund, s.tag = redis.NewScript(logScript), redis.NewScript(logRefund), "sl"
	}
	if p, ok := rdb.(pipeliner); ok && opts.Pipelines >= 0 {
		slots := opts.Pipelines
		if slots == 0 {
			slots = DefaultPipelines
		}
		s.batch = newBatcher(p, slots)
	}
	return s, nil
}

// Allow implements ratelimit.Store.
func (s *Store) Allow(ctx context.Context, rules []ratelimit.Rule) (ratelimit.Result, error) {
	var cs [ratelimit.MaxLimits]ratelimit.Counters
	e, err := s.eval(ctx, rules, true, &cs)
	if err != nil {
		return ratelimit.Result{}, err
	}
	if e.part != nil {
		return s.refusedByPart(e)
	}
	res, err := s.alg.Decide(rules, e.now, cs[:e.n])
	if err == nil && res.Allowed != e.admitted {
		// The script and Go compare the same numbers the same way;
		// disagreement means a bug, and the script's word (what was
		// counted) is the one that holds.
		return ratelimit.Result{}, errors.New("redisstore: eval: script and store disagree")
	}
	return res, err
}

// Peek implements ratelimit.Store.
func (s *Store) Peek(ctx context.Context, rules []ratelimit.Rule) ([]ratelimit.State, error) {
	var cs [ratelimit.MaxLimits]ratelimit.Counters
	e, err := s.eval(ctx, rules, false, &cs)
	if err != nil {
		return nil, err
	}
	return s.alg.States(rules, e.now, cs[:e.n])
}

// evaluation is what eval learned of a decision.
type evaluation struct {
	now      int64 // Redis's clock, unix microseconds
	n        int   // limits, one counter each
	admitted bool
	// part is set when a cluster decision was refused by the rules of
	// one slot (see evalSlots): those rules (at partIdx in the
	// decision's), their counters and that node's clock. The other
	// slots' counters are unknown or were given back.
	part    []ratelimit.Rule
	partIdx []int
	partCS  []ratelimit.Counters
	partNow int64
}

// eval runs the script and returns Redis's clock, the counters it read
// (one per limit) and whether it admitted the request.
func (s *Store) eval(ctx context.Context, rules []ratelimit.Rule, count bool, cs *[ratelimit.MaxLimits]ratelimit.Counters) (evaluation, error) {
	var e evaluation
	for _, r := range rules {
		if r.Policy == nil {
			return e, errors.New("redisstore: rule without a policy")
		}
		if s.cluster && strings.ContainsAny(r.Policy.Name, "{}") {
			return e, fmt.Errorf("redisstore: policy %q: in a cluster a policy name must not hold braces", r.Policy.Name)
		}
		e.n += len(r.Policy.Limits)
	}
	if e.n > ratelimit.MaxLimits {
		return e, ratelimit.ErrTooManyLimits
	}
	keys := make([]string, 0, e.n)
	lims := make([]any, 0, 2*e.n)
	var b strings.Builder
	for _, r := range rules {
		for _, l := range r.Policy.Limits {
			b.Reset()
			b.WriteString(s.prefix)
			b.WriteByte(':')
			b.WriteString(s.tag)
			b.WriteByte(':')
			b.WriteString(r.Policy.Name)
			b.WriteByte(':')
			if s.cluster && hashTag(r.Key) == "" {
				// The rule's limits in one slot, whatever the key.
				b.WriteByte('{')
				b.WriteString(r.Key)
				b.WriteByte('}')
			} else {
				b.WriteString(r.Key)
			}
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(int64(l.Window/time.Second), 10))
			keys = append(keys, b.String())
			lims = append(lims, l.Requests, l.Window.Microseconds())
		}
	}
	if s.cluster {
		if groups := slotGroups(rules, keys); len(groups) > 1 {
			return s.evalSlots(ctx, rules, count, keys, lims, groups, cs, e)
		}
	}
	vals, err := s.run(ctx, s.script, keys, s.args(count, lims))
	if err != nil {
		return e, err
	}
	if len(vals) != 2+3*e.n {
		return e, errors.New("redisstore: eval: unexpected reply")
	}
	for i := 0; i < e.n; i++ {
		cs[i] = ratelimit.Counters{vals[2+3*i], vals[3+3*i], vals[4+3*i]}
	}
	e.now, e.admitted = vals[1], vals[0] == 1
	return e, nil
}

// args are the script's arguments: the clock (empty for Redis's own),
// whether to count, then each limit's requests and window.
func (s *Store) args(count bool, lims []any) []any {
	args := make([]any, 2, 2+len(lims))
	args[0], args[1] = "", "0"
	if s.now != nil {
		args[0] = s.now().UnixMicro()
	}
	if count {
		args[1] = "1"
	}
	return append(args, lims...)
}

// run runs script, sharing a round trip when the store batches.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args []any) ([]int64, error) {
	var vals []int64
	var err error
	if s.batch != nil {
		vals, err = s.batch.run(ctx, script, keys, args)
	} else {
		vals, err = script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: eval: %w", err)
	}
	return vals, nil
}
