package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// env is a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newTestServer wires the real app from vars and serves it on loopback.
func newTestServer(t *testing.T, vars map[string]string) *httptest.Server {
	t.Helper()
	srv, _ := newLoggedServer(t, vars)
	return srv
}

// newLoggedServer is newTestServer that also returns what the app logs.
// Its client keeps at most 64 connections, so that a burst of 1,000 does
// not run out of file descriptors.
func newLoggedServer(t *testing.T, vars map[string]string) (*httptest.Server, *syncLog) {
	t.Helper()
	cfg, err := load(env(vars), Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncLog{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, Options{}, logs)
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	srv := httptest.NewServer(a.handler)
	srv.Client().Transport = &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}
	t.Cleanup(func() {
		srv.Client().CloseIdleConnections()
		srv.Close()
		cancel()
		a.Close()
	})
	return srv, logs
}

// ask posts a chat request; opts set headers ("Name: value").
func ask(t *testing.T, srv *httptest.Server, path, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

const question = `{"question": "how does the rate limit work?"}`

func TestChatLimitedAfterThree(t *testing.T) {
	srv := newTestServer(t, nil)
	for i := 0; i < 3; i++ {
		resp := ask(t, srv, "/chat", question)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200", i+1, resp.StatusCode)
		}
		if got, want := resp.Header.Get("X-RateLimit-Remaining"), []string{"2", "1", "0"}[i]; got != want {
			t.Errorf("request %d: X-RateLimit-Remaining = %q, want %q", i+1, got, want)
		}
		if got := resp.Header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("request %d: X-RateLimit-Limit = %q, want 3", i+1, got)
		}
		if resp.Header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("request %d: no X-RateLimit-Reset", i+1)
		}
	}
	resp := ask(t, srv, "/chat", question)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th request: status %d, want 429", resp.StatusCode)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	want := "Rate limit exceeded: 3 per 1 minute"
	if body["error"] != want || body["detail"] != want {
		t.Errorf("429 body = %v, want error and detail %q", body, want)
	}
	ra := resp.Header.Get("Retry-After")
	if ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q, want whole seconds above 0", ra)
	}
	if got := resp.Header.Get("X-RateLimit-Remaining"); got != "0" {
		t.Errorf("429 X-RateLimit-Remaining = %q, want 0", got)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("429 Content-Type = %q, want application/json", got)
	}
}

func TestChatStream(t *testing.T) {
	srv := newTestServer(t, nil)
	resp := ask(t, srv, "/chat", `{"question": "what is REDIS_URL?", "history": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-ndjson" {
		t.Errorf("Content-Type = %q, want application/x-ndjson", got)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) < 3 {
		t.Fatalf("got %d lines, want sources, tokens and done", len(lines))
	}
	first, last := lines[0], lines[len(lines)-1]
	if first["type"] != "sources" {
		t.Fatalf("first line type = %v, want sources", first["type"])
	}
	names, ok := first["data"].([]any)
	if !ok || len(names) == 0 {
		t.Fatalf("sources data = %v, want a list of names", first["data"])
	}
	for _, n := range names {
		if _, ok := n.(string); !ok {
			t.Errorf("source name %v is not a string", n)
		}
	}
	if last["type"] != "done" {
		t.Errorf("last line type = %v, want done", last["type"])
	}
	var answer strings.Builder
	for _, l := range lines[1 : len(lines)-1] {
		if l["type"] != "token" {
			t.Fatalf("middle line type = %v, want token", l["type"])
		}
		answer.WriteString(l["data"].(string))
	}
	if !strings.Contains(strings.ToLower(answer.String()), "redis") {
		t.Errorf("answer %q does not mention redis", answer.String())
	}
}

func TestChatJSON(t *testing.T) {
	srv := newTestServer(t, nil)
	resp := ask(t, srv, "/chat", question, "Accept: application/json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	var body struct {
		Answer  string `json:"answer"`
		Model   string `json:"model"`
		Sources []struct {
			Name, Title, Excerpt string
		} `json:"sources"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Answer == "" || body.Model != "docs" || len(body.Sources) == 0 {
		t.Fatalf("got %+v, want an answer, model docs and sources", body)
	}
	for _, s := range body.Sources {
		if s.Name == "" || s.Title == "" || s.Excerpt == "" {
			t.Errorf("source %+v lacks name, title or excerpt", s)
		}
	}
}

func TestChatPathsShareOneLimit(t *testing.T) {
	srv := newTestServer(t, nil)
	var codes []int
	for _, p := range []string{"/chat", "/api/chat", "/chat", "/api/chat"} {
		resp := ask(t, srv, p, question)
		io.Copy(io.Discard, resp.Body)
		codes = append(codes, resp.StatusCode)
	}
	want := []int{200, 200, 200, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", codes, want)
		}
	}
}

