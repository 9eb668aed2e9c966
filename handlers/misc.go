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

// securityHeaders sets the security headers of every response. The
// values are made once and shared between responses, each a slice of one
// element capped at its length, instead of six slices allocated per
// request (a flood's refusals carry them too). Sharing is safe: net/http
// only reads header values, Header.Set replaces a slice and Header.Add
// appends to a capped slice, which copies it. A handler must not write
// into a header's value slice in place (h[k][0] = v); none does.
func securityHeaders(next http.Handler) http.Handler {
	names := []string{ // canonical, as Header.Set would make them
		"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
		"X-Frame-Options", "Cross-Origin-Opener-Policy", "Permissions-Policy",
	}
	values := []string{
		contentSecurityPolicy, "nosniff", "no-referrer",
		"DENY", "same-origin", "camera=(), microphone=(), geolocation=()",
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for i, name := range names {
			h[name] = values[i : i+1 : i+1]
		}
		next.ServeHTTP(w, r)
	})
}
