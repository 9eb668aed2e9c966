package app

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/internal/respond"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// limits builds what handlers/routes.go asks for by name
// (d.Limit("chat")): the client's bans, then one atomic decision over
// the named per-client limit, the per-IP ceiling and the global budget.
//
// The named layer's policy is the limit's name, so each name counts on
// counters of its own by construction; "chat" keeps its historic policy
// name, per-client, in keys, headers and metrics. The per-IP ceiling and
// the global budget are shared by every route that does not opt out.
type limits struct {
	cfg   config.Config
	store ratelimit.Store
	id    *clientID
	ops   *ops
	log   *slog.Logger
	// changed, when set, hears each question that a limit other than
	// readsLimit let through: the client's standing moved (the peek
	// cache, reads.go).
	changed func(r *http.Request)
	// refused answers every limiter's refusals the Python original's way.
	refused refusals

	mu    sync.Mutex
	built map[string]builtLimit
	errs  []error
}

type builtLimit struct {
	limiter *ratelimit.Limiter
	opts    []handlers.LimitOption
}

// middleware is handlers.Deps.Limit. A name that cannot be built is
// remembered for err, which stops start-up; the route is left unlimited
// meanwhile, never served.
func (l *limits) middleware(name string, opts ...handlers.LimitOption) func(http.Handler) http.Handler {
	lim, err := l.limiter(name, opts)
	if err != nil {
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
		return func(next http.Handler) http.Handler { return next }
	}
	return func(next http.Handler) http.Handler {
		next = lim.Handler(l.noted(next))
		if slices.Contains(opts, handlers.NoBans) {
			return next
		}
		return l.ops.guard(next)
	}
}

// noted tells the request log the client's key of a request the limiter
// let through (a refusal gets no line of its own): worked out once per
// request, it costs a look-up here.
func (l *limits) noted(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if short := l.id.shortKey(r); short != "" {
			handlers.NoteKey(w, short)
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a refusal of every limiter (dry run refuses nothing):
// counted in the refusal summary, it gets no line of its own in the
// request log.
func (l *limits) refuse(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
	l.ops.refused.Add(l.id.shortKey(r), res.Policy)
	handlers.Quiet(w)
	l.refused.write(w, r, res)
}

// err reports the first limit the routes named that could not be built.
func (l *limits) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

// limiter returns the limiter of name with opts, building it once.
func (l *limits) limiter(name string, opts []handlers.LimitOption) (*ratelimit.Limiter, error) {
	opts = slices.Clone(opts)
	slices.Sort(opts)
	opts = slices.Compact(opts)
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.built[name]; ok {
		if !slices.Equal(b.opts, opts) {
			return nil, fmt.Errorf("handlers/routes.go: d.Limit(%q) is named with different opt-outs (%v and %v): routes that share a limit share its layers too", name, b.opts, opts)
		}
		return b.limiter, nil
	}
	ls, ok := l.cfg.Limits[name]
	if !ok {
		return nil, fmt.Errorf("handlers/routes.go: d.Limit(%q): no limit of that name; declare it in config.RouteLimits (config/limits.go) or app.Options.Limits", name)
	}
	var layers []ratelimit.Layer
	if name == "chat" {
		layers = append(layers, l.id.clientLayer())
	} else {
		layers = append(layers, ratelimit.Layer{Policy: ratelimit.Policy{Name: name, Limits: ls}, Key: l.id.keys.Client})
	}
	if l.cfg.PerIP != nil && !slices.Contains(opts, handlers.NoPerIP) {
		layers = append(layers, l.id.ipLayer())
	}
	if l.cfg.Global != nil && !slices.Contains(opts, handlers.NoGlobal) {
		layers = append(layers, ratelimit.Layer{
			Policy: ratelimit.Policy{Name: "global", Note: "for everyone", Limits: l.cfg.Global},
			Key:    func(*http.Request) (string, error) { return "global", nil },
		})
	}
	lim, err := ratelimit.New(ratelimit.Options{
		Store:      l.store,
		Layers:     layers,
		DryRun:     l.cfg.DryRun,
		OnDecision: l.decided(name),
		OnLimited:  l.refuse,
		OnError: func(w http.ResponseWriter, r *http.Request, err error) {
			if writeTokenError(w, err) {
				return
			}
			l.log.Error("rate limiter failed", "err", err)
			w.Header().Set("Retry-After", "1")
			respond.Error(w, http.StatusServiceUnavailable, "Rate limiter unavailable, try again shortly.")
		},
	})
	if err != nil {
		return nil, fmt.Errorf("config: limit %q: %w", name, err)
	}
	if l.built == nil {
		l.built = make(map[string]builtLimit)
	}
	l.built[name] = builtLimit{limiter: lim, opts: opts}
	return lim, nil
}
