package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestKeyByIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string // X-Forwarded-For lines
		want    string
	}{
		{"peer", nil, "192.0.2.1:5000", nil, "192.0.2.1"},
		{"no trust: a forged header is ignored", nil, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"untrusted peer: a forged header is ignored", proxies, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"trusted proxy: the address it saw", proxies, "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"rightmost untrusted wins over what the client wrote", proxies, "10.0.0.2:5000", []string{"1.2.3.4, 203.0.113.9, 10.0.0.7"}, "203.0.113.9"},
		{"several header lines read as one list", proxies, "10.0.0.2:5000", []string{"1.2.3.4", "203.0.113.9, 10.0.0.7"}, "203.0.113.9"},
		{"all trusted: the leftmost", proxies, "10.0.0.2:5000", []string{"10.1.1.1, 10.0.0.7"}, "10.1.1.1"},
		{"garbage stops the walk at the address to its right", proxies, "10.0.0.2:5000", []string{"203.0.113.9, junk, 10.0.0.7"}, "10.0.0.7"},
		{"trusted proxy without a header", proxies, "10.0.0.2:5000", nil, "10.0.0.2"},
		{"IPv6 keyed by its /64", nil, "[2001:db8:1:2:aaaa::1]:443", nil, "2001:db8:1:2::/64"},
		{"IPv6 behind an IPv6 proxy", proxies, "[fd00::1]:443", []string{"2001:db8:5:6::7"}, "2001:db8:5:6::/64"},
		{"IPv4-mapped peer", proxies, "[::ffff:10.0.0.2]:80", []string{"203.0.113.9"}, "203.0.113.9"},
		{"not an IP address", nil, "@", nil, "@"},
		{"no address at all", nil, "", nil, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, err := KeyByIP(tt.trusted...)(r)
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestKeyByHeader(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	key := KeyByHeader("X-API-Key")
	if got, _ := key(r); got != "" {
		t.Errorf("without the header: got %q, want \"\"", got)
	}
	r.Header.Set("X-Api-Key", "k1")
	if got, _ := key(r); got != "k1" {
		t.Errorf("got %q, want k1", got)
	}
}

// TestLimitByIP: the one-liner refuses the 4th request in a minute from
// one address while another address still passes, with the default
// headers and body.
func TestLimitByIP(t *testing.T) {
	h := LimitByIP(3, time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	from := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 3; i++ {
		if w := from("192.0.2.1:1000"); w.Code != 200 {
			t.Fatalf("request %d: got %d, want 200", i, w.Code)
		}
	}
	w := from("192.0.2.1:2000")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request: got %d, want 429", w.Code)
	}
	if got, want := w.Body.String(), "Rate limit exceeded: 3 per 1 minute\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := w.Header().Get("RateLimit-Policy"); got != `"limit";q=3;w=60` {
		t.Errorf("RateLimit-Policy = %q", got)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After on a refusal")
	}
	if w := from("192.0.2.2:1000"); w.Code != 200 || w.Header().Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("another address: got %d with %q left, want 200 with 2", w.Code, w.Header().Get("X-RateLimit-Remaining"))
	}
}

// TestLimitByStore: LimitBy counts in the store it is given, so two
// handlers over one store share the limit.
func TestLimitByStore(t *testing.T) {
	s, err := NewMemoryStore(MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	a := LimitBy(s, KeyByHeader("X-Key"), 2, time.Minute)(ok)
	b := LimitBy(s, KeyByHeader("X-Key"), 2, time.Minute)(ok)
	codes := []int{}
	for _, h := range []http.Handler{a, b, a} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Key", "k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		codes = append(codes, w.Code)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Errorf("got %v, want [200 200 429]", codes)
	}
	if n := s.size(); n != 1 {
		t.Errorf("store holds %d counters, want 1", n)
	}
}

func TestLimitByPanics(t *testing.T) {
	for _, tt := range []struct {
		name     string
		key      KeyFunc
		requests int
		window   time.Duration
	}{
		{"no requests", KeyByIP(), 0, time.Minute},
		{"too many requests", KeyByIP(), MaxRequests + 1, time.Minute},
		{"window too short", KeyByIP(), 3, time.Millisecond},
		{"window too long", KeyByIP(), 3, MaxWindow + time.Second},
		{"window not whole seconds", KeyByIP(), 3, 1500 * time.Millisecond},
		{"nil key", nil, 3, time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("LimitBy did not panic")
				}
			}()
			LimitBy(nil, tt.key, tt.requests, tt.window)
		})
	}
}

// TestHeadersAndWriterReplaced: an application names its own headers,
// leaves some out and answers refusals its own way.
func TestHeadersAndWriterReplaced(t *testing.T) {
	s, _ := NewMemoryStore(MemoryOptions{})
	l, err := New(Options{
		Store:   s,
		Layers:  []Layer{{Policy: Policy{Name: "p", Limits: []Limit{{Requests: 1, Window: time.Minute}}}, Key: KeyByHeader("X-Key")}},
		Headers: &Headers{Limit: "ratelimit-limit", Remaining: "RateLimit-Remaining", RetryAfter: "Retry-After"},
		OnLimited: func(w http.ResponseWriter, r *http.Request, res Result) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"detail":"` + res.Message() + `"}`))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	var last *httptest.ResponseRecorder
	for i := 0; i < 2; i++ {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Key", "k")
		last = httptest.NewRecorder()
		h.ServeHTTP(last, r)
	}
	hd := last.Header()
	if last.Code != 429 || last.Body.String() != `{"detail":"Rate limit exceeded: 1 per 1 minute"}` {
		t.Errorf("refusal: got %d %q, want the application's 429", last.Code, last.Body.String())
	}
	if hd.Get("RateLimit-Limit") != "1" || hd.Get("RateLimit-Remaining") != "0" || hd.Get("Retry-After") == "" {
		t.Errorf("named headers: got %v, want RateLimit-Limit 1, RateLimit-Remaining 0 and Retry-After", hd)
	}
	for _, n := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit"} {
		if v, ok := hd[n]; ok {
			t.Errorf("%s = %q, want it left out", n, v)
		}
	}
}

// oddStore answers with numbers no store of this package returns.
type oddStore struct{}

func (oddStore) Allow(context.Context, []Rule) (Result, error) {
	return Result{Policy: "p", Limit: Limit{Requests: -3, Window: time.Minute}, Remaining: -9223372036854775808, RetryAfter: -time.Hour, ResetAfter: -time.Hour}, nil
}
func (oddStore) Peek(context.Context, []Rule) ([]State, error) { return nil, nil }

// TestHeadersNeverNegative: whatever a Store returns, no header carries a
// negative number.
func TestHeadersNeverNegative(t *testing.T) {
	l, err := New(Options{Store: oddStore{}, Layers: []Layer{{Policy: Policy{Name: "p", Limits: []Limit{{Requests: 1, Window: time.Minute}}}, Key: KeyByHeader("X-Key")}}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Key", "k")
	w := httptest.NewRecorder()
	l.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	for n, v := range w.Header() {
		if strings.Contains(v[0], "-") && n != "Content-Type" && n != "X-Content-Type-Options" {
			t.Errorf("%s = %q, want no negative number", n, v[0])
		}
	}
	if w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
	}
}
