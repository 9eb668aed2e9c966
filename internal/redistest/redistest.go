// Package redistest starts real redis-server processes for tests.
//
// Each Server runs in its own temporary directory on a free loopback port
// and is stopped when its test ends. Where redis-server is not installed,
// tests that need it are skipped with a clear message, unless the
// environment says REQUIRE_REDIS=1, in which case they fail.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options configures a Server.
type Options struct {
	// AppendOnly turns on the append-only file, so that data survives a
	// restart.
	AppendOnly bool
}

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	opts Options
	dir  string
	Port int
	cmd  *exec.Cmd
	// pass keeps other tests' clients out: a port freed by Stop can be
	// taken by another test's server before Restart, and a client (or a
	// failover probe) must not mistake that server for this one.
	pass string
}

// Installed reports whether redis-server is on PATH. A test that shares
// one server among subtests that do not all need it checks this first, so
// that only the subtests that need Redis skip (through Start) when it is
// missing.
func Installed() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Start starts a redis-server for t and registers its shutdown.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("REQUIRE_REDIS") == "1" {
			t.Fatalf("redis-server not found and REQUIRE_REDIS=1: %v", err)
		}
		t.Skipf("skipping: redis-server not found (install redis-server, or set REQUIRE_REDIS=1 to make this a failure): %v", err)
	}
	_ = bin
	var b [16]byte
	rand.Read(b[:])
	s := &Server{t: t, opts: opts, dir: t.TempDir(), Port: freePort(t), pass: hex.EncodeToString(b[:])}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	s.t.Helper()
	args := []string{
		"--port", strconv.Itoa(s.Port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--daemonize", "no",
		"--enable-debug-command", "local", // DEBUG SLEEP makes a slow server
		"--requirepass", s.pass,
		"--logfile", filepath.Join(s.dir, "redis.log"),
	}
	if s.opts.AppendOnly {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			fmt.Fprintf(c, "AUTH %s\r\nPING\r\n", s.pass)
			br := bufio.NewReader(c)
			auth, err1 := br.ReadString('\n')
			line, err2 := br.ReadString('\n')
			c.Close()
			if err1 == nil && err2 == nil && auth == "+OK\r\n" && line == "+PONG\r\n" {
				return
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			s.t.Fatalf("redis-server on %s did not answer in 10s: %s", s.Addr(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is the server's redis:// URL, password included.
func (s *Server) URL() string { return "redis://:" + s.pass + "@" + s.Addr() + "/0" }

// Password is the server's password (AUTH).
func (s *Server) Password() string { return s.pass }

// Client returns a client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.pass, ContextTimeoutEnabled: true})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// Stop kills the server (SIGKILL: no chance to save) and waits for it.
// It does nothing when the server is not running.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Restart stops the server and starts it again on the same port and
// directory, so that an append-only file is read back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// Flush empties the server.
func (s *Server) Flush(ctx context.Context) {
	s.t.Helper()
	if err := s.Client().FlushAll(ctx).Err(); err != nil {
		s.t.Fatalf("flushall: %v", err)
	}
}
