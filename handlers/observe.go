package handlers

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// Finished is what the server knows of a request when it ends, for
// metrics (Deps.OnRequest).
type Finished struct {
	// Route is the chi route pattern ("/chat", "/static/*", "/admin/bans/{id}"),
	// "" when no route matched; never the raw path.
	Route string
	// Method is the request's method as the client sent it, any string:
	// whoever keeps it (a metric label) must bound it.
	Method   string
	Status   int
	Duration time.Duration
}

// note is filled in by the layers a request passes through and read by the
// request log when the request ends: the outer middleware cannot see what
// the inner ones decided otherwise. It lives in the log's writer, which
// every layer is handed, so that no request needs a new context for it.
type note struct {
	mu    sync.Mutex
	key   string
	quiet bool
}

// noteOf finds the note of the request log's writer behind w, through
// the writers that wrap it (Unwrap), or nil outside a request served by
// NewServer.
func noteOf(w http.ResponseWriter) *note {
	for {
		switch x := w.(type) {
		case *loggedWriter:
			return &x.note
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// NoteKey records the rate-limit key of the request that w answers, for
// its log line, which shows at most the first 8 characters: pass the
// short form (identity.ShortKey), never an address or a User-Agent. w is
// the writer the handler was given, or one that wraps it with Unwrap. It
// does nothing outside a request served by NewServer.
func NoteKey(w http.ResponseWriter, short string) {
	if n := noteOf(w); n != nil {
		n.mu.Lock()
		n.key = short
		n.mu.Unlock()
	}
}

// Quiet leaves the request that w answers out of the request log: call
// it for a request that is counted in a summary instead (a refusal, see
// package refusallog), so that a flood does not write a line per
// request. OnRequest still hears of it. It does nothing outside a request
// served by NewServer.
func Quiet(w http.ResponseWriter) {
	if n := noteOf(w); n != nil {
		n.mu.Lock()
		n.quiet = true
		n.mu.Unlock()
	}
}

// maxLogged bounds what the request log shows of the method, which the
// client chooses freely.
const maxLogged = 200

// logRequests writes one line per request (method, route pattern, status,
// duration and, for rate-limited routes, the key's first 8 characters;
// never the address or the User-Agent), except for requests marked Quiet,
// and reports every request to onRequest.
//
// It runs on every request, refusals of a flood included, so it costs one
// allocation of its own (the writer that records the status, which holds
// the note; the request is passed on as it came), and it formats nothing
// when the line is quiet or below the logger's level.
func logRequests(log *slog.Logger, now func() time.Time, onRequest func(Finished)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			lw := &loggedWriter{ResponseWriter: w}
			next.ServeHTTP(lw, r)
			f := Finished{Method: r.Method, Status: lw.status, Duration: now().Sub(start)}
			if f.Status == 0 {
				f.Status = http.StatusOK // the handler wrote nothing
			}
			if rc := chi.RouteContext(r.Context()); rc != nil {
				f.Route = rc.RoutePattern()
			}
			if onRequest != nil {
				onRequest(f)
			}
			lw.note.mu.Lock()
			key, quiet := lw.note.key, lw.note.quiet
			lw.note.mu.Unlock()
			level := slog.LevelInfo
			if f.Status >= 500 {
				level = slog.LevelWarn
			}
			if quiet || !log.Enabled(r.Context(), level) {
				return
			}
			method := f.Method
			if len(method) > maxLogged {
				method = method[:maxLogged]
			}
			duration := slog.Float64("duration_ms", math.Round(float64(f.Duration.Microseconds()))/1000)
			if key == "" {
				log.LogAttrs(r.Context(), level, "request", slog.String("method", method), slog.String("route", f.Route), slog.Int("status", f.Status), duration)
				return
			}
			log.LogAttrs(r.Context(), level, "request", slog.String("method", method), slog.String("route", f.Route), slog.Int("status", f.Status), duration,
				slog.String("key", key[:min(len(key), 8)]))
		})
	}
}

// loggedWriter records the status a handler answered with. It passes
// Flush (the NDJSON stream), ReadFrom (files served with sendfile) and,
// through Unwrap, everything http.ResponseController offers.
type loggedWriter struct {
	http.ResponseWriter
	status int
	note   note
}

func (w *loggedWriter) WriteHeader(code int) {
	// 1xx are informational: the final status is still to come
	// (101 Switching Protocols is final).
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *loggedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Flush sends what is buffered, as http.Flusher.
func (w *loggedWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom lets io.Copy reach the connection's own ReadFrom (sendfile).
func (w *loggedWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, r)
}

// writerOnly hides every method but Write, so that io.Copy does not call
// ReadFrom again.
type writerOnly struct{ io.Writer }

// Unwrap is for http.ResponseController.
func (w *loggedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
