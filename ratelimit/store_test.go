package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// A minute boundary plus a little, so window edges are easy to reason about.
	return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// storeFactory makes a fresh store of one kind on the given clock.
type storeFactory struct {
	name string
	make func(t *testing.T, alg Algorithm, c *clock) Store
}

func factories(t *testing.T) []storeFactory {
	t.Helper()
	// One server for every Redis subtest. Without redis-server, each
	// Redis subtest skips (or fails under REQUIRE_REDIS=1) on its own and
	// the memory subtests still run.
	var srv *redistest.Server
	if redistest.Installed() {
		srv = redistest.Start(t, redistest.Options{})
	}
	prefix := 0
	return []storeFactory{
		{"memory", func(t *testing.T, alg Algorithm, c *clock) Store {
			s, err := NewMemoryStore(MemoryOptions{Algorithm: alg, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"redis", func(t *testing.T, alg Algorithm, c *clock) Store {
			if srv == nil {
				redistest.Start(t, redistest.Options{}) // skips or fails this subtest
			}
			prefix++
			s, err := NewRedisStore(srv.Client(), RedisOptions{Algorithm: alg, Now: c.Now, Prefix: fmt.Sprintf("t%d", prefix)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
}

// step is one request at an offset from the clock's start.
type step struct {
	at        time.Duration
	ok        bool
	remaining int
	retry     time.Duration // when refused: at least this, within a second
}

func runSteps(t *testing.T, s Store, c *clock, start time.Time, rules []Rule, steps []step) {
	t.Helper()
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

func TestStoreSteps(t *testing.T) {
	perMinute := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}}}
	tests := []struct {
		name  string
		alg   Algorithm
		steps []step
	}{
		{"sliding three then refused", SlidingWindow, []step{
			{0, true, 2, 0}, {time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			// All three sit in the current window: room only comes back
			// when the next window weighs them down to below 2.
			{3 * time.Second, false, 0, 57*time.Second + 20*time.Second},
		}},
		{"sliding weighs the previous window", SlidingWindow, []step{
			{0, true, 2, 0}, {1 * time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			// 30s into the next window the previous three weigh 1.5.
			{90 * time.Second, true, 0, 0},
			// 1.5 + 1 = 2.5; one more needs 3*(60-e)/60+1+1 <= 3 → e >= 40s.
			{91 * time.Second, false, 0, 9 * time.Second},
			{100 * time.Second, true, 0, 0},
		}},
		{"fixed resets at the window edge", FixedWindow, []step{
			{0, true, 2, 0}, {time.Second, true, 1, 0}, {2 * time.Second, true, 0, 0},
			{30 * time.Second, false, 0, 30 * time.Second},
			{60 * time.Second, true, 2, 0},
		}},
		{"log frees the oldest", SlidingLog, []step{
			{0, true, 2, 0}, {10 * time.Second, true, 1, 0}, {20 * time.Second, true, 0, 0},
			{30 * time.Second, false, 0, 30 * time.Second},
			{60*time.Second + time.Millisecond, true, 0, 0},
			{61 * time.Second, false, 0, 9 * time.Second},
		}},
	}
	for _, f := range factories(t) {
		for _, tt := range tests {
			t.Run(f.name+"/"+tt.name, func(t *testing.T) {
				c := newClock()
				s := f.make(t, tt.alg, c)
				runSteps(t, s, c, c.Now(), []Rule{{perMinute, "k"}}, tt.steps)
			})
		}
	}
}

// TestFixedWindowEdgeBurst shows the weakness the guide warns of: a client
// that sends the limit at the end of one window and again at the start of
// the next gets twice the limit within a few seconds. The sliding
// algorithms do not allow it.
func TestFixedWindowEdgeBurst(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}}}
	want := map[Algorithm]int{FixedWindow: 6, SlidingWindow: 3, SlidingLog: 3}
	for _, f := range factories(t) {
		for alg, n := range want {
			t.Run(f.name+"/"+string(alg), func(t *testing.T) {
				c := newClock()
				s := f.make(t, alg, c)
				start := c.Now()
				admitted := 0
				for _, at := range []time.Duration{58 * time.Second, 62 * time.Second} {
					c.Set(start.Add(at))
					for i := 0; i < 3; i++ {
						res, err := s.Allow(context.Background(), []Rule{{p, "edge"}})
						if err != nil {
							t.Fatal(err)
						}
						if res.Allowed {
							admitted++
						}
					}
				}
				if admitted != n {
					t.Errorf("admitted %d across the window edge, want %d", admitted, n)
				}
			})
		}
	}
}

// TestStoreLayers checks that a request is counted in every layer only
// when every layer has room, and that the refusal names the right one.
func TestStoreLayers(t *testing.T) {
	client := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}, {5, time.Hour}}}
	perIP := &Policy{Name: "per-ip", Note: "per IP", Limits: []Limit{{4, time.Minute}}}
	for _, f := range factories(t) {
		for _, alg := range []Algorithm{SlidingWindow, FixedWindow, SlidingLog} {
			t.Run(f.name+"/"+string(alg), func(t *testing.T) {
				c := newClock()
				s := f.make(t, alg, c)
				ctx := context.Background()
				allow := func(key string) Result {
					t.Helper()
					res, err := s.Allow(ctx, []Rule{{client, key}, {perIP, "ip"}})
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
}

// TestStoreConcurrentBurst fires a concurrent burst of requests from one
// client at several stores sharing one backend and counts what passes.
func TestStoreConcurrentBurst(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}}}
	for _, alg := range []Algorithm{SlidingWindow, FixedWindow, SlidingLog} {
		t.Run("redis/"+string(alg), func(t *testing.T) {
			// Started here, not for the whole test, so that a missing
			// redis-server skips only the Redis subtests.
			srv := redistest.Start(t, redistest.Options{})
			var stores []Store
			for i := 0; i < 3; i++ {
				// Two stores batch decisions into shared round trips
				// (one of them with a single round trip in flight), one
				// sends each decision alone.
				s, err := NewRedisStore(srv.Client(), RedisOptions{Algorithm: alg, Prefix: "burst", Pipelines: i - 1})
				if err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
			}
			if got := burst(t, stores, p, 300); got != 3 {
				t.Errorf("three redis stores admitted %d of 300, want 3", got)
			}
		})
		t.Run("memory/"+string(alg), func(t *testing.T) {
			s, err := NewMemoryStore(MemoryOptions{Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			if got := burst(t, []Store{s}, p, 1000); got != 3 {
				t.Errorf("memory store admitted %d of 1000, want 3", got)
			}
		})
	}
}

func burst(t *testing.T, stores []Store, p *Policy, n int) int64 {
	t.Helper()
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := stores[i%len(stores)].Allow(context.Background(), []Rule{{p, "burst-client"}})
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

// TestRedisScriptFlushed: after Redis forgets its scripts (a restart or
// SCRIPT FLUSH), the next decision loads the script again instead of
// failing on NOSCRIPT.
func TestRedisScriptFlushed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	s, err := NewRedisStore(rdb, RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}}}
	ctx := context.Background()
	if _, err := s.Allow(ctx, []Rule{{p, "k"}}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Allow(ctx, []Rule{{p, "k"}})
	if err != nil {
		t.Fatalf("after SCRIPT FLUSH: %v", err)
	}
	if !res.Allowed || res.Remaining != 1 {
		t.Errorf("after SCRIPT FLUSH: %+v, want the second request allowed with 1 left", res)
	}
}

// TestRedisKeysExpire: every key a decision leaves in Redis expires, no
// later than its algorithm needs it; the windowed counters set the expiry
// once per window, not on every count.
func TestRedisKeysExpire(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	ctx := context.Background()
	const w = time.Minute
	p := &Policy{Name: "per-client", Limits: []Limit{{3, w}}}
	for _, tt := range []struct {
		alg Algorithm
		max time.Duration // the longest expiry a key may have
		// expires is how many PEXPIRE the six admitted counts cost:
		// the windowed counters set theirs on a window's first count,
		// the log extends its key with every entry.
		expires int
	}{
		{SlidingWindow, 2 * w, 2},
		{FixedWindow, w + time.Second, 2},
		{SlidingLog, w, 6},
	} {
		t.Run(string(tt.alg), func(t *testing.T) {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			c := newClock()
			s, err := NewRedisStore(rdb, RedisOptions{Algorithm: tt.alg, Now: c.Now, Pipelines: -1})
			if err != nil {
				t.Fatal(err)
			}
			// Two windows with an idle one between them (so that the
			// sliding window does not weigh the first in the second),
			// four requests in each: three admitted, one refused.
			for win := 0; win < 2; win++ {
				for i := 0; i < 4; i++ {
					if _, err := s.Allow(ctx, []Rule{{p, "k"}}); err != nil {
						t.Fatal(err)
					}
					c.Set(c.Now().Add(time.Second))
				}
				c.Set(c.Now().Add(2 * w))
			}
			keys, err := rdb.Keys(ctx, "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) == 0 {
				t.Fatal("no keys left in Redis")
			}
			for _, k := range keys {
				ttl, err := rdb.PTTL(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= 0 || ttl > tt.max {
					t.Errorf("%s expires in %v, want within (0, %v]", k, ttl, tt.max)
				}
			}
			stats, err := rdb.Info(ctx, "commandstats").Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("cmdstat_pexpire:calls=%d,", tt.expires); !strings.Contains(stats, want) {
				t.Errorf("want %d PEXPIRE calls, commandstats:\n%s", tt.expires, stats)
			}
		})
	}
}
