package handlers

import (
	"embed"
	"encoding/json"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/internal/respond"
)

// apidocs holds the OpenAPI document and the /docs page: index.html,
// apidocs.js and apidocs.css. The page is written for the server's
// Content-Security-Policy (no inline script or style, nothing from other
// origins), which is why it is ours and not Swagger UI's, which needs
// inline styles.
//
//go:embed apidocs
var apidocs embed.FS

// modelEnum is the model_type enum as the embedded document writes it;
// the served document lists the registered engines instead.
var modelEnum = regexp.MustCompile(`"enum": \[\s*"docs",\s*"gemini",\s*"local",\s*"llm"`)

// handleOpenAPI serves the OpenAPI 3.1 document. Tests validate real
// responses against it, so it is written by hand and kept honest; its
// model_type enums list the engines of d.Models.
func handleOpenAPI(d Deps) http.HandlerFunc {
	doc, err := apidocs.ReadFile("apidocs/openapi.json")
	if err == nil {
		names := make([]string, len(d.Models))
		for i, m := range d.Models {
			names[i] = m.Name
		}
		list, _ := json.Marshal(names)
		enum := []byte(`"enum": [` + strings.TrimSuffix(strings.TrimPrefix(string(list), "["), "]"))
		doc = modelEnum.ReplaceAllLiteral(doc, enum)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			respond.Error(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	}
}

// handleDocs serves the interactive documentation page.
func handleDocs() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := apidocs.ReadFile("apidocs/index.html")
		if err != nil {
			respond.Error(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}

// handleDocsAsset serves the page's script and style sheet, and nothing
// else of the folder.
func handleDocsAsset() http.HandlerFunc {
	types := map[string]string{
		"apidocs.js":  "text/javascript; charset=utf-8",
		"apidocs.css": "text/css; charset=utf-8",
	}
	return func(w http.ResponseWriter, r *http.Request) {
		name := chi.URLParam(r, "file")
		ct, ok := types[name]
		if !ok {
			respond.Error(w, http.StatusNotFound, "Not Found")
			return
		}
		b, err := apidocs.ReadFile(path.Join("apidocs", name))
		if err != nil {
			respond.Error(w, http.StatusNotFound, "Not Found")
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	}
}