func TestTwoUserAgentsAreTwoClients(t *testing.T) {
	srv := newTestServer(t, nil)
	for _, ua := range []string{"Firefox/1", "Chrome/2"} {
		for i := 0; i < 3; i++ {
			resp := ask(t, srv, "/chat", question, "User-Agent: "+ua)
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s request %d: status %d, want 200", ua, i+1, resp.StatusCode)
			}
		}
		if resp := ask(t, srv, "/chat", question, "User-Agent: "+ua); resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s 4th request: status %d, want 429", ua, resp.StatusCode)
		}
	}
}

func TestForgedForwardedForFromUntrustedPeer(t *testing.T) {
	// The test client connects from 127.0.0.1; with no trusted proxy it
	// is a client on the open internet and its X-Forwarded-For is a lie.
	srv := newTestServer(t, map[string]string{"TRUSTED_PROXIES": "none"})
	admitted := 0
	for i := 0; i < 20; i++ {
		resp := ask(t, srv, "/chat", question, "X-Forwarded-For: 203.0.113."+string(rune('0'+i%10)))
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode == http.StatusOK {
			admitted++
		}
	}
	if admitted != 3 {
		t.Errorf("admitted %d with rotating forged X-Forwarded-For, want 3", admitted)
	}
}

func TestForwardedForFromTrustedProxy(t *testing.T) {
	// Loopback is trusted by default: each forwarded client has its own limit.
	srv := newTestServer(t, nil)
	for _, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		for i := 0; i < 3; i++ {
			resp := ask(t, srv, "/chat", question, "X-Forwarded-For: "+ip)
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s request %d: status %d, want 200", ip, i+1, resp.StatusCode)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	srv := newTestServer(t, map[string]string{"RATE_LIMIT": "1000/minute"})
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		loc         string // for 422: the joined loc of the first error
	}{
		{"malformed json", "POST", "/chat", "application/json", `{"question": `, 422, "body"},
		{"not an object", "POST", "/chat", "application/json", `[1, 2]`, 422, "body"},
		{"missing question", "POST", "/chat", "application/json", `{}`, 422, "body.question"},
		{"empty question", "POST", "/chat", "application/json", `{"question": "  "}`, 422, "body.question"},
		{"question not a string", "POST", "/chat", "application/json", `{"question": 42}`, 422, "body.question"},
		{"empty body", "POST", "/chat", "application/json", ``, 422, "body"},
		{"unknown model", "POST", "/chat", "application/json", `{"question": "hi", "model_type": "gpt-9"}`, 422, "body.model_type"},
		{"bad history role", "POST", "/chat", "application/json", `{"question": "hi", "history": [{"role": "system", "content": "x"}]}`, 422, "body.history.0.role"},
		{"history not a list", "POST", "/chat", "application/json", `{"question": "hi", "history": "x"}`, 422, "body.history"},
		{"too large", "POST", "/chat", "application/json", `{"question": "` + strings.Repeat("a", 70<<10) + `"}`, 413, ""},
		{"form content type", "POST", "/chat", "application/x-www-form-urlencoded", `question=hi`, 415, ""},
		{"text content type", "POST", "/api/chat", "text/plain", `{"question": "hi"}`, 415, ""},
		{"wrong method", "GET", "/chat", "", ``, 405, ""},
		{"wrong method on health", "POST", "/health", "application/json", `{}`, 405, ""},
		{"unknown path", "GET", "/nope", "", ``, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			raw, _ := io.ReadAll(resp.Body)
			if tt.status != 422 {
				var body struct{ Detail string }
				if err := json.Unmarshal(raw, &body); err != nil || body.Detail == "" {
					t.Errorf("body %s: want {\"detail\": \"...\"}", raw)
				}
				return
			}
			var body struct {
				Detail []struct {
					Loc  []any  `json:"loc"`
					Msg  string `json:"msg"`
					Type string `json:"type"`
				} `json:"detail"`
			}
			if err := json.Unmarshal(raw, &body); err != nil || len(body.Detail) == 0 {
				t.Fatalf("body %s: want FastAPI's detail list (%v)", raw, err)
			}
			var loc []string
			for _, p := range body.Detail[0].Loc {
				b, _ := json.Marshal(p)
				loc = append(loc, strings.Trim(string(b), `"`))
			}
			if got := strings.Join(loc, "."); !strings.HasPrefix(got, tt.loc) {
				t.Errorf("loc = %q, want %q", got, tt.loc)
			}
			if body.Detail[0].Msg == "" || body.Detail[0].Type == "" {
				t.Errorf("detail %+v lacks msg or type", body.Detail[0])
			}
		})
	}
}

