package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/llmtest"
)

// The keys the tests configure; none may ever reach a client or a log.
const (
	llmGoogleKey = "AIzaSy-test-google-key-0123456789"
	llmOtherKey  = "sk-test-llm-key-abcdef0123456789"
)

// llmApp builds the real app from vars, logging everything at debug level,
// and serves it on loopback.
func llmApp(t *testing.T, vars map[string]string) (*httptest.Server, *syncLog) {
	t.Helper()
	all := map[string]string{"LOG_LEVEL": "debug", "LOG_FORMAT": "json", "RATE_LIMIT": "1000/minute", "RATE_LIMIT_PER_IP": "off"}
	for k, v := range vars {
		all[k] = v
	}
	return newLoggedServer(t, all)
}

// llmProvider is the fake OpenAI-compatible provider every
// language-model engine of the app is pointed at.
type llmProvider struct{ *llmtest.Provider }

func newLLMProvider(t *testing.T, handle http.HandlerFunc) llmProvider {
	t.Helper()
	return llmProvider{llmtest.NewProvider(t, handle)}
}

// llmEnv points every language-model engine at p.
func (p llmProvider) llmEnv(extra ...string) map[string]string {
	vars := map[string]string{
		"GOOGLE_API_KEY":  llmGoogleKey,
		"GEMINI_BASE_URL": p.URL + "/gemini/",
		"OLLAMA_BASE_URL": p.URL + "/ollama/v1",
		"LLM_BASE_URL":    p.URL + "/llm/v1",
		"LLM_API_KEY":     llmOtherKey,
		"LLM_MODEL":       "test-model-7b",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		vars[extra[i]] = extra[i+1]
	}
	return vars
}

// llmLines reads an NDJSON body into its lines.
func llmLines(t *testing.T, body io.Reader) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

// llmPost posts body to /chat and reads the whole answer.
func llmPost(t *testing.T, srv *httptest.Server, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	resp := ask(t, srv, "/chat", body, header...)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestLLMEngines(t *testing.T) {
	tests := []struct {
		model, path, wantModel, wantAuth string
	}{
		{"gemini", "/gemini/chat/completions", "gemini-2.5-flash", "Bearer " + llmGoogleKey},
		{"local", "/ollama/v1/chat/completions", "gemma:2b", ""},
		{"llm", "/llm/v1/chat/completions", "test-model-7b", "Bearer " + llmOtherKey},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			p := newLLMProvider(t, llmtest.Stream("Three ", "per minute", "."))
			srv, _ := llmApp(t, p.llmEnv())
			var history []string
			for i := range 12 {
				role := [2]string{"user", "assistant"}[i%2]
				history = append(history, fmt.Sprintf(`{"role":%q,"content":"turn %d"}`, role, i))
			}
			body := fmt.Sprintf(`{"question":"how many questions can i ask per minute","model_type":%q,"history":[%s]}`, tt.model, strings.Join(history, ","))
			resp, raw := llmPost(t, srv, body)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" {
				t.Fatalf("got %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			lines := llmLines(t, bytes.NewReader(raw))
			var types, tokens []string
			for _, l := range lines {
				types = append(types, fmt.Sprint(l["type"]))
				if l["type"] == "token" {
					tokens = append(tokens, fmt.Sprint(l["data"]))
				}
			}
			if got := strings.Join(types, ","); got != "sources,token,token,token,done" {
				t.Errorf("got lines %s, want sources, one token per chunk, done", got)
			}
			if got := strings.Join(tokens, "|"); got != "Three |per minute|." {
				t.Errorf("got tokens %q, want the provider's chunks as sent", got)
			}
			names, _ := lines[0]["data"].([]any)
			if len(names) == 0 || names[0] != "rate-limiting.md" {
				t.Errorf("got sources %v, want rate-limiting.md first", lines[0]["data"])
			}

			sent := p.Requests()
			if len(sent) != 1 {
				t.Fatalf("got %d provider calls, want 1", len(sent))
			}
			s := sent[0]
			if s.Path != tt.path || s.Model != tt.wantModel || s.Auth != tt.wantAuth || !s.Stream {
				t.Errorf("got %s model %q auth %q stream %v; want %s %q %q true", s.Path, s.Model, s.Auth, s.Stream, tt.path, tt.wantModel, tt.wantAuth)
			}
			if n := len(s.Messages); n != 12 {
				t.Fatalf("got %d messages, want system + the last 10 of 12 history messages + question", n)
			}
			sys := s.Messages[0].Content
			if s.Messages[0].Role != "system" || !strings.Contains(sys, "Answer only from the context") || !strings.Contains(sys, "rate-limiting.md") {
				t.Errorf("system message does not ground the answer in the passages:\n%s", sys)
			}
			if s.Messages[1].Content != "turn 2" || s.Messages[10].Content != "turn 11" {
				t.Errorf("got history %q .. %q, want turn 2 .. turn 11", s.Messages[1].Content, s.Messages[10].Content)
			}
			if last := s.Messages[11]; last.Role != "user" || last.Content != "how many questions can i ask per minute" {
				t.Errorf("got last message %+v, want the question", last)
			}
		})
	}
}

