package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

type oneWord struct{}

func (oneWord) Answer(ctx context.Context, q chat.Query) (*chat.Reply, error) {
	return &chat.Reply{Tokens: func(yield func(string, error) bool) { yield("yes", nil) }}, nil
}

// opsDeps is a server with a fake limiter that notes a key, as the app's
// does.
func opsDeps(log *bytes.Buffer) Deps {
	return Deps{
		Logger:       slog.New(slog.NewJSONHandler(log, nil)),
		Models:       []Model{{Name: "docs", Engine: oneWord{}}},
		DefaultModel: "docs",
		Limit: func(string, ...LimitOption) func(http.Handler) http.Handler {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					NoteKey(w, "a1b2c3d4e5f6a7b8")
					next.ServeHTTP(w, r)
				})
			}
		},
		Static: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "app.js": {Data: []byte("//")}},
	}
}

func TestRequestLog(t *testing.T) {
	var log bytes.Buffer
	var mu sync.Mutex
	var seen []Finished
	d := opsDeps(&log)
	d.OnRequest = func(f Finished) {
		mu.Lock()
		seen = append(seen, f)
		mu.Unlock()
	}
	h := NewServer(d)
	tests := []struct {
		method, path, body string
		route              string
		status             int
		key                string
	}{
		{"POST", "/chat", `{"question":"hi"}`, "/chat", 200, "a1b2c3d4"},
		{"POST", "/api/chat", `{}`, "/api/chat", 422, "a1b2c3d4"},
		{"GET", "/health", "", "/health", 200, ""},
		{"GET", "/static/app.js", "", "/static/*", 200, ""},
		{"GET", "/no/such/page", "", "", 404, ""},
	}
	for _, tt := range tests {
		log.Reset()
		r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
		r.RemoteAddr = "203.0.113.9:4321"
		r.Header.Set("User-Agent", "Secret-Agent/1.0")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		line := log.String()
		var got struct {
			Msg, Method, Route, Key string
			Status                  int
			Duration                *float64 `json:"duration_ms"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%s %s: log %q: %v", tt.method, tt.path, line, err)
		}
		if got.Msg != "request" || got.Method != tt.method || got.Route != tt.route || got.Status != tt.status || got.Key != tt.key || got.Duration == nil {
			t.Errorf("%s %s: got %s, want route %q status %d key %q and a duration", tt.method, tt.path, line, tt.route, tt.status, tt.key)
		}
		if strings.Contains(line, "203.0.113.9") || strings.Contains(line, "Secret-Agent") || strings.Contains(line, tt.path+"\"") && tt.route == "" {
			t.Errorf("%s %s: log line reveals the client or the raw path: %s", tt.method, tt.path, line)
		}
	}
	if len(seen) != len(tests) {
		t.Fatalf("OnRequest heard %d requests, want %d", len(seen), len(tests))
	}
	for i, tt := range tests {
		if f := seen[i]; f.Route != tt.route || f.Status != tt.status || f.Method != tt.method {
			t.Errorf("OnRequest %d: got %+v, want %s %q %d", i, f, tt.method, tt.route, tt.status)
		}
	}
}

func TestLimits(t *testing.T) {
	states := []ratelimit.State{
		{Policy: "per-client", Limit: ratelimit.Limit{Requests: 3, Window: time.Minute}, Remaining: 0, RetryAfter: 1500 * time.Millisecond},
		{Policy: "per-ip", Limit: ratelimit.Limit{Requests: 60, Window: time.Minute}, Remaining: 57},
	}
	tests := []struct {
		name   string
		peek   func(*http.Request) ([]ratelimit.State, error)
		status int
		body   string
	}{
		{"states", func(*http.Request) ([]ratelimit.State, error) { return states, nil }, 200,
			`{"layers":[{"policy":"per-client","limit":3,"remaining":0,"window_seconds":60,"reset_seconds":2},{"policy":"per-ip","limit":60,"remaining":57,"window_seconds":60,"reset_seconds":0}]}`},
		{"no layers", func(*http.Request) ([]ratelimit.State, error) { return nil, nil }, 200, `{"layers":[]}`},
		{"store down", func(*http.Request) ([]ratelimit.State, error) { return nil, errors.New("boom") }, 503, ""},
		{"not wired", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			d := opsDeps(&log)
			d.Peek = tt.peek
			w := httptest.NewRecorder()
			NewServer(d).ServeHTTP(w, httptest.NewRequest("GET", "/limits", nil))
			if w.Code != tt.status {
				t.Fatalf("got %d %s, want %d", w.Code, w.Body, tt.status)
			}
			if tt.body != "" && strings.TrimSpace(w.Body.String()) != tt.body {
				t.Errorf("got %s\nwant %s", w.Body, tt.body)
			}
			if tt.status == 200 && w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("got Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
			}
		})
	}
}

// Optional routes exist only when wired.
func TestOptionalRoutes(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name   string
		wire   func(*Deps)
		path   string
		status int
	}{
		{"metrics off", func(*Deps) {}, "/metrics", 404},
		{"metrics on", func(d *Deps) { d.Metrics = ok }, "/metrics", 418},
		{"admin off", func(*Deps) {}, "/admin/rate-limits", 404},
		{"admin off, root", func(*Deps) {}, "/admin", 404},
		{"admin on", func(d *Deps) { d.Admin = ok }, "/admin/rate-limits", 418},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			d := opsDeps(&log)
			tt.wire(&d)
			w := httptest.NewRecorder()
			NewServer(d).ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			if w.Code != tt.status {
				t.Errorf("got %d, want %d", w.Code, tt.status)
			}
		})
	}
}

// Every response carries the security headers: pages, API answers,
// errors and refusals alike.
func TestSecurityHeadersEverywhere(t *testing.T) {
	var log bytes.Buffer
	d := opsDeps(&log)
	d.Limit = func(string, ...LimitOption) func(http.Handler) http.Handler {
		return func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
		}
	}
	h := NewServer(d)
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/health"}, {"GET", "/static/app.js"}, {"GET", "/nope"}, {"GET", "/chat"}, {"POST", "/chat"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(req.method, req.path, strings.NewReader("{}")))
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s %s (%d): %s = %q, want %q", req.method, req.path, w.Code, k, got, v)
			}
		}
	}
	for _, directive := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(contentSecurityPolicy, directive) || strings.Contains(contentSecurityPolicy, "unsafe-inline") {
			t.Errorf("CSP %q: want %s and no unsafe-inline", contentSecurityPolicy, directive)
		}
	}
}

// A request marked Quiet writes no log line but OnRequest hears of it; a
// method of any length shows clipped.
func TestRequestLogQuiet(t *testing.T) {
	long := strings.Repeat("M", 10_000)
	tests := []struct {
		name    string
		method  string
		quiet   bool
		lines   int
		wantLen int // of the logged method
	}{
		{"quiet refusal", "POST", true, 0, 0},
		{"ordinary request", "POST", false, 1, 4},
		{"junk method clipped", long, false, 1, maxLogged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			var heard []Finished
			d := opsDeps(&log)
			d.Limit = func(string, ...LimitOption) func(http.Handler) http.Handler {
				return func(http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						NoteKey(w, "a1b2c3d4")
						if tt.quiet {
							Quiet(w)
						}
						w.WriteHeader(http.StatusTooManyRequests)
					})
				}
			}
			d.OnRequest = func(f Finished) { heard = append(heard, f) }
			NewServer(d).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, "/chat", strings.NewReader("{}")))
			got := strings.Split(strings.TrimSpace(log.String()), "\n")
			if log.Len() == 0 {
				got = nil
			}
			if len(got) != tt.lines {
				t.Fatalf("got %d log lines %q, want %d", len(got), got, tt.lines)
			}
			if len(heard) != 1 || heard[0].Method != tt.method {
				t.Errorf("OnRequest heard %d requests, want 1 with the method as sent", len(heard))
			}
			if tt.lines == 1 {
				var l struct{ Method string }
				json.Unmarshal([]byte(got[0]), &l)
				if len(l.Method) != tt.wantLen {
					t.Errorf("logged method of %d bytes, want %d", len(l.Method), tt.wantLen)
				}
			}
		})
	}
}

// With Unrouted set, requests that matched no route (404, or 405 for a
// method the route does not take) write no log line: Unrouted hears each
// one, OnRequest too. A 404 answered by a route's own handler (a missing
// file) keeps its line, as does everything without Unrouted.
func TestRequestLogUnrouted(t *testing.T) {
	requests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/no/such/route", http.StatusNotFound},
		{"GET", "/static/no-such-file.js", http.StatusNotFound},
		{"J0001", "/chat", http.StatusMethodNotAllowed},
		{"GET", "/health", http.StatusOK},
	}
	for _, withHook := range []bool{true, false} {
		var log bytes.Buffer
		d := opsDeps(&log)
		var unrouted []int
		if withHook {
			d.Unrouted = func(status int) { unrouted = append(unrouted, status) }
		}
		heard := 0
		d.OnRequest = func(Finished) { heard++ }
		h := NewServer(d)
		for _, rq := range requests {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(rq.method, rq.path, nil))
			if w.Code != rq.status {
				t.Fatalf("%s %s: got %d, want %d", rq.method, rq.path, w.Code, rq.status)
			}
		}
		lines := strings.Count(log.String(), `"msg":"request"`)
		if withHook {
			if want := []int{404, 405}; !slices.Equal(unrouted, want) || lines != 2 {
				t.Errorf("with Unrouted: it heard %v and the log has %d request lines, want %v and 2 (the missing file's 404 and the 200):\n%s", unrouted, lines, want, log.String())
			}
		} else if lines != len(requests) {
			t.Errorf("without Unrouted: got %d request lines, want %d", lines, len(requests))
		}
		if heard != len(requests) {
			t.Errorf("OnRequest heard %d requests, want %d", heard, len(requests))
		}
	}
}

// The shared security header values survive a handler that adds to them:
// the next response still carries them unchanged.
func TestSecurityHeadersShared(t *testing.T) {
	var log bytes.Buffer
	d := opsDeps(&log)
	d.Extra = func(r chi.Router, d Deps) {
		r.Get("/add", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Frame-Options", "SAMEORIGIN")
		})
	}
	h := NewServer(d)
	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest("GET", "/add", nil))
	if got := first.Header().Values("X-Frame-Options"); len(got) != 2 {
		t.Errorf("the adding response: got X-Frame-Options %q, want DENY and SAMEORIGIN", got)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if got := w.Header().Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
		t.Errorf("next response: got X-Frame-Options %q, want [DENY]", got)
	}
}
