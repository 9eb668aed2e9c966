package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// corsServer returns a server allowing origins whose limiter counts the
// requests that reach it.
func corsServer(origins []string) (http.Handler, *atomic.Int64) {
	var limited atomic.Int64
	h := NewServer(Deps{
		Models:       []Model{{Name: "docs", Engine: oneWord{}}},
		DefaultModel: "docs",
		CORSOrigins:  origins,
		Limit: func(string, ...LimitOption) func(http.Handler) http.Handler {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					limited.Add(1)
					w.Header().Set("X-RateLimit-Remaining", "2")
					next.ServeHTTP(w, r)
				})
			}
		},
	})
	return h, &limited
}

func preflight(origin, path string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, path, nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", http.MethodPost)
	r.Header.Set("Access-Control-Request-Headers", "content-type, x-session-id")
	return r
}

func TestCORS(t *testing.T) {
	origins := []string{"http://localhost:5173", "https://*.hf.space"}
	tests := []struct {
		name       string
		origins    []string
		origin     string
		wantAllow  string // Access-Control-Allow-Origin on the preflight and the POST
		wantStatus int    // of the preflight
	}{
		{"Vite dev server", origins, "http://localhost:5173", "http://localhost:5173", http.StatusOK},
		{"a Space", origins, "https://someone-smartdocs.hf.space", "https://someone-smartdocs.hf.space", http.StatusOK},
		{"another site", origins, "https://evil.example", "", http.StatusOK},
		{"look-alike", origins, "https://hf.space.evil.example", "", http.StatusOK},
		{"http, not https", origins, "http://someone.hf.space", "", http.StatusOK},
		{"every origin", []string{"*"}, "https://anyone.example", "*", http.StatusOK},
		{"off by default", nil, "http://localhost:5173", "", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, limited := corsServer(tt.origins)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, preflight(tt.origin, "/chat"))
			if rec.Code != tt.wantStatus {
				t.Errorf("preflight: got status %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("preflight: got Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			if tt.wantAllow != "" {
				if got := strings.ToLower(rec.Header().Get("Access-Control-Allow-Headers")); !strings.Contains(got, "content-type") || !strings.Contains(got, "x-session-id") {
					t.Errorf("preflight: got Allow-Headers %q, want content-type and x-session-id", got)
				}
			}
			if n := limited.Load(); n != 0 {
				t.Errorf("the preflight reached the limiter %d times, want 0", n)
			}

			req := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(`{"question":"q"}`))
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Content-Type", "application/json")
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("POST: got %d, want 200", rec.Code)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tt.wantAllow {
				t.Errorf("POST: got Allow-Origin %q, want %q", got, tt.wantAllow)
			}
			exposed := rec.Header().Get("Access-Control-Expose-Headers")
			if tt.wantAllow == "" {
				if exposed != "" {
					t.Errorf("POST: got Expose-Headers %q for an origin that is not allowed", exposed)
				}
				return
			}
			for _, h := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "Retry-After", "Ratelimit", "Ratelimit-Policy"} {
				if !strings.Contains(exposed, h) {
					t.Errorf("POST: Expose-Headers %q lacks %s", exposed, h)
				}
			}
		})
	}
}

func TestCORSPreflightNeverLimited(t *testing.T) {
	h, limited := corsServer([]string{"http://localhost:5173"})
	for _, path := range []string{"/chat", "/api/chat", "/chat", "/api/chat", "/chat"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, preflight("http://localhost:5173", path))
		if rec.Code != http.StatusOK {
			t.Errorf("preflight %s: got %d, want 200", path, rec.Code)
		}
	}
	if n := limited.Load(); n != 0 {
		t.Errorf("got %d preflights counted, want 0", n)
	}
}
