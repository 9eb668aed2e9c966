package ratelimit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestLimiter limits by the X-Client header, with a per-IP layer keyed
// on X-IP, on a memory store with a test clock.
func newTestLimiter(t *testing.T, c *clock, dry bool, client, perIP string) http.Handler {
	t.Helper()
	s, err := NewMemoryStore(MemoryOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := ParseLimits(client)
	if err != nil {
		t.Fatal(err)
	}
	il, err := ParseLimits(perIP)
	if err != nil {
		t.Fatal(err)
	}
	pro := &Policy{Name: "per-client", Limits: []Limit{{10, time.Minute}}}
	l, err := New(Options{
		Store:  s,
		DryRun: dry,
		Now:    c.Now,
		Layers: []Layer{
			{
				Policy: Policy{Name: "per-client", Limits: cl},
				Key:    func(r *http.Request) (string, error) { return r.Header.Get("X-Client"), nil },
				Select: func(r *http.Request) *Policy {
					if r.Header.Get("X-Tier") == "pro" {
						return pro
					}
					return nil
				},
			},
			{
				Policy: Policy{Name: "per-ip", Note: "per IP", Limits: il},
				Key:    func(r *http.Request) (string, error) { return r.Header.Get("X-IP"), nil },
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
}

func do(h http.Handler, client, ip string, extra ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/chat", nil)
	r.Header.Set("X-Client", client)
	r.Header.Set("X-IP", ip)
	for i := 0; i+1 < len(extra); i += 2 {
		r.Header.Set(extra[i], extra[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHeaders(t *testing.T) {
	c := newClock()
	c.Set(c.Now().Add(43 * time.Second))
	h := newTestLimiter(t, c, false, "3/minute", "60/minute")
	for i := 0; i < 3; i++ {
		w := do(h, "a", "ip")
		if w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
		if got, want := w.Header().Get("RateLimit-Policy"), `"per-client";q=3;w=60, "per-ip";q=60;w=60`; got != want {
			t.Fatalf("RateLimit-Policy = %q, want %q", got, want)
		}
		if got, want := w.Header().Get("RateLimit"), `"per-client";r=`+strconv.Itoa(2-i)+`;t=77`; got != want {
			t.Errorf("request %d: RateLimit = %q, want %q", i, got, want)
		}
	}
	w := do(h, "a", "ip")
	if w.Code != 429 {
		t.Fatalf("4th: %d", w.Code)
	}
	// Three requests 43s into a window: the next fits when the next window
	// weighs them below 2, at 17 + 20 = 37s.
	if got := w.Header().Get("Retry-After"); got != "37" {
		t.Errorf("Retry-After = %q, want 37", got)
	}
	if got := w.Header().Get("RateLimit"); got != `"per-client";r=0;t=37` {
		t.Errorf("RateLimit = %q, want t equal to Retry-After", got)
	}
	reset, _ := strconv.ParseInt(w.Header().Get("X-RateLimit-Reset"), 10, 64)
	if reset <= c.Now().Unix() {
		t.Errorf("X-RateLimit-Reset = %d, want a future unix time", reset)
	}
	if got, want := w.Body.String(), "Rate limit exceeded: 3 per 1 minute\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := w.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q, want plain text", got)
	}
	// Retry-After is honest: one second earlier is still refused, at it is admitted.
	c.Set(c.Now().Add(36 * time.Second))
	if w := do(h, "a", "ip"); w.Code != 429 {
		t.Errorf("a second before Retry-After: %d, want 429", w.Code)
	}
	c.Set(c.Now().Add(time.Second))
	if w := do(h, "a", "ip"); w.Code != 200 {
		t.Errorf("at Retry-After: %d, want 200", w.Code)
	}
}

// TestHeadersOfAFlood: the Limiter reuses the rendering of its last
// headers while the numbers stay the same; every response still carries
// its own decision's numbers.
func TestHeadersOfAFlood(t *testing.T) {
	c := newClock()
	h := newTestLimiter(t, c, false, "3/minute", "1000/minute")
	for i := 0; i < 3; i++ {
		do(h, "a", "ip")
	}
	names := []string{"Retry-After", "RateLimit", "X-RateLimit-Reset", "X-RateLimit-Remaining"}
	first, again := do(h, "a", "ip"), do(h, "a", "ip")
	for _, n := range names {
		if got, want := again.Header().Get(n), first.Header().Get(n); got != want {
			t.Errorf("%s of the next refusal: got %q, want %q", n, got, want)
		}
	}
	retry, _ := strconv.Atoi(first.Header().Get("Retry-After"))
	c.Set(c.Now().Add(time.Second))
	if got, want := do(h, "a", "ip").Header().Get("Retry-After"), strconv.Itoa(retry-1); got != want {
		t.Errorf("Retry-After a second later: got %q, want %q", got, want)
	}
	if w := do(h, "b", "ip"); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "2" || w.Header().Get("Retry-After") != "" {
		t.Errorf("another client amid the flood: %d, Remaining %q, Retry-After %q; want 200, 2 and none",
			w.Code, w.Header().Get("X-RateLimit-Remaining"), w.Header().Get("Retry-After"))
	}
	if got, want := do(h, "a", "ip").Header().Get("Retry-After"), strconv.Itoa(retry-1); got != want {
		t.Errorf("the flood again: Retry-After %q, want %q", got, want)
	}

	// Concurrent clients in different states: each response agrees with
	// itself.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				w := do(h, fmt.Sprintf("c%d", (g+i)%5), "ip")
				rl := w.Header().Get("RateLimit")
				if !strings.Contains(rl, ";r="+w.Header().Get("X-RateLimit-Remaining")+";") {
					t.Errorf("RateLimit %q disagrees with X-RateLimit-Remaining %q", rl, w.Header().Get("X-RateLimit-Remaining"))
				}
				if w.Code == 429 && !strings.HasSuffix(rl, ";t="+w.Header().Get("Retry-After")) {
					t.Errorf("RateLimit %q disagrees with Retry-After %q", rl, w.Header().Get("Retry-After"))
				}
			}
		}()
	}
	wg.Wait()
}

func TestPerIPRefusalNamesTheLayer(t *testing.T) {
	c := newClock()
	h := newTestLimiter(t, c, false, "3/minute", "4/minute")
	for i := 0; i < 4; i++ {
		if w := do(h, "ua"+strconv.Itoa(i), "same-ip"); w.Code != 200 {
			t.Fatalf("client %d: %d", i, w.Code)
		}
	}
	w := do(h, "fresh", "same-ip")
	if w.Code != 429 {
		t.Fatalf("5th client on one IP: %d, want 429", w.Code)
	}
	if got, want := w.Body.String(), "Rate limit exceeded: 4 per 1 minute (per IP)\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := w.Header().Get("RateLimit"); !strings.HasPrefix(got, `"per-ip";r=0;`) {
		t.Errorf("RateLimit = %q, want the per-ip item", got)
	}
}

func TestDryRun(t *testing.T) {
	c := newClock()
	h := newTestLimiter(t, c, true, "3/minute", "60/minute")
	for i := 0; i < 6; i++ {
		w := do(h, "a", "ip")
		if w.Code != 200 {
			t.Fatalf("dry run request %d: %d, want 200", i, w.Code)
		}
		if i >= 3 && w.Header().Get("Retry-After") == "" {
			t.Errorf("dry run request %d: no Retry-After, want the headers of a refusal", i)
		}
		if got, want := w.Header().Get("X-RateLimit-Remaining"), strconv.Itoa(max(2-i, 0)); got != want {
			t.Errorf("dry run request %d: remaining %q, want %q", i, got, want)
		}
	}
}

func TestSelectTier(t *testing.T) {
	c := newClock()
	h := newTestLimiter(t, c, false, "3/minute", "60/minute")
	for i := 0; i < 10; i++ {
		if w := do(h, "p", "ip", "X-Tier", "pro"); w.Code != 200 {
			t.Fatalf("pro request %d: %d", i, w.Code)
		}
	}
	w := do(h, "p", "ip", "X-Tier", "pro")
	if w.Code != 429 {
		t.Fatalf("11th pro request: %d, want 429", w.Code)
	}
	if got, want := w.Header().Get("RateLimit-Policy"), `"per-client";q=10;w=60, "per-ip";q=60;w=60`; got != want {
		t.Errorf("RateLimit-Policy = %q, want the selected tier's %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	key := func(*http.Request) (string, error) { return "k", nil }
	min := []Limit{{3, time.Minute}}
	tests := []struct {
		name string
		opts Options
	}{
		{"no store", Options{Layers: []Layer{{Policy: Policy{Name: "a", Limits: min}, Key: key}}}},
		{"no layers", Options{Store: s}},
		{"no key", Options{Store: s, Layers: []Layer{{Policy: Policy{Name: "a", Limits: min}}}}},
		{"bad name", Options{Store: s, Layers: []Layer{{Policy: Policy{Name: "a b", Limits: min}, Key: key}}}},
		{"same name", Options{Store: s, Layers: []Layer{{Policy: Policy{Name: "a", Limits: min}, Key: key}, {Policy: Policy{Name: "a", Limits: min}, Key: key}}}},
		{"no limits", Options{Store: s, Layers: []Layer{{Policy: Policy{Name: "a"}, Key: key}}}},
		{"same window", Options{Store: s, Layers: []Layer{{Policy: Policy{Name: "a", Limits: []Limit{{3, time.Minute}, {5, time.Minute}}}, Key: key}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New succeeded")
			}
		})
	}
}
