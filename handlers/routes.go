package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every route in one place.
func routes(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Use(securityHeaders)
	r.Use(logRequests(d.Logger))
	r.Use(d.Identify)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	})

	r.Get("/health", handleHealth(d))
	r.Get("/models", handleModels(d))
	chat := d.Limit(handleChat(d))
	r.Method(http.MethodPost, "/chat", chat)
	r.Method(http.MethodPost, "/api/chat", chat)

	r.Get("/", handleIndex(d.Static))
	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(d.Static)))
	return r
}
