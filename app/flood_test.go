package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/smartdocs-go/smartdocs/refusallog"
)

// send serves n requests to h with workers goroutines in parallel, in
// process (a socket each would make the test minutes long on a busy
// machine without testing more of the app); req builds the i-th. It
// returns how many answered each status.
func send(t *testing.T, h http.Handler, n, workers int, req func(i int) *http.Request) map[int]int {
	t.Helper()
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req(i))
				mu.Lock()
				statuses[w.Code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return statuses
}

// scrapeMetrics returns GET /metrics.
func scrapeMetrics(t *testing.T, h http.Handler) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return w.Body.String()
}

// metricSum sums the samples of /metrics whose line starts with prefix.
func metricSum(body, prefix string) float64 {
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}

// A flood of 20,000 questions, from one client or from clients that rotate
// their User-Agent under the per-IP ceiling, or of reads of GET /limits
// (their own limit, RATE_LIMIT_READS), writes no line per refusal: after
// the summary's flush the log holds the allowed requests' lines and at
// most refusallog.DefaultTop+1 summary lines, the total of which, like
// /metrics, counts every 429 the clients saw.
func TestFloodIsSummarized(t *testing.T) {
	const n = 20_000
	tests := []struct {
		name         string
		method, path string
		policy       string // of the client's own layer
		agent        func(i int) string
	}{
		{"one key", http.MethodPost, "/chat", "per-client", func(int) string { return "flood/1.0" }},
		{"rotating User-Agents", http.MethodPost, "/chat", "per-client", func(i int) string { return "flood/" + strconv.Itoa(i) }},
		{"reads of /limits", http.MethodGet, "/limits", "reads", func(int) string { return "flood/1.0" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, a, logs := opsApp(t, nil)
			start := len(logs.String())
			statuses := send(t, a.handler, n, 8, func(i int) *http.Request {
				r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(question))
				r.RemoteAddr = "192.0.2.7:40000"
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("User-Agent", tt.agent(i))
				return r
			})
			refused := statuses[http.StatusTooManyRequests]
			if refused < n/2 || statuses[200]+refused != n {
				t.Fatalf("got statuses %v, want 200s and mostly 429s", statuses)
			}
			a.ops.refused.Flush(t.Context())

			var requests, summaries, flushes int
			var total int64
			sc := bufio.NewScanner(strings.NewReader(logs.String()[start:]))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var l struct {
					Msg      string
					Status   int
					Requests int64
				}
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("log line %q: %v", sc.Text(), err)
				}
				switch l.Msg {
				case "request":
					requests++
					if l.Status == http.StatusTooManyRequests {
						t.Errorf("a refusal has a line of its own: %s", sc.Text())
					}
				case "refused":
					summaries++
				case "refusals":
					flushes++
					total += l.Requests
				}
			}
			if requests != statuses[200] {
				t.Errorf("got %d request lines, want one per allowed request (%d)", requests, statuses[200])
			}
			// The summary also flushes on its own every 10s, which a slow
			// run may see: the bound is per flush.
			if flushes == 0 || summaries > flushes*refusallog.DefaultTop {
				t.Errorf("got %d summary lines in %d flushes, want at least one flush and at most %d lines each", summaries, flushes, refusallog.DefaultTop)
			}
			if total != int64(refused) {
				t.Errorf("the summary counts %d refusals, want the %d 429s the clients saw", total, refused)
			}
			m := scrapeMetrics(t, a.handler)
			if got := metricSum(m, `smartdocs_http_requests_total{method="`+tt.method+`",route="`+tt.path+`",status="429"}`); got != float64(refused) {
				t.Errorf("/metrics counts %v requests answered 429, want %d", got, refused)
			}
			if got := metricSum(m, `smartdocs_ratelimit_decisions_total{policy=`); got != n {
				t.Errorf("/metrics counts %v decisions, want %d", got, n)
			}
			limited := metricSum(m, `smartdocs_ratelimit_decisions_total{policy="`+tt.policy+`",result="limited"}`) +
				metricSum(m, `smartdocs_ratelimit_decisions_total{policy="per-ip",result="limited"}`)
			if limited != float64(refused) {
				t.Errorf("/metrics counts %v limited decisions, want %d", limited, refused)
			}
		})
	}
}

// lineStats is a log sink that keeps no line, only their number and the
// longest: junk traffic must not be measured against a log held in memory.
type lineStats struct {
	mu            sync.Mutex
	lines, widest int
	partial       int
}

