package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/docs"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/internal/respond"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/static"
)

// secretKey is where instances sharing a Redis agree on the key secret.
const secretKey = "smartdocs:secret"

// app is the wired program.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	handler http.Handler
	rdb     *redis.Client
	docs    *chat.Docs
	closers []func()
	// secretEvery is how often the key secret is checked against Redis;
	// default 5s (tests shorten it).
	secretEvery time.Duration
	// ops holds metrics, analytics, bans and admin (ops.go).
	ops *ops
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func newApp(ctx context.Context, cfg config.Config, stdout io.Writer) (*app, error) {
	a := &app{cfg: cfg, log: newLogger(cfg, stdout)}
	a.ops = newOps(cfg, a.log)
	ix, err := loadIndex(cfg.DocsDir)
	if err != nil {
		return nil, err
	}
	a.docs = chat.NewDocs(ix)

	hasher := identity.NewHasher(cfg.Secret)
	var store ratelimit.Store
	var health func(context.Context) any
	if cfg.Redis == nil {
		mem, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Algorithm: cfg.Algorithm})
		if err != nil {
			return nil, err
		}
		store = mem
		health = func(context.Context) any {
			return map[string]any{"store": "memory", "algorithm": cfg.Algorithm}
		}
	} else {
		// Decisions carry their own deadline (REDIS_TIMEOUT): let it
		// bound the socket reads too, not just the wait for a connection.
		cfg.Redis.ContextTimeoutEnabled = true
		a.rdb = redis.NewClient(cfg.Redis)
		a.closers = append(a.closers, func() { a.rdb.Close() })
		fo, err := a.redisStore(cfg)
		if err != nil {
			return nil, err
		}
		store = fo
		if cfg.Secret == nil {
			a.shareSecret(ctx, hasher)
		}
		health = func(ctx context.Context) any {
			st := fo.Stats()
			h := map[string]any{"store": "redis", "algorithm": cfg.Algorithm, "redis": "ok",
				"failure_mode": cfg.FailureMode, "deciding_with": "redis",
				"redis_calls": st.Calls, "redis_errors": st.Errors, "refusal_cache_hits": st.CacheHits, "fallback_decisions": st.Fallbacks}
			if !fo.Up() {
				h["redis"] = "unreachable"
				h["deciding_with"] = map[string]string{"fallback": "local memory", "open": "nothing (admitting all)", "closed": "nothing (refusing all)"}[cfg.FailureMode]
			}
			return h
		}
	}

	id, err := newClientID(cfg, hasher, a.log)
	if err != nil {
		return nil, err
	}
	layers := id.layers()
	if cfg.Global != nil {
		layers = append(layers, ratelimit.Layer{Policy: ratelimit.Policy{Name: "global", Note: "for everyone", Limits: cfg.Global}, Key: func(*http.Request) (string, error) { return "global", nil }})
	}
	limiter, err := ratelimit.New(ratelimit.Options{
		Store:      store,
		Layers:     layers,
		DryRun:     cfg.DryRun,
		OnDecision: a.ops.decided,
		OnError: func(w http.ResponseWriter, r *http.Request, err error) {
			if writeTokenError(w, err) {
				return
			}
			a.log.Error("rate limiter failed", "err", err)
			w.Header().Set("Retry-After", "1")
			respond.Error(w, http.StatusServiceUnavailable, "Rate limiter unavailable, try again shortly.")
		},
	})
	if err != nil {
		return nil, err
	}
	models, err := newModels(cfg.Models, a.docs, a.log) // models.go
	if err != nil {
		return nil, err
	}
	deps, err := a.ops.wire(ctx, a, limiter, id.keys, handlers.Deps{
		Logger:        a.log,
		Models:        models,
		DefaultModel:  cfg.Models.Default,
		CORSOrigins:   cfg.CORSOrigins,
		Identify:      id.middleware,
		WhoAmI:        id.whoami(),
		KeyError:      writeTokenError,
		Limit:         limiter.Handler,
		LimiterHealth: health,
		Static:        static.FS,
	})
	if err != nil {
		return nil, err
	}
	a.handler = handlers.NewServer(deps)
	return a, nil
}

// redisStore is the Redis store behind its timeout, failure mode and
// refusal cache.
func (a *app) redisStore(cfg config.Config) (*ratelimit.Failover, error) {
	rs, err := ratelimit.NewRedisStore(a.rdb, ratelimit.RedisOptions{Algorithm: cfg.Algorithm})
	if err != nil {
		return nil, err
	}
	local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Algorithm: cfg.Algorithm})
	if err != nil {
		return nil, err
	}
	fo, err := ratelimit.NewFailover(rs, ratelimit.FailoverOptions{
		Mode:    ratelimit.FailureMode(cfg.FailureMode),
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

// loadIndex indexes DOCS_DIR, or the bundled documents when it is "".
func loadIndex(dir string) (*chat.Index, error) {
	var fsys fs.FS = docs.FS
	if dir != "" {
		fsys = os.DirFS(dir)
	}
	ps, err := chat.Load(fsys)
	if err != nil {
		if dir != "" {
			return nil, fmt.Errorf("config: DOCS_DIR=%q: %w", dir, err)
		}
		return nil, err
	}
	return chat.NewIndex(ps), nil
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

// Close releases what the app holds.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// serve listens on the configured port until ctx ends, then drains.
func (a *app) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(a.cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on PORT=%d: %w", a.cfg.Port, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    256 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.watchReload(ctx)
	if err := a.ops.serveMetrics(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("listening", "addr", ln.Addr().String(), "url", fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port), "store", storeName(a.cfg))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// watchReload re-reads DOCS_DIR on SIGHUP.
func (a *app) watchReload(ctx context.Context) {
	if a.cfg.DocsDir == "" {
		return
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				ix, err := loadIndex(a.cfg.DocsDir)
				if err != nil {
					a.log.Error("reload of DOCS_DIR failed; keeping the old documents", "err", err)
					continue
				}
				a.docs.Swap(ix)
				a.log.Info("DOCS_DIR reloaded")
			}
		}
	}()
}

func storeName(cfg config.Config) string {
	if cfg.Redis == nil {
		return "memory"
	}
	return "redis"
}
