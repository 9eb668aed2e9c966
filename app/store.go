package app

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
)

// secretKey is where instances sharing a Redis agree on the key secret.
const secretKey = "smartdocs:secret"

// startProbeTimeout is how long the start-up probe may wait for Redis
// when REDIS_TIMEOUT is shorter.
const startProbeTimeout = 2 * time.Second

// redisStore is the Redis store behind its timeout, failure mode and
// refusal cache, its state taken from a probe made before it returns
// (logged in one line naming the hosts, never the password).
func (a *app) redisStore(ctx context.Context, cfg config.Config) (*redisstore.Failover, error) {
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
		Probe:   probe(a.rdb),
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
	hosts := strings.Join(cfg.Redis.Hosts(), ",")
	// A first connection (a TLS handshake, a sentinel's answer) may take
	// longer than a decision may wait: start-up waits for it a little.
	sctx, cancel := context.WithTimeout(ctx, max(cfg.RedisTimeout, startProbeTimeout))
	defer cancel()
	if err := fo.Start(sctx); err != nil {
		a.log.Warn("redis does not answer at start-up: deciding with the failure mode until it does", "redis_mode", string(cfg.Redis.Mode), "hosts", hosts, "failure_mode", cfg.FailureMode, "err", err)
	} else {
		a.log.Info("redis answers at start-up", "redis_mode", string(cfg.Redis.Mode), "hosts", hosts)
	}
	return fo, nil
}

// probe is how the Failover asks whether Redis answers: a PING, to every
// master of a cluster (the slots of one that is down cannot be decided).
func probe(rdb redis.UniversalClient) func(context.Context) error {
	if c, ok := rdb.(*redis.ClusterClient); ok {
		return func(ctx context.Context) error {
			return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() })
		}
	}
	return func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
}

// redisHealth is the Redis part of /health. Each report rests on a probe
// (Failover.Check) made for it, or for another report in the last second:
// /health is public, and a flood of it must not become a flood of probes.
// Safe for concurrent use.
type redisHealth struct {
	cfg config.Config
	rdb redis.UniversalClient
	fo  *redisstore.Failover

	mu    sync.Mutex
	at    time.Time // of the last probe
	where map[string]any
}

// report is the /health body of the limiter.
func (h *redisHealth) report(ctx context.Context) any {
	h.mu.Lock()
	// Again after a second, or at once when the background probe has
	// seen Redis come back since the last probe here failed.
	if time.Since(h.at) >= time.Second || h.where == nil && h.fo.Up() {
		h.where = nil
		if h.fo.Check(ctx) == nil {
			// Not nil even when Redis will not say: it answered.
			h.where = h.locate(ctx)
		}
		h.at = time.Now()
	}
	where := h.where
	h.mu.Unlock()
	st := h.fo.Stats()
	out := map[string]any{"store": "redis", "redis_mode": h.cfg.Redis.Mode, "algorithm": h.cfg.Algorithm, "redis": "ok",
		"failure_mode": h.cfg.FailureMode, "deciding_with": "redis",
		"redis_calls": st.Calls, "redis_errors": st.Errors, "refusal_cache_hits": st.CacheHits, "fallback_decisions": st.Fallbacks}
	if !h.fo.Up() {
		out["redis"] = "unreachable"
		out["deciding_with"] = map[string]string{"fallback": "local memory", "open": "nothing (admitting all)", "closed": "nothing (refusing all)"}[h.cfg.FailureMode]
	}
	for k, v := range where {
		out[k] = v
	}
	return out
}

// locate says where the data lives now: for a cluster, each master with
// the number of slots it serves ("masters"); otherwise the address of the
// server the client's connection reaches ("master"), which for Sentinel
// is the master the sentinels named last. It leaves out what Redis will
// not say (a host may disable CLIENT or CLUSTER).
func (h *redisHealth) locate(ctx context.Context) map[string]any {
	if c, ok := h.rdb.(*redis.ClusterClient); ok {
		slots, err := c.ClusterSlots(ctx).Result()
		if err != nil {
			return map[string]any{}
		}
		masters := map[string]int64{}
		for _, r := range slots {
			if len(r.Nodes) > 0 {
				masters[r.Nodes[0].Addr] += int64(r.End - r.Start + 1)
			}
		}
		return map[string]any{"masters": masters}
	}
	info, err := h.rdb.ClientInfo(ctx).Result()
	if err != nil || info.LAddr == "" {
		return map[string]any{}
	}
	return map[string]any{"master": info.LAddr}
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
