package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/docs"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/internal/connlimit"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/static"
)

// app is the wired program.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	handler http.Handler
	rdb     redis.UniversalClient
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
		return slog.New(clipHandler{slog.NewJSONHandler(w, opts)}) // logging.go
	}
	return slog.New(clipHandler{slog.NewTextHandler(w, opts)})
}

// newApp builds the server from cfg and the program's own additions.
func newApp(ctx context.Context, cfg config.Config, opts Options, stdout io.Writer) (*app, error) {
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
		a.rdb = cfg.Redis.NewClient()
		a.closers = append(a.closers, func() { a.rdb.Close() })
		fo, err := a.redisStore(ctx, cfg)
		if err != nil {
			return nil, err
		}
		store = fo
		if cfg.Secret == nil {
			a.shareSecret(ctx, hasher)
		}
		health = (&redisHealth{cfg: cfg, rdb: a.rdb, fo: fo}).report // store.go
	}

	id, err := newClientID(cfg, hasher, a.log)
	if err != nil {
		return nil, err
	}
	a.ops.start(ctx, a.rdb, id.keys)
	a.closers = append(a.closers, a.ops.close)
	lim := &limits{cfg: cfg, store: store, id: id, ops: a.ops, log: a.log}
	chatLimiter, err := lim.limiter("chat", nil)
	if err != nil {
		return nil, err
	}
	peeks := newPeekCache(chatLimiter.Peek, id.peekKey) // reads.go
	lim.changed = peeks.forget
	models, err := engines(cfg.Models, a.docs, opts.Engines, a.log) // engines.go
	if err != nil {
		return nil, err
	}
	d := handlers.Deps{
		Logger:        a.log,
		Models:        models,
		DefaultModel:  cfg.Models.Default,
		CORSOrigins:   cfg.CORSOrigins,
		Identify:      id.middleware,
		WhoAmI:        id.whoami(),
		KeyError:      writeTokenError,
		Limit:         lim.middleware,
		Peek:          peeks.Peek,
		LimiterHealth: health,
		Static:        static.FS,
		Extra:         opts.Routes,

		AnswerMaxDuration: cfg.Server.AnswerMaxDuration,
		AnswerMaxBytes:    cfg.Server.AnswerMaxBytes,
	}
	if err := a.ops.deps(&d, chatLimiter.Policies()); err != nil {
		return nil, err
	}
	a.handler = handlers.NewServer(d)
	// Routes named their limits as the router was built: a name that is
	// not declared stops start-up here, before anything is served.
	if err := lim.err(); err != nil {
		return nil, err
	}
	return a, nil
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
	conns, err := a.limitConns(ln)
	if err != nil {
		ln.Close()
		return err
	}
	return a.serveOn(ctx, conns)
}

// limitConns bounds the connections ln holds open to MAX_CONNECTIONS: a
// client that opens connections and never finishes a request would
// otherwise grow the server until descriptors or memory run out.
//
// Once such a flood has passed, the memory its connections held is
// given back to the system at once: the runtime would otherwise keep it
// for minutes, and a container's memory limit counts it all that time.
func (a *app) limitConns(ln net.Listener) (*connlimit.Listener, error) {
	l, err := connlimit.New(ln, connlimit.Options{
		Max:    a.cfg.Server.MaxConnections,
		Logger: a.log.With("variable", "MAX_CONNECTIONS"),
		OnDrained: func() {
			// The rest of the flood's connections are closing too: by
			// ReadHeaderTimeout at the latest, hence the wait.
			a.log.Info("connections back under a quarter of MAX_CONNECTIONS: returning memory to the system in 10s", "max", a.cfg.Server.MaxConnections)
			time.AfterFunc(10*time.Second, debug.FreeOSMemory)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("config: MAX_CONNECTIONS=%d: %w", a.cfg.Server.MaxConnections, err)
	}
	return l, nil
}

// NewHTTPServer returns the http.Server that Run serves h with: its
// timeouts, which bound how long a client may take to send its headers
// (5s), its whole request (15s) and to read the answer (60s; a streamed
// answer sets its own deadline per line, see handlers.Deps.AnswerMaxDuration),
// how long an idle connection is kept (120s), and its 256 KB limit on
// headers. Run adds what needs its listener and context: ConnState for
// MAX_CONNECTIONS (internal/connlimit), a BaseContext that outlives the
// shutdown signal, and the 25s drain on shutdown. A program that serves
// NewHandler on a listener of its own starts from it and adds those.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    256 << 10,
	}
}

// serveOn serves on ln until ctx ends, then drains.
func (a *app) serveOn(ctx context.Context, ln *connlimit.Listener) error {
	srv := NewHTTPServer(a.handler)
	srv.BaseContext = func(net.Listener) context.Context { return context.WithoutCancel(ctx) }
	srv.ConnState = ln.ConnState
	a.watchReload(ctx)
	if err := a.ops.serveMetrics(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("listening", "addr", ln.Addr().String(), "url", fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port), "store", storeName(a.cfg), "max_connections", a.cfg.Server.MaxConnections)
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