func (s *lineStats) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.partial += len(p)
			break
		}
		s.lines++
		s.widest = max(s.widest, s.partial+i)
		s.partial = 0
		p = p[i+1:]
	}
	return len(p), nil
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// Junk traffic does not grow the server: 10,000 distinct methods of
// 4,000 characters, 10,000 unknown paths and 10,000 unknown model_type
// values add at most a few series to /metrics, leave the heap where it
// was (a generous bound: what the methods alone would hold if kept is
// 40 MB), write no line per 404 or 405 (a summary counts them) and no
// log line longer than a few hundred bytes.
func TestJunkTrafficBounded(t *testing.T) {
	const n = 10_000
	cfg, err := load(env(map[string]string{"LOG_FORMAT": "json", "RATE_LIMIT": "1000000000/minute", "RATE_LIMIT_PER_IP": "1000000000/minute"}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	logs := &lineStats{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, Options{}, logs)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); a.Close() })
	h := a.handler

	pad := strings.Repeat("X", 4000)
	kinds := []struct {
		name string
		req  func(i int) *http.Request
	}{
		{"methods", func(i int) *http.Request {
			return httptest.NewRequest(fmt.Sprintf("J%06d%s", i, pad), "/chat", nil)
		}},
		{"paths", func(i int) *http.Request {
			return httptest.NewRequest(http.MethodGet, fmt.Sprintf("/junk/%d/%s", i, pad[:1000]), nil)
		}},
		{"model_type", func(i int) *http.Request {
			body := fmt.Sprintf(`{"question":"hi","model_type":"junk-%d-%s"}`, i, pad[:1000])
			r := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
	}
	// A few of each first, so that the series junk may rightly add (one
	// per status and route) exist before the count.
	for _, k := range kinds {
		send(t, h, 3, 1, k.req)
	}
	series := func() []string {
		var out []string
		for _, line := range strings.Split(scrapeMetrics(t, h), "\n") {
			if strings.HasPrefix(line, "smartdocs_") {
				out = append(out, line[:strings.LastIndexByte(line, ' ')])
			}
		}
		return out
	}
	series() // the scrape's own series
	seriesBefore := series()
	logs.mu.Lock()
	linesBefore := logs.lines
	logs.mu.Unlock()
	heapBefore := heapInUse()
	for _, k := range kinds {
		statuses := send(t, h, n, 8, k.req)
		if statuses[http.StatusInternalServerError] > 0 || statuses[http.StatusOK] > 0 {
			t.Errorf("%s: got statuses %v, want only refusals of the junk (4xx)", k.name, statuses)
		}
	}
	heapAfter := heapInUse()
	if got := series(); len(got) > len(seriesBefore)+4 {
		t.Errorf("/metrics: got %d series after the junk, want at most %d; new:\n%s", len(got), len(seriesBefore)+4,
			strings.Join(slices.DeleteFunc(got, func(s string) bool { return slices.Contains(seriesBefore, s) }), "\n"))
	}
	if grown := int64(heapAfter) - int64(heapBefore); grown > 12<<20 {
		t.Errorf("heap in use grew by %d MB over the junk (%d MB to %d MB), want at most 12 MB", grown>>20, heapBefore>>20, heapAfter>>20)
	}
	// The junk methods (405) and paths (404) are summarized, three lines
	// at most a flush; the junk model_type values are errors of an
	// allowed request (422) and keep a line each.
	a.ops.unrouted.Flush(t.Context())
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if got := logs.lines - linesBefore; got < n || got > n+20 {
		t.Errorf("got %d log lines for the junk, want one per 422 (%d) and a few summary lines for the 20,000 answered 404 or 405", got, n)
	}
	if logs.widest > 1000 {
		t.Errorf("the longest log line is %d bytes, want at most 1000", logs.widest)
	}
}

// A banned client's flood is summarized too, under the policy "banned",
// and /metrics counts every 403.
func TestBannedFloodIsSummarized(t *testing.T) {
	const n = 500
	srv, a, logs := opsApp(t, map[string]string{"ADMIN_TOKEN": opsToken})
	if status, _, body := opsDo(t, srv, opsReq{method: "POST", path: "/admin/bans", auth: opsToken, body: `{"ip": "192.0.2.9"}`}); status != 201 {
		t.Fatalf("ban: got %d %s", status, body)
	}
	start := len(logs.String())
	statuses := send(t, a.handler, n, 4, func(i int) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/chat", strings.NewReader(question))
		r.RemoteAddr = "192.0.2.9:40000"
		r.Header.Set("Content-Type", "application/json")
		return r
	})
	if statuses[http.StatusForbidden] != n {
		t.Fatalf("got statuses %v, want %d 403s", statuses, n)
	}
	a.ops.refused.Flush(t.Context())
	got := logs.String()[start:]
	if strings.Contains(got, `"msg":"request"`) {
		t.Errorf("a banned request has a line of its own:\n%.500s", got)
	}
	if !strings.Contains(got, `"msg":"refused","requests":500,`) || !strings.Contains(got, `"policy":"banned"`) {
		t.Errorf("got log\n%s\nwant one summary line of 500 banned requests", got)
	}
	if v := metricSum(scrapeMetrics(t, a.handler), "smartdocs_bans_refused_total"); v != n {
		t.Errorf("/metrics counts %v banned requests, want %d", v, n)
	}
}

// Requests that match no route are summarized by status; a 404 or 405
// that a route answers itself (an unknown ban id, a missing static file)
// keeps its request line, so an admin's action leaves a trace.
func TestUnroutedSummarizedRoutedKept(t *testing.T) {
	srv, a, logs := opsApp(t, map[string]string{"ADMIN_TOKEN": opsToken})
	start := len(logs.String())
	for _, r := range []opsReq{
		{method: "GET", path: "/no/such/route"},
		{method: "PATCH", path: "/chat"},
		{method: "DELETE", path: "/admin/bans/no-such-ban", auth: opsToken},
		{method: "GET", path: "/static/no-such-file.js"},
	} {
		if status, _, body := opsDo(t, srv, r); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Fatalf("%s %s: got %d %s, want 404 or 405", r.method, r.path, status, body)
		}
	}
	a.ops.unrouted.Flush(t.Context())
	got := logs.String()[start:]
	for _, want := range []string{
		`"msg":"request","method":"DELETE","route":"/admin/bans/{id}","status":404`,
		`"msg":"request","method":"GET","route":"/static/*","status":404`,
		`"msg":"unrouted","requests":1,"key":"404","policy":"no-route"`,
		`"msg":"unrouted","requests":1,"key":"405","policy":"method-not-allowed"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the log lacks %s:\n%s", want, got)
		}
	}
	if n := strings.Count(got, `"msg":"request"`); n != 2 {
		t.Errorf("got %d request lines, want 2 (the routes' own 404s):\n%s", n, got)
	}
}