func TestUnknownModelListsValidOnes(t *testing.T) {
	srv := newTestServer(t, nil)
	resp := ask(t, srv, "/chat", `{"question": "hi", "model_type": "nope"}`)
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 422 || !bytes.Contains(raw, []byte("'docs'")) {
		t.Errorf("got %d %s, want 422 naming 'docs'", resp.StatusCode, raw)
	}
}

// TestInvalidRequestsCount pins down a documented choice: the limiter runs
// before the body is read, so malformed requests use up the quota too (a
// flood of garbage costs the flooder, not the server).
func TestInvalidRequestsCount(t *testing.T) {
	srv := newTestServer(t, nil)
	for i := 0; i < 3; i++ {
		if resp := ask(t, srv, "/chat", `{"question": `); resp.StatusCode != 422 {
			t.Fatalf("malformed request %d: status %d, want 422", i+1, resp.StatusCode)
		}
	}
	if resp := ask(t, srv, "/chat", question); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("valid request after 3 malformed ones: status %d, want 429", resp.StatusCode)
	}
}

func TestOnlyChatIsLimited(t *testing.T) {
	srv := newTestServer(t, map[string]string{"RATE_LIMIT": "1/minute"})
	ask(t, srv, "/chat", question)
	if resp := ask(t, srv, "/chat", question); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second chat: status %d, want 429", resp.StatusCode)
	}
	for _, p := range []string{"/health", "/", "/static/app.js", "/static/style.css", "/models"} {
		for i := 0; i < 5; i++ {
			resp, err := srv.Client().Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s #%d: status %d, want 200", p, i+1, resp.StatusCode)
			}
			if resp.Header.Get("X-RateLimit-Limit") != "" {
				t.Errorf("GET %s carries rate-limit headers", p)
			}
		}
	}
}

func TestHealth(t *testing.T) {
	srv := newTestServer(t, nil)
	resp, err := srv.Client().Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Status    string         `json:"status"`
		Timestamp string         `json:"timestamp"`
		Limiter   map[string]any `json:"limiter"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "healthy" || body.Timestamp == "" || body.Limiter["store"] != "memory" {
		t.Errorf("health = %+v, want healthy with a timestamp and store memory", body)
	}
}

func TestIndexPage(t *testing.T) {
	srv := newTestServer(t, nil)
	resp, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Contains(raw, []byte("/static/app.js")) {
		t.Errorf("GET / = %d, want the page that loads /static/app.js", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q, want script-src 'self'", csp)
	}
}

func TestConfigErrorsStopStartup(t *testing.T) {
	tests := []struct{ name, value string }{
		{"PORT", "seventy"},
		{"PORT", "70000"},
		{"REDIS_URL", "http://localhost:6379"},
		{"RATE_LIMIT", "3 per fortnight"},
		{"RATE_LIMIT", "0/minute"},
		{"RATE_LIMIT_KEY", "cookie"},
		{"TRUSTED_PROXIES", "10.0.0.0/33"},
		{"RATE_LIMIT_PER_IP", "lots"},
		{"RATE_LIMIT_GLOBAL", "5000"},
		{"RATE_LIMIT_STRATEGY", "token-bucket"},
		{"RATE_LIMIT_DRY_RUN", "maybe"},
		{"REDIS_FAILURE_MODE", "panic"},
		{"REDIS_TIMEOUT", "fast"},
		{"DOCS_DIR", "/does/not/exist"},
		{"RATE_LIMIT_SECRET", "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), Options{}, []string{"smartdocs"}, env(map[string]string{tt.name: tt.value, "PORT": map[bool]string{true: tt.value, false: "0"}[tt.name == "PORT"]}), &out, &out)
			if err == nil {
				t.Fatalf("run started with %s=%q", tt.name, tt.value)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tt.name) {
				t.Errorf("error %q: want one line naming %s", msg, tt.name)
			}
		})
	}
}

func TestDryRunLetsThroughAndReports(t *testing.T) {
	cfg, err := load(env(map[string]string{"RATE_LIMIT_DRY_RUN": "1"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var log syncLog
	a, err := newApp(t.Context(), cfg, Options{}, &log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.handler)
	t.Cleanup(srv.Close)
	for i := 0; i < 5; i++ {
		resp := ask(t, srv, "/chat", question)
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("dry run request %d: status %d, want 200", i+1, resp.StatusCode)
		}
		if i >= 3 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("dry run request %d: no Retry-After: the headers must report the refusal", i+1)
		}
	}
	if got := strings.Count(log.String(), "dry run: would refuse"); got != 2 {
		t.Errorf("logged %d dry-run refusals, want 2", got)
	}
	if strings.Contains(log.String(), "127.0.0.1") {
		t.Error("the dry-run log holds the client address")
	}
}
