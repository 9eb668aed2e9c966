package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
)

// endless is an engine whose answer never ends: token after token, each
// pace apart, until its context is done. cancelled is closed when it is.
type endless struct {
	token     string
	pace      time.Duration
	cancelled chan struct{}
}

func newEndless(token string, pace time.Duration) *endless {
	return &endless{token: token, pace: pace, cancelled: make(chan struct{})}
}

func (e *endless) Answer(ctx context.Context, q chat.Query) (*chat.Reply, error) {
	context.AfterFunc(ctx, func() { close(e.cancelled) })
	return &chat.Reply{
		Sources: []chat.Source{{Name: "a.md", Title: "A"}},
		Tokens: func(yield func(string, error) bool) {
			for {
				if ctx.Err() != nil {
					yield("", ctx.Err())
					return
				}
				if !yield(e.token, nil) {
					return
				}
				if e.pace > 0 {
					time.Sleep(e.pace)
				}
			}
		},
	}, nil
}

// waitCancelled fails the test if the engine's context is not cancelled.
func (e *endless) waitCancelled(t *testing.T) {
	t.Helper()
	select {
	case <-e.cancelled:
	case <-time.After(20 * time.Second):
		t.Error("the engine's context was never cancelled")
	}
}

// askServer posts a question to srv with accept and returns the answer,
// read up to limit bytes: past them it fails, the answer has no end.
func askServer(t *testing.T, srv *httptest.Server, accept string, limit int64) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/chat", strings.NewReader(`{"question":"q"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if int64(len(body)) > limit {
		t.Fatalf("read %d bytes and the answer went on, want it cut", len(body))
	}
	if err != nil {
		t.Fatalf("got %v after %d bytes, want the answer to end cleanly", err, len(body))
	}
	return resp, body
}

// lastLine is the last NDJSON line of body, decoded.
func lastLine(t *testing.T, body []byte) line {
	t.Helper()
	var last line
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		last = line{}
		if err := json.Unmarshal(sc.Bytes(), &last); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
	}
	return last
}

// TestAnswerBounds: an answer that never ends is cut at AnswerMaxBytes or
// AnswerMaxDuration, the stream ending with an error line (a JSON answer
// with the bound's status), and the engine's context is cancelled.
func TestAnswerBounds(t *testing.T) {
	const maxBytes = 4096
	tests := []struct {
		name    string
		deps    Deps
		engine  *endless
		accept  string
		status  int
		message string
	}{
		{"bytes, stream", Deps{AnswerMaxBytes: maxBytes}, newEndless("word ", 0), "", 200,
			"The answer was longer than this server allows; it was cut short."},
		{"bytes, JSON", Deps{AnswerMaxBytes: maxBytes}, newEndless("word ", 0), "application/json", 502,
			"The answer was longer than this server allows; it was cut short."},
		{"time, stream", Deps{AnswerMaxDuration: 300 * time.Millisecond}, newEndless("word ", 5*time.Millisecond), "", 200,
			"The answer took longer than this server allows; it was cut short."},
		{"time, JSON", Deps{AnswerMaxDuration: 300 * time.Millisecond}, newEndless("word ", 5*time.Millisecond), "application/json", 504,
			"The answer took longer than this server allows; it was cut short."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.deps
			d.Models, d.DefaultModel = []Model{{Name: "llm", Engine: tt.engine}}, "llm"
			srv := httptest.NewServer(NewServer(d))
			defer srv.Close()
			resp, body := askServer(t, srv, tt.accept, 8<<20)
			if resp.StatusCode != tt.status {
				t.Fatalf("got status %d, want %d: %.200s", resp.StatusCode, tt.status, body)
			}
			if tt.accept != "" {
				var got struct{ Detail string }
				json.Unmarshal(body, &got)
				if got.Detail != tt.message {
					t.Errorf("got detail %q, want %q", got.Detail, tt.message)
				}
			} else {
				last := lastLine(t, body)
				if last.Type != "error" || last.Data != tt.message {
					t.Errorf("got last line %+v, want an error line %q", last, tt.message)
				}
				if tt.deps.AnswerMaxBytes > 0 {
					errLine, _ := json.Marshal(last)
					if got := len(body) - len(errLine) - 1; got > maxBytes {
						t.Errorf("got %d bytes before the error line, want at most %d", got, maxBytes)
					}
				}
			}
			tt.engine.waitCancelled(t)
		})
	}
}

// TestSlowReaderHeldNoLonger: a client that reads a long answer at a
// trickle holds its handler no longer than AnswerMaxDuration (and the
// error line's grace): writes wait no later than the bound.
func TestSlowReaderHeldNoLonger(t *testing.T) {
	engine := newEndless(strings.Repeat("x", 16<<10), 0)
	d := Deps{Models: []Model{{Name: "llm", Engine: engine}}, DefaultModel: "llm", AnswerMaxDuration: 500 * time.Millisecond}
	done := make(chan struct{})
	h := NewServer(d)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/chat", strings.NewReader(`{"question":"q"}`))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 100 bytes every 10ms: always reading, never keeping up
		buf := make([]byte, 100)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := resp.Body.Read(buf); err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the handler was still writing to a slow reader 20s on, want it ended at AnswerMaxDuration")
	}
	engine.waitCancelled(t)
}

func TestCapCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	other := errors.New("other")
	if got := capCause(ctx, other); got != other {
		t.Errorf("got %v before cancel, want the engine's error", got)
	}
	cancel(errAnswerTooLong)
	if got := capCause(ctx, context.Canceled); !errors.Is(got, errAnswerTooLong) {
		t.Errorf("got %v, want errAnswerTooLong", got)
	}
}

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
	done := `{"type":"done"}` + "\n"
	for _, tt := range []struct {
		name     string
		whole    bool
		maxBytes int64
		flushes  int
	}{
		{name: "streamed", whole: false, flushes: 6}, // sources, four tokens, done
		{name: "whole", whole: true, flushes: 1},     // done
		// The answer fills AnswerMaxBytes exactly: the done line that
		// ends it is still sent, not dropped without an error line.
		{name: "streamed, at the byte bound", whole: false, maxBytes: int64(len(want) - len(done)), flushes: 6},
		{name: "whole, at the byte bound", whole: true, maxBytes: int64(len(want) - len(done)), flushes: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := NewServer(Deps{
				AnswerMaxBytes: tt.maxBytes,
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
		})
	}
}
