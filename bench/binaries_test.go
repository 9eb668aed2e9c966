package main

import (
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBinaryVariants builds bare chi's and the smartdocs binary as the
// bench does, floods each rejected variant for a second with wrk, and
// checks what the report rests on: every binary answered its flood with
// 429s, its own CPU time was read, the app logged a bounded number of
// lines, and bare chi's binary answers with exactly the app's 429.
func TestBinaryVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries and floods them with wrk")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("REQUIRE_WRK") == "1" {
			t.Fatal("wrk not found and REQUIRE_WRK=1: apt-get install -y wrk")
		}
		t.Skip("skipping: wrk not found (apt-get install -y wrk, or set REQUIRE_WRK=1 to make this a failure)")
	}
	ctx := t.Context()
	var vs []variant
	for _, v := range variants {
		if v.bin != nil && !v.redis {
			vs = append(vs, v)
		}
	}
	dir := t.TempDir()
	programs, response, err := prepareBinaries(ctx, vs, dir)
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := writeScripts(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config{duration: time.Second, connections: 4, threads: 1}
	for _, p := range paths {
		for _, v := range vs {
			if v.rejectedOnly && p == allowed {
				continue
			}
			t.Run(string(p)+"/"+v.name, func(t *testing.T) {
				d := deps{path: p, response: response}
				res, err := measureBinary(ctx, cfg, wrk, scripts[p], v, d, programs[v.bin.pkg], filepath.Join(dir, v.name+"-"+string(p)+".log"))
				if err != nil {
					t.Fatal(err)
				}
				// check asks all but a handful of answers to be 429 (or
				// every one 200), and a request after the flood to get
				// the same.
				if c := res.check(); c != "ok" {
					t.Errorf("check = %q, want ok (%d answers, %d not 2xx)", c, res.requests, res.non2xx)
				}
				if res.probe == 0 || res.requests == 0 || res.serverCPU <= 0 {
					t.Errorf("got status %d after %d requests and %v of CPU, want all three", res.probe, res.requests, res.serverCPU)
				}
				if v.whole && p == rejected && (res.logLines == 0 || res.logLines > 40) {
					// Start-up lines and at most a summary: not a line per 429.
					t.Errorf("the app logged %d lines for %d refusals, want between 1 and 40", res.logLines, res.limited)
				}
			})
		}
	}

	// The 429 bare chi's binary answers with is the app's, header for
	// header, not only in the bench's own handler.
	want, body, err := captured429(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	// With a short header timeout, so that -timeouts shows too.
	args, _ := barechiRun(true, "300ms,1s,1s,1s")(deps{path: rejected, response: response}, port)
	cmd := exec.Command(programs[barechi], args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitListening(ctx, addr, exited); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/chat", "application/json", strings.NewReader(`{"question":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429", resp.StatusCode)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length = %d, want the app's %d", resp.ContentLength, len(body))
	}
	got := resp.Header.Clone()
	// Set by net/http for every answer, bare chi's and the app's alike;
	// the rate limit values move with the clock between two captures.
	for _, h := range []http.Header{got, want} {
		for _, name := range []string{"Date", "Content-Length", "Ratelimit", "Retry-After", "X-Ratelimit-Reset"} {
			h.Del(name)
		}
	}
	if g, w := slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)); !slices.Equal(g, w) {
		t.Errorf("headers = %v, want the app's %v", g, w)
	}
	for name, v := range want {
		if !slices.Equal(got[name], v) {
			t.Errorf("%s = %q, want the app's %q", name, got[name], v)
		}
	}

	// A client that never finishes its headers is let go after the
	// read-header timeout: bare chi with no -timeouts would wait for ever.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("POST /chat HTTP/1.1\r\nHost: x\r\n"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("a request whose headers never end: %v, want the server to close it after -timeouts' 300ms", err)
	}
}
