// Package storetest holds the behaviour every ratelimit.Store must show,
// run by the tests of each store against a real backend.
package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// Clock is a test clock that only moves when told. It is safe for
// concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at a minute boundary, so window edges are easy to reason
// about.
func NewClock() *Clock {
	return &Clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
}

// Now reads the clock.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// NewStore makes a fresh, empty store of one kind counting with alg on
// the clock's time.
type NewStore func(t *testing.T, alg ratelimit.Algorithm, now func() time.Time) ratelimit.Store

var algorithms = []ratelimit.Algorithm{ratelimit.SlidingWindow, ratelimit.FixedWindow, ratelimit.SlidingLog}

// Run checks the decisions of the stores newStore makes: steps of each
// algorithm on a moving clock, the fixed window's edge burst, and layers
// counted together or not at all.
func Run(t *testing.T, newStore NewStore) {
	t.Run("Steps", func(t *testing.T) { steps(t, newStore) })
	t.Run("FixedWindowEdgeBurst", func(t *testing.T) { edgeBurst(t, newStore) })
	t.Run("Layers", func(t *testing.T) { layers(t, newStore) })
	t.Run("Peek", func(t *testing.T) { peek(t, newStore) })
}

// step is one request at an offset from the clock's start.
type step struct {
	at        time.Duration
	ok        bool
	remaining int
	retry     time.Duration // when refused: at least this, within a second
}

func runSteps(t *testing.T, s ratelimit.Store, c *Clock, rules []ratelimit.Rule, steps []step) {
	t.Helper()
	start := c.Now()
	for i, st := range steps {
		c.Set(start.Add(st.at))
		res, err := s.Allow(context.Background(), rules)
		if err != nil {
			t.Fatalf("step %d (t=%v): %v", i, st.at, err)
		}
		if res.Allowed != st.ok {
			t.Fatalf("step %d (t=%v): allowed = %v, want %v (%+v)", i, st.at, res.Allowed, st.ok, res)
		}
		if st.ok && res.Remaining != st.remaining {
			t.Errorf("step %d (t=%v): remaining = %d, want %d", i, st.at, res.Remaining, st.remaining)
		}
		if !st.ok && (res.RetryAfter < st.retry || res.RetryAfter > st.retry+time.Second) {
			t.Errorf("step %d (t=%v): retry after = %v, want %v (+ at most 1s)", i, st.at, res.RetryAfter, st.retry)
		}
	}
}

func steps(t *testing.T, newStore NewStore) {
	perMinute := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}}}
	tests := []struct {
		name  string
		alg   ratelimit.Algorithm
		steps []step
	}{
		{"sliding three then refused", ratelimit.SlidingWindow, []step{
			{0, true, 2, 0}, {time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			// All three sit in the current window: room only comes back
			// when the next window weighs them down to below 2.
			{3 * time.Second, false, 0, 57*time.Second + 20*time.Second},
		}},
		{"sliding weighs the previous window", ratelimit.SlidingWindow, []step{
			{0, true, 2, 0}, {1 * time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			// 30s into the next window the previous three weigh 1.5.
			{90 * time.Second, true, 0, 0},
			// 1.5 + 1 = 2.5; one more needs 3*(60-e)/60+1+1 <= 3 → e >= 40s.
			{91 * time.Second, false, 0, 9 * time.Second},
			{100 * time.Second, true, 0, 0},
		}},
		{"fixed resets at the window edge", ratelimit.FixedWindow, []step{
			{0, true, 2, 0}, {time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			{30 * time.Second, false, 0, 30 * time.Second},
			{60 * time.Second, true, 2, 0},
		}},
		{"log frees the oldest", ratelimit.SlidingLog, []step{
			{0, true, 2, 0}, {10 * time.Second, true, 1, 0}, {20 * time.Second, true, 0, 0},
			{30 * time.Second, false, 0, 30 * time.Second},
			{60*time.Second + time.Millisecond, true, 0, 0},
			{61 * time.Second, false, 0, 9 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock()
			s := newStore(t, tt.alg, c.Now)
			runSteps(t, s, c, []ratelimit.Rule{{Policy: perMinute, Key: "k"}}, tt.steps)
		})
	}
}

// edgeBurst shows the weakness the guide warns of: a client that sends
// the limit at the end of one window and again at the start of the next
// gets twice the limit within a few seconds. The sliding algorithms do not
// allow it.
func edgeBurst(t *testing.T, newStore NewStore) {
	p := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}}}
	want := map[ratelimit.Algorithm]int{ratelimit.FixedWindow: 6, ratelimit.SlidingWindow: 3, ratelimit.SlidingLog: 3}
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			c := NewClock()
			s := newStore(t, alg, c.Now)
			start := c.Now()
			admitted := 0
			for _, at := range []time.Duration{58 * time.Second, 62 * time.Second} {
				c.Set(start.Add(at))
				for i := 0; i < 3; i++ {
					res, err := s.Allow(context.Background(), []ratelimit.Rule{{Policy: p, Key: "edge"}})
					if err != nil {
						t.Fatal(err)
					}
					if res.Allowed {
						admitted++
					}
				}
			}
			if admitted != want[alg] {
				t.Errorf("admitted %d across the window edge, want %d", admitted, want[alg])
			}
		})
	}
}

