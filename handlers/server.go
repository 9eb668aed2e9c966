// Package handlers serves SmartDocs over HTTP: the chat API of the Python
// original (POST /chat and /api/chat, NDJSON or JSON answers), health,
// models and the embedded page. It knows how to speak HTTP, not how to
// answer questions or count requests: those arrive as dependencies.
package handlers

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/internal/respond"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// Model is one engine a request can name in model_type. The app's
// registry (app/engines.go) lists them; GET /models, the 422 for an
// unknown model_type and the OpenAPI document's enum all follow from it.
type Model struct {
	Name        string
	Description string
	// Engine is nil when the model is known but not configured.
	Engine chat.Engine
	// Missing names the variable to set when Engine is nil.
	Missing string
}

// Deps is everything the server needs.
type Deps struct {
	Logger *slog.Logger
	Models []Model
	// DefaultModel answers requests that name none.
	DefaultModel string
	// Identify resolves the client of every request (identity.Resolver.Middleware).
	Identify func(http.Handler) http.Handler
	// Limit returns the middleware that limits a route under the named
	// limit (config.RouteLimits): the client's bans, then the named
	// per-client limit, the per-IP ceiling and the global budget in one
	// atomic decision, less the shared layers the route opts out of.
	// Routes that name one limit share its counters. nil limits nothing.
	Limit func(name string, opts ...LimitOption) func(http.Handler) http.Handler
	// LimiterHealth reports the limiter's state for /health.
	LimiterHealth func(ctx context.Context) any
	// Static holds index.html and the page's assets.
	Static fs.FS
	// CORSOrigins are the origins allowed to call the API from a browser
	// (CORS_ORIGINS, checked by config); nil leaves CORS off.
	CORSOrigins []string
	// WhoAmI serves GET /whoami, the caller's resolved identity; nil
	// leaves the route answering 404.
	WhoAmI http.Handler
	// Peek reports the caller's standing under every limit without
	// counting (ratelimit.Limiter.Peek), for GET /limits; nil leaves the
	// route out.
	Peek func(r *http.Request) ([]ratelimit.State, error)
	// Metrics serves GET /metrics on this server; nil leaves it out (it
	// is off, or on a listener of its own: METRICS_ADDR).
	Metrics http.Handler
	// Admin is mounted at /admin; nil (ADMIN_TOKEN unset) leaves every
	// /admin route out, answering 404.
	Admin http.Handler
	// OnRequest, when set, is told of every finished request (metrics).
	OnRequest func(Finished)
	// Unrouted, when set, is told of every request that matched no route,
	// with its status: 404 (no such route) or 405 (a method the route
	// does not take). The request log leaves them out: a scanner's flood
	// is counted in a summary (the app's refusallog) instead of a line
	// each. A 404 or 405 that a route's own handler answers (an unknown
	// ban id, a missing file) keeps its line. nil logs them one by one.
	// OnRequest still hears of them.
	Unrouted func(status int)
	// Extra adds a program's own routes beside these (app.Options.Routes);
	// nil adds none.
	Extra func(r chi.Router, d Deps)
	// Now is the clock for /health; default time.Now.
	Now func() time.Time
	// AnswerMaxDuration bounds how long one answer may stream, or take to
	// collect as JSON (ANSWER_MAX_DURATION): past it the engine's context
	// is cancelled and the stream ends with an error line. Writes wait no
	// later than it and the error line's 5 s grace, so a client that reads
	// slowly cannot hold its handler longer. 0 leaves answers unbounded in
	// time.
	AnswerMaxDuration time.Duration
	// AnswerMaxBytes bounds the bytes one answer may write, or collect as
	// JSON (ANSWER_MAX_BYTES): past it the engine's context is cancelled
	// and the stream ends with an error line. 0 leaves answers unbounded
	// in size.
	AnswerMaxBytes int64
	// KeyError writes an error of the client's own making met while
	// keying a request (an invalid bearer token: 401) and reports true,
	// or reports false for any other error. Used by GET /limits.
	KeyError func(w http.ResponseWriter, err error) bool
}

// NewServer returns the whole HTTP API.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Identify == nil {
		d.Identify = func(h http.Handler) http.Handler { return h }
	}
	if d.Limit == nil {
		d.Limit = func(string, ...LimitOption) func(http.Handler) http.Handler {
			return func(h http.Handler) http.Handler { return h }
		}
	}
	if d.WhoAmI == nil {
		d.WhoAmI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { respond.Error(w, http.StatusNotFound, "Not Found") })
	}
	return routes(d)
}

// LimitOption takes a route out of a layer that every limited route has.
type LimitOption int

const (
	// NoPerIP keeps the route out of the per-IP ceiling (RATE_LIMIT_PER_IP).
	NoPerIP LimitOption = iota + 1
	// NoGlobal keeps the route out of the global budget (RATE_LIMIT_GLOBAL).
	NoGlobal
	// NoBans keeps the route open to banned clients: GET /limits, where a
	// banned client still reads its standing.
	NoBans
)
