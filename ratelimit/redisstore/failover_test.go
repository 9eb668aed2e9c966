package redisstore

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// syncBuffer is a log sink that tests can read while the store writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFailover(t *testing.T, srv *redistest.Server, mode FailureMode, log *syncBuffer) *Failover {
	t.Helper()
	rdb := srv.Client()
	shared, err := New(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFailover(shared, FailoverOptions{
		Mode:       mode,
		Local:      local,
		Timeout:    time.Second,
		Probe:      func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		ProbeEvery: 20 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func TestFailoverModes(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	tests := []struct {
		mode     FailureMode
		admitted int // of 10 while Redis is down
	}{
		{Fallback, 3},
		{Open, 10},
		{Closed, 0},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			srv := redistest.Start(t, redistest.Options{})
			var log syncBuffer
			f := newFailover(t, srv, tt.mode, &log)
			ctx := context.Background()
			if res, err := f.Allow(ctx, []Rule{{Policy: p, Key: "before"}}); err != nil || !res.Allowed {
				t.Fatalf("with Redis up: %+v, %v", res, err)
			}
			srv.Stop()
			admitted := 0
			for i := 0; i < 10; i++ {
				res, err := f.Allow(ctx, []Rule{{Policy: p, Key: "during"}})
				if err != nil {
					t.Fatalf("request %d with Redis down: error %v, want a decision", i, err)
				}
				if res.Allowed {
					admitted++
				} else if tt.mode == Closed && res.RetryAfter != time.Second {
					t.Errorf("closed refusal: retry after %v, want 1s", res.RetryAfter)
				}
			}
			if admitted != tt.admitted {
				t.Errorf("admitted %d of 10 with Redis down, want %d", admitted, tt.admitted)
			}
			if f.Up() {
				t.Error("Up() = true with Redis down")
			}
			st := f.Stats()
			if st.Errors != 1 {
				// One failed call marks it down; the rest never wait for it.
				t.Errorf("redis errors = %d, want 1", st.Errors)
			}
			srv.Restart()
			waitUp(t, f)
			// Up turns true just before the recovery is logged: wait for
			// the line, then count.
			for i := 0; i < 500 && !strings.Contains(log.String(), "answers again"); i++ {
				time.Sleep(10 * time.Millisecond)
			}
			if got := strings.Count(log.String(), "redis unreachable"); got != 1 {
				t.Errorf("logged the outage %d times, want once", got)
			}
			if got := strings.Count(log.String(), "answers again"); got != 1 {
				t.Errorf("logged the recovery %d times, want once", got)
			}
			// Shared again: the store is fresh after the restart.
			for i := 0; i < 3; i++ {
				if res, _ := f.Allow(ctx, []Rule{{Policy: p, Key: "after"}}); !res.Allowed {
					t.Fatalf("after recovery request %d refused", i)
				}
			}
			if res, _ := f.Allow(ctx, []Rule{{Policy: p, Key: "after"}}); res.Allowed {
				t.Fatal("after recovery: 4th admitted")
			}
			if f.Stats().Calls <= st.Calls {
				t.Error("after recovery the shared store was not called")
			}
		})
	}
}

func waitUp(t *testing.T, f *Failover) {
	t.Helper()
	for i := 0; !f.Up(); i++ {
		if i > 500 {
			t.Fatal("failover did not see Redis come back in 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFailoverSlowRedis makes Redis hang (DEBUG SLEEP) longer than the
// timeout: decisions go on locally instead of waiting.
func TestFailoverSlowRedis(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	shared, _ := New(rdb, Options{})
	local, _ := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	f, err := NewFailover(shared, FailoverOptions{
		Local:   local,
		Timeout: 50 * time.Millisecond,
		Probe:   func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		// The test client has ContextTimeoutEnabled: no watchdog needed.
		HonoursDeadline: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Another connection puts the server to sleep for two seconds.
	sleeper := srv.Client()
	go sleeper.Do(context.Background(), "DEBUG", "SLEEP", "2")
	for i := 0; i < 100; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err != nil {
			break // the sleep has begun
		}
		time.Sleep(5 * time.Millisecond)
	}
	admitted := 0
	for i := 0; i < 5; i++ {
		res, err := f.Allow(context.Background(), []Rule{{Policy: p, Key: "slow"}})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if res.Allowed {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("admitted %d of 5 while Redis hangs, want 3 (local fallback)", admitted)
	}
	if f.Up() {
		t.Error("Up() = true while Redis hangs")
	}
	if st := f.Stats(); st.Calls != 1 {
		t.Errorf("calls to a hanging Redis = %d, want 1", st.Calls)
	}
}

// TestRefusalCache floods one key: after the first refusal Redis is not
// asked again until the wait is over.
func TestRefusalCache(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	srv := redistest.Start(t, redistest.Options{})
	var log syncBuffer
	f := newFailover(t, srv, Fallback, &log)
	c := newClock()
	f.opts.Now = c.Now
	ctx := context.Background()
	refused := 0
	for i := 0; i < 100; i++ {
		res, err := f.Allow(ctx, []Rule{{Policy: p, Key: "flood"}})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Allowed {
			refused++
			if res.RetryAfter <= 0 {
				t.Fatalf("refusal %d without a wait", refused)
			}
		}
	}
	st := f.Stats()
	if refused != 97 || st.Calls != 4 || st.CacheHits != 96 {
		t.Errorf("refused %d, calls %d, cache hits %d; want 97, 4, 96", refused, st.Calls, st.CacheHits)
	}
	// Another client is not affected by the cache.
	if res, _ := f.Allow(ctx, []Rule{{Policy: p, Key: "other"}}); !res.Allowed {
		t.Error("another client refused")
	}
	// Once the wait has passed, Redis is asked again.
	c.Set(c.Now().Add(2 * time.Minute))
	before := f.Stats().Calls
	f.Allow(ctx, []Rule{{Policy: p, Key: "flood"}})
	if f.Stats().Calls != before+1 {
		t.Error("after the wait, Redis was not asked")
	}
	// A new refusal after the sweep interval drops the expired ones: the
	// cache holds only what still refuses.
	f.mu.Lock()
	f.refused[12345] = cachedRefusal{until: c.Now().UnixMicro() - 1} // long expired
	f.mu.Unlock()
	c.Set(c.Now().Add(sweepEvery + time.Second))
	for i := 0; i < 4; i++ {
		f.Allow(ctx, []Rule{{Policy: p, Key: "late"}})
	}
	now := c.Now().UnixMicro()
	f.mu.RLock()
	defer f.mu.RUnlock()
	if _, ok := f.refused[12345]; ok {
		t.Error("an expired refusal survived the sweep")
	}
	for h, e := range f.refused {
		if e.until <= now {
			t.Errorf("refusal cache entry %x expired but kept", h)
		}
	}
	if len(f.refused) == 0 {
		t.Error("the late flooder's refusal was not cached")
	}
}

// TestRedisClockSkew: decisions use Redis's clock, so an instance whose
// own clock is off still shares one limit with the others. The
// counterfactual store, which takes each instance's local time, admits
// more: that is what TIME inside the script prevents.
func TestRedisClockSkew(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	srv := redistest.Start(t, redistest.Options{})
	skewed := func() time.Time { return time.Now().Add(2 * time.Minute) }
	ctx := context.Background()
	count := func(a, b ratelimit.Store) int {
		n := 0
		for i := 0; i < 10; i++ {
			s := a
			if i%2 == 1 {
				s = b
			}
			res, err := s.Allow(ctx, []Rule{{Policy: p, Key: "skew"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Allowed {
				n++
			}
		}
		return n
	}
	// The instance with a skewed clock wraps its Redis store in a Failover
	// that uses the skewed clock for everything local.
	rdb := srv.Client()
	straight, _ := New(rdb, Options{Prefix: "time"})
	inner, _ := New(rdb, Options{Prefix: "time"})
	local, _ := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Now: skewed})
	skewedInstance, err := NewFailover(inner, FailoverOptions{Local: local, Now: skewed, Probe: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer skewedInstance.Close()
	if got := count(straight, skewedInstance); got != 3 {
		t.Errorf("with Redis TIME: admitted %d, want 3", got)
	}
	// Counterfactual: local clocks two minutes apart put the instances in
	// windows that never meet, for the same key.
	now := time.Now()
	a, _ := New(rdb, Options{Prefix: "local", Now: func() time.Time { return now }})
	b, _ := New(rdb, Options{Prefix: "local", Now: func() time.Time { return now.Add(2 * time.Minute) }})
	if got := count(a, b); got <= 3 {
		t.Errorf("with local clocks: admitted %d, want more than 3 (the failure TIME prevents)", got)
	}
}

func TestFailoverOptionErrors(t *testing.T) {
	probe := func(context.Context) error { return nil }
	for _, o := range []FailoverOptions{
		{Mode: "maybe", Probe: probe},
		{Mode: Fallback, Probe: probe},
		{Mode: Open},
	} {
		if _, err := NewFailover(nil, o); err == nil {
			t.Errorf("NewFailover(%+v) succeeded", o)
		}
	}
}

// errStore fails every call.
type errStore struct{}

func (errStore) Allow(context.Context, []Rule) (Result, error) { return Result{}, errors.New("boom") }
func (errStore) Peek(context.Context, []Rule) ([]ratelimit.State, error) {
	return nil, errors.New("boom")
}

func TestFailoverClientGone(t *testing.T) {
	f, err := NewFailover(errStore{}, FailoverOptions{Mode: Open, Probe: func(context.Context) error { return errors.New("down") }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &Policy{Name: "p", Limits: []Limit{{Requests: 1, Window: time.Minute}}}
	if _, err := f.Allow(ctx, []Rule{{Policy: p, Key: "k"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with a cancelled request = %v, want context.Canceled", err)
	}
	if !f.Up() {
		t.Error("a cancelled request marked the store down")
	}
}

// hangStore ignores its context and answers only when released, like a
// Redis client whose own read timeout is longer than the failover's.
type hangStore struct{ release chan struct{} }

func (h hangStore) Allow(context.Context, []Rule) (Result, error) {
	<-h.release
	return Result{Allowed: true}, nil
}

func (h hangStore) Peek(context.Context, []Rule) ([]ratelimit.State, error) {
	<-h.release
	return nil, nil
}

func TestFailoverBoundsAClientThatIgnoresItsContext(t *testing.T) {
	h := hangStore{release: make(chan struct{})}
	defer close(h.release)
	f, err := NewFailover(h, FailoverOptions{Mode: Closed, Timeout: 20 * time.Millisecond, Probe: func(context.Context) error { return errors.New("down") }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &Policy{Name: "p", Limits: []Limit{{Requests: 1, Window: time.Minute}}}
	res, err := f.Allow(context.Background(), []Rule{{Policy: p, Key: "k"}})
	if err != nil || res.Allowed || res.RetryAfter != time.Second {
		t.Errorf("Allow = %+v, %v; want the closed mode's refusal", res, err)
	}
	if f.Up() {
		t.Error("Up() = true after a timeout")
	}
}

// TestSharedDeadlines: calls that start within one millisecond share one
// deadline, which gives each of them at least the timeout; a call keeps
// its caller's values but not its cancellation; Close ends them all.
func TestSharedDeadlines(t *testing.T) {
	type key struct{}
	parent, stop := context.WithCancel(context.Background())
	d := deadlines{parent: parent, timeout: 100 * time.Millisecond}
	t0 := time.Now()
	caller, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))

	a := d.bound(caller, t0)
	b := d.bound(context.Background(), t0.Add(deadlineStep/2))
	c := d.bound(context.Background(), t0.Add(deadlineStep))
	if a.Done() != b.Done() {
		t.Error("calls within one step got different deadlines")
	}
	if a.Done() == c.Done() {
		t.Error("a call one step later shares the earlier deadline")
	}
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		start time.Time
	}{{"a", a, t0}, {"b", b, t0.Add(deadlineStep / 2)}, {"c", c, t0.Add(deadlineStep)}} {
		dl, ok := tt.ctx.Deadline()
		if !ok {
			t.Fatalf("%s: no deadline", tt.name)
		}
		if left := dl.Sub(tt.start); left < d.timeout || left > d.timeout+deadlineStep {
			t.Errorf("%s: deadline %v after its start, want between %v and %v", tt.name, left, d.timeout, d.timeout+deadlineStep)
		}
	}
	if got := a.Value(key{}); got != "v" {
		t.Errorf("caller's value: got %v, want v", got)
	}
	cancel()
	if err := a.Err(); err != nil {
		t.Errorf("after the caller cancelled: %v, want the call still bounded only by its deadline", err)
	}
	stop()
	for _, ctx := range []context.Context{a, b, c} {
		<-ctx.Done()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Errorf("after Close: %v, want context.Canceled", ctx.Err())
		}
	}
}

// TestFailoverStartAndCheck: Start takes a real probe's answer as the
// first state, without a log line, so that a Redis that never answered is
// not reported up; Check probes again, logs a change, and follows Redis
// down and back without any decision being made.
func TestFailoverStartAndCheck(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{})
	var log syncBuffer
	f := newFailover(t, srv, Fallback, &log)
	srv.Stop()
	if !f.Up() {
		t.Fatal("before any probe: got down, want the assumed up")
	}
	if err := f.Start(ctx); err == nil {
		t.Fatal("Start on a stopped Redis: got no error")
	}
	if f.Up() {
		t.Error("after Start on a stopped Redis: got up, want down")
	}
	if got := log.String(); got != "" {
		t.Errorf("Start logged %q, want nothing (its caller logs the result)", got)
	}
	if f.Stats().Calls != 0 {
		t.Errorf("decisions made: got %d, want none", f.Stats().Calls)
	}
	srv.Restart()
	if err := f.Check(ctx); err != nil {
		t.Fatalf("Check on a running Redis: got %v, want nil", err)
	}
	if !f.Up() {
		t.Error("after Check on a running Redis: got down, want up")
	}
	srv.Stop()
	if err := f.Check(ctx); err == nil || f.Up() {
		t.Errorf("Check after Redis stopped: got %v and up %v, want an error and down", err, f.Up())
	}
	if got := strings.Count(log.String(), "redis unreachable"); got != 1 {
		t.Errorf("Check's change to down: got %d log lines about it, want 1:\n%s", got, log.String())
	}
	srv.Restart()
	waitUp(t, f) // the background probe started by Check
	// Up turns true just before the recovery is logged.
	for i := 0; i < 500 && strings.Count(log.String(), "redis answers again") < 2; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Count(log.String(), "redis answers again"); got != 2 {
		t.Errorf("got %d lines saying Redis answers again, want 2 (one per return):\n%s", got, log.String())
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	srv.Stop()
	f.Check(gone)
	if !f.Up() {
		t.Error("a Check whose caller left marked the store down; want no change")
	}
}

// TestFailoverStartWaitsForAFirstConnection: a probe slower than Timeout
// (a first TLS handshake) still counts at start-up when Start's context
// allows it, and fails without a deadline of its own.
func TestFailoverStartWaitsForAFirstConnection(t *testing.T) {
	slow := func(ctx context.Context) error {
		select {
		case <-time.After(200 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		deadline time.Duration // 0: none
		up       bool
	}{
		{"a deadline that allows it", 10 * time.Second, true},
		{"no deadline: Timeout bounds it", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFailover(errStore{}, FailoverOptions{Local: local, Timeout: 10 * time.Millisecond, Probe: slow, HonoursDeadline: true, ProbeEvery: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			err = f.Start(ctx)
			if (err == nil) != tt.up || f.Up() != tt.up {
				t.Errorf("got %v and up %v, want up %v", err, f.Up(), tt.up)
			}
		})
	}
}
