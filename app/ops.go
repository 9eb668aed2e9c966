package app

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/admin"
	"github.com/smartdocs-go/smartdocs/analytics"
	"github.com/smartdocs-go/smartdocs/bans"
	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/metrics"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/redisstore"
	"github.com/smartdocs-go/smartdocs/refusallog"
)

// bansKey is the Redis hash that holds the bans.
const bansKey = "smartdocs:bans"

// ops is the operations side of the app: metrics, the request log's
// view of each client, the summary of refusals, analytics, bans and the
// admin routes.
type ops struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	// refused summarizes refusals (every limit, bans) in the log, in
	// place of a request line each, which whoever answers the refusal
	// leaves out (handlers.Quiet); metrics still count every one.
	refused *refusallog.Summary
	// unrouted summarizes requests that match no route the same way:
	// a scanner's flood is no more a line per request than a client's.
	unrouted  *refusallog.Summary
	analytics *analytics.Analytics
	bans      *bans.Bans
	keys      *identity.Keys
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// newOps starts with the metrics, which the Redis store reports to as it
// is built; wire does the rest.
func newOps(cfg config.Config, log *slog.Logger) *ops {
	if cfg.Redis != nil {
		// go-redis has one logger per process, writing to stderr in its
		// own format by default; the last app built with Redis takes it,
		// before the first connection is tried.
		redis.SetLogger(newLibraryLog(log, "go-redis", nil)) // logging.go
	}
	return &ops{cfg: cfg, log: log, metrics: metrics.New(),
		refused:  refusallog.New(refusallog.Options{Logger: log}),
		unrouted: refusallog.New(refusallog.Options{Logger: log, Message: "unrouted", TotalMessage: "unrouted requests"}),
	}
}

// watchFailover exports the Redis failover's state as metrics.
func (o *ops) watchFailover(fo *redisstore.Failover) {
	o.metrics.WatchFailover(func() metrics.FailoverStats {
		st := fo.Stats()
		return metrics.FailoverStats{Down: !fo.Up(), CacheHits: st.CacheHits, Fallbacks: st.Fallbacks}
	})
}

// start begins the background work of the bans and the analytics,
// shared through rdb when it is not nil; it stops with ctx or close.
func (o *ops) start(ctx context.Context, rdb redis.UniversalClient, keys *identity.Keys) {
	ctx, o.cancel = context.WithCancel(ctx)
	o.keys = keys
	var store bans.Store = &bans.MemoryStore{}
	anOpts := analytics.Options{}
	if rdb != nil {
		store = bans.NewRedisStore(rdb, bansKey)
		anOpts.Redis = rdb
	}
	o.analytics = analytics.New(anOpts)
	o.bans = bans.New(store, bans.Options{
		Max:    o.cfg.Ops.BansMax,
		Logger: o.log,
		OnBanned: func(w http.ResponseWriter, r *http.Request, _ bans.Ban) {
			o.metrics.Banned()
			o.refused.Add(o.clientOf(r).short, "banned")
			handlers.Quiet(w)
		},
	})
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if err := o.bans.Refresh(rctx); err != nil {
		o.log.Warn("cannot read the bans yet; retrying every second", "err", err)
	}
	cancel()
	o.wg.Add(4)
	go func() { defer o.wg.Done(); o.bans.Run(ctx) }()
	go func() { defer o.wg.Done(); o.analytics.Run(ctx) }()
	go func() { defer o.wg.Done(); o.refused.Run(ctx) }()
	go func() { defer o.wg.Done(); o.unrouted.Run(ctx) }()
}

// guard is what every limited route has in front of its limiter: the
// bans.
func (o *ops) guard(next http.Handler) http.Handler {
	return o.bans.Middleware(o.client)(next)
}

// deps adds the operations side to d: request metrics, LLM timings,
// /metrics and /admin (whose policy list is policies).
func (o *ops) deps(d *handlers.Deps, policies string) error {
	d.OnRequest = func(f handlers.Finished) { o.metrics.Request(f.Route, f.Method, f.Status, f.Duration) }
	// Keyed by status: the client is not resolved outside the routes,
	// and the path and method are the client's to choose.
	d.Unrouted = func(status int) {
		if status == http.StatusNotFound {
			o.unrouted.Add("404", "no-route")
		} else {
			o.unrouted.Add("405", "method-not-allowed")
		}
	}
	if o.cfg.Ops.MetricsAddr == "" {
		d.Metrics = o.metrics.Handler()
	}
	for i, m := range d.Models {
		if m.Engine != nil {
			d.Models[i].Engine = timedEngine{name: m.Name, engine: m.Engine, metrics: o.metrics}
		}
	}
	if o.cfg.Ops.AdminToken != "" {
		h, err := admin.New(admin.Options{
			Token:       o.cfg.Ops.AdminToken,
			Analytics:   o.analytics,
			Bans:        o.bans,
			Key:         o.keys.IP,
			Policies:    policies,
			KeyStrategy: o.cfg.KeyName,
			Logger:      o.log,
		})
		if err != nil {
			return err
		}
		d.Admin = h
	}
	return nil
}

