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
// Keys are Prefix:algorithm:policy:key:window-seconds. A Store is safe for
// concurrent use.
type Store struct {
	rdb    redis.Scripter
	alg    ratelimit.Algorithm
	prefix string
	now    func() time.Time
	script *redis.Script
	tag    string
	batch  *batcher // nil: one round trip per decision
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a store that uses rdb (a *redis.Client, a
// *redis.ClusterClient or a *redis.Ring).
func New(rdb redis.Scripter, opts Options) (*Store, error) {
	alg, err := ratelimit.ParseAlgorithm(string(opts.Algorithm))
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, alg: alg, prefix: opts.Prefix, now: opts.Now}
	if s.prefix == "" {
		s.prefix = "rl"
	}
	switch alg {
	case ratelimit.SlidingWindow:
		s.script, s.tag = redis.NewScript(slidingScript), "sw"
	case ratelimit.FixedWindow:
		s.script, s.tag = redis.NewScript(fixedScript), "fw"
	case ratelimit.SlidingLog:
		s.script, s.tag = redis.NewScript(logScript), "sl"
	}
	if p, ok := rdb.(pipeliner); ok && opts.Pipelines >= 0 {
		slots := opts.Pipelines
		if slots == 0 {
			slots = DefaultPipelines
		}
		s.batch = newBatcher(p, s.script, slots)
	}
	return s, nil
}

// Allow implements ratelimit.Store.
func (s *Store) Allow(ctx context.Context, rules []ratelimit.Rule) (ratelimit.Result, error) {
	var cs [ratelimit.MaxLimits]ratelimit.Counters
	now, n, admitted, err := s.eval(ctx, rules, true, &cs)
	if err != nil {
		return ratelimit.Result{}, err
	}
	res, err := s.alg.Decide(rules, now, cs[:n])
	if err == nil && res.Allowed != admitted {
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
	now, n, _, err := s.eval(ctx, rules, false, &cs)
	if err != nil {
		return nil, err
	}
	return s.alg.States(rules, now, cs[:n])
}

// eval runs the script once and returns Redis's clock, the counters it
// read (one per limit) and whether it admitted the request.
func (s *Store) eval(ctx context.Context, rules []ratelimit.Rule, count bool, cs *[ratelimit.MaxLimits]ratelimit.Counters) (now int64, n int, admitted bool, err error) {
	for _, r := range rules {
		if r.Policy == nil {
			return 0, 0, false, errors.New("redisstore: rule without a policy")
		}
		n += len(r.Policy.Limits)
	}
	if n > ratelimit.MaxLimits {
		return 0, 0, false, ratelimit.ErrTooManyLimits
	}
	keys := make([]string, 0, n)
	args := make([]any, 2, 2+2*n)
	args[0], args[1] = "", "0"
	if s.now != nil {
		args[0] = s.now().UnixMicro()
	}
	if count {
		args[1] = "1"
	}
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
			b.WriteString(r.Key)
			b.WriteByte(':')
			b.WriteString(strconv.FormatInt(int64(l.Window/time.Second), 10))
			keys = append(keys, b.String())
			args = append(args, l.Requests, l.Window.Microseconds())
		}
	}
	var vals []int64
	if s.batch != nil {
		vals, err = s.batch.run(ctx, keys, args)
	} else {
		vals, err = s.script.Run(ctx, s.rdb, keys, args...).Int64Slice()
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("redisstore: eval: %w", err)
	}
	if len(vals) != 2+3*n {
		return 0, 0, false, errors.New("redisstore: eval: unexpected reply")
	}
	for i := 0; i < n; i++ {
		cs[i] = ratelimit.Counters{vals[2+3*i], vals[3+3*i], vals[4+3*i]}
	}
	return vals[1], n, vals[0] == 1, nil
}