func TestLLMJSONAnswer(t *testing.T) {
	p := newLLMProvider(t, llmtest.Stream("The limit ", "is 3 per minute."))
	srv, _ := llmApp(t, p.llmEnv("DEFAULT_MODEL_TYPE", "gemini"))
	resp, raw := llmPost(t, srv, `{"question":"what is the default rate limit"}`, "Accept: application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d: %s", resp.StatusCode, raw)
	}
	var got struct {
		Answer, Model string
		Sources       []struct{ Name string }
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Answer != "The limit is 3 per minute." || got.Model != "gemini" || len(got.Sources) == 0 {
		t.Errorf("got %+v, want the whole answer from gemini, the default, with sources", got)
	}
}

func TestLLMOffTopicDoesNotCallTheProvider(t *testing.T) {
	p := newLLMProvider(t, llmtest.Stream("never"))
	srv, _ := llmApp(t, p.llmEnv())
	resp, raw := llmPost(t, srv, `{"question":"what's the weather","model_type":"llm"}`)
	lines := llmLines(t, bytes.NewReader(raw))
	if resp.StatusCode != http.StatusOK || len(lines) < 2 || fmt.Sprint(lines[0]["data"]) != "[]" {
		t.Fatalf("got %d %s, want a stream with no sources", resp.StatusCode, raw)
	}
	if n := len(p.Requests()); n != 0 {
		t.Errorf("got %d provider calls, want 0", n)
	}
}

// llmEcho answers status with an error that repeats the Authorization
// header, as careless providers and proxies do.
func llmEcho(status int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "bad request from " + r.Header.Get("Authorization")}})
	}
}

