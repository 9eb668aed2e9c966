package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/internal/llmtest"
)

const testKey = "sk-test-0123456789abcdef"

// fixedDocs retrieves the same passages for every question.
type fixedDocs []chat.Hit

func (f fixedDocs) Passages(q chat.Query, k int) []chat.Hit {
	if len(f) > k {
		return f[:k]
	}
	return f
}

var testHits = fixedDocs{
	{Passage: chat.Passage{Name: "rate-limiting.md", Title: "Rate limiting", Heading: "The 429 response", Text: "A refused request gets status 429 and a Retry-After header."}, Score: 3.5},
	{Passage: chat.Passage{Name: "configuration.md", Title: "Configuration", Heading: "RATE_LIMIT syntax", Text: "RATE_LIMIT takes N/minute, such as 3/minute."}, Score: 2.1},
}

// provider is the fake chat-completions server with the engine under
// test pointed at it.
type provider struct{ *llmtest.Provider }

func newProvider(t *testing.T, handle http.HandlerFunc) provider {
	t.Helper()
	return provider{llmtest.NewProvider(t, handle)}
}

// engine returns an engine for p with the test passages.
func (p provider) engine(t *testing.T, mod func(*Options)) *Engine {
	t.Helper()
	opts := Options{Name: "llm", BaseURL: p.URL + "/v1", APIKey: testKey, Model: "test-model", Docs: testHits}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// collect ranges over the tokens and returns them and the error, if any.
func collect(t *testing.T, reply *chat.Reply) ([]string, error) {
	t.Helper()
	var toks []string
	for tok, err := range reply.Tokens {
		if err != nil {
			return toks, err
		}
		toks = append(toks, tok)
	}
	return toks, nil
}

func history(n int) []chat.Message {
	var h []chat.Message
	for i := range n {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		h = append(h, chat.Message{Role: role, Content: fmt.Sprintf("message %d", i)})
	}
	return h
}

func TestAnswerSends(t *testing.T) {
	tests := []struct {
		name    string
		history []chat.Message
		key     string
		// wantHistory are the contents expected between the system
		// message and the question.
		wantHistory []string
		wantAuth    string
	}{
		{"no history", nil, testKey, nil, "Bearer " + testKey},
		{"short history", history(2), testKey, []string{"message 0", "message 1"}, "Bearer " + testKey},
		{"the last 10 of 14", history(14), testKey, []string{"message 4", "message 5", "message 6", "message 7", "message 8", "message 9", "message 10", "message 11", "message 12", "message 13"}, "Bearer " + testKey},
		{"blank messages left out", []chat.Message{{Role: "user", Content: " "}, {Role: "assistant", Content: "yes"}}, testKey, []string{"yes"}, "Bearer " + testKey},
		{"no key, no Authorization", nil, "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, llmtest.Stream("ok"))
			e := p.engine(t, func(o *Options) { o.APIKey = tt.key })
			reply, err := e.Answer(t.Context(), chat.Query{Question: "why 429?", History: tt.history})
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if _, err := collect(t, reply); err != nil {
				t.Fatalf("tokens: %v", err)
			}
			reqs := p.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			req := reqs[0]
			if req.Path != "/v1/chat/completions" {
				t.Errorf("got path %q, want /v1/chat/completions", req.Path)
			}
			if req.Auth != tt.wantAuth {
				t.Errorf("got Authorization %q, want %q", req.Auth, tt.wantAuth)
			}
			if req.Model != "test-model" || !req.Stream {
				t.Errorf("got model %q stream %v, want test-model true", req.Model, req.Stream)
			}
			for _, h := range [][2]string{{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}} {
				if got := req.Header.Get(h[0]); got != h[1] {
					t.Errorf("got %s %q, want %q", h[0], got, h[1])
				}
			}
			msgs := req.Messages
			if len(msgs) != len(tt.wantHistory)+2 {
				t.Fatalf("got %d messages, want system + %d history + question", len(msgs), len(tt.wantHistory))
			}
			sys := msgs[0]
			if sys.Role != "system" {
				t.Errorf("got first role %q, want system", sys.Role)
			}
			for _, want := range []string{"Answer only from the context", testHits[0].Passage.Text, testHits[1].Passage.Text, "rate-limiting.md", "The 429 response"} {
				if !strings.Contains(sys.Content, want) {
					t.Errorf("system message lacks %q:\n%s", want, sys.Content)
				}
			}
			for i, want := range tt.wantHistory {
				if got := msgs[i+1].Content; got != want {
					t.Errorf("history message %d: got %q, want %q", i, got, want)
				}
			}
			if last := msgs[len(msgs)-1]; last.Role != "user" || last.Content != "why 429?" {
				t.Errorf("got last message %s %q, want user %q", last.Role, last.Content, "why 429?")
			}
		})
	}
}

func TestAnswerIgnoresOpenAIEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-the-environment")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	p := newProvider(t, llmtest.Stream("ok"))
	e := p.engine(t, func(o *Options) { o.APIKey = "" })
	reply, err := e.Answer(t.Context(), chat.Query{Question: "q"})
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	collect(t, reply)
	reqs := p.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests to the configured base URL, want 1", len(reqs))
	}
	if reqs[0].Auth != "" {
		t.Errorf("got Authorization %q, want none", reqs[0].Auth)
	}
}

// raw answers with body as a stream of server-sent events, sent in one
// piece.
func raw(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}
}

// TestAnswerEndpoint checks the URL an engine posts to for the default
// base URLs of Gemini's and Ollama's OpenAI-compatible endpoints (the
// first ends in a slash, the second does not).
func TestAnswerEndpoint(t *testing.T) {
	tests := []struct {
		name, base, wantPath string
	}{
		{"gemini", config.DefaultGeminiBaseURL, "/v1beta/openai/chat/completions"},
		{"ollama", config.DefaultOllamaBaseURL, "/v1/chat/completions"},
		{"no path", "http://localhost", "/chat/completions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			p := newProvider(t, llmtest.Stream("ok"))
			e := p.engine(t, func(o *Options) { o.BaseURL = p.URL + u.Path })
			reply, err := e.Answer(t.Context(), chat.Query{Question: "q"})
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if _, err := collect(t, reply); err != nil {
				t.Fatalf("tokens: %v", err)
			}
			reqs := p.Requests()
			if len(reqs) != 1 || reqs[0].Path != tt.wantPath {
				t.Errorf("got requests %+v, want one to %s", reqs, tt.wantPath)
			}
		})
	}
}

