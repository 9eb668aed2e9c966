package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

const opsToken = "test-admin-token-0123456789abcdef"

// opsApp builds the real app from env (JSON logs) behind an httptest
// server.
func opsApp(t *testing.T, env map[string]string) (*httptest.Server, *app, *syncLog) {
	t.Helper()
	full := map[string]string{"LOG_FORMAT": "json"}
	for k, v := range env {
		full[k] = v
	}
	cfg, err := load(func(k string) string { return full[k] }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncLog{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, Options{}, logs)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		a.Close()
	})
	return srv, a, logs
}

type opsReq struct {
	method, path, body, auth string
}

func opsDo(t *testing.T, srv *httptest.Server, r opsReq) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "ops-test/1.0")
	req.Header.Set("X-Session-ID", "0b6e5c1a-1d2f-4e3a-9b8c-7d6e5f4a3b2c")
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.auth != "" {
		req.Header.Set("Authorization", "Bearer "+r.auth)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var opsAsk = opsReq{method: "POST", path: "/chat", body: `{"question": "How does rate limiting work?"}`}

func opsRemaining(t *testing.T, srv *httptest.Server) int {
	t.Helper()
	status, _, body := opsDo(t, srv, opsReq{method: "GET", path: "/limits"})
	var got struct {
		Layers []struct {
			Policy    string
			Remaining int
		}
	}
	if status != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Layers) == 0 || got.Layers[0].Policy != "per-client" {
		t.Fatalf("GET /limits: got %d %s", status, body)
	}
	return got.Layers[0].Remaining
}

