package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// gate is a go-redis hook that holds every round trip until opened and
// counts those that carry scripts, single commands and pipelines alike
// (a new connection's own handshake is not counted).
type gate struct {
	open  chan struct{}
	trips atomic.Int64
	cmds  atomic.Int64
	// beforePipeline, when set, runs before each pipeline is sent.
	beforePipeline func()
}

func newGate() *gate { return &gate{open: make(chan struct{})} }

func (g *gate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		<-g.open
		if isScript(cmd) {
			g.trips.Add(1)
			g.cmds.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		<-g.open
		if g.beforePipeline != nil {
			g.beforePipeline()
		}
		n := 0
		for _, c := range cmds {
			if isScript(c) {
				n++
			}
		}
		if n > 0 {
			g.trips.Add(1)
			g.cmds.Add(int64(n))
		}
		return next(ctx, cmds)
	}
}

func isScript(c redis.Cmder) bool { return c.Name() == "evalsha" || c.Name() == "eval" }

// waitFor waits until n decisions wait behind the round trips in flight
// and inflight round trips are out.
func waitFor(t *testing.T, b *batcher, n, inflight int) {
	t.Helper()
	for i := 0; ; i++ {
		b.mu.Lock()
		got, out := len(b.waiting), b.inflight
		b.mu.Unlock()
		if got == n && out == inflight {
			return
		}
		if i == 10000 {
			t.Fatalf("%d decisions queued and %d round trips out, want %d and %d", got, out, n, inflight)
		}
		time.Sleep(time.Millisecond)
	}
}

// pipelineStore returns a RedisStore with two round trips in flight at
// most, whose client passes every round trip through g.
func pipelineStore(t *testing.T, srv *redistest.Server, g *gate) *Store {
	t.Helper()
	rdb := srv.Client()
	rdb.AddHook(g)
	s, err := New(rdb, Options{Pipelines: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s.batch == nil {
		t.Fatal("a *redis.Client store does not batch")
	}
	return s
}

// decideAll starts one decision per key, each in its own goroutine, and
// returns a function that waits for them all and counts the admitted
// decisions per key. A failed decision fails the test.
func decideAll(t *testing.T, s ratelimit.Store, p *Policy, keys []string) (wait func() map[string]int) {
	t.Helper()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		admitted = map[string]int{}
	)
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Allow(context.Background(), []Rule{{Policy: p, Key: k}})
			if err != nil {
				t.Errorf("%s: %v", k, err)
				return
			}
			if res.Allowed {
				mu.Lock()
				admitted[k]++
				mu.Unlock()
			}
		}()
	}
	return func() map[string]int {
		wg.Wait()
		return admitted
	}
}

// keysOf returns n keys "prefix-0" .. "prefix-(n-1)", each times times.
func keysOf(prefix string, n, times int) []string {
	var keys []string
	for i := 0; i < n; i++ {
		for j := 0; j < times; j++ {
			keys = append(keys, fmt.Sprintf("%s-%d", prefix, i))
		}
	}
	return keys
}

// TestRedisPipelines: decisions that arrive while every round trip is out
// share the next ones, and each is still decided on its own, exactly.
func TestRedisPipelines(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	// Loaded beforehand, so that every decision is one EVALSHA.
	if err := srv.Client().ScriptLoad(context.Background(), slidingScript).Err(); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	s := pipelineStore(t, srv, g)
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 2, Window: time.Minute}}}

	// 200 clients each send 3 requests at once against a limit of 2:
	// 600 decisions, 400 admitted, 2 per client.
	const clients, each = 200, 3
	wait := decideAll(t, s, p, keysOf("client", clients, each))
	// Two decisions hold the two round trips at the gate; the other 598
	// queue behind them.
	waitFor(t, s.batch, clients*each-2, 2)
	close(g.open)
	admitted := wait()

	for c := 0; c < clients; c++ {
		if got := admitted[fmt.Sprintf("client-%d", c)]; got != 2 {
			t.Errorf("client-%d: %d admitted, want 2", c, got)
		}
	}
	// 2 alone, then 598 in batches of at most 128: 5 more.
	if got, want := g.trips.Load(), int64(2+5); got != want {
		t.Errorf("%d round trips for %d decisions, want %d", got, clients*each, want)
	}
	if got := g.cmds.Load(); got != clients*each {
		t.Errorf("%d scripts sent, want %d", got, clients*each)
	}
}

