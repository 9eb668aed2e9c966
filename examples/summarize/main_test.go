package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/app"
)

func server(t *testing.T, env map[string]string) *httptest.Server {
	t.Helper()
	h, closeApp, err := app.NewHandler(context.Background(), options(), func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); closeApp() })
	return srv
}

func post(t *testing.T, srv *httptest.Server, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "summarize-test")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// /summarize refuses after its own 10 a minute while /chat, counted
// apart, still admits; /chat's own 3 a minute is untouched by it.
func TestSummarizeHasItsOwnLimit(t *testing.T) {
	srv := server(t, map[string]string{"LOG_LEVEL": "error"})
	for i := 1; i <= 10; i++ {
		if got := post(t, srv, "/summarize", `{"text":"One. Two."}`); got != 200 {
			t.Fatalf("summarize %d: got %d, want 200", i, got)
		}
	}
	if got := post(t, srv, "/summarize", `{"text":"One. Two."}`); got != 429 {
		t.Errorf("summarize 11: got %d, want 429", got)
	}
	for i := 1; i <= 3; i++ {
		if got := post(t, srv, "/chat", `{"question":"what is limited?"}`); got != 200 {
			t.Errorf("chat %d after summarize's limit: got %d, want 200", i, got)
		}
	}
	if got := post(t, srv, "/chat", `{"question":"what is limited?"}`); got != 429 {
		t.Errorf("chat 4: got %d, want 429", got)
	}
}

// The limit is read from its variable like RATE_LIMIT, and a bad value
// stops start-up with one line naming it.
func TestSummarizeLimitFromEnv(t *testing.T) {
	srv := server(t, map[string]string{"LOG_LEVEL": "error", "RATE_LIMIT_SUMMARIZE": "2/minute"})
	for i, want := range []int{200, 200, 429} {
		if got := post(t, srv, "/summarize", `{"text":"x"}`); got != want {
			t.Errorf("summarize %d: got %d, want %d", i+1, got, want)
		}
	}
	env := map[string]string{"RATE_LIMIT_SUMMARIZE": "lots"}
	_, _, err := app.NewHandler(context.Background(), options(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_SUMMARIZE") || strings.Contains(err.Error(), "\n") {
		t.Errorf("bad RATE_LIMIT_SUMMARIZE: got %v, want one line naming the variable", err)
	}
}
