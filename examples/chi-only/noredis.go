//go:build noredis

package main

import (
	"errors"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// newStore returns nil (memory): this build links no Redis client.
func newStore(url string) (ratelimit.Store, func(), error) {
	if url != "" {
		return nil, nil, errors.New("chi-only: REDIS_URL is set but this program was built with -tags noredis")
	}
	return nil, func() {}, nil
}
