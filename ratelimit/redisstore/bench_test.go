package redisstore

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// BenchmarkDecision measures one rate-limit decision ("may this request
// pass, and count it") of this package's stores beside the peers, on the
// same keys in the same run:
//
//   - memory/ours: MemoryStore.Allow;
//   - memory/httprate: httprate's own decision path (RateLimiter.OnLimit
//     with its in-memory LimitCounter, response headers switched off so
//     that only the decision is timed);
//   - redis/ours: RedisStore.Allow, one EVALSHA;
//   - redis/ours+failover: the same behind Failover, as the app runs it;
//     its refusal cache answers a flooding key without Redis;
//   - redis/httprate-redis: OnLimit with httprate-redis v0.6.0's counter
//     (MGET, then MULTI INCRBY EXPIRE, under one process-wide mutex);
//   - redis/redis_rate: go-redis/redis_rate's GCRA script.
//
// Two paths: refused (one key flooding a 3/minute limit, so all but the
// first three are refused) and allowed (65,536 keys under a limit so high
// that every request passes). Each runs serially, with GOMAXPROCS callers
// and with 32 callers (SetParallelism). decisions/s is b.N over the timed
// wall clock, so it counts all callers together.
//
//	go test -run '^$' -bench Decision -benchmem ./ratelimit/
func BenchmarkDecision(b *testing.B) {
	srv := redistest.Start(b, redistest.Options{})
	// One client for every Redis contender, with a pool large enough
	// that 32 callers never wait for a connection.
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: srv.Password(), PoolSize: 64})
	b.Cleanup(func() { rdb.Close() })
	keys := benchKeys(1 << 16)
	paths := []struct {
		name  string
		limit int
		keys  []string
	}{
		{"refused", 3, keys[:1]},
		{"allowed", 1 << 30, keys},
	}
	modes := []struct {
		name    string
		callers int // 0: serial
	}{
		{"serial", 0},
		{"parallel", 1},
		{"parallel-32", 32},
	}
	for _, c := range contenders(rdb) {
		for _, p := range paths {
			for _, m := range modes {
				b.Run(c.name+"/"+p.name+"/"+m.name, func(b *testing.B) {
					if err := rdb.FlushAll(context.Background()).Err(); err != nil {
						b.Fatal(err)
					}
					runDecisions(b, c, p.limit, p.keys, m.callers)
				})
			}
		}
	}
}

// A contender makes a fresh limiter, with the given requests per minute.
// It returns a maker of one decision function per caller and,
// optionally, how many calls it has sent to Redis so far.
type contender struct {
	name string
	make func(b *testing.B, limit int) (newCaller func() decideFunc, calls func() int64)
}

// decideFunc decides for one request under key and reports whether it
// was admitted.
type decideFunc func(ctx context.Context, key string) bool

func contenders(rdb *redis.Client) []contender {
	ours := func(s ratelimit.Store, limit int) func() decideFunc {
		p := &Policy{Name: "per-client", Limits: []Limit{{Requests: limit, Window: time.Minute}}}
		return func() decideFunc {
			// One rules slice per caller, reused: a caller such as
			// the middleware builds it once per request.
			rules := []Rule{{Policy: p}}
			return func(ctx context.Context, key string) bool {
				rules[0].Key = key
				res, err := s.Allow(ctx, rules)
				if err != nil {
					panic(err)
				}
				return res.Allowed
			}
		}
	}
	httprateDecide := func(rl *httprate.RateLimiter) func() decideFunc {
		return func() decideFunc {
			r := httptest.NewRequest(http.MethodPost, "/chat", nil)
			w := httptest.NewRecorder()
			return func(_ context.Context, key string) bool {
				return !rl.OnLimit(w, r, key)
			}
		}
	}
	noHeaders := httprate.WithResponseHeaders(httprate.ResponseHeaders{})
	return []contender{
		{"memory/ours", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			s, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return ours(s, limit), nil
		}},
		{"memory/httprate", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			return httprateDecide(httprate.NewRateLimiter(limit, time.Minute, noHeaders)), nil
		}},
		{"redis/ours", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			s, err := New(rdb, Options{})
			if err != nil {
				b.Fatal(err)
			}
			return ours(s, limit), nil
		}},
		{"redis/ours+failover", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			s, err := New(rdb, Options{})
			if err != nil {
				b.Fatal(err)
			}
			local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
			if err != nil {
				b.Fatal(err)
			}
			f, err := NewFailover(s, FailoverOptions{Local: local, HonoursDeadline: true, Probe: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(f.Close)
			return ours(f, limit), func() int64 { return f.Stats().Calls }
		}},
		{"redis/httprate-redis", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			counter := httprateredis.WithRedisLimitCounter(&httprateredis.Config{Client: rdb, PrefixKey: "httprate"})
			return httprateDecide(httprate.NewRateLimiter(limit, time.Minute, counter, noHeaders)), nil
		}},
		{"redis/redis_rate", func(b *testing.B, limit int) (func() decideFunc, func() int64) {
			l := redis_rate.NewLimiter(rdb)
			rate := redis_rate.PerMinute(limit)
			return func() decideFunc {
				return func(ctx context.Context, key string) bool {
					res, err := l.Allow(ctx, key, rate)
					if err != nil {
						panic(err)
					}
					return res.Allowed > 0
				}
			}, nil
		}},
	}
}

// runDecisions times decisions on keys, serially (callers 0) or with
// callers×GOMAXPROCS goroutines, and checks that the path went the way
// its name says.
func runDecisions(b *testing.B, c contender, limit int, keys []string, callers int) {
	newCaller, calls := c.make(b, limit)
	ctx := context.Background()
	var allowed atomic.Int64
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	if callers == 0 {
		decide := newCaller()
		n := int64(0)
		for i := 0; b.Loop(); i++ {
			if decide(ctx, keys[i%len(keys)]) {
				n++
			}
		}
		allowed.Add(n)
	} else {
		if callers > 1 {
			b.SetParallelism(int(math.Ceil(float64(callers) / float64(runtime.GOMAXPROCS(0)))))
		}
		b.RunParallel(func(pb *testing.PB) {
			// Each caller walks the keys from its own offset.
			decide := newCaller()
			i := int(next.Add(7919))
			n := int64(0)
			for pb.Next() {
				if decide(ctx, keys[i%len(keys)]) {
					n++
				}
				i++
			}
			allowed.Add(n)
		})
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	if calls != nil {
		b.ReportMetric(float64(calls())/float64(b.N), "redis-calls/op")
	}
	// A contender that admits on the refused path, or refuses on the
	// allowed one, is not measuring what the table says it measures.
	// GCRA and the weighted window may let a few more through than
	// the limit over the run; a refused path is still all but refused.
	got := allowed.Load()
	switch {
	case len(keys) == 1 && got > int64(limit)+int64(b.N)/100+3:
		b.Fatalf("refused path: %d of %d admitted", got, b.N)
	case len(keys) > 1 && got != int64(b.N):
		b.Fatalf("allowed path: %d of %d admitted", got, b.N)
	}
}

// benchKeys returns n distinct keys shaped like identity.Keys.Client's:
// a hash tag and a hash, 34 bytes.
func benchKeys(n int) []string {
	keys := make([]string, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range keys {
		keys[i] = fmt.Sprintf("{%016x}%016x", splitmix(&x), splitmix(&x))
	}
	return keys
}

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
