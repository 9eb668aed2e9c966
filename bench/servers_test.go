package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// BenchmarkHandler times one request through each variant's handler,
// without sockets or wrk: what the limiter adds to a request in CPU and
// allocations, beside bare chi.
//
//	go test -run '^$' -bench Handler -benchmem ./bench/
func BenchmarkHandler(b *testing.B) {
	// The Redis variants' rejected path, answered from the refusal cache
	// after the first refusals, is measured too when redis-server is
	// installed; their allowed path waits on Redis and belongs to wrk.
	var srv *redistest.Server
	if redistest.Installed() {
		srv = redistest.Start(b, redistest.Options{})
	}
	for _, p := range paths {
		for _, v := range variants {
			if v.bin != nil || v.redis && (srv == nil || p == allowed || v.name == "httprate-redis" || v.name == "redis_rate") || (v.whole || v.rejectedOnly) && p == allowed {
				continue
			}
			b.Run(string(p)+"/"+v.name, func(b *testing.B) {
				addr, pass := "", ""
				if v.redis {
					addr, pass = srv.Addr(), srv.Password()
				}
				d, err := newDeps(addr, pass)
				if err != nil {
					b.Fatal(err)
				}
				d.path = p
				h := http.Handler(trivial)
				var stats func() redisStats
				if v.name != "bare-chi" || p == rejected {
					built, release, s, err := v.build(context.Background(), d)
					if err != nil {
						b.Fatal(err)
					}
					defer release()
					h, stats = built, s
				}
				if !v.whole {
					h = router(h)
				}
				r := floodRequest()
				w := discard{h: http.Header{}}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if p == allowed {
						// A new client each time, as wrk's script sends.
						i++
						r.Header["X-Forwarded-For"] = []string{"203.0." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)}
					}
					clear(w.h)
					h.ServeHTTP(w, r)
				}
				if stats != nil {
					// Decided with Redis and its refusal cache, not by the
					// fallback of a Failover that could not reach it.
					if st := stats(); st.fallbacks > 0 || st.calls == 0 {
						b.Fatalf("%d Redis calls and %d fallbacks, want calls and no fallback", st.calls, st.fallbacks)
					}
				}
			})
		}
	}
}

// discard is a ResponseWriter that keeps nothing but a header map.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

// TestStatusCountPassesFlush: the app's stream flushes every line through
// the bench's status counter, as it does through a deployment's server.
func TestStatusCountPassesFlush(t *testing.T) {
	var sc statusCount
	var flushErr error
	h := sc.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("{}\n"))
		flushErr = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/chat", nil))
	if flushErr != nil || !rec.Flushed {
		t.Errorf("Flush through the counter: err %v, flushed %v; want nil, true", flushErr, rec.Flushed)
	}
	if sc.ok.Load() != 1 {
		t.Errorf("counted %d answers of 200, want 1", sc.ok.Load())
	}
}
