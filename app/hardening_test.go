package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/internal/connlimit"
)

// served is the real app served as Run serves it (its listener bounded
// by MAX_CONNECTIONS, its http.Server's timeouts) on a loopback port.
type served struct {
	addr  string
	conns *connlimit.Listener
	logs  *syncLog
}

func serveApp(t testing.TB, vars map[string]string, opts Options) *served {
	t.Helper()
	cfg, err := load(env(vars), opts)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s := &served{logs: &syncLog{}}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, opts, s.logs)
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	if s.conns, err = a.limitConns(ln); err != nil {
		cancel()
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.serveOn(ctx, s.conns) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return s
}

// rawRequest writes head (a request's lines without the blank line that
// ends them) and body on a connection of its own, then reads the first
// response; conn is left open for the caller to read on.
func rawRequest(t *testing.T, addr, head, body string) (*http.Response, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, strings.ReplaceAll(head, "\n", "\r\n")+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return resp, c, br
}

// TestExpectContinueOverTheCap: a POST that announces a body over the
// route's cap and asks "Expect: 100-continue" gets its 413 at once,
// never a 100 Continue, and the connection then closes cleanly (EOF, no
// reset); a chunked body of no announced length is still cut at the cap.
func TestExpectContinueOverTheCap(t *testing.T) {
	token := strings.Repeat("t", 32)
	s := serveApp(t, map[string]string{"RATE_LIMIT": "100/minute", "ADMIN_TOKEN": token}, Options{})
	chunk := strings.Repeat("a", 32<<10)
	chunked := strings.Repeat(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk), 8) + "0\r\n\r\n"
	tests := []struct {
		name, head, body string
	}{
		{"chat", "POST /chat HTTP/1.1\nHost: test\nContent-Type: application/json\nContent-Length: 10485760\nExpect: 100-continue", ""},
		{"api chat", "POST /api/chat HTTP/1.1\nHost: test\nContent-Type: application/json\nContent-Length: 10485760\nExpect: 100-continue", ""},
		{"admin bans", "POST /admin/bans HTTP/1.1\nHost: test\nAuthorization: Bearer " + token + "\nContent-Type: application/json\nContent-Length: 10485760\nExpect: 100-continue", ""},
		{"chat, chunked, no length", "POST /chat HTTP/1.1\nHost: test\nContent-Type: application/json\nTransfer-Encoding: chunked\nConnection: close", chunked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, br := rawRequest(t, s.addr, tt.head, tt.body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("got %s, want 413 before any body is sent", resp.Status)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatalf("reading the 413's body: %v", err)
			}
			if n, err := br.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("got %d bytes and %v after the 413, want the connection closed cleanly (EOF)", n, err)
			}
		})
	}
}

