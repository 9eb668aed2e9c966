package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// Limits are the limits that the routes below name in d.Limit, each
// with the variable that sets it and its default (config.RouteLimit). To
// give a new route a limit of its own, add its line here and name it on
// the route's line.
func Limits() []config.RouteLimit {
	return []config.RouteLimit{
		{Name: "chat", Var: "RATE_LIMIT", Default: config.DefaultRateLimit},
		{Name: "reads", Var: "RATE_LIMIT_READS", Default: config.DefaultReadLimit},
	}
}

// routes lists every route in one place.
func routes(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(securityHeaders)
	r.Use(logRequests(d.Logger, d.Now, d.OnRequest))
	if cors := allowCORS(d.CORSOrigins); cors != nil {
		r.Use(cors) // before every route: preflights never reach the limiter
	}
	r.Use(d.Identify)
	// Requests that match no route are summarized, not logged one by one
	// (Deps.Unrouted): a scanner's flood is no more a line per request
	// than a client's.
	unrouted := func(w http.ResponseWriter, status int, msg string) {
		if d.Unrouted != nil {
			Quiet(w)
			d.Unrouted(status)
		}
		respond.Error(w, status, msg)
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		unrouted(w, http.StatusNotFound, "Not Found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		unrouted(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})

	r.Get("/health", handleHealth(d))
	r.Get("/models", handleModels(d))
	r.Method(http.MethodGet, "/whoami", d.WhoAmI)
	// Limited routes: each line shows the whole chain. d.Limit("chat")
	// is the client's bans, then RATE_LIMIT with the per-IP ceiling and
	// the global budget; both paths share one set of counters.
	r.With(d.Limit("chat")).Post("/chat", handleChat(d))
	r.With(d.Limit("chat")).Post("/api/chat", handleChat(d))

	// GET /limits reads the counters (a Redis call each, less the app's
	// short cache): a limit of its own, out of the global budget so that
	// reading never spends what questions need, and open to a banned
	// client, who may still read its standing.
	if d.Peek != nil {
		r.With(d.Limit("reads", NoGlobal, NoBans)).Get("/limits", handleLimits(d))
	}
	if d.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", d.Metrics)
	}
	if d.Admin != nil {
		r.Mount("/admin", d.Admin)
	}

	r.Get("/openapi.json", handleOpenAPI(d))
	r.Get("/docs", handleDocs())
	r.Get("/docs/{file}", handleDocsAsset())

	if d.Extra != nil {
		d.Extra(r, d)
	}

	r.Get("/", handleIndex(d.Static))
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(d.Static)))
	return r
}
