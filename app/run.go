// Package app wires SmartDocs together: it reads the configuration once,
// builds the engines, the limiters, the operations side (metrics, bans,
// analytics, admin) and the HTTP server from the packages that do the
// work, and runs it. Each file owns one concern:
//
//   - run.go: Run, the whole program, and its Options
//   - app.go: building the server and serving it
//   - engines.go: the registry of model_type values and their engines
//   - limits.go: the named limits that handlers/routes.go asks for
//   - reads.go: the short cache of GET /limits
//   - store.go: the limiter's store, in memory or in Redis
//   - identity.go: who a client is, its keys and GET /whoami
//   - ops.go: metrics, bans, analytics and the admin routes
//
// No other package imports app: it is the top of the import graph.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
)

// Options are what a program built on app adds to it: engines and routes
// of its own, without editing this package. The zero value is the
// SmartDocs server as shipped.
type Options struct {
	// Engines are more model_type values, listed in GET /models after
	// the built-in ones. An engine of an existing name replaces it.
	Engines []handlers.Model
	// Limits declares more named limits beside handlers.Limits, each
	// read from its variable at start-up like RATE_LIMIT.
	Limits []config.RouteLimit
	// Routes adds routes to the server, beside the built-in ones, with
	// the same dependencies: r.With(d.Limit("summarize")).Post(...).
	Routes func(r chi.Router, d handlers.Deps)
}

// Run is the whole program: it reads the configuration through getenv
// (and a .env file in the working directory, under the environment),
// serves until ctx is cancelled, then drains in-flight requests. A
// configuration error returns before anything is served, as one line
// naming the variable.
func Run(ctx context.Context, opts Options, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	healthcheck := fset.Bool("healthcheck", false, "GET http://127.0.0.1:$PORT/health and exit 0 if it answers 200 (for Docker's HEALTHCHECK)")
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	environ := getenv // the runtime reads GOGC and GOMEMLIMIT from here, never from .env
	getenv, err := config.WithDotEnv(os.DirFS("."), ".env", getenv)
	if err != nil {
		return err
	}
	cfg, err := load(getenv, opts)
	if err != nil {
		return err
	}
	if *healthcheck {
		return checkHealth(ctx, cfg.Port)
	}
	a, err := newApp(ctx, cfg, opts, stdout)
	if err != nil {
		return err
	}
	defer a.Close()
	if percent := TuneGC(environ); percent > 0 {
		a.log.Info("garbage collector", "gogc", percent, "why", "GOGC and GOMEMLIMIT unset: the heap may grow up to 64 MB past its live size between collections")
		go keepGCTuned(ctx, gcRetune)
	}
	return a.serve(ctx)
}

// gcHeadroom is how far TuneGC lets the heap grow past its live size
// between collections; gcRetune is how often Run sets the target again
// as the live heap changes (counters of many clients, caches, a larger
// DOCS_DIR after SIGHUP).
const (
	gcHeadroom = 64 << 20
	gcRetune   = 30 * time.Second
)

// gcPercent is the GOGC that lets a heap of live bytes grow by at most
// gcHeadroom (or by its live size, past 64 MB), between 100 and 400.
func gcPercent(live uint64) int {
	return int(min(400, max(100, gcHeadroom*100/max(live, 1))))
}

// keepGCTuned sets GOGC from the live heap the last collection found,
// every interval, until ctx ends: the target TuneGC chose at start-up
// would let a heap that grew to 100 MB live grow by 400 MB.
func keepGCTuned(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if live := liveHeap(); live > 0 {
				debug.SetGCPercent(gcPercent(live))
			}
		}
	}
}

// liveHeap is the heap the last collection found live, 0 before the
// first one.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// TuneGC sets the garbage collector's target as Run does once the app is
// built, unless GOGC or GOMEMLIMIT is set (then the runtime's own
// settings stand and it returns 0). A flood of refusals allocates a few
// kilobytes per request around a live heap of a megabyte or two, and the
// runtime's default (GOGC=100, at least every 4 MB) then collects some
// twenty times a second: a quarter of the server's CPU on the refused
// path. TuneGC picks GOGC=400 while the live heap is 16 MB or less, and
// less as it grows (never under 100), so that the heap grows at most
// 64 MB past its live size, or by its live size when that is larger;
// Run sets it again every 30 seconds from the live heap the last
// collection found. It returns the GOGC it set. Benchmarks call it to run
// as the binary does. It reads GOGC and GOMEMLIMIT through getenv: a
// program that calls Run with a getenv of its own, or sets the collector
// itself, should set one of them there.
func TuneGC(getenv func(string) string) (percent int) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return 0
	}
	runtime.GC() // the docs just loaded: what is live now
	percent = gcPercent(liveHeap())
	debug.SetGCPercent(percent)
	return percent
}

func checkHealth(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/health", port), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("healthcheck: status " + resp.Status)
	}
	return nil
}

// NewHandler builds the server exactly as Run does, from getenv alone
// (no .env file), without listening: for tests and benchmarks of the
// real app. close releases what the handler holds; call it when done.
func NewHandler(ctx context.Context, opts Options, getenv func(string) string, stdout io.Writer) (h http.Handler, close func(), err error) {
	cfg, err := load(getenv, opts)
	if err != nil {
		return nil, nil, err
	}
	a, err := newApp(ctx, cfg, opts, stdout)
	if err != nil {
		return nil, nil, err
	}
	return a.handler, a.Close, nil
}

// load reads the configuration, with the program's own limits.
func load(getenv func(string) string, opts Options) (config.Config, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return cfg, err
	}
	cfg.Limits, err = config.LoadRouteLimits(getenv, append(handlers.Limits(), opts.Limits...), len(cfg.PerIP)+len(cfg.Global))
	return cfg, err
}
