package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// TestLimitsReadsCostBounded: 1,000 reads of GET /limits from one client
// cost Redis a bounded number of commands: RATE_LIMIT_READS admits 60 a
// minute (the rest are refused from the refusal cache, without a call),
// and an admitted read within a second of the last is answered from the
// peek cache. Without either, every read was one EVALSHA.
func TestLimitsReadsCostBounded(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	srv := newTestServer(t, map[string]string{"REDIS_URL": rs.URL()})
	read := func() int {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/limits")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := read(); got != http.StatusOK {
		t.Fatalf("first read: got %d, want 200", got)
	}
	rdb := rs.Client()
	if err := rdb.ConfigResetStat(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 1000
	statuses := map[int]int{}
	start := time.Now()
	for range n {
		statuses[read()]++
	}
	seconds := int(time.Since(start)/time.Second) + 1
	stats, err := rdb.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	calls, scripts := commandCalls(t, stats)
	t.Logf("%d reads: %v; Redis commands %d, of them scripts %d", n, statuses, calls, scripts)
	admitted := statuses[http.StatusOK]
	if admitted+statuses[http.StatusTooManyRequests] != n || admitted > 120 {
		t.Errorf("got statuses %v, want 200s within RATE_LIMIT_READS=60/minute (at most twice that where the run straddles a window) and 429s for the rest", statuses)
	}
	// A script per admitted read, one for the first refusal (the next
	// ones come from the refusal cache) and a peek per second of the run
	// at most (the peek cache); each script runs a handful of commands
	// inside (TIME, HMGET, HSET, EXPIRE), which commandstats counts too.
	if want := admitted + 1 + seconds; scripts > want {
		t.Errorf("got %d scripts for %d reads (%d admitted, in %ds), want at most %d:\n%s", scripts, n, admitted, seconds, want, stats)
	}
	if want := 10 * (admitted + 1 + seconds); calls > want {
		t.Errorf("got %d Redis commands for %d reads, want at most %d:\n%s", calls, n, want, stats)
	}

	// GET /whoami computes the keys in memory: it reads no counter.
	if err := rdb.ConfigResetStat(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	for range 200 {
		resp, err := srv.Client().Get(srv.URL + "/whoami")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /whoami: got %d, want 200", resp.StatusCode)
		}
	}
	stats, err = rdb.Info(t.Context(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	if _, scripts := commandCalls(t, stats); scripts != 0 {
		t.Errorf("got %d scripts for 200 reads of /whoami, want 0:\n%s", scripts, stats)
	}
}

// TestLimitsCacheKeptOnRefusal: a question let through forgets the
// client's cached standing (TestPeekCache), a refused one does not (it
// changes no count), so a flood of refusals neither pays for forgetting
// nor makes GET /limits peek again (the refusals come from the refusal
// cache, no script each). Both reads fall within one peekTTL; a run too
// slow for that is tried again.
func TestLimitsCacheKeptOnRefusal(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{})
	srv := newTestServer(t, map[string]string{"REDIS_URL": rs.URL()})
	rdb := rs.Client()
	status := func(resp *http.Response) int {
		resp.Body.Close()
		return resp.StatusCode
	}
	readLimits := func(agent string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/limits", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("User-Agent", agent)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := status(resp); got != http.StatusOK {
			t.Fatalf("GET /limits: got %d, want 200", got)
		}
	}
	scripts := func() int {
		t.Helper()
		stats, err := rdb.Info(t.Context(), "commandstats").Result()
		if err != nil {
			t.Fatal(err)
		}
		_, n := commandCalls(t, stats)
		return n
	}
	for attempt, agent := range []string{"a", "b", "c", "d", "e"} {
		agent = "refusal-cache-" + agent
		ua := "User-Agent: " + agent
		for i := range 4 { // three answers, then the first refusal
			if got, want := status(ask(t, srv, "/chat", `{"question":"what is limited?"}`, ua)), map[bool]int{true: 200, false: 429}[i < 3]; got != want {
				t.Fatalf("question %d: got %d, want %d", i+1, got, want)
			}
		}
		start := time.Now()
		readLimits(agent) // peeks and caches the standing
		if err := rdb.ConfigResetStat(t.Context()).Err(); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			if got := status(ask(t, srv, "/chat", `{"question":"what is limited?"}`, ua)); got != http.StatusTooManyRequests {
				t.Fatalf("refused question %d: got %d, want 429", i+1, got)
			}
		}
		readLimits(agent)
		if time.Since(start) >= peekTTL*3/4 {
			t.Logf("attempt %d took %v, too near the cache's %v: again", attempt+1, time.Since(start), peekTTL)
			continue
		}
		// The read's own RATE_LIMIT_READS decision is one script; a
		// peek would be a second.
		if got := scripts(); got != 1 {
			t.Errorf("20 refusals and a second read of /limits cost %d scripts, want 1 (the read's limit): the refusals made the cache forget", got)
		}
		return
	}
	t.Fatal("no attempt fit within the peek cache's TTL")
}

// commandCalls sums the calls of INFO commandstats, less INFO and CONFIG
// (the test's own), and those of scripts (EVAL, EVALSHA and their _RO).
func commandCalls(t *testing.T, info string) (all, scripts int) {
	t.Helper()
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || name == "info" || strings.HasPrefix(name, "config") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				c, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("commandstats line %q: %v", line, err)
				}
				all += c
				if strings.HasPrefix(name, "eval") {
					scripts += c
				}
			}
		}
	}
	return all, scripts
}

// TestPeekCache: reads of one key within peekTTL cost one peek; a key
// error bypasses the cache; forget drops one key; the cache never holds
// more than peekMax keys.
func TestPeekCache(t *testing.T) {
	peeks := 0
	p := newPeekCache(func(r *http.Request) ([]ratelimit.State, error) {
		peeks++
		return []ratelimit.State{{Policy: "per-client", Remaining: peeks}}, nil
	}, func(r *http.Request) (string, error) {
		if k := r.Header.Get("Key"); k != "" {
			return k, nil
		}
		return "", errors.New("no key")
	})
	now := time.Unix(1_000_000, 0)
	p.now = func() time.Time { return now }
	req := func(key string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/limits", nil)
		if key != "" {
			r.Header.Set("Key", key)
		}
		return r
	}
	steps := []struct {
		name      string
		key       string
		advance   time.Duration
		forget    bool
		wantPeeks int
	}{
		{"first read peeks", "a", 0, false, 1},
		{"second read is cached", "a", 0, false, 1},
		{"just before the TTL, cached", "a", peekTTL - time.Millisecond, false, 1},
		{"at the TTL, peeks again", "a", time.Millisecond, false, 2},
		{"another key peeks", "b", 0, false, 3},
		{"a question forgets the key", "a", 0, true, 4},
		{"no key: no cache", "", 0, false, 5},
		{"no key again: no cache", "", 0, false, 6},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if s.forget {
			p.forget(req(s.key))
		}
		if _, err := p.Peek(req(s.key)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if peeks != s.wantPeeks {
			t.Errorf("%s: got %d peeks, want %d", s.name, peeks, s.wantPeeks)
		}
	}
	for i := range peekMax + 100 {
		p.Peek(req(fmt.Sprint("k", i)))
	}
	if got := p.len(); got > peekMax {
		t.Errorf("got %d entries, want at most %d", got, peekMax)
	}
}