func (o *ops) close() {
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
}

// client is who a request on a rate-limited route comes from.
type client struct {
	ip netip.Addr
	// key and tag are the hex parts of the per-client key
	// ("{tag}key"); ipTag is the per-IP key's; short is what logs show
	// of key (identity.ShortKey).
	key, tag, ipTag, short string
}

// clientOf works out r's client. Its keys come from identity.Keys' cache
// of recent keys: working them out again where they are needed (bans,
// analytics, the refusal summary) costs less than carrying them in a new
// request and context, which a flood would pay on every refusal. A key
// that cannot be computed (a bad bearer token) is left empty, for the
// limiter to refuse.
func (o *ops) clientOf(r *http.Request) client {
	var c client
	if res, ok := identity.FromContext(r.Context()); ok {
		c.ip = res.IP
	}
	if k, err := o.keys.Client(r); err == nil {
		c.tag, c.key = splitKey(k)
		c.short = identity.ShortKey(k)
	}
	if k, err := o.keys.IP(r); err == nil {
		c.ipTag, _ = splitKey(k)
	}
	return c
}

// splitKey splits "{tag}rest" into its parts.
func splitKey(k string) (tag, rest string) {
	if t, r, ok := strings.Cut(strings.TrimPrefix(k, "{"), "}"); ok && strings.HasPrefix(k, "{") {
		return t, r
	}
	return "", k
}

// client tells the bans a request's address and key parts.
func (o *ops) client(r *http.Request) (netip.Addr, []string) {
	c := o.clientOf(r)
	return c.ip, []string{c.key, c.tag, c.ipTag}
}

// decided is the limiter's OnDecision: metrics, analytics and, in dry
// run, the line that says what enforcing would have done. A refusal is
// counted in the refusal summary where it is answered (limits.refuse).
func (o *ops) decided(r *http.Request, res ratelimit.Result) {
	o.metrics.Decision(res.Allowed, o.cfg.DryRun, res.Policy)
	c := o.clientOf(r)
	if o.cfg.DryRun && !res.Allowed {
		// The request goes through; the log says what enforcing would
		// have done, with the key's prefix only.
		o.log.Info("dry run: would refuse", "policy", res.Policy, "limit", res.Limit.String(), "retry_after", res.RetryAfter.Round(time.Second).String(), "key", c.short)
	}
	if o.analytics == nil {
		return
	}
	sess, _ := identity.SessionID(r)
	o.analytics.Record(analytics.Event{Key: c.key, IPKey: c.ipTag, Session: sess, Agent: r.Header.Get("User-Agent"), Allowed: res.Allowed})
}

// serveMetrics serves /metrics on METRICS_ADDR, when it names a listener
// of its own, until ctx ends.
func (o *ops) serveMetrics(ctx context.Context) error {
	addr := o.cfg.Ops.MetricsAddr
	if addr == "" || addr == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on METRICS_ADDR=%s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	o.log.Info("metrics listening", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("metrics server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return nil
}

// timedEngine reports how long each answer took, to its last token, and
// whether it failed. A client that went away is not a failure.
type timedEngine struct {
	name    string
	engine  chat.Engine
	metrics *metrics.Metrics
}

func (t timedEngine) Answer(ctx context.Context, q chat.Query) (*chat.Reply, error) {
	start := time.Now()
	reply, err := t.engine.Answer(ctx, q)
	if err != nil {
		t.observe(start, err)
		return nil, err
	}
	tokens := reply.Tokens
	if tokens == nil {
		t.observe(start, nil)
		return reply, nil
	}
	out := *reply
	out.Tokens = iter.Seq2[string, error](func(yield func(string, error) bool) {
		var failed error
		defer func() { t.observe(start, failed) }()
		for tok, err := range tokens {
			if err != nil {
				failed = err
			}
			if !yield(tok, err) {
				return
			}
		}
	})
	return &out, nil
}

func (t timedEngine) observe(start time.Time, err error) {
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	t.metrics.LLM(t.name, time.Since(start), err)
}
