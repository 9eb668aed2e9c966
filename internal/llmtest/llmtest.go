// Package llmtest speaks the wire format of an OpenAI-compatible
// chat-completions provider, for tests that put an httptest server where
// the provider would be.
package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Chunk is one streamed chat-completion chunk carrying content, with
// finish_reason set when finish is not empty.
func Chunk(content, finish string) string {
	c := map[string]any{"index": 0, "delta": map[string]any{"content": content}}
	if finish != "" {
		c["finish_reason"] = finish
	}
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "test-model", "choices": []any{c}})
	return string(b)
}

// SSE writes each data line as its own server-sent event and flushes it,
// so the client sees the stream arrive piece by piece.
func SSE(w http.ResponseWriter, data ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, d := range data {
		fmt.Fprintf(w, "data: %s\n\n", d)
		w.(http.Flusher).Flush()
	}
}

// Stream answers with one chunk per piece, then a stop chunk and [DONE].
func Stream(pieces ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var data []string
		for _, p := range pieces {
			data = append(data, Chunk(p, ""))
		}
		SSE(w, append(data, Chunk("", "stop"), "[DONE]")...)
	}
}
