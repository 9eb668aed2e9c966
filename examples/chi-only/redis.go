//go:build !noredis

package main

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
)

// newStore returns a Redis store for url, or nil (memory) when url is "".
func newStore(url string) (ratelimit.Store, func(), error) {
	if url == "" {
		return nil, func() {}, nil
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("chi-only: REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opts)
	s, err := redisstore.New(rdb, redisstore.Options{Prefix: "chi-only"})
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return s, func() { rdb.Close() }, nil
}
