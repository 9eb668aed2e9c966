package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRun runs the whole program in-process on a port of its own
// choosing (PORT=0, read back from its "listening" log line, so no other
// test can take the port in between), waits until it answers /health, and
// stops it (draining) when the test ends.
func startRun(t *testing.T, vars map[string]string) string {
	t.Helper()
	m := map[string]string{"PORT": "0"}
	for k, v := range vars {
		m[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs, w := io.Pipe()
	go func() {
		err := Run(ctx, Options{}, []string{"smartdocs"}, env(m), w, io.Discard)
		w.CloseWithError(errors.New("run returned"))
		done <- err
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v", err)
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "msg=listening addr="); i >= 0 && len(addr) == 0 {
				f := strings.Fields(line[i+len("msg=listening addr="):])
				addr <- f[0]
			}
		}
		io.Copy(io.Discard, logs)
	}()
	var base string
	select {
	case a := <-addr:
		_, port, _ := net.SplitHostPort(a)
		base = "http://127.0.0.1:" + port
	case err := <-done:
		t.Fatalf("run stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not log its address in 10s")
	}
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	return base
}

// burstAcross sends n concurrent chat requests from one client, spread
// round robin over the instances, and counts the 200s. Any other status
// than 200 or 429 fails the test.
func burstAcross(t *testing.T, bases []string, n int, ua string) int {
	t.Helper()
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", bases[i%len(bases)]+"/chat", strings.NewReader(question))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", ua)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
			default:
				t.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(ok.Load())
}

func TestThreeInstancesShareOneRedis(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	// A generous timeout: under the race detector a burst of 300 on two
	// cores can queue for the connection pool longer than the default
	// 100ms, which would (correctly) switch instances to local fallback.
	vars := map[string]string{"REDIS_URL": srv.URL(), "REDIS_TIMEOUT": "5s"}
	bases := []string{startRun(t, vars), startRun(t, vars), startRun(t, vars)}
	if got := burstAcross(t, bases, 300, "burst/1"); got != 3 {
		t.Errorf("three instances on one Redis admitted %d of a burst of 300, want 3", got)
	}
	// Sequential requests of another client, round robin: 3 as well.
	admitted := 0
	for i := 0; i < 30; i++ {
		admitted += burstAcross(t, bases[i%3:i%3+1], 1, "sequential/1")
	}
	if admitted != 3 {
		t.Errorf("30 sequential requests across three instances: admitted %d, want 3", admitted)
	}
}

func TestMemoryInstancesDoNotShare(t *testing.T) {
	bases := []string{startRun(t, nil), startRun(t, nil), startRun(t, nil)}
	// The documented limit of memory mode: each process counts alone.
	if got := burstAcross(t, bases, 300, "burst/1"); got != 9 {
		t.Errorf("three memory instances admitted %d of a burst of 300, want 3 each = 9", got)
	}
}

func TestRedisKeysRevealNothing(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	base := startRun(t, map[string]string{"REDIS_URL": srv.URL()})
	const ua = "Mozilla/5.0 (SecretBrowser 42)"
	burstAcross(t, []string{base}, 5, ua)
	rdb := srv.Client()
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 2 {
		t.Fatalf("keys = %v, want counters for the client", keys)
	}
	for _, k := range keys {
		for _, secret := range []string{"127.0.0.1", "SecretBrowser", "Mozilla"} {
			if strings.Contains(k, secret) {
				t.Errorf("key %q contains %q", k, secret)
			}
		}
		if k == secretKey {
			continue
		}
		typ, _ := rdb.Type(context.Background(), k).Result()
		if typ == "hash" {
			vals, _ := rdb.HGetAll(context.Background(), k).Result()
			for f, v := range vals {
				if strings.Contains(v, "127.0.0.1") || strings.Contains(v, "Secret") {
					t.Errorf("key %q field %q holds %q", k, f, v)
				}
			}
		}
	}
}

