package main

import (
	"bufio"
	"fmt"
	"html"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where the numbers were taken.
type machine struct {
	cpus             int
	cpu, kernel, wrk string
	redis, goVersion string
	// load is /proc/loadavg's 1-minute figure when the run started: other
	// work on the machine skews every number.
	load string
	// gogc is the collector's target app.TuneGC set for the whole run,
	// 0 when GOGC or GOMEMLIMIT was set and stood.
	gogc int
}

func describeMachine(wrk, redisBin string) machine {
	m := machine{cpus: runtime.NumCPU(), goVersion: runtime.Version(), cpu: "unknown CPU"}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.load = strings.Fields(string(b))[0]
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	// wrk -v prints its version and exits 1.
	out, _ := exec.Command(wrk, "-v").CombinedOutput()
	m.wrk = strings.TrimSpace(strings.SplitN(string(out), "Copyright", 2)[0])
	if out, err := exec.Command(redisBin, "--version").Output(); err == nil {
		f := strings.Fields(string(out))
		for _, w := range f {
			if strings.HasPrefix(w, "v=") {
				m.redis = "Redis " + strings.TrimPrefix(w, "v=")
			}
		}
	}
	return m
}

func (m machine) oneLine() string {
	gc := fmt.Sprintf("GOGC=%d as the binary sets it (app.TuneGC)", m.gogc)
	if m.gogc == 0 {
		gc = "GOGC and GOMEMLIMIT from the environment"
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s, %s, %s, %s, load average %s at the start", m.cpus, m.cpu, m.kernel, m.goVersion, gc, m.wrk, m.redis, m.load)
}

// row is one variant on one path over every round.
type row struct {
	variant string
	path    path
	runs    []result
}

// median is the median requests/s over the rounds: one round that the
// machine disturbed moves it less than it would move a mean.
func (r row) median() float64 {
	v := make([]float64, len(r.runs))
	for i, x := range r.runs {
		v[i] = x.rps
	}
	return median(v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (r row) worstP99() time.Duration {
	var d time.Duration
	for _, x := range r.runs {
		d = max(d, x.p99)
	}
	return d
}

// callsPerRequest is Redis commands (or pipelines) per answered request,
// and fallbacks the decisions made without Redis, over every round.
func (r row) callsPerRequest() (perRequest float64, fallbacks int64, ok bool) {
	var calls, answers int64
	redis := false
	for _, x := range r.runs {
		calls += x.redisCalls
		fallbacks += x.fallbacks
		answers += x.ok + x.limited + x.other
		redis = redis || x.redis
	}
	if !redis || answers == 0 {
		return 0, 0, false
	}
	return float64(calls) / float64(answers), fallbacks, true
}

// logLinesPerThousand is the log lines an app variant wrote per 1,000
// answered requests over every round (start-up lines included).
func (r row) logLinesPerThousand() (float64, bool) {
	var lines, answers int64
	for _, x := range r.runs {
		lines += x.logLines
		answers += x.ok + x.limited + x.other
	}
	if answers == 0 || !slices.ContainsFunc(variants, func(v variant) bool { return v.name == r.variant && v.whole }) {
		return 0, false
	}
	return 1000 * float64(lines) / float64(answers), true
}

type report struct {
	cfg     config
	machine machine
	rows    map[path]map[string]*row
}

func newReport(cfg config, m machine, results []result) *report {
	rep := &report{cfg: cfg, machine: m, rows: map[path]map[string]*row{}}
	for _, res := range results {
		if rep.rows[res.path] == nil {
			rep.rows[res.path] = map[string]*row{}
		}
		r := rep.rows[res.path][res.variant]
		if r == nil {
			r = &row{variant: res.variant, path: res.path}
			rep.rows[res.path][res.variant] = r
		}
		r.runs = append(r.runs, res)
	}
	return rep
}

func (rep *report) rps(p path, variant string) float64 {
	if r := rep.rows[p][variant]; r != nil {
		return r.median()
	}
	return 0
}

// ratios divides variant's requests/s by base's round by round: the two
// ran minutes apart at most, so drift of the machine cancels out. It
// returns the median and every round's ratio, or nothing when either was
// not measured.
func (rep *report) ratios(p path, variant, base string) (float64, []float64) {
	v, b := rep.rows[p][variant], rep.rows[p][base]
	if v == nil || b == nil {
		return 0, nil
	}
	var each []float64
	for i := range min(len(v.runs), len(b.runs)) {
		if b.runs[i].rps > 0 {
			each = append(each, v.runs[i].rps/b.runs[i].rps)
		}
	}
	return median(each), each
}

// cpu is the median server CPU time per request of variant on p, in µs.
func (rep *report) cpu(p path, variant string) string {
	r := rep.rows[p][variant]
	if r == nil {
		return "–"
	}
	v := make([]float64, len(r.runs))
	for i, x := range r.runs {
		v[i] = x.cpuPerRequest().Seconds() * 1e6
	}
	return fmt.Sprintf("%.1f", median(v))
}

// cpuRatios divides base's CPU time per request by variant's round by
// round: the throughput ratio the two would have if the server had the
// cores to itself. It returns the median and every round's ratio.
func (rep *report) cpuRatios(p path, variant, base string) (float64, []float64) {
	v, b := rep.rows[p][variant], rep.rows[p][base]
	if v == nil || b == nil {
		return 0, nil
	}
	var each []float64
	for i := range min(len(v.runs), len(b.runs)) {
		if c := v.runs[i].cpuPerRequest(); c > 0 {
			each = append(each, float64(b.runs[i].cpuPerRequest())/float64(c))
		}
	}
	return median(each), each
}

func (rep *report) ratio(p path, variant, base string) string {
	m, each := rep.ratios(p, variant, base)
	if len(each) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", m)
}

func (rep *report) command() string {
	return fmt.Sprintf("go run ./bench -duration %v -connections %d -threads %d -rounds %d",
		rep.cfg.duration, rep.cfg.connections, rep.cfg.threads, rep.cfg.rounds)
}

// markdown is the README's table, its detail and the targets.
func (rep *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Load benchmark\n\n")
	fmt.Fprintf(&b, "Command: `%s` (%s)\n\n", rep.command(), time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Machine: %s. wrk, the server and redis-server share these cores, so absolute numbers are low; the ratios are what carry over.\n\n", rep.machine.oneLine())
	fmt.Fprintf(&b, "Requests per second, median of %d rounds; ratios against bare chi and against httprate-redis on the same path, each the median of the rounds' own ratios.\n\n", rep.cfg.rounds)
	b.WriteString("| Variant | Rejected req/s | × bare chi | × httprate-redis | server CPU µs/req | × bare chi by CPU | Allowed req/s | × bare chi | × httprate-redis | server CPU µs/req | × bare chi by CPU |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	cpuRatio := func(p path, variant string) string {
		m, each := rep.cpuRatios(p, variant, peerOf(variant))
		if len(each) == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f×", m)
	}
	rps := func(p path, variant string) string {
		if rep.rows[p][variant] == nil {
			return "–"
		}
		return thousands(rep.rps(p, variant))
	}
	for _, v := range rep.measured() {
		// A binary is compared with bare chi's binary, not with the
		// handlers in the bench's process.
		peer, library := peerOf(v.name), "httprate-redis"
		if v.bin != nil {
			library = ""
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v.name,
			rps(rejected, v.name), rep.ratio(rejected, v.name, peer), rep.ratio(rejected, v.name, library), rep.cpu(rejected, v.name), cpuRatio(rejected, v.name),
			rps(allowed, v.name), rep.ratio(allowed, v.name, peer), rep.ratio(allowed, v.name, library), rep.cpu(allowed, v.name), cpuRatio(allowed, v.name))
	}
	b.WriteString("\nThe binary- variants are built programs, each flooded as a process of its own and compared with binary-bare-chi: binary-bare-chi is bench/barechi, bare chi answering a 429 (or a 200 on the allowed path) from an http.Server with no timeouts, at the runtime's default GOGC; binary-bare-chi-429 answers with the shipped app's 429 instead; binary-bare-chi-429-server also serves from the app's http.Server (app.NewHTTPServer: its read, write and idle timeouts); binary-app-memory and binary-app-redis are the smartdocs binary, built as the Dockerfile builds it, with default settings (its log to a file). Their server CPU is the process's own, from /proc; their answers are counted by wrk (non-2xx on the rejected path are the 429s), and one request after each run, as the script sends it, must get the path's status (429 or 200).\n")
	b.WriteString("\nServer CPU µs/req is the bench process's CPU time (user and system) per answered request, median of the rounds; × bare chi by CPU is bare chi's CPU per request over the variant's, round by round, median: the throughput ratio if the server had the cores to itself. On a machine that other work keeps busy, requests per second follow the share of the cores the server gets; CPU per request moves much less.\n")
	b.WriteString("\nbare-chi answers every POST with a 429 on the rejected path and runs the trivial handler alone on the allowed path; bare-chi-429 answers with the shipped app's 429 verbatim (its 13 headers and its body, captured from the app at start-up) and does nothing else. Every limiter sits in front of a trivial handler, limits 3/minute per client and keys on the app's HMAC of client IP and User-Agent. ours-redis runs the Redis store behind Failover (100ms timeout, memory fallback, refusal cache) as the app does; ours-redis-2-layers adds the app's default per-IP ceiling (60/minute) to the same decision, one round trip for both. app-memory and app-redis serve the shipped app's whole handler, built by app.NewHandler as app.Run builds it with default settings (request log to a file, metrics, refusal summary, analytics, bans, security headers, client resolution around the limiter, and its default per-IP ceiling); on the allowed path RATE_LIMIT is raised out of reach and every request is a question the docs engine answers, so their allowed column is the real binary's answer rate, not a limiter's.\n\n")

	b.WriteString("#### Every run\n\n")
	header := "| Variant | Path |"
	sep := "|---|---|"
	for i := 1; i <= rep.cfg.rounds; i++ {
		header += fmt.Sprintf(" Round %d req/s |", i)
		sep += "---:|"
	}
	b.WriteString(header + " p99 (worst round) | Redis calls / request | Decided without Redis | Log lines / 1,000 requests | Answers as expected |\n")
	b.WriteString(sep + "---:|---:|---:|---:|---|\n")
	for _, p := range paths {
		for _, v := range variants {
			r := rep.rows[p][v.name]
			if r == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |", v.name, p)
			for _, x := range r.runs {
				fmt.Fprintf(&b, " %s |", thousands(x.rps))
			}
			calls, fallbacks := "–", "–"
			if c, f, ok := r.callsPerRequest(); ok {
				calls, fallbacks = fmt.Sprintf("%.4f", c), thousands(float64(f))
			}
			checks := map[string]bool{}
			var list []string
			for _, x := range r.runs {
				if c := x.check(); !checks[c] {
					checks[c] = true
					list = append(list, c)
				}
			}
			logged := "–"
			if l, ok := r.logLinesPerThousand(); ok {
				logged = fmt.Sprintf("%.1f", l)
			}
			fmt.Fprintf(&b, " %v | %s | %s | %s | %s |\n", r.worstP99(), calls, fallbacks, logged, strings.Join(list, ", "))
		}
	}

	b.WriteString("\n#### Targets (issues 3 and 12)\n\n")
	verdict := func(name string, got float64, each []float64, want float64) {
		if len(each) == 0 {
			fmt.Fprintf(&b, "- %s: not measured in this run\n", name)
			return
		}
		v := "met"
		if got < want {
			v = "**not met**"
		}
		rounds := make([]string, len(each))
		for i, x := range each {
			rounds[i] = fmt.Sprintf("%.2f×", x)
		}
		fmt.Fprintf(&b, "- %s: %.2f× (rounds: %s), target ≥ %.1f×: %s\n", name, got, strings.Join(rounds, ", "), want, v)
	}
	target := func(p path, variant, base string, want float64) {
		got, each := rep.ratios(p, variant, base)
		verdict(fmt.Sprintf("%s %s vs %s", variant, p, base), got, each, want)
	}
	target(rejected, "ours-memory", "bare-chi", 0.8)
	target(rejected, "ours-redis", "bare-chi", 0.8)
	target(allowed, "ours-redis", "httprate-redis", 2.5)
	target(allowed, "ours-redis", "redis_rate", 1)
	target(rejected, "app-memory", "bare-chi", 0.8)
	target(rejected, "app-redis", "bare-chi", 0.8)
	target(rejected, "binary-app-memory", "binary-bare-chi", 0.8)
	target(rejected, "binary-app-redis", "binary-bare-chi", 0.8)
	cpuTarget := func(p path, variant string, want float64) {
		got, each := rep.cpuRatios(p, variant, peerOf(variant))
		verdict(fmt.Sprintf("%s %s vs %s, by server CPU per request", variant, p, peerOf(variant)), got, each, want)
	}
	cpuTarget(rejected, "app-memory", 0.8)
	cpuTarget(rejected, "app-redis", 0.8)
	cpuTarget(rejected, "binary-app-memory", 0.8)
	cpuTarget(rejected, "binary-app-redis", 0.8)
	// No target: how far the response the app keeps sets the ceiling, and
	// how close the app's own work comes to it.
	compare := func(variant, base string) {
		got, each := rep.ratios(rejected, variant, base)
		cpu, cpuEach := rep.cpuRatios(rejected, variant, base)
		if len(each) == 0 || len(cpuEach) == 0 {
			return
		}
		fmt.Fprintf(&b, "- %s rejected vs %s: %.2f×, by server CPU per request %.2f× (no target)\n", variant, base, got, cpu)
	}
	compare("bare-chi-429", "bare-chi")
	compare("app-memory", "bare-chi-429")
	compare("app-redis", "bare-chi-429")
	compare("binary-bare-chi-429", "binary-bare-chi")
	compare("binary-bare-chi-429-server", "binary-bare-chi")
	compare("binary-app-memory", "binary-bare-chi-429-server")
	compare("binary-app-redis", "binary-bare-chi-429-server")
	b.WriteString("\nA run that Redis answered more slowly than 100ms shows decisions made without Redis: the Failover switched to memory for a while, so that run is partly a memory run.\n")
	return b.String()
}

// peerOf is the bare chi that variant is compared with: its binary for a
// binary, the handler in the bench's process for the rest.
func peerOf(variant string) string {
	if strings.HasPrefix(variant, "binary-") {
		return "binary-bare-chi"
	}
	return "bare-chi"
}

// measured is the variants this run measured, in the usual order.
func (rep *report) measured() []variant {
	var out []variant
	for _, v := range variants {
		for _, p := range paths {
			if rep.rows[p][v.name] != nil {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

// thousands formats n requests/s as "12,345".
func thousands(n float64) string {
	s := fmt.Sprintf("%.0f", n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// svg draws the median requests/s of every variant as horizontal bars, one
// pair (rejected, allowed) per variant.
func (rep *report) svg() string {
	const (
		left, right, top = 150.0, 90.0, 56.0
		width            = 820.0
		bar, gap         = 16.0, 14.0
	)
	group := 2*bar + gap
	variants := rep.measured()
	height := top + float64(len(variants))*group + 36
	top100 := 0.0
	for _, p := range paths {
		for _, v := range variants {
			top100 = max(top100, rep.rps(p, v.name))
		}
	}
	if top100 == 0 {
		top100 = 1
	}
	scale := (width - left - right) / top100
	colors := map[path]string{rejected: "#c0392b", allowed: "#27ae60"}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="20" font-size="15" font-weight="bold">Requests per second (median of %d rounds, higher is better)</text>`+"\n", left, rep.cfg.rounds)
	fmt.Fprintf(&b, `<text x="%.0f" y="38" fill="#555">%s</text>`+"\n", left, html.EscapeString(rep.command()+" · "+fmt.Sprintf("%d CPUs, %s", rep.machine.cpus, rep.machine.cpu)))
	for i, p := range paths {
		x := left + float64(i)*150
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s path</text>`+"\n",
			x, height-22, colors[p], x+16, height-12, p)
	}
	for i, v := range variants {
		y := top + float64(i)*group
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", left-8, y+bar, html.EscapeString(v.name))
		for j, p := range paths {
			val := rep.rps(p, v.name)
			w := val * scale
			by := y + float64(j)*bar
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`+"\n", left, by, w, bar-2, colors[p])
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" dominant-baseline="middle" fill="#333">%s</text>`+"\n", left+w+4, by+bar/2-1, thousands(val))
		}
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`+"\n", left, top-4, left, top+float64(len(variants))*group-gap+4)
	b.WriteString("</svg>\n")
	return b.String()
}
