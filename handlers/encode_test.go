package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/chat"
)

type okEngine struct{}

func (okEngine) Answer(context.Context, chat.Query) (*chat.Reply, error) {
	return &chat.Reply{Tokens: func(yield func(string, error) bool) { yield("ok", nil) }}, nil
}

// Both chat routes take exactly one JSON value: white space may follow
// it, a second value may not (FastAPI answers 422 json_invalid there).
func TestChatRefusesTrailingData(t *testing.T) {
	h := NewServer(Deps{Models: []Model{{Name: "docs", Engine: okEngine{}}}, DefaultModel: "docs"})
	tests := []struct {
		name, body string
		status     int
		loc        []any // of the first error, for 422
	}{
		{"one object", `{"question":"a"}`, 200, nil},
		{"white space after", "{\"question\":\"a\"} \n", 200, nil},
		{"second object", `{"question":"a"}{"x":1}`, 422, []any{"body", 16.0}},
		{"stray brace", `{"question":"a"}}`, 422, []any{"body", 16.0}},
		{"trailing word", `{"question":"a"} yes`, 422, []any{"body", 17.0}},
	}
	for _, path := range []string{"/chat", "/api/chat"} {
		for _, tt := range tests {
			t.Run(path+" "+tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(tt.body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Accept", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.status {
					t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
				}
				if tt.status != 422 {
					return
				}
				var body struct {
					Detail []struct {
						Loc  []any
						Msg  string
						Type string
						Ctx  map[string]string
					}
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || len(body.Detail) != 1 {
					t.Fatalf("got %s, want FastAPI's detail list with one error", w.Body)
				}
				d := body.Detail[0]
				if d.Type != "json_invalid" || d.Msg != "JSON decode error" || d.Ctx["error"] != "Extra data" ||
					len(d.Loc) != 2 || d.Loc[0] != tt.loc[0] || d.Loc[1] != tt.loc[1] {
					t.Errorf("got %+v, want json_invalid at %v with ctx.error Extra data", d, tt.loc)
				}
			})
		}
	}
}
