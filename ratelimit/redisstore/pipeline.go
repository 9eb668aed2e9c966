package redisstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPipelines is how many round trips a Store keeps in flight at
// once when Options.Pipelines is 0.
const DefaultPipelines = 2

// maxBatch bounds the decisions one round trip carries, and maxWaiting the
// decisions queued behind the round trips in flight: past it a decision
// fails at once, and a Failover decides it locally, instead of queueing
// behind a Redis that has stopped answering.
const (
	maxBatch   = 128
	maxWaiting = 16 * maxBatch
)

// errBusy is returned when maxWaiting decisions are already queued.
var errBusy = errors.New("redisstore: too many decisions waiting")

// pipeliner is what a batcher needs of the client: *redis.Client,
// *redis.ClusterClient and *redis.Ring all have it.
type pipeliner interface {
	redis.Scripter
	Pipeline() redis.Pipeliner
}

// batcher sends the scripts of concurrent decisions to Redis together, as
// one pipeline per round trip. Each decision is still one EVALSHA that
// Redis runs atomically on its own; what they share is the write and the
// read, the system calls that dominate a decision's cost on both sides.
//
// Nothing waits to fill a batch. A decision that finds a round trip free
// goes out at once, alone if it is alone; only decisions that arrive while
// every round trip is in flight queue, and the next free one takes all of
// them. So a quiet server pays nothing, and a busy one answers many
// decisions per round trip, with a decision waiting at most about one
// round trip longer than it would have alone.
type batcher struct {
	rdb   pipeliner
	slots int // round trips in flight at most

	mu       sync.Mutex
	inflight int
	waiting  []*call
}

// call is one decision's script run, from the caller that waits for it to
// the round trip that carries it.
type call struct {
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any
	vals   []int64
	err    error
	done   chan struct{}
}

func newBatcher(rdb pipeliner, slots int) *batcher {
	return &batcher{rdb: rdb, slots: slots}
}

// run runs the script for keys and args and returns its reply. It returns
// by ctx's deadline; a decision whose caller has given up may still have
// been counted by Redis, as with any call that times out after it was
// sent.
func (b *batcher) run(ctx context.Context, script *redis.Script, keys []string, args []any) ([]int64, error) {
	c := &call{ctx: ctx, script: script, keys: keys, args: args, done: make(chan struct{})}
	b.mu.Lock()
	if len(b.waiting) >= maxWaiting {
		b.mu.Unlock()
		return nil, errBusy
	}
	b.waiting = append(b.waiting, c)
	if b.inflight < b.slots {
		b.inflight++
		batch := b.take()
		b.mu.Unlock()
		// The caller carries the round trip itself, saving a hand-off,
		// unless the batch holds a decision that may wait longer than
		// this caller's own deadline allows.
		if deadline, ok := latest(batch); within(ctx, deadline, ok) {
			b.carry(batch)
		} else {
			go b.carry(batch)
		}
	} else {
		b.mu.Unlock()
	}
	select {
	case <-c.done:
		return c.vals, c.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// take removes up to maxBatch waiting calls, oldest first. b.mu is held.
func (b *batcher) take() []*call {
	n := min(len(b.waiting), maxBatch)
	batch := make([]*call, n)
	copy(batch, b.waiting)
	rest := copy(b.waiting, b.waiting[n:])
	clear(b.waiting[rest:])
	b.waiting = b.waiting[:rest]
	return batch
}

// carry sends batch on the round trip it holds, then hands that round
// trip to the calls that queued meanwhile, in a goroutine of their own,
// or frees it.
func (b *batcher) carry(batch []*call) {
	b.send(batch)
	b.mu.Lock()
	if len(b.waiting) == 0 {
		b.inflight--
		b.mu.Unlock()
		return
	}
	next := b.take()
	b.mu.Unlock()
	go b.carry(next)
}

// latest is the latest deadline of the batch's callers; ok is false when
// one of them has none, and then the round trip is bounded only by the
// client's own timeouts.
func latest(batch []*call) (deadline time.Time, ok bool) {
	for _, c := range batch {
		d, has := c.ctx.Deadline()
		if !has {
			return time.Time{}, false
		}
		if d.After(deadline) {
			deadline = d
		}
	}
	return deadline, true
}

// within says whether a round trip bounded by deadline (or, when bounded
// is false, only by the client's own timeouts) ends by ctx's deadline.
func within(ctx context.Context, deadline time.Time, bounded bool) bool {
	d, ok := ctx.Deadline()
	if !ok {
		return true // the caller waits as long as it takes anyway
	}
	return bounded && !deadline.After(d)
}

// send runs the batch as one pipeline, bounded by the latest deadline of
// its callers, and hands every caller its reply. Callers that gave up
// while they waited are left out.
func (b *batcher) send(batch []*call) {
	live := batch[:0]
	for _, c := range batch {
		if c.ctx.Err() != nil {
			c.err = c.ctx.Err()
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	// The round trip serves callers other than the one whose goroutine
	// runs it: one caller's cancellation must not cut the others off.
	ctx := context.WithoutCancel(live[0].ctx)
	if deadline, bounded := latest(live); bounded {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if len(live) == 1 {
		c := live[0]
		c.vals, c.err = c.script.Run(ctx, b.rdb, c.keys, c.args...).Int64Slice()
		close(c.done)
		return
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(live))
	for i, c := range live {
		cmds[i] = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	pipe.Exec(ctx) // each command carries its own error
	for i, c := range live {
		c.vals, c.err = cmds[i].Int64Slice()
		if c.err != nil && redis.HasErrorPrefix(c.err, "NOSCRIPT") {
			// Redis lost its scripts (a restart, SCRIPT FLUSH): EVAL
			// loads the script again.
			c.vals, c.err = c.script.Eval(ctx, b.rdb, c.keys, c.args...).Int64Slice()
		}
		close(c.done)
	}
}
