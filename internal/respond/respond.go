// Package respond writes this server's HTTP answers in one shape: JSON
// bodies, FastAPI's {"detail": "..."} errors, and embedded pages; and it
// reads JSON request bodies, refusing them in FastAPI's 422 shape. Every
// package that answers requests uses it, so the shape cannot drift.
package respond

import (
	"encoding/json"
	"io/fs"
	"net/http"
)

// JSON writes v as JSON with the status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Error writes FastAPI's {"detail": "..."} with the status. The detail is
// shown to clients: it must never carry internals.
func Error(w http.ResponseWriter, status int, detail string) {
	JSON(w, status, map[string]string{"detail": detail})
}

// Page serves the HTML file name from fsys, revalidated on every load; a
// missing file is a JSON 404.
func Page(w http.ResponseWriter, fsys fs.FS, name string) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		Error(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