func TestAnswerReplies(t *testing.T) {
	tests := []struct {
		name   string
		handle http.HandlerFunc
		want   []string
	}{
		{"stream", llmtest.Stream("The limit ", "is 3", " per minute."), []string{"The limit ", "is 3", " per minute."}},
		{"role chunk first", func(w http.ResponseWriter, r *http.Request) {
			role := `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`
			llmtest.SSE(w, role, llmtest.Chunk("Hi", ""), llmtest.Chunk("", "stop"), "[DONE]")
		}, []string{"Hi"}},
		{"finish in the last content chunk, no [DONE]", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("A", ""), llmtest.Chunk("B", "stop"))
		}, []string{"A", "B"}},
		{"usage chunk without choices", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("A", "stop"), `{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`, "[DONE]")
		}, []string{"A"}},
		{"comments, event and id fields, CRLF", raw(": ping\r\n\r\nid: 1\r\nevent: message\r\ndata: " + llmtest.Chunk("A", "") + "\r\n\r\n: ping\r\n\r\nid: 2\r\ndata: " + llmtest.Chunk("B", "stop") + "\r\n\r\ndata: [DONE]\r\n\r\n"), []string{"A", "B"}},
		{"lone CR line endings", raw("data: " + llmtest.Chunk("A", "stop") + "\r\rdata: [DONE]\r\r"), []string{"A"}},
		{"a chunk over several data lines", raw("data: {\"choices\":\ndata: [{\"index\":0,\ndata: \"delta\":{\"content\":\"A\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"), []string{"A"}},
		{"keep-alive events and other event types skipped", raw("data:\n\nevent: ping\ndata: {}\n\ndata: " + llmtest.Chunk("A", "stop") + "\n\ndata: [DONE]\n\n"), []string{"A"}},
		{"nulls and an error field of null", raw(`data: {"choices":[{"index":0,"delta":{"content":null},"finish_reason":null}],"error":null}` + "\n\ndata: " + llmtest.Chunk("A", "stop") + "\n\ndata: [DONE]\n\n"), []string{"A"}},
		{"other choices ignored", raw(`data: {"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"A"}}]}` + "\n\ndata: " + llmtest.Chunk("", "stop") + "\n\ndata: [DONE]\n\n"), []string{"A"}},
		{"a line of almost 1 MiB", raw("data: " + llmtest.Chunk(strings.Repeat("x", maxLine-200), "stop") + "\n\ndata: [DONE]\n\n"), []string{strings.Repeat("x", maxLine-200)}},
		{"plain JSON completion", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer."},"finish_reason":"stop"}]}`)
		}, []string{"Whole answer."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.handle)
			reply, err := p.engine(t, nil).Answer(t.Context(), chat.Query{Question: "q"})
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			if len(reply.Sources) != 2 || reply.Sources[0].Name != "rate-limiting.md" || reply.Sources[0].Heading != "The 429 response" {
				t.Errorf("got sources %+v, want the two passages", reply.Sources)
			}
			got, err := collect(t, reply)
			if err != nil {
				t.Fatalf("tokens: %v", err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got tokens %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAnswerNotCovered(t *testing.T) {
	p := newProvider(t, llmtest.Stream("never"))
	e := p.engine(t, func(o *Options) { o.Docs = fixedDocs{} })
	reply, err := e.Answer(t.Context(), chat.Query{Question: "what's the weather"})
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	got, err := collect(t, reply)
	if err != nil || strings.Join(got, "") != chat.NotCovered {
		t.Errorf("got %q, %v, want %q", got, err, chat.NotCovered)
	}
	if len(reply.Sources) != 0 {
		t.Errorf("got %d sources, want none", len(reply.Sources))
	}
	if n := len(p.Requests()); n != 0 {
		t.Errorf("got %d calls to the provider, want 0", n)
	}
}

// errorWith answers with status and body, and the given headers.
func errorWith(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// echoKey answers status with an error message that repeats the
// Authorization header, as careless providers and proxies do.
func echoKey(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Incorrect API key provided: " + r.Header.Get("Authorization"), "type": "invalid_request_error"}})
	}
}

// wantUpstream checks that err is a *chat.UpstreamError of kind, status
// and retry-after, and that its text does not hold the key.
func wantUpstream(t *testing.T, err error, kind chat.UpstreamKind, status int, retry time.Duration) {
	t.Helper()
	var ue *chat.UpstreamError
	if !errors.As(err, &ue) {
		t.Fatalf("got error %v (%T), want *chat.UpstreamError", err, err)
	}
	if ue.Kind != kind || ue.Status != status || ue.RetryAfter != retry {
		t.Errorf("got kind %v status %d retry %v, want %v %d %v (%v)", ue.Kind, ue.Status, ue.RetryAfter, kind, status, retry, err)
	}
	if ue.Engine != "llm" {
		t.Errorf("got engine %q, want llm", ue.Engine)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error text holds the key: %v", err)
	}
}

func TestAnswerFailsBeforeStream(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		handle http.HandlerFunc
		kind   chat.UpstreamKind
		status int
		retry  time.Duration
	}{
		{"401 bad key", echoKey(http.StatusUnauthorized), chat.UpstreamAuth, 401, 0},
		{"403 forbidden", errorWith(http.StatusForbidden, `{"error":{"message":"no access"}}`), chat.UpstreamAuth, 403, 0},
		{"429 Retry-After seconds", errorWith(http.StatusTooManyRequests, `{"error":{"message":"slow down"}}`, "Retry-After", "7"), chat.UpstreamRateLimited, 429, 7 * time.Second},
		{"429 retry-after-ms", errorWith(http.StatusTooManyRequests, `{"error":{"message":"slow down"}}`, "Retry-After-Ms", "1500"), chat.UpstreamRateLimited, 429, 1500 * time.Millisecond},
		{"429 Retry-After date", errorWith(http.StatusTooManyRequests, `{}`, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), chat.UpstreamRateLimited, 429, 90 * time.Second},
		{"429 Google RetryInfo", errorWith(http.StatusTooManyRequests, `[{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"23s"}]}}]`), chat.UpstreamRateLimited, 429, 23 * time.Second},
		{"429 without a delay", errorWith(http.StatusTooManyRequests, `quota`), chat.UpstreamRateLimited, 429, 0},
		{"404 unknown model", errorWith(http.StatusNotFound, `{"error":{"message":"model not found"}}`), chat.UpstreamRejected, 404, 0},
		{"500", errorWith(http.StatusInternalServerError, `{"error":{"message":"boom"}}`), chat.UpstreamUnavailable, 500, 0},
		{"502 HTML from a proxy", errorWith(http.StatusBadGateway, `<html>Bad Gateway</html>`), chat.UpstreamUnavailable, 502, 0},
		{"504 from a gateway", errorWith(http.StatusGatewayTimeout, ``), chat.UpstreamTimeout, 504, 0},
		{"malformed first chunk", func(w http.ResponseWriter, r *http.Request) { llmtest.SSE(w, `{"choices": [`) }, chat.UpstreamMalformed, 0, 0},
		{"empty stream", func(w http.ResponseWriter, r *http.Request) { llmtest.SSE(w, "[DONE]") }, chat.UpstreamMalformed, 0, 0},
		{"error event first", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, `{"error":{"message":"overloaded","code":503}}`)
		}, chat.UpstreamUnavailable, 0, 0},
		{"plain JSON that is not a completion", errorWith(http.StatusOK, `{"unexpected":true}`), chat.UpstreamMalformed, 0, 0},
		{"plain JSON error with 200", errorWith(http.StatusOK, `{"error":{"message":"overloaded"}}`), chat.UpstreamUnavailable, 0, 0},
		{"plain JSON completion over 4 MiB", errorWith(http.StatusOK, `{"choices":[{"message":{"content":"`+strings.Repeat("x", maxPlainBody)+`"}}]}`), chat.UpstreamMalformed, 0, 0},
		{"error event type first", raw("event: error\ndata: {\"message\":\"overloaded\"}\n\n"), chat.UpstreamUnavailable, 0, 0},
		{"error as a string", func(w http.ResponseWriter, r *http.Request) { llmtest.SSE(w, `{"error":"model is loading"}`) }, chat.UpstreamUnavailable, 0, 0},
		{"a line over 1 MiB", raw("data: " + llmtest.Chunk(strings.Repeat("x", maxLine), "stop") + "\n\n"), chat.UpstreamMalformed, 0, 0},
		{"an endless line", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: ")
			line := strings.Repeat("x", 64<<10)
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, line); err != nil {
					return
				}
			}
		}, chat.UpstreamMalformed, 0, 0},
		{"only a comment", raw(": ping\n\n"), chat.UpstreamMalformed, 0, 0},
		{"200 HTML page", errorWith(http.StatusOK, `<html>Sign in to the network</html>`, "Content-Type", "text/html"), chat.UpstreamMalformed, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.handle)
			e := p.engine(t, func(o *Options) { o.Now = func() time.Time { return now } })
			reply, err := e.Answer(t.Context(), chat.Query{Question: "q"})
			if err == nil {
				toks, err := collect(t, reply)
				t.Fatalf("Answer succeeded with %q, %v; want an error", toks, err)
			}
			wantUpstream(t, err, tt.kind, tt.status, tt.retry)
			if n := len(p.Requests()); n != 1 {
				t.Errorf("got %d calls, want 1 (no retries)", n)
			}
		})
	}
}

