package handlers

import (
	"net/http"

	"github.com/go-chi/cors"
)

// allowCORS lets pages from origins call the API from a browser; origins
// are checked by config (CORS_ORIGINS): "*" alone, or scheme://host with
// at most a leading "*." in the host. It answers preflight requests
// itself, before any route, so they never reach the rate limiter. The
// rate-limit headers are exposed, so a page on another origin can show
// what is left and how long to wait. Nil or empty origins return nil:
// CORS stays off.
//
// Credentials (cookies) are not allowed: the API uses none.
func allowCORS(origins []string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return nil
	}
	return cors.Handler(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Accept", "Content-Type", "Authorization", "X-Session-ID"},
		ExposedHeaders: []string{
			"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
			"Retry-After", "RateLimit", "RateLimit-Policy",
		},
		MaxAge: 600,
	})
}
