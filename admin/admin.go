// Package admin serves the operator's routes under /admin: the rate-limit
// analytics as JSON and as a small page with a chart, and the bans.
//
// Every data route wants "Authorization: Bearer <ADMIN_TOKEN>", compared
// in constant time. Wrong or missing tokens get 401, and an address that
// keeps sending them gets 429 before its token is even compared, so the
// token cannot be guessed at speed. The page itself (HTML, script, style)
// holds no data and is served without the token: its script asks for the
// token and sends it with each call. It uses no inline script or style, so
// it runs under the server's strict Content-Security-Policy.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/analytics"
	"github.com/smartdocs-go/smartdocs/bans"
	"github.com/smartdocs-go/smartdocs/internal/respond"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

//go:embed assets
var assets embed.FS

// An address may send MaxFailures wrong tokens per FailureWindow; past
// that it is refused with 429, its token not even compared, until the
// window frees a slot.
const (
	MaxFailures   = 10
	FailureWindow = time.Minute
)

// reporter is what the admin needs from the analytics.
type reporter interface {
	Report(ctx context.Context) (analytics.Report, error)
}

// banList is what the admin needs from the bans.
type banList interface {
	Add(ctx context.Context, b bans.Ban) (bans.Ban, error)
	Remove(ctx context.Context, id string) error
	List(ctx context.Context) ([]bans.Ban, error)
}

// Options configures the admin handler. Token, Analytics, Bans and Key
// are required.
type Options struct {
	// Token is the bearer token.
	Token     string
	Analytics reporter
	Bans      banList
	// Key keys a request for the wrong-token limit (the per-IP
	// rate-limit key).
	Key func(r *http.Request) (string, error)
	// Policies and KeyStrategy describe the active limits in the report
	// (the RateLimit-Policy header value and RATE_LIMIT_KEY).
	Policies    string
	KeyStrategy string
	Logger      *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

type server struct {
	opts      Options
	tokenHash [sha256.Size]byte
	fails     ratelimit.Store
	policy    ratelimit.Policy
}

// New returns the handler of /admin, to be mounted there (its routes are
// relative: /rate-limits, /bans, /bans/{id}, /assets/...).
func New(opts Options) (http.Handler, error) {
	if opts.Token == "" || opts.Analytics == nil || opts.Bans == nil || opts.Key == nil {
		return nil, errors.New("admin: Token, Analytics, Bans and Key are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	fails, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Algorithm: ratelimit.SlidingLog, Now: opts.Now})
	if err != nil {
		return nil, err
	}
	s := &server{opts: opts, tokenHash: sha256.Sum256([]byte(opts.Token)), fails: fails,
		policy: ratelimit.Policy{Name: "admin-auth", Limits: []ratelimit.Limit{{Requests: MaxFailures, Window: FailureWindow}}}}

	static, _ := fs.Sub(assets, "assets")
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { respond.Error(w, http.StatusNotFound, "Not Found") })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		respond.Error(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/rate-limits", http.StatusFound)
	})
	r.Handle("/assets/*", http.StripPrefix("/admin/assets/", http.FileServerFS(static)))
	r.Get("/rate-limits", s.handleRateLimits(static))
	r.With(s.auth).Get("/bans", s.handleListBans)
	r.With(s.auth).Post("/bans", s.handleAddBan)
	r.With(s.auth).Delete("/bans/{id}", s.handleRemoveBan)
	return r, nil
}

// auth admits requests that carry the token. Before comparing, it refuses
// an address that sent FailureLimit wrong tokens within the window.
func (s *server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := s.opts.Key(r)
		if err != nil || key == "" {
			key = "unknown"
		}
		rules := []ratelimit.Rule{{Policy: &s.policy, Key: key}}
		if st, err := s.fails.Peek(r.Context(), rules); err == nil && len(st) == 1 && st[0].RetryAfter > 0 {
			s.tooMany(w, st[0].RetryAfter)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		// Comparing hashes keeps the comparison constant-time in the
		// token's length too.
		if ok && subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		res, err := s.fails.Allow(r.Context(), rules)
		if err == nil && !res.Allowed {
			s.tooMany(w, res.RetryAfter)
			return
		}
		s.opts.Logger.Warn("admin: wrong or missing token", "route", r.URL.Path)
		w.Header().Set("WWW-Authenticate", `Bearer realm="smartdocs-admin"`)
		respond.Error(w, http.StatusUnauthorized, "Unauthorized: send Authorization: Bearer <ADMIN_TOKEN>")
	})
}

