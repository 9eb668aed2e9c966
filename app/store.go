package app

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
)

// secretKey is where instances sharing a Redis agree on the key secret.
const secretKey = "smartdocs:secret"

// redisStore is the Redis store behind its timeout, failure mode and
// refusal cache.
func (a *app) redisStore(cfg config.Config) (*redisstore.Failover, error) {
	rs, err := redisstore.New(a.rdb, redisstore.Options{Algorithm: cfg.Algorithm})
	if err != nil {
		return nil, err
	}
	local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Algorithm: cfg.Algorithm})
	if err != nil {
		return nil, err
	}
	fo, err := redisstore.NewFailover(rs, redisstore.FailoverOptions{
		Mode:    redisstore.FailureMode(cfg.FailureMode),
		Local:   local,
		Timeout: cfg.RedisTimeout,
		Probe:   func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() },
		// The client has ContextTimeoutEnabled: its calls end at the
		// deadline without a watchdog goroutine each.
		HonoursDeadline: true,
		Logger:          a.log,
		OnCall:          a.ops.metrics.RedisCall,
	})
	if err != nil {
		return nil, err
	}
	a.ops.watchFailover(fo)
	a.closers = append(a.closers, fo.Close)
	return fo, nil
}

// shareSecret makes every instance on one Redis hash keys with one
// secret: each offers its own (SET NX) and adopts whatever Redis holds.
// It does so at start and then every secretEvery, so that if Redis loses
// the secret (a restart without persistence, FLUSHALL, eviction) the
// instances agree again within one interval instead of keying one client
// differently each: the first to offer after the loss wins. While Redis
// cannot be reached the process keeps the secret it has.
func (a *app) shareSecret(ctx context.Context, h *identity.Hasher) {
	ctx, cancel := context.WithCancel(ctx)
	a.closers = append(a.closers, cancel)
	every := a.secretEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	cur := hex.EncodeToString(identity.RandomSecret())
	h.SetSecret([]byte(cur))
	agree := func() error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := a.rdb.SetNX(ctx, secretKey, cur, 0).Err(); err != nil {
			return err
		}
		s, err := a.rdb.Get(ctx, secretKey).Result()
		if err != nil {
			return err
		}
		if s != cur {
			cur = s
			h.SetSecret([]byte(s))
		}
		return nil
	}
	failing := agree() != nil
	if failing {
		a.log.Warn("cannot read the shared key secret from Redis yet; keys are this process's own until it answers")
	}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := agree()
			if failing && err == nil {
				a.log.Info("shared key secret agreed through Redis")
			}
			failing = err != nil
		}
	}()
}