// TestHalfOpenConnectionsPastTheCap: 300 connections that send part of
// their headers and stop, against MAX_CONNECTIONS=50, never hold more
// than 50 connections, /health still answers, the bound is logged, and
// once they close the server's goroutines return to about where they
// were and its memory is given back to the system.
func TestHalfOpenConnectionsPastTheCap(t *testing.T) {
	s := serveApp(t, map[string]string{"MAX_CONNECTIONS": "50"}, Options{})
	health := func() int {
		t.Helper()
		resp, _, _ := rawRequest(t, s.addr, "GET /health HTTP/1.1\nHost: test\nConnection: close", "")
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := health(); got != http.StatusOK {
		t.Fatalf("got /health %d before the load, want 200", got)
	}
	baseline := runtime.NumGoroutine()

	var held []net.Conn
	for range 300 {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 3 {
		if got := health(); got != http.StatusOK {
			t.Fatalf("got /health %d (try %d) with 300 half-open connections, want 200", got, i+1)
		}
	}
	st := s.conns.Stats()
	if st.Peak > 50 || st.Open > 50 {
		t.Errorf("got peak %d, open %d connections, want at most MAX_CONNECTIONS=50", st.Peak, st.Open)
	}
	if st.Evicted < 250 {
		t.Errorf("got %d evicted, want at least 250 (300 half-open, 50 slots)", st.Evicted)
	}
	if n := strings.Count(s.logs.String(), "connection limit reached"); n < 1 || n > 2 {
		t.Errorf("got %d log lines of the bound, want 1 or 2 (rate limited):\n%s", n, s.logs)
	}
	if !strings.Contains(s.logs.String(), "variable=MAX_CONNECTIONS") {
		t.Errorf("the bound's log line does not name MAX_CONNECTIONS:\n%s", s.logs)
	}

	for _, c := range held {
		c.Close()
	}
	held = nil
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > baseline+5 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("got %d goroutines 20s after the connections closed, want about %d as before:\n%s",
				runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(s.logs.String(), "returning memory to the system") {
		t.Errorf("no log line of memory returned once the connections closed:\n%s", s.logs)
	}
	if got := health(); got != http.StatusOK {
		t.Errorf("got /health %d after the load, want 200", got)
	}
	if st := s.conns.Stats(); st.Open > 1 {
		t.Errorf("got %d connections open after the load, want at most 1", st.Open)
	}
}

// TestAnswerBoundsWired: ANSWER_MAX_BYTES reaches the chat handler: an
// engine whose answer never ends is cut with an error line, and its
// context is cancelled.
func TestAnswerBoundsWired(t *testing.T) {
	cancelled := make(chan struct{})
	endless := chat.EngineFunc(func(ctx context.Context, q chat.Query) (*chat.Reply, error) {
		context.AfterFunc(ctx, func() { close(cancelled) })
		return &chat.Reply{Tokens: func(yield func(string, error) bool) {
			for ctx.Err() == nil {
				if !yield("word ", nil) {
					return
				}
			}
			yield("", ctx.Err())
		}}, nil
	})
	s := serveApp(t, map[string]string{"ANSWER_MAX_BYTES": "2048"},
		Options{Engines: []handlers.Model{{Name: "endless", Description: "never ends", Engine: endless}}})
	body := `{"question":"q","model_type":"endless"}`
	resp, _, _ := rawRequest(t, s.addr, fmt.Sprintf("POST /chat HTTP/1.1\nHost: test\nContent-Type: application/json\nContent-Length: %d\nConnection: close", len(body)), body)
	got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	if len(got) >= 1<<20 {
		t.Fatalf("read %d bytes and the answer went on, want it cut at ANSWER_MAX_BYTES", len(got))
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, `"type":"error"`) || !strings.Contains(last, "longer than this server allows") {
		t.Errorf("got last line %q, want the bound's error line", last)
	}
	select {
	case <-cancelled:
	case <-time.After(20 * time.Second):
		t.Error("the engine's context was never cancelled")
	}
}

// BenchmarkHalfOpenConnections: what 3,000 connections that never finish
// their headers hold in the server (heap and stacks, goroutines) with
// MAX_CONNECTIONS=100 beside an unbounded peer (1,000,000), and what is
// left once they close. Run with -benchtime=1x.
func BenchmarkHalfOpenConnections(b *testing.B) {
	const n = 3000
	for _, tc := range []struct{ name, max string }{{"max=100", "100"}, {"unbounded", "1000000"}} {
		b.Run(tc.name, func(b *testing.B) {
			s := serveApp(b, map[string]string{"MAX_CONNECTIONS": tc.max, "LOG_LEVEL": "error"}, Options{})
			inUse := func() float64 {
				runtime.GC()
				runtime.GC() // the second empties sync.Pool's victim cache
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				return float64(m.HeapInuse+m.StackInuse) / (1 << 20)
			}
			var held, after, goroutines float64
			for b.Loop() {
				before, g0 := inUse(), runtime.NumGoroutine()
				accepted := s.conns.Stats().Accepted
				conns := make([]net.Conn, 0, n)
				for range n {
					c, err := net.Dial("tcp", s.addr)
					if err != nil {
						b.Fatal(err)
					}
					io.WriteString(c, "GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
					conns = append(conns, c)
				}
				for s.conns.Stats().Accepted < accepted+n {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(200 * time.Millisecond) // let the server read what was sent
				held, goroutines = inUse()-before, float64(runtime.NumGoroutine()-g0)
				for _, c := range conns {
					c.Close()
				}
				for deadline := time.Now().Add(30 * time.Second); runtime.NumGoroutine() > g0+5 && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
				after = inUse() - before
			}
			b.ReportMetric(held, "MB-held")
			b.ReportMetric(goroutines, "goroutines-held")
			b.ReportMetric(after, "MB-after")
			b.ReportMetric(float64(s.conns.Stats().Peak), "peak-conns")
		})
	}
}

// TestHardeningSettingsStopStartup: each new setting out of range stops
// start-up with one line naming it.
func TestHardeningSettingsStopStartup(t *testing.T) {
	for _, name := range []string{"RATE_LIMIT_READS", "MAX_CONNECTIONS", "ANSWER_MAX_DURATION", "ANSWER_MAX_BYTES"} {
		t.Run(name, func(t *testing.T) {
			_, err := load(env(map[string]string{name: "0"}), Options{})
			if err == nil || !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line naming %s", err, name)
			}
		})
	}
}
