package redisstore

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// TestLimitRange: at the edges of the range ParseLimits accepts, the Lua
// scripts' arithmetic (in doubles) and the headers stay sane: every
// number a whole number of at least 0, the limit's count exact.
func TestLimitRange(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	edges := []ratelimit.Limit{
		{Requests: ratelimit.MaxRequests, Window: ratelimit.MaxWindow},
		{Requests: ratelimit.MaxRequests, Window: time.Second},
		{Requests: 1, Window: ratelimit.MaxWindow},
		{Requests: 1, Window: time.Second},
	}
	for _, alg := range []ratelimit.Algorithm{ratelimit.SlidingWindow, ratelimit.FixedWindow, ratelimit.SlidingLog} {
		for i, l := range edges {
			t.Run(fmt.Sprintf("%s/%v", alg, l), func(t *testing.T) {
				s, err := New(srv.Client(), Options{Algorithm: alg, Prefix: fmt.Sprintf("range-%s-%d", alg, i)})
				if err != nil {
					t.Fatal(err)
				}
				lim, err := ratelimit.New(ratelimit.Options{Store: s, Layers: []ratelimit.Layer{{Policy: ratelimit.Policy{Name: "p", Limits: []ratelimit.Limit{l}}, Key: ratelimit.KeyByIP()}}})
				if err != nil {
					t.Fatal(err)
				}
				h := lim.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				for n := 0; n < 2; n++ {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
					wantCode := http.StatusOK
					if l.Requests == 1 && n == 1 {
						wantCode = http.StatusTooManyRequests
					}
					if w.Code != wantCode {
						t.Fatalf("request %d: got %d, want %d", n+1, w.Code, wantCode)
					}
					hd := w.Header()
					if got := hd.Get("X-RateLimit-Limit"); got != strconv.Itoa(l.Requests) {
						t.Errorf("X-RateLimit-Limit = %q, want %d", got, l.Requests)
					}
					if got, want := hd.Get("X-RateLimit-Remaining"), strconv.Itoa(max(l.Requests-n-1, 0)); got != want {
						t.Errorf("request %d: X-RateLimit-Remaining = %q, want %s", n+1, got, want)
					}
					names := []string{"X-RateLimit-Reset"}
					if wantCode == http.StatusTooManyRequests {
						names = append(names, "Retry-After")
					}
					for _, name := range names {
						v, err := strconv.ParseInt(hd.Get(name), 10, 64)
						if err != nil || v < 0 {
							t.Errorf("request %d: %s = %q, want a whole number of at least 0", n+1, name, hd.Get(name))
						}
					}
					if ra, _ := strconv.ParseInt(hd.Get("Retry-After"), 10, 64); ra > int64(2*l.Window/time.Second) {
						t.Errorf("Retry-After = %d s, want at most two windows", ra)
					}
				}
			})
		}
	}
}
