package app

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"github.com/smartdocs-go/smartdocs/internal/llmtest"
)

// apiProvider answers by the mode its caller put in the history
// ("mode:401"), so that one app can show every kind of answer.
func apiProvider(w http.ResponseWriter, r *http.Request) {
	sent := llmtest.Sent(r)
	mode := ""
	for _, m := range sent.Messages {
		if s, ok := strings.CutPrefix(m.Content, "mode:"); ok {
			mode = s
		}
	}
	switch mode {
	case "401":
		llmEcho(http.StatusUnauthorized)(w, r)
	case "429":
		llmEcho(http.StatusTooManyRequests, "Retry-After", "12")(w, r)
	case "gateway-timeout":
		// The provider's own gateway gave up: a 504 like our timeout,
		// without making this test wait for one.
		llmEcho(http.StatusGatewayTimeout)(w, r)
	case "mid-stream":
		llmtest.SSE(w, llmtest.Chunk("Part", ""), `{"error":{"message":"overloaded"}}`)
	default:
		llmtest.Stream("Three ", "per minute.")(w, r)
	}
}

// TestOpenAPIMatchesResponses sends the running app one request of every
// kind and validates each response against the document it serves at
// /openapi.json: status, headers and body, and every line of a stream.
func TestOpenAPIMatchesResponses(t *testing.T) {
	p := newLLMProvider(t, apiProvider)
	srv, _ := llmApp(t, p.llmEnv("RATE_LIMIT", "2/minute", "OLLAMA_BASE_URL", "off"))

	resp, err := srv.Client().Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load /openapi.json: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}

	const ask = `{"question":"how does the rate limit work","model_type":"llm","history":[{"role":"user","content":"mode:%s"}]}`
	mode := func(m string) string { return strings.Replace(ask, "%s", m, 1) }
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		// valid is set when the request itself must match the document.
		valid bool
	}{
		{"health", "GET", "/health", "", nil, 200, true},
		{"models", "GET", "/models", "", nil, 200, true},
		{"limits", "GET", "/limits", "", nil, 200, true},
		{"whoami", "GET", "/whoami", "", nil, 200, true},
		{"openapi", "GET", "/openapi.json", "", nil, 200, true},
		{"docs page", "GET", "/docs", "", nil, 200, true},
		{"docs script", "GET", "/docs/apidocs.js", "", nil, 200, true},
		{"docs style", "GET", "/docs/apidocs.css", "", nil, 200, true},
		{"docs other file", "GET", "/docs/nope.txt", "", nil, 404, true},
		{"chat page", "GET", "/", "", nil, 200, true},
		{"chat page script", "GET", "/static/app.js", "", nil, 200, true},
		{"docs engine, stream", "POST", "/chat", `{"question":"how does the rate limit work"}`, nil, 200, true},
		{"docs engine, JSON", "POST", "/api/chat", `{"question":"which port does the server listen on","model_type":"docs"}`, []string{"Accept: application/json"}, 200, true},
		{"llm, stream", "POST", "/chat", mode("ok"), nil, 200, true},
		{"llm, JSON", "POST", "/chat", mode("ok"), []string{"Accept: application/json"}, 200, true},
		{"llm, failure mid-stream", "POST", "/chat", mode("mid-stream"), nil, 200, true},
		{"llm, bad key", "POST", "/chat", mode("401"), nil, 502, true},
		{"llm, provider rate limit", "POST", "/chat", mode("429"), nil, 503, true},
		{"llm, provider timeout", "POST", "/chat", mode("gateway-timeout"), nil, 504, true},
		{"model not configured", "POST", "/chat", `{"question":"q","model_type":"local"}`, nil, 503, true},
		{"too large", "POST", "/chat", `{"question":"` + strings.Repeat("a", 70<<10) + `"}`, nil, 413, false},
		{"not JSON", "POST", "/chat", `question=hi`, []string{"Content-Type: text/plain"}, 415, false},
		{"no question", "POST", "/chat", `{}`, nil, 422, false},
		{"unknown model", "POST", "/chat", `{"question":"q","model_type":"gpt"}`, nil, 422, false},
		{"malformed JSON", "POST", "/chat", `{"question":`, nil, 422, false},
		{"limited 1", "POST", "/chat", `{"question":"q"}`, []string{"User-Agent: limited"}, 200, true},
		{"limited 2", "POST", "/chat", `{"question":"q"}`, []string{"User-Agent: limited"}, 200, true},
		{"limited 3", "POST", "/chat", `{"question":"q"}`, []string{"User-Agent: limited"}, 429, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("User-Agent", "openapi-test-"+string(rune('a'+i))) // one client per case
			if tt.method == "POST" {
				req.Header.Set("Content-Type", "application/json")
			}
			for _, h := range tt.header {
				k, v, _ := strings.Cut(h, ": ")
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d, want %d: %.300s", resp.StatusCode, tt.status, body)
			}

			// Validate against a fresh request: the first one's body is read.
			vreq, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			vreq.Header = req.Header
			route, params, err := router.FindRoute(vreq)
			if err != nil {
				t.Fatalf("%s %s is not in the document: %v", tt.method, tt.path, err)
			}
			in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
			if tt.valid {
				if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
					t.Errorf("the request does not match the document: %v", err)
				}
			}
			ndjson := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson")
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 resp.StatusCode,
				Header:                 resp.Header,
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: ndjson, MultiError: true},
			}
			if err := openapi3filter.ValidateResponse(t.Context(), out); err != nil {
				t.Errorf("the response does not match the document: %v\n%.500s", err, body)
			}
			if ndjson {
				validateLines(t, route.Operation, resp.StatusCode, body)
			}
		})
	}
}

// validateLines checks every line of an NDJSON body against the schema the
// document gives the stream.
func validateLines(t *testing.T, op *openapi3.Operation, status int, body []byte) {
	t.Helper()
	media := op.Responses.Status(status).Value.Content.Get("application/x-ndjson")
	if media == nil || media.Schema == nil {
		t.Fatal("the document gives the stream no schema")
	}
	var types []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		if err := media.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("line %s does not match the document: %v", sc.Text(), err)
		}
		types = append(types, v.(map[string]any)["type"].(string))
	}
	if len(types) < 2 || types[0] != "sources" || (types[len(types)-1] != "done" && types[len(types)-1] != "error") {
		t.Errorf("got lines %v, want sources first and done or error last", types)
	}
}
