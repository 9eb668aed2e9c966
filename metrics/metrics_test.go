package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New()
	m.Request("/chat", "POST", 429, 2*time.Millisecond)
	m.Request("", "GET", 404, time.Millisecond)
	m.Decision(true, false, "per-client")
	m.Decision(false, false, "per-ip")
	m.Decision(false, true, "per-client")
	m.Banned()
	m.RedisCall(time.Millisecond, nil)
	m.RedisCall(100*time.Millisecond, errors.New("timeout"))
	m.LLM("docs", time.Second, nil)
	m.LLM("docs", time.Second, errors.New("boom"))
	down := true
	m.WatchFailover(func() FailoverStats { return FailoverStats{Down: down, CacheHits: 7, Fallbacks: 2} })

	got := scrape(t, m)
	for _, want := range []string{
		`smartdocs_http_requests_total{method="POST",route="/chat",status="429"} 1`,
		`smartdocs_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`smartdocs_http_request_duration_seconds_count{route="/chat"} 1`,
		`smartdocs_ratelimit_decisions_total{policy="per-client",result="allowed"} 1`,
		`smartdocs_ratelimit_decisions_total{policy="per-ip",result="limited"} 1`,
		`smartdocs_ratelimit_decisions_total{policy="per-client",result="dry_run"} 1`,
		`smartdocs_bans_refused_total 1`,
		`smartdocs_redis_call_duration_seconds_count 2`,
		`smartdocs_redis_errors_total 1`,
		`smartdocs_llm_duration_seconds_count{model="docs"} 2`,
		`smartdocs_llm_errors_total{model="docs"} 1`,
		`smartdocs_ratelimit_fallback 1`,
		`smartdocs_ratelimit_refusal_cache_hits_total 7`,
		`smartdocs_ratelimit_fallback_decisions_total 2`,
		`go_goroutines`,
		`process_`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	down = false
	if got := scrape(t, m); !strings.Contains(got, "smartdocs_ratelimit_fallback 0") {
		t.Error("fallback gauge did not follow the failover back up")
	}
}

// Each Metrics has its own registry: two in one process do not collide.
func TestNoGlobalRegistry(t *testing.T) {
	a, b := New(), New()
	a.Banned()
	if strings.Contains(scrape(t, b), "smartdocs_bans_refused_total 1") {
		t.Error("a count in one Metrics shows in another")
	}
}

// Methods outside the standard ones count as one "other" series, however
// many clients invent.
func TestMethodLabelBounded(t *testing.T) {
	tests := []struct {
		method, want string
	}{
		{"GET", "GET"}, {"PATCH", "PATCH"}, {"TRACE", "TRACE"},
		{"get", "other"}, {"PROPFIND", "other"}, {strings.Repeat("X", 2000), "other"}, {"", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.method[:min(len(tt.method), 10)], func(t *testing.T) {
			if got := Method(tt.method); got != tt.want {
				t.Errorf("Method(%.20q): got %q, want %q", tt.method, got, tt.want)
			}
		})
	}
	m := New()
	for i := range 5000 {
		m.Request("", "JUNK"+strings.Repeat("x", i%50)+string(rune('A'+i%26)), 405, time.Millisecond)
	}
	m.Request("/chat", "POST", 429, time.Millisecond)
	got := scrape(t, m)
	if n := strings.Count(got, "smartdocs_http_requests_total{"); n != 2 {
		t.Errorf("got %d request series, want 2 (other and POST)", n)
	}
	if !strings.Contains(got, `smartdocs_http_requests_total{method="other",route="unmatched",status="405"} 5000`) {
		t.Errorf("scrape lacks the 5000 junk requests under method other:\n%s", got)
	}
}