func TestLLMFailures(t *testing.T) {
	tests := []struct {
		name       string
		handle     http.HandlerFunc
		vars       []string
		model      string
		status     int
		retryAfter string
		detail     string
		errorLine  string // the stream's error line, when it started
	}{
		{"bad key", llmEcho(http.StatusUnauthorized), nil, "gemini", http.StatusBadGateway, "", "credentials", ""},
		{"provider rate limit", llmEcho(http.StatusTooManyRequests, "Retry-After", "30"), nil, "llm", http.StatusServiceUnavailable, "30", "rate limiting", ""},
		{"provider error", llmEcho(http.StatusInternalServerError), nil, "llm", http.StatusBadGateway, "", "unavailable", ""},
		{"unknown model", llmEcho(http.StatusNotFound), nil, "local", http.StatusBadGateway, "", "refused the request", ""},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, []string{"LLM_TIMEOUT", "30ms"}, "gemini", http.StatusGatewayTimeout, "", "too long", ""},
		{"malformed stream", func(w http.ResponseWriter, r *http.Request) { llmtest.SSE(w, `{"choices": [`) }, nil, "llm", http.StatusBadGateway, "", "could not be read", ""},
		{"mid-stream failure", func(w http.ResponseWriter, r *http.Request) {
			llmtest.SSE(w, llmtest.Chunk("Part", ""), `{"error":{"message":"overloaded for `+r.Header.Get("Authorization")+`"}}`)
		}, nil, "gemini", http.StatusOK, "", "", "The model provider is unavailable; try again later."},
		{"not configured", llmtest.Stream("x"), []string{"GOOGLE_API_KEY", ""}, "gemini", http.StatusServiceUnavailable, "", "set GOOGLE_API_KEY", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newLLMProvider(t, tt.handle)
			srv, logs := llmApp(t, p.llmEnv(tt.vars...))
			resp, raw := llmPost(t, srv, fmt.Sprintf(`{"question":"how does the rate limit work","model_type":%q}`, tt.model))
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, raw, tt.status)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("got Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.errorLine == "" {
				var body struct{ Detail string }
				json.Unmarshal(raw, &body)
				if !strings.Contains(body.Detail, tt.detail) {
					t.Errorf("got detail %q, want it to say %q", body.Detail, tt.detail)
				}
			} else {
				lines := llmLines(t, bytes.NewReader(raw))
				last := lines[len(lines)-1]
				if last["type"] != "error" || last["data"] != tt.errorLine {
					t.Errorf("got last line %v, want the error line %q", last, tt.errorLine)
				}
			}
			var headers strings.Builder
			resp.Header.Write(&headers)
			for _, key := range []string{llmGoogleKey, llmOtherKey} {
				if strings.Contains(string(raw), key) || strings.Contains(headers.String(), key) {
					t.Errorf("the response shows a key: %s %s", headers.String(), raw)
				}
				if strings.Contains(logs.String(), key) {
					t.Errorf("the log shows a key:\n%s", logs)
				}
			}
			if tt.status >= 500 && tt.name != "not configured" && !strings.Contains(logs.String(), "model provider") {
				t.Errorf("the log does not say what failed:\n%s", logs)
			}
		})
	}
}

func TestLLMClientDisconnectCancelsProvider(t *testing.T) {
	gone := make(chan struct{})
	p := newLLMProvider(t, func(w http.ResponseWriter, r *http.Request) {
		llmtest.SSE(w, llmtest.Chunk("first ", ""))
		<-r.Context().Done()
		close(gone)
	})
	srv, _ := llmApp(t, p.llmEnv())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/chat", strings.NewReader(`{"question":"how does the rate limit work","model_type":"llm"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for _, want := range []string{`"sources"`, `"first "`} {
		line, err := rd.ReadString('\n')
		if err != nil || !strings.Contains(line, want) {
			t.Fatalf("got line %q, %v; want one with %s", line, err, want)
		}
	}
	cancel() // the client goes away mid-answer
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's request was not cancelled when the client went away")
	}
}

func TestLLMModelsList(t *testing.T) {
	p := newLLMProvider(t, llmtest.Stream("x"))
	srv, _ := llmApp(t, p.llmEnv("OLLAMA_BASE_URL", "off", "LLM_BASE_URL", "", "LLM_MODEL", "", "DEFAULT_MODEL_TYPE", "gemini"))
	resp, err := srv.Client().Get(srv.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Default string
		Models  []struct {
			Name       string
			Configured bool
			Missing    string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, m := range got.Models {
		parts = append(parts, fmt.Sprintf("%s:%v:%s", m.Name, m.Configured, m.Missing))
	}
	want := "docs:true: gemini:true: local:false:OLLAMA_BASE_URL llm:false:LLM_BASE_URL and LLM_MODEL"
	if got.Default != "gemini" || strings.Join(parts, " ") != want {
		t.Errorf("got default %q models %q, want gemini %q", got.Default, strings.Join(parts, " "), want)
	}
}
