package handlers

import (
	"context"
	"io/fs"
	"net/http"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

func handleHealth(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{
			"status":    "healthy",
			"timestamp": d.Now().UTC().Format(time.RFC3339Nano),
		}
		if d.LimiterHealth != nil {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			body["limiter"] = d.LimiterHealth(ctx)
		}
		w.Header().Set("Cache-Control", "no-store")
		respond.JSON(w, http.StatusOK, body)
	}
}

type modelInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Configured  bool   `json:"configured"`
	Missing     string `json:"missing,omitempty"`
}

func handleModels(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out := struct {
			Default string      `json:"default"`
			Models  []modelInfo `json:"models"`
		}{Default: d.DefaultModel}
		for _, m := range d.Models {
			info := modelInfo{Name: m.Name, Description: m.Description, Configured: m.Engine != nil}
			if m.Engine == nil {
				info.Missing = m.Missing
			}
			out.Models = append(out.Models, info)
		}
		respond.JSON(w, http.StatusOK, out)
	}
}

func handleIndex(static fs.FS) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { respond.Page(w, static, "index.html") }
}

// contentSecurityPolicy allows the page its own scripts, styles and API
// calls, and nothing else.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		next.ServeHTTP(w, r)
	})
}
