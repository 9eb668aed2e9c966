package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// get sends GET /hello from addr straight to h.
func get(h http.Handler, addr string) int {
	r := httptest.NewRequest("GET", "/hello", nil)
	r.RemoteAddr = addr
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestMemory: the 4th request in a minute from one IP is refused while
// another IP still passes.
func TestMemory(t *testing.T) {
	store, closeStore, err := newStore("")
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	h := newHandler(store, nil)
	for i, want := range []int{200, 200, 200, 429} {
		if got := get(h, "192.0.2.1:4000"); got != want {
			t.Fatalf("request %d from 192.0.2.1: got %d, want %d", i+1, got, want)
		}
	}
	if got := get(h, "192.0.2.2:4000"); got != 200 {
		t.Errorf("first request from 192.0.2.2: got %d, want 200", got)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:4000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("GET / (not limited) after the refusal: got %d, want 200", w.Code)
	}
}

// TestTrustedProxy: behind a trusted proxy, clients are told apart by
// X-Forwarded-For; from anyone else the header is not believed.
func TestTrustedProxy(t *testing.T) {
	h := newHandler(nil, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	send := func(peer, xff string) int {
		r := httptest.NewRequest("GET", "/hello", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := 0; i < 3; i++ {
		if got := send("10.0.0.5:80", "203.0.113.1"); got != 200 {
			t.Fatalf("request %d via the proxy: got %d, want 200", i+1, got)
		}
	}
	if got := send("10.0.0.5:80", "203.0.113.1"); got != 429 {
		t.Errorf("4th from 203.0.113.1 via the proxy: got %d, want 429", got)
	}
	if got := send("10.0.0.5:80", "203.0.113.2"); got != 200 {
		t.Errorf("another client via the proxy: got %d, want 200", got)
	}
	// A client that forges the header is keyed by its own address.
	for i, want := range []int{200, 200, 200, 429} {
		if got := send("198.51.100.7:80", "203.0.113."+string(rune('3'+i))); got != want {
			t.Fatalf("forged request %d: got %d, want %d", i+1, got, want)
		}
	}
}

// TestRedisTwoInstances: two instances (two handlers on two servers)
// sharing one Redis enforce one limit together: a concurrent burst
// across both admits exactly 3.
func TestRedisTwoInstances(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	var servers []*httptest.Server
	for i := 0; i < 2; i++ {
		store, closeStore, err := newStore(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeStore)
		ts := httptest.NewServer(newHandler(store, nil))
		t.Cleanup(ts.Close)
		servers = append(servers, ts)
	}
	const n = 40
	codes := make(chan int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Get(servers[i%2].URL + "/hello")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != 3 || count[429] != n-3 {
		t.Errorf("a burst of %d across two instances: got %v, want 3 admitted and %d refused", n, count, n-3)
	}
}

// TestRunBadConfig: a bad setting stops start-up with one line naming it.
func TestRunBadConfig(t *testing.T) {
	env := map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy"}
	err := run(context.Background(), func(k string) string { return env[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
		t.Errorf("got %v, want an error naming TRUSTED_PROXIES", err)
	}
}

// TestMemoryBuildLinksNoRedis: built with -tags noredis, the program
// links no Redis client; the default build does (so the check can fail).
func TestMemoryBuildLinksNoRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("go", append([]string{"list", "-deps"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	const client = "github.com/redis/go-redis/v9"
	if got := deps("-tags", "noredis", "."); strings.Contains(got, client) {
		t.Errorf("go list -deps -tags noredis . includes %s, want no Redis client in a memory-only build", client)
	}
	if got := deps("."); !strings.Contains(got, client) {
		t.Errorf("go list -deps . lacks %s, want the Redis build to link it", client)
	}
}
