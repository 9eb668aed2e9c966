package connlimit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// server serves on a limited loopback listener: /slow holds its request
// until release is closed (telling entered first), anything else answers
// "ok".
type server struct {
	l       *Listener
	addr    string
	entered chan struct{}
	release chan struct{}
}

func serve(t *testing.T, opts Options) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(ln, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{l: l, addr: ln.Addr().String(), entered: make(chan struct{}, 100), release: make(chan struct{})}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				s.entered <- struct{}{}
				<-s.release
			}
			io.WriteString(w, "ok")
		}),
		ConnState: l.ConnState,
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// get sends GET path on a connection of its own and returns the status.
func get(t *testing.T, addr, path string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// halfOpen opens n connections that send part of a request's headers
// and never the rest, as a slowloris does.
func halfOpen(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var cs []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: test\r\n")
		cs = append(cs, c)
	}
	return cs
}

func TestNewRefusesNoBound(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := New(ln, Options{}); err == nil {
		t.Error("got no error for Max 0, want one")
	}
}

// TestHalfOpenPastTheBound: 60 connections that never finish their
// headers, against a bound of 5, never hold more than 5 slots, and a
// real request is still answered: it takes the slot of the oldest one.
func TestHalfOpenPastTheBound(t *testing.T) {
	s := serve(t, Options{Max: 5})
	cs := halfOpen(t, s.addr, 60)
	if got := get(t, s.addr, "/"); got != http.StatusOK {
		t.Fatalf("got status %d with the bound full of half-open connections, want 200", got)
	}
	st := s.l.Stats()
	if st.Peak > 5 || st.Open > 5 {
		t.Errorf("got peak %d, open %d connections, want at most 5", st.Peak, st.Open)
	}
	if st.Evicted < 55 {
		t.Errorf("got %d evicted, want at least 55 (60 half-open, 5 slots)", st.Evicted)
	}
	// The evicted ones were closed, not left hanging: the oldest reads
	// EOF, or a reset when its bytes were still unread at the close.
	cs[0].SetReadDeadline(time.Now().Add(20 * time.Second))
	var timeout net.Error
	if n, err := cs[0].Read(make([]byte, 1)); err == nil || errors.As(err, &timeout) && timeout.Timeout() {
		t.Errorf("got %d, %v reading an evicted connection, want it closed", n, err)
	}
}

// TestBusyNeverEvicted: while every slot serves a request, a new
// connection waits Options.Wait, then gets a 503 and a close; the
// requests in progress finish untouched.
func TestBusyNeverEvicted(t *testing.T) {
	s := serve(t, Options{Max: 2, Wait: 10 * time.Millisecond})
	results := make(chan int, 2)
	for range 2 {
		go func() {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				results <- 0
				return
			}
			defer c.Close()
			io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results <- 0
				return
			}
			resp.Body.Close()
			results <- resp.StatusCode
		}()
	}
	<-s.entered
	<-s.entered
	if got := get(t, s.addr, "/"); got != http.StatusServiceUnavailable {
		t.Errorf("got status %d with every slot busy, want 503", got)
	}
	close(s.release)
	for range 2 {
		if got := <-results; got != http.StatusOK {
			t.Errorf("got status %d for a request in progress, want 200", got)
		}
	}
	st := s.l.Stats()
	if st.Refused != 1 || st.Evicted != 0 {
		t.Errorf("got %d refused, %d evicted, want 1 and 0", st.Refused, st.Evicted)
	}
	if got := get(t, s.addr, "/"); got != http.StatusOK {
		t.Errorf("got status %d once the slots were free, want 200", got)
	}
}

// TestBoundLoggedNotPerConnection: reaching the bound is logged once per
// LogEvery, with the counts since the last line, not once per connection.
func TestBoundLoggedNotPerConnection(t *testing.T) {
	var logs lockedBuffer
	var mu sync.Mutex
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := serve(t, Options{Max: 1, Wait: time.Millisecond, LogEvery: 10 * time.Second, Now: clock,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	go func() {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			return
		}
		defer c.Close()
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n")
		io.Copy(io.Discard, c)
	}()
	<-s.entered
	for range 4 {
		if got := get(t, s.addr, "/"); got != http.StatusServiceUnavailable {
			t.Fatalf("got status %d, want 503", got)
		}
	}
	if got := strings.Count(logs.String(), "connection limit reached"); got != 1 {
		t.Errorf("got %d log lines for 4 refusals within LogEvery, want 1:\n%s", got, logs.String())
	}
	mu.Lock()
	now = now.Add(11 * time.Second)
	mu.Unlock()
	get(t, s.addr, "/")
	out := logs.String()
	if got := strings.Count(out, "connection limit reached"); got != 2 {
		t.Fatalf("got %d log lines after LogEvery passed, want 2:\n%s", got, out)
	}
	if last := out[strings.LastIndex(out, "connection limit reached"):]; !strings.Contains(last, "refused=4") {
		t.Errorf("got %q, want the second line to count the 4 refusals since the first", last)
	}
	close(s.release)
}

// TestDrainedOncePerFlood: OnDrained is called once the connections fall
// to a quarter of Max after reaching it, once per flood, and not for
// traffic that never reached the bound.
func TestDrainedOncePerFlood(t *testing.T) {
	drained := make(chan struct{}, 10)
	s := serve(t, Options{Max: 8, OnDrained: func() { drained <- struct{}{} }})
	waitOpen := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); s.l.Stats().Open != want; {
			if time.Now().After(deadline) {
				t.Fatalf("got %d open, want %d", s.l.Stats().Open, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Below the bound: no call.
	few := halfOpen(t, s.addr, 4)
	waitOpen(4)
	for _, c := range few {
		c.Close()
	}
	waitOpen(0)
	if len(drained) != 0 {
		t.Fatalf("got %d calls without reaching the bound, want 0", len(drained))
	}
	for flood := 1; flood <= 2; flood++ {
		accepted := s.l.Stats().Accepted
		cs := halfOpen(t, s.addr, 20)
		for deadline := time.Now().Add(20 * time.Second); s.l.Stats().Accepted < accepted+20; {
			if time.Now().After(deadline) {
				t.Fatalf("got %d accepted, want %d", s.l.Stats().Accepted, accepted+20)
			}
			time.Sleep(5 * time.Millisecond)
		}
		waitOpen(8)
		for _, c := range cs {
			c.Close()
		}
		waitOpen(0)
		if len(drained) != flood {
			t.Fatalf("after flood %d: got %d calls, want %d", flood, len(drained), flood)
		}
	}
}
