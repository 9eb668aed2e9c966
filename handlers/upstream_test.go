package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
)

func TestEngineStatus(t *testing.T) {
	up := func(kind chat.UpstreamKind, retry time.Duration) error {
		return fmt.Errorf("wrapped: %w", &chat.UpstreamError{Engine: "gemini", Kind: kind, Status: 400, RetryAfter: retry, Err: errors.New("sk-secret")})
	}
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter int
	}{
		{"bad credentials", up(chat.UpstreamAuth, 0), http.StatusBadGateway, 0},
		{"provider 429 with a delay", up(chat.UpstreamRateLimited, 7*time.Second), http.StatusServiceUnavailable, 7},
		{"provider 429, delay rounded up", up(chat.UpstreamRateLimited, 1500*time.Millisecond), http.StatusServiceUnavailable, 2},
		{"provider 429 without a delay", up(chat.UpstreamRateLimited, 0), http.StatusServiceUnavailable, 0},
		{"provider timeout", up(chat.UpstreamTimeout, 0), http.StatusGatewayTimeout, 0},
		{"request rejected", up(chat.UpstreamRejected, 0), http.StatusBadGateway, 0},
		{"malformed answer", up(chat.UpstreamMalformed, 0), http.StatusBadGateway, 0},
		{"unavailable", up(chat.UpstreamUnavailable, 0), http.StatusBadGateway, 0},
		{"deadline", context.DeadlineExceeded, http.StatusGatewayTimeout, 0},
		{"client gone", fmt.Errorf("llm: %w", context.Canceled), 499, 0},
		{"anything else", errors.New("boom"), http.StatusBadGateway, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, msg, retry := engineStatus(tt.err)
			if status != tt.status || retry != tt.retryAfter {
				t.Errorf("got status %d retry %d, want %d %d", status, retry, tt.status, tt.retryAfter)
			}
			if msg == "" || strings.Contains(msg, "sk-secret") || strings.Contains(msg, "wrapped") {
				t.Errorf("got message %q, want a fixed message that shows nothing of the error", msg)
			}
		})
	}
}

// failing is an engine that fails before its answer, or after the first
// token when midStream is set.
type failing struct {
	err       error
	midStream bool
}

func (f failing) Answer(ctx context.Context, q chat.Query) (*chat.Reply, error) {
	if !f.midStream {
		return nil, f.err
	}
	return &chat.Reply{
		Sources: []chat.Source{{Name: "a.md", Title: "A"}},
		Tokens: func(yield func(string, error) bool) {
			if yield("partial ", nil) {
				yield("", f.err)
			}
		},
	}, nil
}

func TestChatUpstreamErrors(t *testing.T) {
	rateLimited := &chat.UpstreamError{Engine: "llm", Kind: chat.UpstreamRateLimited, Status: 429, RetryAfter: 20 * time.Second}
	tests := []struct {
		name       string
		engine     failing
		accept     string
		status     int
		retryAfter string
		wantLines  []string // the NDJSON line types, when the stream started
	}{
		{"429 before the stream", failing{err: rateLimited}, "", http.StatusServiceUnavailable, "20", nil},
		{"429 before the JSON answer", failing{err: rateLimited}, "application/json", http.StatusServiceUnavailable, "20", nil},
		{"bad key", failing{err: &chat.UpstreamError{Engine: "llm", Kind: chat.UpstreamAuth, Status: 401}}, "", http.StatusBadGateway, "", nil},
		{"timeout", failing{err: &chat.UpstreamError{Engine: "llm", Kind: chat.UpstreamTimeout}}, "", http.StatusGatewayTimeout, "", nil},
		{"mid-stream failure", failing{err: &chat.UpstreamError{Engine: "llm", Kind: chat.UpstreamUnavailable}, midStream: true}, "", http.StatusOK, "", []string{"sources", "token", "error"}},
		{"mid-answer failure, JSON", failing{err: &chat.UpstreamError{Engine: "llm", Kind: chat.UpstreamTimeout}, midStream: true}, "application/json", http.StatusGatewayTimeout, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewServer(Deps{Models: []Model{{Name: "llm", Engine: tt.engine}}, DefaultModel: "llm"})
			req := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(`{"question":"q"}`))
			req.Header.Set("Content-Type", "application/json")
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("got status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("got Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.wantLines == nil {
				var body struct{ Detail string }
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Detail == "" {
					t.Errorf("got body %q, want {\"detail\": ...}", rec.Body)
				}
				return
			}
			var types []string
			sc := bufio.NewScanner(rec.Body)
			for sc.Scan() {
				var l struct{ Type, Data any }
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				types = append(types, fmt.Sprint(l.Type))
				if l.Type == "error" && l.Data != "The model provider is unavailable; try again later." {
					t.Errorf("got error line %q", l.Data)
				}
			}
			if strings.Join(types, ",") != strings.Join(tt.wantLines, ",") {
				t.Errorf("got lines %v, want %v", types, tt.wantLines)
			}
		})
	}
}

func TestModelsReport(t *testing.T) {
	h := NewServer(Deps{
		Models: []Model{
			{Name: "docs", Description: "built in", Engine: oneWord{}},
			{Name: "gemini", Description: "Gemini", Missing: "GOOGLE_API_KEY"},
			{Name: "llm", Description: "any", Engine: oneWord{}},
		},
		DefaultModel: "docs",
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/models", nil))
	var got struct {
		Default string
		Models  []struct {
			Name       string
			Configured bool
			Missing    string
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := "docs:true: gemini:false:GOOGLE_API_KEY llm:true:"
	var parts []string
	for _, m := range got.Models {
		parts = append(parts, fmt.Sprintf("%s:%v:%s", m.Name, m.Configured, m.Missing))
	}
	if strings.Join(parts, " ") != want || got.Default != "docs" {
		t.Errorf("got default %q, models %q; want docs, %q", got.Default, parts, want)
	}

	t.Run("a model that is not configured is a 503 naming the variable", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(`{"question":"q","model_type":"gemini"}`))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "GOOGLE_API_KEY") {
			t.Errorf("got %d %s, want 503 naming GOOGLE_API_KEY", rec.Code, rec.Body)
		}
	})
}
