package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/app"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
)

// path is what wrk drives.
type path string

const (
	// rejected: one client floods a 3/minute limit, so all but three
	// requests get a 429.
	rejected path = "rejected"
	// allowed: every request comes from a new client (a random
	// X-Forwarded-For), so every request passes.
	allowed path = "allowed"
)

var paths = []path{rejected, allowed}

// A variant builds one server's handler for one run. The returned
// function releases what it holds; stats, when set, reports what the
// limiter did with Redis so far.
type variant struct {
	name string
	// redis says whether the variant needs the Redis server.
	redis bool
	build func(ctx context.Context, d deps) (h http.Handler, release func(), stats func() redisStats, err error)
	// whole says the handler is a whole server with its own router: it
	// is served as built, not mounted at POST /chat of a bare router.
	whole bool
	// rejectedOnly says the variant has no allowed path.
	rejectedOnly bool
	// bin, when set, makes the variant a built binary flooded as a
	// process of its own (binaries.go); build is then unused.
	bin *binary
}

// redisStats counts a limiter's work with Redis.
type redisStats struct {
	// calls counts commands, scripts and pipelines sent.
	calls int64
	// fallbacks counts decisions made without Redis because it was
	// slower than the timeout (Failover only).
	fallbacks int64
}

// deps is what every variant may use.
type deps struct {
	redisAddr string
	// redisPassword is empty for the bench's own redis-server; tests
	// start theirs with one.
	redisPassword string
	// keyed wraps a limiter so that it sees the app's client resolution,
	// and key is the app's per-client key: every limiter limits the same
	// clients.
	keyed func(http.Handler) http.Handler
	key   func(*http.Request) (string, error)
	ipKey func(*http.Request) (string, error)
	// path is the path being measured: the app variants raise the limit
	// for the allowed one.
	path path
	// logs receives the app variants' request log, a file as in a
	// deployment (each line a write to it); nil discards.
	logs io.Writer
	// response is the file holding the shipped app's 429, for the binary
	// variants of bare chi that answer with it.
	response string
}

const (
	perMinute = 3
	// limitedBody is the 429 that bare-chi and redis_rate write, the
	// same text as the app's.
	limitedBody = `{"error":"Rate limit exceeded: 3 per 1 minute","detail":"Rate limit exceeded: 3 per 1 minute"}` + "\n"
)