func (s *server) tooMany(w http.ResponseWriter, retry time.Duration) {
	secs := int64((retry + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	respond.Error(w, http.StatusTooManyRequests, "Too many wrong admin tokens from this address; try again later.")
}

// rateLimits is the JSON of GET /admin/rate-limits.
type rateLimits struct {
	analytics.Report
	Policies    string `json:"policies"`
	KeyStrategy string `json:"key_strategy"`
	ActiveBans  int    `json:"active_bans"`
}

// handleRateLimits answers a browser (Accept: text/html) with the page,
// anything else with the numbers, for the token.
func (s *server) handleRateLimits(static fs.FS) http.HandlerFunc {
	data := s.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep, err := s.opts.Analytics.Report(r.Context())
		if err != nil {
			s.opts.Logger.Error("admin: analytics report failed", "err", err)
			respond.Error(w, http.StatusServiceUnavailable, "The analytics store is unavailable; try again shortly.")
			return
		}
		list, err := s.opts.Bans.List(r.Context())
		if err != nil {
			s.opts.Logger.Error("admin: listing bans failed", "err", err)
		}
		w.Header().Set("Cache-Control", "no-store")
		respond.JSON(w, http.StatusOK, rateLimits{Report: rep, Policies: s.opts.Policies, KeyStrategy: s.opts.KeyStrategy, ActiveBans: len(list)})
	}))
	return func(w http.ResponseWriter, r *http.Request) {
		if !wantsHTML(r) {
			data.ServeHTTP(w, r)
			return
		}
		respond.Page(w, static, "admin.html")
	}
}

// wantsHTML reports whether r is a browser navigation: it lists
// text/html explicitly. curl's */* gets JSON.
func wantsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/html" {
			return true
		}
	}
	return false
}

func (s *server) handleListBans(w http.ResponseWriter, r *http.Request) {
	list, err := s.opts.Bans.List(r.Context())
	if err != nil {
		s.opts.Logger.Error("admin: listing bans failed", "err", err)
		respond.Error(w, http.StatusServiceUnavailable, "The ban store is unavailable; try again shortly.")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	respond.JSON(w, http.StatusOK, map[string]any{"bans": list})
}

func (s *server) handleAddBan(w http.ResponseWriter, r *http.Request) {
	var req bans.Request
	if err := respond.Decode(w, r, &req, respond.DecodeOptions{MaxBytes: 4 << 10, Strict: true}); err != nil {
		respond.Refuse(w, err)
		return
	}
	ban, err := bans.Parse(req, s.opts.Now())
	if err != nil {
		respond.Error(w, http.StatusUnprocessableEntity, strings.TrimPrefix(err.Error(), bans.ErrInvalid.Error()+": "))
		return
	}
	ban, err = s.opts.Bans.Add(r.Context(), ban)
	if errors.Is(err, bans.ErrFull) {
		// The message gives the cap; lifting bans (or raising it) is up
		// to the operator.
		respond.Error(w, http.StatusConflict, "Cannot add the ban: "+strings.TrimPrefix(err.Error(), "bans: ")+". Lift some bans first.")
		return
	}
	if err != nil {
		s.opts.Logger.Error("admin: adding a ban failed", "err", err)
		respond.Error(w, http.StatusServiceUnavailable, "The ban store is unavailable; try again shortly.")
		return
	}
	s.opts.Logger.Info("admin: ban added", "id", ban.ID, "kind", kind(ban), "permanent", ban.Until == nil)
	w.Header().Set("Location", "/admin/bans/"+ban.ID)
	respond.JSON(w, http.StatusCreated, ban)
}

func kind(b bans.Ban) string {
	switch {
	case b.IP != "":
		return "ip"
	case b.Prefix != "":
		return "prefix"
	}
	return "key"
}

func (s *server) handleRemoveBan(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	switch err := s.opts.Bans.Remove(r.Context(), id); {
	case errors.Is(err, bans.ErrNotFound):
		respond.Error(w, http.StatusNotFound, fmt.Sprintf("No ban with id %q.", id))
	case err != nil:
		s.opts.Logger.Error("admin: lifting a ban failed", "err", err)
		respond.Error(w, http.StatusServiceUnavailable, "The ban store is unavailable; try again shortly.")
	default:
		s.opts.Logger.Info("admin: ban lifted", "id", id)
		w.WriteHeader(http.StatusNoContent)
	}
}
