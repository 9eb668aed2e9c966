package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 5s test @ http://127.0.0.1:40000/chat
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  500.00us  12.00ms   90.00%
    Req/Sec    15.00k     1.00k   17.00k    70.00%
  Latency Distribution
     50%  850.00us
     75%    1.10ms
     90%    1.50ms
     99%    3.25ms
  150123 requests in 5.00s, 40.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 150120
Requests/sec:  30024.60
Transfer/sec:      8.00MB
`
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 30024.60 || r.requests != 150123 || r.socketErrors != 3 {
		t.Errorf("got %v req/s, %d requests, %d socket errors; want 30024.6, 150123, 3", r.rps, r.requests, r.socketErrors)
	}
	if r.p50 != 850*time.Microsecond || r.p99 != 3250*time.Microsecond {
		t.Errorf("got p50 %v, p99 %v; want 850µs, 3.25ms", r.p50, r.p99)
	}
	if _, err := parseWrk("unable to connect"); err == nil {
		t.Error("wrk output without Requests/sec parsed without error")
	}
}

// TestRatios: ratios pair the rounds, and their median shrugs off one
// disturbed round.
func TestRatios(t *testing.T) {
	var results []result
	for i, rps := range []struct{ base, v float64 }{{100, 90}, {50, 45}, {100, 10}} {
		results = append(results,
			result{variant: "bare-chi", path: rejected, round: i + 1, rps: rps.base},
			result{variant: "ours-memory", path: rejected, round: i + 1, rps: rps.v})
	}
	rep := newReport(config{rounds: 3}, machine{}, results)
	got, each := rep.ratios(rejected, "ours-memory", "bare-chi")
	if got != 0.9 || len(each) != 3 || each[2] != 0.1 {
		t.Errorf("got median %v of %v, want 0.9 of [0.9 0.9 0.1]", got, each)
	}
	if got := rep.rps(rejected, "ours-memory"); got != 45 {
		t.Errorf("median req/s: got %v, want 45", got)
	}
	if _, each := rep.ratios(allowed, "ours-memory", "bare-chi"); each != nil {
		t.Errorf("unmeasured path: got %v, want nothing", each)
	}
	md := rep.markdown()
	if strings.Contains(md, "| httprate-redis |") {
		t.Error("markdown has a row for a variant this run did not measure")
	}
	for _, want := range []string{
		"- ours-memory rejected vs bare-chi: 0.90× (rounds: 0.90×, 0.90×, 0.10×), target ≥ 0.8×: met",
		"- ours-redis rejected vs bare-chi: not measured in this run",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}