// trivial is the handler behind every limiter: the answer engine's cost
// would hide the limiter's.
var trivial = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`+"\n")
})

func router(h http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Method(http.MethodPost, "/chat", h)
	return r
}

var variants = []variant{
	{name: "bare-chi", build: func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The rejected path's ceiling: a 429 and nothing else.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, limitedBody)
		}), func() {}, nil, nil
	}},
	{name: "bare-chi-429", rejectedOnly: true, build: shipped429},
	{name: "ours-memory", build: func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		s, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := ours(s, d, false)
		return h, func() {}, nil, err
	}},
	{name: "ours-redis", redis: true, build: oursRedis(false)},
	{name: "ours-redis-2-layers", redis: true, build: oursRedis(true)},
	{name: "app-memory", whole: true, build: appVariant(false)},
	{name: "app-redis", redis: true, whole: true, build: appVariant(true)},
	{name: "binary-bare-chi", bin: &binary{pkg: barechi, start: barechiRun(false, "")}},
	{name: "binary-bare-chi-429", rejectedOnly: true, bin: &binary{pkg: barechi, start: barechiRun(true, "")}},
	{name: "binary-bare-chi-429-server", rejectedOnly: true, bin: &binary{pkg: barechi, start: barechiRun(true, appTimeouts())}},
	{name: "binary-app-memory", whole: true, bin: &binary{pkg: smartdocs, start: smartdocsRun(false)}},
	{name: "binary-app-redis", redis: true, whole: true, bin: &binary{pkg: smartdocs, start: smartdocsRun(true)}},
	{name: "httprate-memory", build: func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		return d.keyed(httprate.LimitBy(perMinute, time.Minute, d.key)(trivial)), func() {}, nil, nil
	}},
	{name: "httprate-redis", redis: true, build: func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		host, port, err := net.SplitHostPort(d.redisAddr)
		if err != nil {
			return nil, nil, nil, err
		}
		p, _ := strconv.Atoi(port)
		// Its documented setup: the client it builds for itself from
		// Config{Host, Port} (these options are its defaults), here
		// built by us only to count its calls; its local fallback on.
		const timeout = 250 * time.Millisecond
		rdb := redis.NewClient(&redis.Options{
			Addr: net.JoinHostPort(host, strconv.Itoa(p)), Password: d.redisPassword, DisableIdentity: true,
			DialTimeout: 2 * timeout, ReadTimeout: timeout, WriteTimeout: timeout,
			PoolSize: 10, MinIdleConns: 1, MaxIdleConns: 5, MaxRetries: -1,
		})
		var calls atomic.Int64
		rdb.AddHook(countHook{&calls})
		counter := httprateredis.WithRedisLimitCounter(&httprateredis.Config{Client: rdb})
		h := d.keyed(httprate.LimitBy(perMinute, time.Minute, d.key, counter)(trivial))
		return h, func() { rdb.Close() }, func() redisStats { return redisStats{calls: calls.Load()} }, nil
	}},
	{name: "redis_rate", redis: true, build: func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		rdb := redis.NewClient(&redis.Options{Addr: d.redisAddr, Password: d.redisPassword})
		var calls atomic.Int64
		rdb.AddHook(countHook{&calls})
		l := redis_rate.NewLimiter(rdb)
		limit := redis_rate.PerMinute(perMinute)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, err := d.key(r)
			if err != nil {
				http.Error(w, "no key", http.StatusInternalServerError)
				return
			}
			res, err := l.Allow(r.Context(), key, limit)
			if err != nil {
				http.Error(w, "limiter unavailable", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(perMinute))
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
			if res.Allowed == 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(res.RetryAfter/time.Second)+1))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, limitedBody)
				return
			}
			trivial(w, r)
		})
		return d.keyed(h), func() { rdb.Close() }, func() redisStats { return redisStats{calls: calls.Load()} }, nil
	}},
}

// oursRedis builds the Redis store behind Failover, as the app does:
// context deadlines bound socket reads, a memory store decides while
// Redis is slower than the timeout (100ms).
func oursRedis(perIP bool) func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
	return func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		rdb := redis.NewClient(&redis.Options{Addr: d.redisAddr, Password: d.redisPassword, ContextTimeoutEnabled: true})
		var calls atomic.Int64
		rdb.AddHook(countHook{&calls})
		rs, err := redisstore.New(rdb, redisstore.Options{})
		if err != nil {
			return nil, nil, nil, err
		}
		local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		fo, err := redisstore.NewFailover(rs, redisstore.FailoverOptions{
			Local:           local,
			Probe:           func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
			HonoursDeadline: true, // as the app runs it
		})
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := ours(fo, d, perIP)
		release := func() { fo.Close(); rdb.Close() }
		stats := func() redisStats { return redisStats{calls: calls.Load(), fallbacks: fo.Stats().Fallbacks} }
		return h, release, stats, err
	}
}

// floodRequest is the question rejectedScript makes wrk send, from one
// client on loopback, for the variants measured in process.
func floodRequest() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(question))
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "wrk")
	return r
}

// shipped429 is bare chi answering with the shipped app's 429 verbatim:
// the headers and body that app.NewHandler sends a client over its limit,
// captured once at start-up and written by a handler that does nothing
// else. Beside bare-chi it shows what the response the app keeps costs
// by itself (net/http copies, sorts and writes every header); beside
// app-memory, what the app's own work around it costs.
func shipped429(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
	h, body, err := captured429(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	// Two slices, not the map: a range over a map costs more per request
	// than the ceiling should.
	var names []string
	var values [][]string
	for name, v := range h {
		names, values = append(names, name), append(values, v)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wh := w.Header()
		for i, name := range names {
			wh[name] = values[i]
		}
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(body)
	}), func() {}, nil, nil
}

// captured429 is the shipped app's 429, headers and body, as app.NewHandler
// answers floodRequest with default settings once its limit is spent.
// Every value is capped, so that an append copies it rather than writes
// into the slice that every request shares.
func captured429(ctx context.Context) (http.Header, []byte, error) {
	d := deps{logs: io.Discard}
	shipped, release, _, err := appVariant(false)(ctx, d)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	var rec *httptest.ResponseRecorder
	for range perMinute + 1 {
		rec = httptest.NewRecorder()
		shipped.ServeHTTP(rec, floodRequest())
	}
	if rec.Code != http.StatusTooManyRequests {
		return nil, nil, fmt.Errorf("the app answered request %d with %d, want 429", perMinute+1, rec.Code)
	}
	h := rec.Header().Clone()
	for name, v := range h {
		h[name] = slices.Clip(v)
	}
	return h, rec.Body.Bytes(), nil
}

// appEnv is the environment the app variants run with: default settings,
// the bench's Redis when withRedis, and on the allowed path RATE_LIMIT
// raised out of reach, so that every question is answered.
func appEnv(d deps, withRedis bool) map[string]string {
	env := map[string]string{}
	if withRedis {
		u := url.URL{Scheme: "redis", Host: d.redisAddr}
		if d.redisPassword != "" {
			u.User = url.UserPassword("", d.redisPassword)
		}
		env["REDIS_URL"] = u.String()
	}
	if d.path == allowed {
		env["RATE_LIMIT"] = "1000000000/minute"
	}
	return env
}

// appVariant serves the shipped app's whole handler, built by the same
// code as app.Run with default settings (logging, metrics, analytics,
// bans, security headers around the limiter), in memory or on the bench's
// Redis. On the allowed path RATE_LIMIT is raised out of reach, so every
// question is answered by the docs engine.
func appVariant(withRedis bool) func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
	return func(ctx context.Context, d deps) (http.Handler, func(), func() redisStats, error) {
		env := appEnv(d, withRedis)
		logs := d.logs
		if logs == nil {
			logs = io.Discard
		}
		ctx, cancel := context.WithCancel(ctx)
		h, closeApp, err := app.NewHandler(ctx, app.Options{}, func(k string) string { return env[k] }, logs)
		if err != nil {
			cancel()
			return nil, nil, nil, err
		}
		return h, func() { cancel(); closeApp() }, nil, nil
	}
}

// ours is this package's limiter with a per-client layer, the peers' one
// limit, and when perIP is set the app's default per-IP ceiling
// (60/minute) as a second layer in the same decision.
func ours(s ratelimit.Store, d deps, perIP bool) (http.Handler, error) {
	layers := []ratelimit.Layer{
		{Policy: ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: perMinute, Window: time.Minute}}}, Key: d.key},
	}
	if perIP {
		layers = append(layers, ratelimit.Layer{Policy: ratelimit.Policy{Name: "per-ip", Note: "per IP", Limits: []ratelimit.Limit{{Requests: 60, Window: time.Minute}}}, Key: d.ipKey})
	}
	lim, err := ratelimit.New(ratelimit.Options{Store: s, Layers: layers})
	if err != nil {
		return nil, err
	}
	return d.keyed(lim.Handler(trivial)), nil
}

// countHook counts the commands and pipelines a go-redis client sends.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

func newDeps(redisAddr, redisPassword string) (deps, error) {
	trusted, err := identity.ParseTrusted("127.0.0.0/8,::1/128")
	if err != nil {
		return deps{}, err
	}
	resolver, err := identity.NewResolver(identity.ResolverOptions{Trusted: trusted})
	if err != nil {
		return deps{}, err
	}
	keys := identity.NewKeys(identity.NewHasher(nil), identity.BySession)
	return deps{redisAddr: redisAddr, redisPassword: redisPassword, keyed: resolver.Middleware, key: keys.Client, ipKey: keys.IP}, nil
}

// statusCount counts the answers of one run by status.
type statusCount struct{ ok, limited, other atomic.Int64 }

func (c *statusCount) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		switch sw.code {
		case http.StatusOK:
			c.ok.Add(1)
		case http.StatusTooManyRequests:
			c.limited.Add(1)
		default:
			c.other.Add(1)
		}
	})
}

// statusWriter records the status. Through Unwrap it passes on what
// http.ResponseController offers: without it the app's NDJSON answer could
// not flush line by line, and the bench would time a stream written in one
// piece, which no deployment sends.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// serve starts h on a free loopback port.
func serve(h http.Handler) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("bench: server:", err)
		}
	}, nil
}

// measure runs wrk once against a fresh server of variant v.
func measure(ctx context.Context, cfg config, wrk, script string, rs *redisServer, v variant, p path, logs *os.File) (result, error) {
	d, err := newDeps(rs.addr, "")
	if err != nil {
		return result{}, err
	}
	d.path, d.logs = p, logs
	var logStart int64
	if logs != nil {
		if st, err := logs.Stat(); err == nil {
			logStart = st.Size()
		}
	}
	var h http.Handler
	release, stats := func() {}, func() redisStats { return redisStats{} }
	if v.name == "bare-chi" && p == allowed {
		// The allowed path's ceiling is the trivial handler alone.
		h = trivial
	} else {
		var s func() redisStats
		h, release, s, err = v.build(ctx, d)
		if err != nil {
			return result{}, err
		}
		if s != nil {
			stats = s
		}
	}
	defer release()
	var sc statusCount
	if !v.whole {
		h = router(h)
	}
	addr, stop, err := serve(sc.wrap(h))
	if err != nil {
		return result{}, err
	}
	defer func() { stop() }()
	before := stats()
	cpuBefore := processCPU()
	res, err := runWrk(ctx, wrk, script, "http://"+addr+"/chat", cfg)
	if err != nil {
		return result{}, err
	}
	res.serverCPU = processCPU() - cpuBefore
	res.variant, res.path = v.name, p
	res.ok, res.limited, res.other = sc.ok.Load(), sc.limited.Load(), sc.other.Load()
	after := stats()
	res.redisCalls, res.fallbacks = after.calls-before.calls, after.fallbacks-before.fallbacks
	// The app variants do not report their Redis calls: their column
	// stays empty rather than read 0.
	res.redis = v.redis && !v.whole
	if logs != nil && v.whole {
		stop()
		stop = func() {}
		res.logBytes, res.logLines = countLines(logs, logStart)
	}
	return res, nil
}

// countLines counts the bytes and lines written to f since offset.
func countLines(f *os.File, offset int64) (bytes, lines int64) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0
	}
	buf := make([]byte, 64<<10)
	for off := offset; off < st.Size(); {
		n, err := f.ReadAt(buf, off)
		for _, c := range buf[:n] {
			if c == '\n' {
				lines++
			}
		}
		off += int64(n)
		if err != nil {
			break
		}
	}
	return st.Size() - offset, lines
}

// processCPU is the CPU time this process (the servers; wrk and
// redis-server run apart) has used, user and system. On a machine that
// other work keeps busy, requests per second swing with the share of the
// cores the server gets; CPU per request does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