// GET /limits reports the quota without using it; a banned client gets
// 403 without being counted; the metrics and the log see all of it.
func TestOpsEndToEnd(t *testing.T) {
	srv, _, logs := opsApp(t, map[string]string{"ADMIN_TOKEN": opsToken})

	for range 5 {
		if got := opsRemaining(t, srv); got != 3 {
			t.Fatalf("GET /limits: got %d remaining, want 3 every time", got)
		}
	}
	if status, _, body := opsDo(t, srv, opsAsk); status != 200 {
		t.Fatalf("first question: got %d %s", status, body)
	}
	if got := opsRemaining(t, srv); got != 2 {
		t.Fatalf("after one question: got %d remaining, want 2", got)
	}

	// The log line of that question shows the key's first 8 characters.
	key := opsLoggedKey(t, logs)
	status, _, body := opsDo(t, srv, opsReq{method: "POST", path: "/admin/bans", auth: opsToken, body: fmt.Sprintf(`{"key": %q, "duration": "1h", "reason": "test"}`, key)})
	if status != 201 {
		t.Fatalf("ban: got %d %s", status, body)
	}
	var ban struct{ ID string }
	json.Unmarshal([]byte(body), &ban)
	for range 3 {
		status, _, body := opsDo(t, srv, opsAsk)
		if status != 403 || !strings.Contains(body, "banned") {
			t.Fatalf("banned client: got %d %s, want 403", status, body)
		}
	}
	if got := opsRemaining(t, srv); got != 2 {
		t.Fatalf("after three banned requests: got %d remaining, want still 2", got)
	}
	if status, _, _ := opsDo(t, srv, opsReq{method: "DELETE", path: "/admin/bans/" + ban.ID, auth: opsToken}); status != 204 {
		t.Fatalf("lift: got %d", status)
	}
	for i, want := range []int{200, 200, 429} {
		if status, _, body := opsDo(t, srv, opsAsk); status != want {
			t.Fatalf("after the ban, question %d: got %d %s, want %d", i+2, status, body, want)
		}
	}

	_, _, metrics := opsDo(t, srv, opsReq{method: "GET", path: "/metrics"})
	for _, want := range []string{
		`smartdocs_ratelimit_decisions_total{policy="per-client",result="allowed"} 3`,
		`smartdocs_ratelimit_decisions_total{policy="per-client",result="limited"} 1`,
		`smartdocs_bans_refused_total 3`,
		`smartdocs_http_requests_total{method="POST",route="/chat",status="403"} 3`,
		`smartdocs_http_requests_total{method="GET",route="/limits",status="200"}`,
		`smartdocs_llm_duration_seconds_count{model="docs"} 3`,
		`go_goroutines`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	status, _, body = opsDo(t, srv, opsReq{method: "GET", path: "/admin/rate-limits", auth: opsToken})
	var rep struct {
		Allowed int64 `json:"allowed_last_hour"`
		Limited int64 `json:"limited_last_hour"`
		Unique  struct {
			ThisHour uint64 `json:"this_hour"`
		} `json:"unique_clients"`
		Collision struct {
			WithSession int64 `json:"keys_with_session"`
		}
		Offenders []struct{ Key string } `json:"top_offenders"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("report: got %d %s", status, body)
	}
	if rep.Allowed != 3 || rep.Limited != 1 || rep.Unique.ThisHour != 1 || rep.Collision.WithSession != 1 ||
		len(rep.Offenders) != 1 || !strings.HasPrefix(rep.Offenders[0].Key, key) {
		t.Errorf("report: got %s (logged key %s)", body, key)
	}

	for _, line := range opsRequestLines(t, logs) {
		if strings.Contains(line, "127.0.0.1") || strings.Contains(line, "ops-test") || strings.Contains(line, "0b6e5c1a") {
			t.Errorf("log line reveals the client: %s", line)
		}
	}
}

func opsRequestLines(t *testing.T, logs *syncLog) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), `"msg":"request"`) {
			out = append(out, sc.Text())
		}
	}
	return out
}

func opsLoggedKey(t *testing.T, logs *syncLog) string {
	t.Helper()
	re := regexp.MustCompile(`"route":"/chat".*"key":"([0-9a-f]{8})"`)
	for _, line := range opsRequestLines(t, logs) {
		if m := re.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no /chat request line with a key in the log:\n%s", logs)
	return ""
}

// Without ADMIN_TOKEN there is no /admin at all.
func TestOpsAdminAbsentWithoutToken(t *testing.T) {
	srv, _, _ := opsApp(t, nil)
	for _, path := range []string{"/admin", "/admin/rate-limits", "/admin/bans", "/admin/assets/admin.js"} {
		if status, _, _ := opsDo(t, srv, opsReq{method: "GET", path: path, auth: opsToken}); status != 404 {
			t.Errorf("GET %s: got %d, want 404", path, status)
		}
	}
}

// With Redis, a ban made through one instance refuses the client at
// another, and both report the same unique clients.
func TestOpsRedisShared(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	opsShared(t, map[string]string{"REDIS_URL": rs.URL()})
}

// opsShared checks bans, quotas and analytics shared by two instances on
// the Redis that redis names (REDIS_URL and REDIS_MODE), which must not
// have seen this test's client before.
func opsShared(t *testing.T, redis map[string]string) {
	t.Helper()
	env := map[string]string{"ADMIN_TOKEN": opsToken, "RATE_LIMIT_SECRET": "shared-secret-0123456789"}
	for k, v := range redis {
		env[k] = v
	}
	one, appOne, _ := opsApp(t, env)
	two, appTwo, _ := opsApp(t, env)

	if status, _, body := opsDo(t, one, opsAsk); status != 200 {
		t.Fatalf("question: got %d %s", status, body)
	}
	if status, _, body := opsDo(t, two, opsAsk); status != 200 {
		t.Fatalf("question: got %d %s", status, body)
	}
	status, _, body := opsDo(t, one, opsReq{method: "POST", path: "/admin/bans", auth: opsToken, body: `{"ip": "127.0.0.1"}`})
	if status != 201 {
		t.Fatalf("ban: got %d %s", status, body)
	}
	// Instance two refreshes every second; do it now instead of waiting.
	if err := appTwo.ops.bans.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := opsDo(t, two, opsAsk); status != 403 {
		t.Errorf("banned at instance two: got %d, want 403", status)
	}
	if got := opsRemaining(t, two); got != 1 {
		t.Errorf("shared quota after two questions: got %d remaining, want 1", got)
	}
	// Each instance flushes to Redis every second; do it now.
	for _, a := range []*app{appOne, appTwo} {
		if err := a.ops.analytics.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for _, srv := range []*httptest.Server{one, two} {
		_, _, body := opsDo(t, srv, opsReq{method: "GET", path: "/admin/rate-limits", auth: opsToken})
		if !strings.Contains(body, `"store":"redis"`) || !strings.Contains(body, `"this_hour":1`) || !strings.Contains(body, `"allowed_last_hour":2`) {
			t.Errorf("report: got %s, want redis with 1 unique client and 2 allowed", body)
		}
	}
	_, _, metrics := opsDo(t, one, opsReq{method: "GET", path: "/metrics"})
	for _, want := range []string{"smartdocs_redis_call_duration_seconds_count", "smartdocs_ratelimit_fallback 0", "smartdocs_ratelimit_refusal_cache_hits_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// METRICS_ADDR moves /metrics off the public port.
func TestOpsMetricsAddr(t *testing.T) {
	logs := &syncLog{}
	env := map[string]string{"PORT": "0", "METRICS_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{}, []string{"smartdocs"}, func(k string) string { return env[k] }, logs, io.Discard)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	public := opsWaitFor(t, logs, `"msg":"listening"`)
	private := opsWaitFor(t, logs, `"msg":"metrics listening"`)
	get := func(addr string) int {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(public); got != 404 {
		t.Errorf("public /metrics: got %d, want 404", got)
	}
	if got := get(private); got != 200 {
		t.Errorf("METRICS_ADDR /metrics: got %d, want 200", got)
	}
}

// opsWaitFor waits for a JSON log line containing marker and returns its
// "addr" field as 127.0.0.1:port.
func opsWaitFor(t *testing.T, logs *syncLog, marker string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, marker) {
				continue
			}
			var v struct{ Addr string }
			json.Unmarshal([]byte(line), &v)
			_, port, _ := strings.Cut(strings.TrimPrefix(v.Addr, "[::]"), ":")
			if i := strings.LastIndex(v.Addr, ":"); i >= 0 {
				port = v.Addr[i+1:]
			}
			return "127.0.0.1:" + port
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line %s in 10s:\n%s", marker, logs)
	return ""
}
