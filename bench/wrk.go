package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// question is the body of every request the bench sends: wrk's scripts,
// floodRequest and the probe after a binary's run.
const question = `{"question":"How does the rate limiter work?"}`

// rejectedScript is a static request: wrk builds it once and sends it
// again and again, all from one client.
const rejectedScript = `
wrk.method = "POST"
wrk.body = '` + question + `'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "wrk"
`

// allowedScript gives every request a random public X-Forwarded-For, so
// that the server, which trusts loopback proxies, sees a new client each
// time. Each wrk thread seeds its own generator.
const allowedScript = `
wrk.method = "POST"
wrk.body = '` + question + `'
local n = 0
function setup(thread)
  n = n + 1
  thread:set("id", n)
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
end
local headers = {["Content-Type"] = "application/json", ["User-Agent"] = "wrk"}
function request()
  headers["X-Forwarded-For"] = string.format("%d.%d.%d.%d",
    math.random(11, 99), math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format(nil, nil, headers)
end
`

// writeScripts writes the Lua scripts into dir.
func writeScripts(dir string) (map[path]string, error) {
	out := map[path]string{}
	for p, src := range map[path]string{rejected: rejectedScript, allowed: allowedScript} {
		f := filepath.Join(dir, string(p)+".lua")
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			return nil, err
		}
		out[p] = f
	}
	return out, nil
}

// result is one wrk run.
type result struct {
	variant string
	path    path
	round   int
	redis   bool

	rps      float64
	requests int64
	p50, p99 time.Duration
	// socketErrors sums wrk's connect, read, write and timeout errors.
	socketErrors int64
	// non2xx is wrk's count of answers that were not 2xx or 3xx.
	non2xx int64
	// probe is the status of one request sent after the run as the
	// script sends it (binary variants only; 0 when not sent).
	probe int
	// The server's own count of its answers.
	ok, limited, other int64
	// redisCalls is how many commands or pipelines the limiter sent to
	// Redis during the run, fallbacks how many decisions it made without
	// Redis because Redis was too slow.
	redisCalls, fallbacks int64
	// logBytes and logLines are what the app variants wrote to their log
	// during the run.
	logBytes, logLines int64
	// serverCPU is the CPU time the bench process spent during the run.
	serverCPU time.Duration
}

// cpuPerRequest is the server's CPU time per answered request.
func (r result) cpuPerRequest() time.Duration {
	n := r.ok + r.limited + r.other
	if n == 0 {
		return 0
	}
	return r.serverCPU / time.Duration(n)
}

// check says whether the run answered as its path says it should: on the
// rejected path all but a handful 429, on the allowed path every request
// 200, and no socket errors.
func (r result) check() string {
	total := r.ok + r.limited + r.other
	var problems []string
	if total == 0 {
		return "no answers"
	}
	switch r.path {
	case rejected:
		if r.limited < total-total/1000-3 {
			problems = append(problems, fmt.Sprintf("only %d of %d were 429", r.limited, total))
		}
	case allowed:
		if r.ok != total {
			problems = append(problems, fmt.Sprintf("%d of %d were not 200", total-r.ok, total))
		}
	}
	if want := map[path]int{rejected: http.StatusTooManyRequests, allowed: http.StatusOK}[r.path]; r.probe != 0 && r.probe != want {
		problems = append(problems, fmt.Sprintf("a request after the run got %d, want %d", r.probe, want))
	}
	if r.socketErrors > 0 {
		problems = append(problems, fmt.Sprintf("%d socket errors", r.socketErrors))
	}
	if len(problems) == 0 {
		return "ok"
	}
	return strings.Join(problems, "; ")
}

// runWrk runs wrk with script against url and parses what it prints.
func runWrk(ctx context.Context, wrk, script, url string, cfg config) (result, error) {
	args := []string{
		"-t", strconv.Itoa(cfg.threads),
		"-c", strconv.Itoa(cfg.connections),
		"-d", strconv.Itoa(int(cfg.duration.Round(time.Second)/time.Second)) + "s",
		"--latency", "-s", script, url,
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrk, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s%s", err, errb.String(), out.String())
	}
	return parseWrk(out.String())
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	reSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reLatency  = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
)

// parseWrk reads wrk 4's report.
func parseWrk(s string) (result, error) {
	var r result
	m := reRPS.FindStringSubmatch(s)
	if m == nil {
		return r, fmt.Errorf("wrk printed no Requests/sec:\n%s", s)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := reRequests.FindStringSubmatch(s); m != nil {
		r.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSocket.FindStringSubmatch(s); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			r.socketErrors += n
		}
	}
	if m := reNon2xx.FindStringSubmatch(s); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	for _, m := range reLatency.FindAllStringSubmatch(s, -1) {
		f, _ := strconv.ParseFloat(m[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(f * float64(unit)).Round(time.Microsecond)
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	return r, nil
}
