package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/chat"
)

// An engine may answer with no reply or no tokens: the stream still ends
// with its done line, and the JSON answer is empty, never a panic or 500.
func TestEmptyAnswers(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reply *chat.Reply
	}{
		{"nil reply", nil},
		{"nil tokens", &chat.Reply{Sources: []chat.Source{{Name: "a.md", Title: "A"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewServer(Deps{
				Models: []Model{{Name: "docs", Engine: chat.EngineFunc(func(context.Context, chat.Query) (*chat.Reply, error) {
					return tt.reply, nil
				})}},
				DefaultModel: "docs",
			})
			for _, accept := range []string{"", "application/json"} {
				req := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(`{"question":"q"}`))
				req.Header.Set("Content-Type", "application/json")
				if accept != "" {
					req.Header.Set("Accept", accept)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				body := rec.Body.String()
				if rec.Code != http.StatusOK {
					t.Fatalf("Accept %q: got %d %s, want 200", accept, rec.Code, body)
				}
				if accept == "" && !strings.HasSuffix(body, `{"type":"done"}`+"\n") {
					t.Errorf("stream = %q, want it to end with the done line", body)
				}
				if accept != "" && !strings.Contains(body, `"answer":""`) {
					t.Errorf("JSON = %q, want an empty answer", body)
				}
			}
		})
	}
}
