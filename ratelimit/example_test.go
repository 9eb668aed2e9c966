package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// A chi or net/http app limits a route to 3 requests a minute per API key
// and 100 a minute for everyone together.
func Example() {
	store, _ := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	limiter, err := ratelimit.New(ratelimit.Options{
		Store: store,
		Layers: []ratelimit.Layer{
			{
				Policy: ratelimit.Policy{Name: "per-key", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}}},
				Key:    ratelimit.KeyByHeader("X-API-Key"),
			},
			{
				Policy: ratelimit.Policy{Name: "global", Note: "for everyone", Limits: []ratelimit.Limit{{Requests: 100, Window: time.Minute}}},
				Key:    func(*http.Request) (string, error) { return "all", nil },
			},
		},
	})
	if err != nil {
		panic(err)
	}
	http.Handle("POST /chat", limiter.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello")
	})))
	fmt.Println(limiter.Policies())
	// Output: "per-key";q=3;w=60, "global";q=100;w=60
}

// The one-liner: 3 requests a minute per client address, in memory. With
// chi, r.Use(ratelimit.LimitByIP(3, time.Minute)) or
// r.With(...).Get("/hello", hello) for one route.
func ExampleLimitByIP() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	h := ratelimit.LimitByIP(3, time.Minute)(hello)
	for i := 0; i < 4; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/hello", nil))
		fmt.Println(w.Code, w.Header().Get("X-RateLimit-Remaining"), strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 2 hello
	// 200 1 hello
	// 200 0 hello
	// 429 0 Rate limit exceeded: 3 per 1 minute
}

// A store decides for every layer of a request at once.
func ExampleMemoryStore_Allow() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	store, _ := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	perClient := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}}}
	for i := 0; i < 4; i++ {
		res, _ := store.Allow(context.Background(), []ratelimit.Rule{{Policy: perClient, Key: "client-1"}})
		fmt.Println(res.Allowed, res.Remaining, res.RetryAfter)
	}
	// Output:
	// true 2 0s
	// true 1 0s
	// true 0 0s
	// false 0 1m20s
}

func ExampleParseLimits() {
	limits, _ := ratelimit.ParseLimits("3/minute;50/day")
	for _, l := range limits {
		fmt.Println(l)
	}
	// Output:
	// 3 per 1 minute
	// 50 per 1 day
}