// TestAnswerErrorText checks that the provider's own message reaches the
// error (for the log), with the key taken out wherever it echoes it.
func TestAnswerErrorText(t *testing.T) {
	midStream := func(w http.ResponseWriter, r *http.Request) {
		llmtest.SSE(w, llmtest.Chunk("part", ""), `{"error":{"message":"overloaded for `+r.Header.Get("Authorization")+`"}}`)
	}
	tests := []struct {
		name   string
		handle http.HandlerFunc
		want   string
	}{
		{"401 echoing the key", echoKey(http.StatusUnauthorized), "Incorrect API key provided: Bearer [redacted]"},
		{"Google's list of errors", errorWith(http.StatusTooManyRequests, `[{"error":{"code":429,"message":"Resource   exhausted","status":"RESOURCE_EXHAUSTED"}}]`), "Resource exhausted"},
		{"no message", errorWith(http.StatusBadGateway, `<html>Bad Gateway</html>`), "model provider unavailable (status 502)"},
		{"error in the stream echoing the key", midStream, "error in the stream: overloaded for Bearer [redacted]"},
		{"malformed chunk", func(w http.ResponseWriter, r *http.Request) { llmtest.SSE(w, `{"choices": [`) }, "malformed answer: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.handle)
			reply, err := p.engine(t, nil).Answer(t.Context(), chat.Query{Question: "q"})
			if err == nil {
				_, err = collect(t, reply)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one with %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testKey) {
				t.Errorf("error text holds the key: %v", err)
			}
		})
	}
}

func TestAnswerUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	e, err := New(Options{Name: "llm", BaseURL: url + "/v1", APIKey: testKey, Model: "m", Docs: testHits})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Answer(t.Context(), chat.Query{Question: "q"})
	wantUpstream(t, err, chat.UpstreamUnavailable, 0, 0)
}

// hang answers with the given chunks, then sends nothing more until the
// client goes away, which it reports on gone.
func hang(gone chan<- struct{}, data ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(data) > 0 {
			llmtest.SSE(w, data...)
		}
		<-r.Context().Done()
		close(gone)
	}
}

// waitGone fails the test if the provider never sees its client leave.
func waitGone(t *testing.T, gone <-chan struct{}) {
	t.Helper()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's request was never cancelled")
	}
}

// manualTimer stands in for an answer's timer: the test fires it.
type manualTimer struct{ f func() }

func (m *manualTimer) Reset(time.Duration) bool { return true }
func (m *manualTimer) Stop() bool               { return true }

// manualTimers makes e hand each answer's timer to the returned channel.
func manualTimers(e *Engine) <-chan *manualTimer {
	timers := make(chan *manualTimer, 1)
	e.afterFunc = func(d time.Duration, f func()) timer {
		m := &manualTimer{f: f}
		timers <- m
		return m
	}
	return timers
}

func TestAnswerTimeout(t *testing.T) {
	t.Run("before the first chunk", func(t *testing.T) {
		arrived, gone := make(chan struct{}), make(chan struct{})
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done()
			close(gone)
		})
		e := p.engine(t, nil)
		timers := manualTimers(e)
		go func() {
			<-arrived
			(<-timers).f() // the provider is silent for too long
		}()
		_, err := e.Answer(t.Context(), chat.Query{Question: "q"})
		wantUpstream(t, err, chat.UpstreamTimeout, 0, 0)
		waitGone(t, gone)
	})
	t.Run("between chunks", func(t *testing.T) {
		gone := make(chan struct{})
		p := newProvider(t, hang(gone, llmtest.Chunk("first", "")))
		e := p.engine(t, nil)
		timers := manualTimers(e)
		reply, err := e.Answer(t.Context(), chat.Query{Question: "q"})
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		tm := <-timers
		var toks []string
		var last error
		for tok, err := range reply.Tokens {
			if err != nil {
				last = err
				break
			}
			toks = append(toks, tok)
			tm.f() // silent for too long after the first chunk
		}
		if len(toks) != 1 || toks[0] != "first" {
			t.Errorf("got tokens %q, want [first]", toks)
		}
		wantUpstream(t, last, chat.UpstreamTimeout, 0, 0)
		waitGone(t, gone)
	})
	t.Run("a real timer", func(t *testing.T) {
		// The provider never answers; the request may be cancelled before
		// it even arrives, so only the outcome is checked.
		p := newProvider(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		e := p.engine(t, func(o *Options) { o.Timeout = time.Millisecond })
		_, err := e.Answer(t.Context(), chat.Query{Question: "q"})
		wantUpstream(t, err, chat.UpstreamTimeout, 0, 0)
	})
}