// layers checks that a request is counted in every layer only when every
// layer has room, and that the refusal names the right one.
func layers(t *testing.T, newStore NewStore) {
	client := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}, {Requests: 5, Window: time.Hour}}}
	perIP := &ratelimit.Policy{Name: "per-ip", Note: "per IP", Limits: []ratelimit.Limit{{Requests: 4, Window: time.Minute}}}
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			c := NewClock()
			s := newStore(t, alg, c.Now)
			allow := func(key string) ratelimit.Result {
				t.Helper()
				res, err := s.Allow(context.Background(), []ratelimit.Rule{{Policy: client, Key: key}, {Policy: perIP, Key: "ip"}})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			for i := 0; i < 3; i++ {
				if res := allow("a"); !res.Allowed {
					t.Fatalf("request %d of a refused: %+v", i, res)
				}
			}
			res := allow("a")
			if res.Allowed || res.Policy != "per-client" || res.Refused != 1 {
				t.Fatalf("4th of a: got %+v, want refused by per-client only", res)
			}
			// a's refusal was not counted in per-ip: b still gets one.
			if res := allow("b"); !res.Allowed || res.Remaining != 0 || res.Policy != "per-ip" {
				t.Fatalf("1st of b: got %+v, want allowed with per-ip at 0", res)
			}
			res = allow("c")
			if res.Allowed || res.Policy != "per-ip" || res.Note != "per IP" || res.Refused != 2 {
				t.Fatalf("1st of c: got %+v, want refused by per-ip", res)
			}
			// c was refused by per-ip, so its own counter stayed at 0.
			c.Set(c.Now().Add(3 * time.Minute))
			if res := allow("c"); !res.Allowed || res.Remaining != 2 {
				t.Fatalf("c later: got %+v, want allowed with 2 left", res)
			}
		})
	}
}

// peek checks that Peek reports every limit's standing and counts nothing.
func peek(t *testing.T, newStore NewStore) {
	p := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 2, Window: time.Minute}, {Requests: 5, Window: time.Hour}}}
	for _, alg := range algorithms {
		t.Run(string(alg), func(t *testing.T) {
			c := NewClock()
			s := newStore(t, alg, c.Now)
			ctx := context.Background()
			rules := []ratelimit.Rule{{Policy: p, Key: "peek"}}
			for i := 0; i < 3; i++ {
				if _, err := s.Peek(ctx, rules); err != nil {
					t.Fatal(err)
				}
			}
			for i := 0; i < 2; i++ {
				if res, err := s.Allow(ctx, rules); err != nil || !res.Allowed {
					t.Fatalf("request %d after three peeks: got %+v, %v; want allowed", i, res, err)
				}
			}
			st, err := s.Peek(ctx, rules)
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 2 {
				t.Fatalf("got %d states, want 2", len(st))
			}
			if st[0].Limit != p.Limits[0] || st[0].Remaining != 0 || st[0].RetryAfter <= 0 {
				t.Errorf("minute limit: got %+v, want 0 left and a wait", st[0])
			}
			if st[1].Limit != p.Limits[1] || st[1].Remaining != 3 || st[1].RetryAfter != 0 {
				t.Errorf("hour limit: got %+v, want 3 left and no wait", st[1])
			}
		})
	}
}

// Burst fires n concurrent requests of one client, spread over stores that
// share one backend, and returns how many were admitted.
func Burst(t *testing.T, stores []ratelimit.Store, p *ratelimit.Policy, n int) int64 {
	t.Helper()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := stores[i%len(stores)].Allow(context.Background(), []ratelimit.Rule{{Policy: p, Key: "burst-client"}})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Allowed {
				admitted.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return admitted.Load()
}
