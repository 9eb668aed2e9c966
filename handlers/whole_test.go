package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/chat"
)

// countFlushes records what the client would have received at each flush.
type countFlushes struct {
	*httptest.ResponseRecorder
	sent []string
}

func (w *countFlushes) Flush() {
	w.sent = append(w.sent, w.Body.String())
	w.ResponseRecorder.Flush()
}

// TestWholeAnswerSentTogether: an answer that is whole before its first
// token (chat.Reply.Whole, as the docs engine's) is sent in one piece
// with its done line, the same lines as a streamed one; tokens that arrive
// over time are each flushed as they come.
func TestWholeAnswerSentTogether(t *testing.T) {
	const text = "One two three four."
	want := `{"type":"sources","data":[]}` + "\n" +
		`{"type":"token","data":"One "}` + "\n" + `{"type":"token","data":"two "}` + "\n" +
		`{"type":"token","data":"three "}` + "\n" + `{"type":"token","data":"four."}` + "\n" +
		`{"type":"done"}` + "\n"
	for _, tt := range []struct {
		whole   bool
		flushes int
	}{
		{whole: false, flushes: 6}, // sources, four tokens, done
		{whole: true, flushes: 1},  // done
	} {
		h := NewServer(Deps{
			Models: []Model{{Name: "docs", Engine: chat.EngineFunc(func(ctx context.Context, q chat.Query) (*chat.Reply, error) {
				return &chat.Reply{Tokens: chat.Stream(ctx, text), Whole: tt.whole}, nil
			})}},
			DefaultModel: "docs",
		})
		req := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(`{"question":"q"}`))
		req.Header.Set("Content-Type", "application/json")
		w := &countFlushes{ResponseRecorder: httptest.NewRecorder()}
		h.ServeHTTP(w, req)
		if got := w.Body.String(); got != want {
			t.Errorf("Whole %v: stream = %q, want %q", tt.whole, got, want)
		}
		if len(w.sent) != tt.flushes || w.sent[len(w.sent)-1] != want {
			t.Errorf("Whole %v: %d flushes (%q), want %d, the last with the whole stream", tt.whole, len(w.sent), w.sent, tt.flushes)
		}
	}
}
