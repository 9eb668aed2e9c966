package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// TestRefusalBody: the app answers a refusal with the Python original's
// body and status, and the limiter's headers stay as they were.
func TestRefusalBody(t *testing.T) {
	store, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var f refusals
	lim, err := ratelimit.New(ratelimit.Options{
		Store: store,
		Layers: []ratelimit.Layer{{
			Policy: ratelimit.Policy{Name: "per-ip", Note: "per IP", Limits: []ratelimit.Limit{{Requests: 1, Window: time.Minute}}},
			Key:    ratelimit.KeyByIP(),
		}},
		OnLimited: f.write,
	})
	if err != nil {
		t.Fatal(err)
	}
	h := lim.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for i, want := range []int{200, 429, 429} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/chat", nil))
		if w.Code != want {
			t.Fatalf("request %d: got %d, want %d", i, w.Code, want)
		}
		if want != 429 {
			continue
		}
		msg := "Rate limit exceeded: 1 per 1 minute (per IP)"
		if got, want := w.Body.String(), `{"error":"`+msg+`","detail":"`+msg+`","policy":"per-ip"}`+"\n"; got != want {
			t.Errorf("request %d: body %s, want %s", i, got, want)
		}
		for _, n := range []string{"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy"} {
			if w.Header().Get(n) == "" {
				t.Errorf("request %d: no %s header", i, n)
			}
		}
		if got := w.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "Rate limit exceeded: 3 per 1 minute (per IP)", `quote " and \ back`, "tier <b>&</b>", "ünïcode", "tab\tnl\n"} {
		got := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Errorf("appendJSONString(%q) = %s, which decodes to %q (%v)", s, got, back, err)
		}
	}
}