// TestRedisPipelineScriptFlushed: a batch that meets a Redis without the
// script (restarted, or SCRIPT FLUSH) loads it again instead of failing.
func TestRedisPipelineScriptFlushed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	ctx := context.Background()
	admin := srv.Client()
	g := newGate()
	// Redis forgets the script just before each batch reaches it.
	g.beforePipeline = func() {
		if err := admin.ScriptFlush(ctx).Err(); err != nil {
			t.Error(err)
		}
	}
	s := pipelineStore(t, srv, g)
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 1, Window: time.Minute}}}

	const n = 40
	wait := decideAll(t, s, p, keysOf("k", n, 1))
	waitFor(t, s.batch, n-2, 2)
	close(g.open)
	if got := len(wait()); got != n {
		t.Errorf("%d of %d first requests admitted, want all", got, n)
	}
	if got := g.trips.Load(); got >= 2*n {
		t.Errorf("%d round trips for %d decisions: no batch was sent", got, n)
	}
}

// TestRedisPipelineCallerGivesUp: a decision whose caller gives up while it
// waits returns at once with the context's error, and is never sent, so
// it counts nothing.
func TestRedisPipelineCallerGivesUp(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	g := newGate()
	s := pipelineStore(t, srv, g)
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 1, Window: time.Minute}}}

	wait := decideAll(t, s, p, keysOf("held", 2, 1))
	waitFor(t, s.batch, 0, 2)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Allow(ctx, []Rule{{Policy: p, Key: "impatient"}})
		errc <- err
	}()
	waitFor(t, s.batch, 1, 2)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	close(g.open)
	wait()
	// The batcher drops the abandoned call when a round trip frees;
	// once all are back, Redis has seen every call it ever will.
	waitFor(t, s.batch, 0, 0)
	keys, err := srv.Client().Keys(context.Background(), "*impatient*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("abandoned decision was counted: %v", keys)
	}
}

// TestRedisPipelineBusy: when as many decisions wait as the queue holds,
// the next one fails at once (a Failover then decides it locally) instead
// of queueing behind a Redis that does not answer.
func TestRedisPipelineBusy(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	g := newGate()
	s := pipelineStore(t, srv, g)
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 1, Window: time.Minute}}}

	wait := decideAll(t, s, p, keysOf("k", 2+maxWaiting, 1))
	waitFor(t, s.batch, maxWaiting, 2)
	_, err := s.Allow(context.Background(), []Rule{{Policy: p, Key: "one-too-many"}})
	close(g.open)
	wait()
	if !errors.Is(err, errBusy) {
		t.Errorf("past a full queue: got %v, want errBusy", err)
	}
}

// TestWithin: the caller of run carries a round trip itself only when
// the round trip ends by the caller's own deadline.
func TestWithin(t *testing.T) {
	now := time.Now()
	noDeadline := context.Background()
	soon, cancel := context.WithDeadline(context.Background(), now.Add(time.Second))
	defer cancel()
	for _, tt := range []struct {
		name     string
		ctx      context.Context
		deadline time.Time
		bounded  bool
		want     bool
	}{
		{"caller without deadline, unbounded trip", noDeadline, time.Time{}, false, true},
		{"caller without deadline, bounded trip", noDeadline, now.Add(time.Hour), true, true},
		{"trip ends before the caller's deadline", soon, now.Add(time.Millisecond), true, true},
		{"trip ends at the caller's deadline", soon, now.Add(time.Second), true, true},
		{"trip ends after the caller's deadline", soon, now.Add(2 * time.Second), true, false},
		{"unbounded trip, caller with deadline", soon, time.Time{}, false, false},
	} {
		if got := within(tt.ctx, tt.deadline, tt.bounded); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
