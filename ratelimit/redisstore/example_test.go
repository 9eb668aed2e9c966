package redisstore_test

import (
	"context"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
)

// Every instance of an application that points at one Redis shares one
// limit: here 100 requests a minute per client IP, for the whole fleet.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	store, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		panic(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello\n")) })
	http.Handle("GET /hello", ratelimit.LimitBy(store, ratelimit.KeyByIP(), 100, time.Minute)(hello))
}

// A Failover keeps requests moving while Redis is down or slow: here each
// instance decides in its own memory until Redis answers again.
func ExampleNewFailover() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	shared, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		panic(err)
	}
	local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	if err != nil {
		panic(err)
	}
	store, err := redisstore.NewFailover(shared, redisstore.FailoverOptions{
		Mode:            redisstore.Fallback,
		Local:           local,
		Timeout:         100 * time.Millisecond,
		Probe:           func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		HonoursDeadline: true, // ContextTimeoutEnabled above
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello\n")) })
	http.Handle("GET /hello", ratelimit.LimitBy(store, ratelimit.KeyByIP(), 100, time.Minute)(hello))
}