func TestAnswerFailsMidStream(t *testing.T) {
	tests := []struct {
		name   string
		handle http.HandlerFunc
		kind   chat.UpstreamKind
	}{
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""))
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}, chat.UpstreamUnavailable},
		{"error event", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""), `{"error":{"message":"overloaded: `+r.Header.Get("Authorization")+`"}}`)
		}, chat.UpstreamUnavailable},
		{"malformed chunk", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""), `{"choices": nope}`)
		}, chat.UpstreamMalformed},
		{"ended without finishing", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""))
		}, chat.UpstreamMalformed},
		{"[DONE] without finishing", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""), "[DONE]")
		}, chat.UpstreamMalformed},
		{"cut off in an event", raw("data: " + llmtest.Chunk("part", "") + "\n\ndata: " + llmtest.Chunk("more", "stop")), chat.UpstreamMalformed},
		{"error event type", raw("data: " + llmtest.Chunk("part", "") + "\n\nevent: error\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n"), chat.UpstreamUnavailable},
		{"error as a string", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("part", ""), `{"error":"model crashed"}`)
		}, chat.UpstreamUnavailable},
		{"a line over 1 MiB", raw("data: " + llmtest.Chunk("part", "") + "\n\ndata: " + llmtest.Chunk(strings.Repeat("x", maxLine), "stop") + "\n\n"), chat.UpstreamMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.handle)
			reply, err := p.engine(t, nil).Answer(t.Context(), chat.Query{Question: "q"})
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			toks, err := collect(t, reply)
			if len(toks) != 1 || toks[0] != "part" {
				t.Errorf("got tokens %q, want [part]", toks)
			}
			wantUpstream(t, err, tt.kind, 0, 0)
		})
	}
}

func TestAnswerCancel(t *testing.T) {
	t.Run("caller cancels mid-stream", func(t *testing.T) {
		gone := make(chan struct{})
		p := newProvider(t, hang(gone, llmtest.Chunk("first", "")))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		reply, err := p.engine(t, nil).Answer(ctx, chat.Query{Question: "q"})
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		var last error
		for tok, err := range reply.Tokens {
			if err != nil {
				last = err
				break
			}
			if tok == "first" {
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", last)
		}
		var ue *chat.UpstreamError
		if errors.As(last, &ue) {
			t.Errorf("got an upstream error %v for the caller's own cancellation", ue)
		}
		waitGone(t, gone)
	})
	t.Run("caller stops reading", func(t *testing.T) {
		gone := make(chan struct{})
		p := newProvider(t, hang(gone, llmtest.Chunk("first", "")))
		reply, err := p.engine(t, nil).Answer(t.Context(), chat.Query{Question: "q"})
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		for range reply.Tokens {
			break
		}
		waitGone(t, gone)
	})
	t.Run("already cancelled", func(t *testing.T) {
		p := newProvider(t, llmtest.Stream("x"))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := p.engine(t, nil).Answer(ctx, chat.Query{Question: "q"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if n := len(p.Requests()); n != 0 {
			t.Errorf("got %d calls, want 0", n)
		}
	})
}

func TestNew(t *testing.T) {
	ok := Options{Name: "llm", BaseURL: "http://127.0.0.1:9/v1", Model: "m", Docs: testHits}
	tests := []struct {
		name    string
		mod     func(*Options)
		wantErr string
	}{
		{"valid", func(*Options) {}, ""},
		{"no name", func(o *Options) { o.Name = "" }, "Name"},
		{"no scheme", func(o *Options) { o.BaseURL = "localhost:11434/v1" }, "base URL"},
		{"ftp", func(o *Options) { o.BaseURL = "ftp://example.com" }, "base URL"},
		{"no model", func(o *Options) { o.Model = "" }, "Model"},
		{"no docs", func(o *Options) { o.Docs = nil }, "Docs"},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mod(&o)
			_, err := New(o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

// BenchmarkAnswer measures one grounded answer of 50 streamed chunks from
// a provider on loopback: retrieval, the request, and reading the stream.
func BenchmarkAnswer(b *testing.B) {
	pieces := make([]string, 50)
	for i := range pieces {
		pieces[i] = "word "
	}
	var data []string
	for _, p := range pieces {
		data = append(data, llmtest.Chunk(p, ""))
	}
	body := ""
	for _, d := range append(data, llmtest.Chunk("", "stop"), "[DONE]") {
		body += "data: " + d + "\n\n"
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, body)
	}))
	defer srv.Close()
	e, err := New(Options{Name: "llm", BaseURL: srv.URL + "/v1", APIKey: testKey, Model: "m", Docs: testHits})
	if err != nil {
		b.Fatal(err)
	}
	q := chat.Query{Question: "why 429?", History: history(10)}
	b.ReportAllocs()
	for b.Loop() {
		reply, err := e.Answer(b.Context(), q)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, err := range reply.Tokens {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 50 {
			b.Fatalf("got %d tokens, want 50", n)
		}
	}
}
