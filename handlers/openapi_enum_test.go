package handlers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// The served document's model_type enums list exactly the registered
// engines, in their order: the request's (with null) and /models'. The
// embedded file spells out the built-in four; if its text ever stops
// matching the rewrite, the served enum would silently go stale, and this
// test fails.
func TestOpenAPIModelEnum(t *testing.T) {
	h := NewServer(Deps{Models: []Model{{Name: "docs"}, {Name: "glossary"}}, DefaultModel: "docs"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum  []any `json:"enum"`
					Items struct {
						Properties map[string]struct {
							Enum []any `json:"enum"`
						} `json:"properties"`
					} `json:"items"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	var found int
	for name, schema := range doc.Components.Schemas {
		if p, ok := schema.Properties["model_type"]; ok {
			found++
			if want := []any{"docs", "glossary", nil}; !slices.Equal(p.Enum, want) {
				t.Errorf("%s.model_type enum = %v, want %v", name, p.Enum, want)
			}
		}
		if p, ok := schema.Properties["models"]; ok {
			found++
			if got, want := p.Items.Properties["name"].Enum, []any{"docs", "glossary"}; !slices.Equal(got, want) {
				t.Errorf("%s.models[].name enum = %v, want %v", name, got, want)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d model enums in the document, want 2 (the request's and /models')", found)
	}
}
