package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/app"
)

func server(t *testing.T) *httptest.Server {
	t.Helper()
	env := map[string]string{"LOG_LEVEL": "error"}
	h, closeApp, err := app.NewHandler(context.Background(), options(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); closeApp() })
	return srv
}

// The custom engine answers in the original NDJSON: sources, tokens, done.
func TestGlossaryStreams(t *testing.T) {
	srv := server(t)
	resp, err := http.Post(srv.URL+"/chat", "application/json", strings.NewReader(`{"question":"What is a token bucket?","model_type":"glossary"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("got %d %q, want 200 application/x-ndjson", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var types []string
	var answer strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if len(types) == 0 || types[len(types)-1] != l.Type {
			types = append(types, l.Type)
		}
		if l.Type == "token" {
			var s string
			json.Unmarshal(l.Data, &s)
			answer.WriteString(s)
		}
		if l.Type == "sources" && !strings.Contains(string(l.Data), "glossary") {
			t.Errorf("sources %s, want the glossary", l.Data)
		}
	}
	if got := strings.Join(types, ","); got != "sources,token,done" {
		t.Errorf("line types %s, want sources,token,done", got)
	}
	if got, want := answer.String(), terms["token bucket"]; got != want {
		t.Errorf("answer %q, want %q", got, want)
	}
}

// The registration alone makes the engine known: /models lists it, and
// an unknown model_type's 422 names it among the valid ones.
func TestGlossaryIsRegistered(t *testing.T) {
	srv := server(t)
	resp, err := http.Get(srv.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"name":"glossary"`) {
		t.Errorf("/models = %s, want glossary listed", body)
	}
	resp, err = http.Post(srv.URL+"/chat", "application/json", strings.NewReader(`{"question":"hi","model_type":"nope"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(body), "'glossary'") {
		t.Errorf("unknown model_type: got %d %s, want 422 naming 'glossary'", resp.StatusCode, body)
	}
	resp, err = http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"glossary"`) {
		t.Error("/openapi.json: want glossary in the model_type enum")
	}
}
