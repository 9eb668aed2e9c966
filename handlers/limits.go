package handlers

import (
	"net/http"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// quota is one limit's standing in GET /limits.
type quota struct {
	Policy    string `json:"policy"`
	Limit     int    `json:"limit"`
	Remaining int    `json:"remaining"`
	Window    int64  `json:"window_seconds"`
	// Reset is how many seconds until a request fits again: 0 while
	// Remaining is above 0.
	Reset int64 `json:"reset_seconds"`
}

// handleLimits serves GET /limits: the caller's standing under every
// limit of every layer, read without counting anything, for the page to
// show before the first question. Its route has a limit of its own
// (RATE_LIMIT_READS), since each read costs the store a call.
func handleLimits(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		states, err := d.Peek(r)
		if err != nil && d.KeyError != nil && d.KeyError(w, err) {
			return
		}
		if err != nil {
			d.Logger.Warn("peek at the limits failed", "err", err)
			respond.Error(w, http.StatusServiceUnavailable, "Limits unavailable, try again shortly.")
			return
		}
		out := struct {
			Layers []quota `json:"layers"`
		}{Layers: make([]quota, 0, len(states))}
		for _, s := range states {
			out.Layers = append(out.Layers, quota{
				Policy:    s.Policy,
				Limit:     s.Limit.Requests,
				Remaining: s.Remaining,
				Window:    int64(s.Limit.Window / time.Second),
				Reset:     int64((s.RetryAfter + time.Second - 1) / time.Second),
			})
		}
		w.Header().Set("Cache-Control", "no-store")
		respond.JSON(w, http.StatusOK, out)
	}
}
