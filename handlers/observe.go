package handlers

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Finished is what the server knows of a request when it ends, for
// metrics (Deps.OnRequest).
type Finished struct {
	// Route is the chi route pattern ("/chat", "/static/*", "/admin/bans/{id}"),
	// "" when no route matched; never the raw path.
	Route    string
	Method   string
	Status   int
	Duration time.Duration
}

// note is filled in by the layers a request passes through and read by the
// request log when the request ends: the outer middleware cannot see what
// the inner ones decided otherwise.
type note struct {
	mu  sync.Mutex
	key string
}

type noteKey struct{}

// NoteKey records the rate-limit key of the request whose context is ctx,
// for its log line, which shows at most the first 8 characters: pass the
// short form (identity.ShortKey), never an address or a User-Agent. It does
// nothing outside a request served by NewServer.
func NoteKey(ctx context.Context, short string) {
	if n, ok := ctx.Value(noteKey{}).(*note); ok {
		n.mu.Lock()
		n.key = short
		n.mu.Unlock()
	}
}

// logRequests writes one line per request (method, route pattern, status,
// duration and, for rate-limited routes, the key's first 8 characters;
// never the address or the User-Agent) and reports it to onRequest.
func logRequests(log *slog.Logger, now func() time.Time, onRequest func(Finished)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			n := &note{}
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), noteKey{}, n)))
			f := Finished{Method: r.Method, Status: ww.Status(), Duration: now().Sub(start)}
			if f.Status == 0 {
				f.Status = http.StatusOK // the handler wrote nothing
			}
			if rc := chi.RouteContext(r.Context()); rc != nil {
				f.Route = rc.RoutePattern()
			}
			if onRequest != nil {
				onRequest(f)
			}
			attrs := []slog.Attr{
				slog.String("method", f.Method),
				slog.String("route", f.Route),
				slog.Int("status", f.Status),
				slog.Float64("duration_ms", math.Round(float64(f.Duration.Microseconds()))/1000),
			}
			n.mu.Lock()
			if k := n.key; k != "" {
				attrs = append(attrs, slog.String("key", k[:min(len(k), 8)]))
			}
			n.mu.Unlock()
			level := slog.LevelInfo
			if f.Status >= 500 {
				level = slog.LevelWarn
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		})
	}
}
