// Command bench is the load benchmark of issue 3: it starts HTTP servers on
// loopback, drives each with wrk (Debian's package), and writes the
// requests per second of every variant as a Markdown table and an SVG bar
// chart into bench/out/.
//
// Variants, each on its own fresh server and, where it uses Redis, on a
// freshly flushed redis-server that this command starts:
//
//   - bare-chi: a chi router that answers every POST with a 429 (rejected
//     path) or a 200 (allowed path) and does nothing else: the ceiling;
//   - bare-chi-429 (rejected path only): bare chi answering with the
//     shipped app's 429 verbatim, every header and the body, captured
//     from the app at start-up: what that response costs by itself;
//   - ours-memory, ours-redis: ratelimit.Limiter with one 3/minute
//     per-client limit, like the peers, on the MemoryStore or on the
//     RedisStore behind Failover as the app runs it;
//   - ours-redis-2-layers: the same with the app's default per-IP ceiling
//     (60/minute) as a second layer in the same round trip;
//   - httprate-memory, httprate-redis (v0.6.0), redis_rate (v10): one
//     3/minute limit each;
//   - app-memory, app-redis: what users deploy, the shipped app's whole
//     handler built by app.NewHandler with default settings (request log
//     to a file, metrics, refusal summary, analytics, bans, headers);
//     on the allowed path with RATE_LIMIT raised, so that the docs
//     engine answers every question;
//   - binary-bare-chi, binary-bare-chi-429, binary-bare-chi-429-server,
//     binary-app-memory, binary-app-redis: built programs, each flooded
//     as a process of its own, which is what users deploy: bench/barechi
//     (bare chi with no server timeouts; then with the app's 429; then
//     also with the app's http.Server) and the smartdocs binary built as
//     the Dockerfile builds it, with default settings. They are compared
//     with binary-bare-chi, not with the handlers in this process, which
//     share its GOGC and its http.Server.
//
// Every limiter keys on the same thing: the app's client resolver and its
// HMAC of IP and User-Agent. Two paths: rejected (wrk floods as one client)
// and allowed (every request carries a random X-Forwarded-For, which the
// server believes because wrk connects from loopback, so nearly every
// request is a new client). Runs alternate between variants and paths, and
// each round reverses the order of the one before.
//
//	go run ./bench [-duration 5s] [-connections 32] [-threads 2] [-rounds 3] [-out bench/out]
//
// While tuning, -only and -paths pick some variants and paths, and
// -cpuprofile writes a CPU profile of the servers (pprof format) that
// covers every run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/smartdocs-go/smartdocs/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	// A closed stdout (| head) must not kill the process before it has
	// stopped its redis-server.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(ctx, os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	duration    time.Duration
	connections int
	threads     int
	rounds      int
	out         string
	only        string
	paths       string
	cpuprofile  string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "length of each wrk run")
	fs.IntVar(&cfg.connections, "connections", 32, "wrk connections")
	fs.IntVar(&cfg.threads, "threads", 2, "wrk threads")
	fs.IntVar(&cfg.rounds, "rounds", 3, "runs of every variant and path")
	fs.StringVar(&cfg.out, "out", filepath.Join("bench", "out"), "directory for results.md and results.svg")
	fs.StringVar(&cfg.only, "only", "", "comma-separated variants to run (default all)")
	fs.StringVar(&cfg.paths, "paths", "", "comma-separated paths to run: rejected, allowed (default both)")
	fs.StringVar(&cfg.cpuprofile, "cpuprofile", "", "write a CPU profile of every run to this file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if cfg.duration < time.Second || cfg.connections < 1 || cfg.threads < 1 || cfg.rounds < 1 || cfg.connections < cfg.threads {
		return errors.New("want -duration of at least 1s, -rounds and -threads of at least 1, and at least as many -connections as -threads")
	}
	vs, err := pick(variants, cfg.only, func(v variant) string { return v.name })
	if err != nil {
		return err
	}
	ps, err := pick(paths, cfg.paths, func(p path) string { return string(p) })
	if err != nil {
		return err
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk not found: install Debian's package (apt-get install -y wrk) and run again")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("redis-server not found: install Debian's package (apt-get install -y redis-server) and run again")
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "smartdocs-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rs, err := startRedis(redisBin, tmp)
	if err != nil {
		return err
	}
	defer rs.stop()

	// The app variants log to a file, as a deployment's stdout ends in
	// one: every line costs the write it costs there.
	logs, err := os.Create(filepath.Join(tmp, "app.log"))
	if err != nil {
		return err
	}
	defer logs.Close()

	scripts, err := writeScripts(tmp)
	if err != nil {
		return err
	}
	programs, response, err := prepareBinaries(ctx, vs, tmp)
	if err != nil {
		return err
	}
	// Every variant in this process runs under the collector's target
	// the binary sets for itself: bare chi's too, so that the ratios
	// compare handlers, not GC settings. The binary variants each run
	// under their own runtime's.
	machine := describeMachine(wrk, redisBin)
	machine.gogc = app.TuneGC(os.Getenv)
	fmt.Fprintf(stdout, "bench: %s\n", machine.oneLine())
	total := time.Duration(cfg.rounds*len(ps)*len(vs)) * cfg.duration
	fmt.Fprintf(stdout, "bench: %d variants x %d paths x %d rounds of %v: about %v\n", len(vs), len(ps), cfg.rounds, cfg.duration, total.Round(time.Second))
	if cfg.cpuprofile != "" {
		f, err := os.Create(cfg.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	var results []result
	order := slices.Clone(vs)
	for round := 1; round <= cfg.rounds; round++ {
		for _, p := range ps {
			for _, v := range order {
				if err := ctx.Err(); err != nil {
					return err
				}
				if v.rejectedOnly && p == allowed {
					continue
				}
				if err := rs.flush(ctx); err != nil {
					return err
				}
				var res result
				if v.bin != nil {
					d := deps{redisAddr: rs.addr, path: p, response: response}
					res, err = measureBinary(ctx, cfg, wrk, scripts[p], v, d, programs[v.bin.pkg], filepath.Join(tmp, fmt.Sprintf("%s-%s-%d.log", v.name, p, round)))
				} else {
					res, err = measure(ctx, cfg, wrk, scripts[p], rs, v, p, logs)
				}
				if err != nil {
					return fmt.Errorf("%s, %s path, round %d: %w", v.name, p, round, err)
				}
				res.round = round
				logged := ""
				if v.whole {
					logged = fmt.Sprintf("  %d log lines", res.logLines)
				}
				fmt.Fprintf(stdout, "bench: round %d %-8s %-19s %9.0f req/s  %5.1f µs CPU/req  p99 %-9v %s%s\n", round, p, v.name, res.rps, res.cpuPerRequest().Seconds()*1e6, res.p99, res.check(), logged)
				results = append(results, res)
			}
		}
		slices.Reverse(order)
	}

	rep := newReport(cfg, machine, results)
	md := rep.markdown()
	if err := os.WriteFile(filepath.Join(cfg.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cfg.out, "results.svg"), []byte(rep.svg()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\nbench: wrote %s and %s\n", md, filepath.Join(cfg.out, "results.md"), filepath.Join(cfg.out, "results.svg"))
	return nil
}

// pick returns the items whose names the comma-separated list names, in
// their own order; an empty list picks all.
func pick[T any](all []T, list string, name func(T) string) ([]T, error) {
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var out []T
	for _, x := range all {
		if want[name(x)] {
			out = append(out, x)
			delete(want, name(x))
		}
	}
	if len(want) > 0 {
		var names []string
		for _, x := range all {
			names = append(names, name(x))
		}
		return nil, fmt.Errorf("unknown name in %q: choose from %s", list, strings.Join(names, ", "))
	}
	return out, nil
}