func TestGracefulDrain(t *testing.T) {
	cfg, err := load(env(map[string]string{"PORT": fmt.Sprint(freePort(t))}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(t.Context(), cfg, Options{}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	a.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", cfg.Port)
	for i := 0; ; i++ {
		resp, err := http.Get(base + "/up")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 500 {
			t.Fatal("server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-entered
	cancel() // SIGTERM: stop accepting, drain in-flight requests
	// The server no longer takes new connections...
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if i > 500 {
			t.Fatal("server still accepts connections after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...but the request in flight completes.
	close(release)
	if s := <-got; s != "finished" {
		t.Errorf("in-flight request got %q, want finished", s)
	}
	if err := <-done; err != nil {
		t.Errorf("serve returned %v", err)
	}
}

func TestRedisUnreachableAtStart(t *testing.T) {
	// Nothing listens on this port: the app starts anyway, /health says
	// so, and chat is limited in local memory (the default failure mode).
	dead := fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t))
	base := startRun(t, map[string]string{"REDIS_URL": dead})
	resp, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Status  string         `json:"status"`
		Limiter map[string]any `json:"limiter"`
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Status != "healthy" || h.Limiter["store"] != "redis" {
		t.Fatalf("health = %+v", h)
	}
	if got := burstAcross(t, []string{base}, 10, "fallback/1"); got != 3 {
		t.Errorf("with Redis unreachable admitted %d of 10, want 3 (local fallback)", got)
	}
	resp, err = http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if h.Limiter["redis"] != "unreachable" {
		t.Errorf("health limiter = %v, want redis unreachable", h.Limiter)
	}
}

func TestHealthcheckFlag(t *testing.T) {
	base := startRun(t, nil)
	port := strings.TrimPrefix(base, "http://127.0.0.1:")
	if err := Run(context.Background(), Options{}, []string{"smartdocs", "-healthcheck"}, env(map[string]string{"PORT": port}), io.Discard, io.Discard); err != nil {
		t.Errorf("-healthcheck against a running server: %v", err)
	}
	if err := Run(context.Background(), Options{}, []string{"smartdocs", "-healthcheck"}, env(map[string]string{"PORT": fmt.Sprint(freePort(t))}), io.Discard, io.Discard); err == nil {
		t.Error("-healthcheck with nothing listening succeeded")
	}
}

func whoamiPrefix(t *testing.T, base string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/whoami", nil)
	req.Header.Set("User-Agent", "secret-test/1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w struct {
		KeyPrefix string `json:"key_prefix"`
	}
	json.NewDecoder(resp.Body).Decode(&w)
	if w.KeyPrefix == "" {
		t.Fatalf("whoami on %s gave no key_prefix", base)
	}
	return w.KeyPrefix
}

// TestSecretSurvivesRedisLosingIt: when Redis loses the shared key secret
// and a new instance starts, every instance agrees on one secret again
// within the check interval instead of keying one client three ways.
func TestSecretSurvivesRedisLosingIt(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	vars := map[string]string{"REDIS_URL": srv.URL(), "REDIS_TIMEOUT": "5s"}
	a, b := startRun(t, vars), startRun(t, vars)
	if pa, pb := whoamiPrefix(t, a), whoamiPrefix(t, b); pa != pb {
		t.Fatalf("two instances on one Redis: key prefixes %s and %s, want equal", pa, pb)
	}
	srv.Flush(context.Background())
	c := startRun(t, vars)
	deadline := time.Now().Add(20 * time.Second)
	for {
		pa, pb, pc := whoamiPrefix(t, a), whoamiPrefix(t, b), whoamiPrefix(t, c)
		if pa == pb && pb == pc {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("20s after Redis lost the secret: prefixes %s, %s, %s; want one", pa, pb, pc)
		}
		time.Sleep(100 * time.Millisecond) // polling for the background check, not moving time
	}
}
