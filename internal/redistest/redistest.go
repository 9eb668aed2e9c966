// Package redistest starts real redis-server processes for tests (and,
// through Launch, for the load benchmark): a single Server, a three-master
// Cluster (StartCluster) and a master, replica and three sentinels
// (StartSentinel).
//
// Each process runs in its own temporary directory on a free loopback
// port and is stopped, by its PID, when its test ends. Where redis-server is not installed,
// tests that need it are skipped with a clear message, unless the
// environment says REQUIRE_REDIS=1, in which case they fail.
package redistest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
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
	// TLS makes the server speak TLS only, with a certificate of a CA
	// made for the test: URL is rediss://, and TLS is the client
	// configuration that trusts the CA.
	TLS bool
}

// Server is a redis-server process owned by one test.
type Server struct {
	t    testing.TB
	opts Options
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	// args are added to every start: a cluster node's settings.
	args []string
	// tls, when set, makes the server speak TLS only, on Port, with a
	// certificate of the test's own CA.
	tls *tlsFiles
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
	bin := need(t, "redis-server")
	if opts.TLS {
		return startTLS(t, bin, opts, newPassword(), newTLSFiles(t))
	}
	return start(t, bin, opts, newPassword())
}

// start starts a server that requires pass, with args added to its
// command line.
func start(t testing.TB, bin string, opts Options, pass string, args ...string) *Server {
	t.Helper()
	return startTLS(t, bin, opts, pass, nil, args...)
}

// startTLS is start for a server that speaks TLS only, with tf's
// certificate, when tf is not nil.
func startTLS(t testing.TB, bin string, opts Options, pass string, tf *tlsFiles, args ...string) *Server {
	t.Helper()
	s := &Server{t: t, opts: opts, bin: bin, dir: t.TempDir(), Port: freePort(t), pass: pass, args: args, tls: tf}
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// need looks up a program the test cannot do without: it skips the test
// when the program is missing, or fails it under REQUIRE_REDIS=1.
func need(t testing.TB, prog string) string {
	t.Helper()
	bin, err := exec.LookPath(prog)
	if err != nil {
		if os.Getenv("REQUIRE_REDIS") == "1" {
			t.Fatalf("%s not found and REQUIRE_REDIS=1: %v", prog, err)
		}
		t.Skipf("skipping: %s not found (install redis-server, or set REQUIRE_REDIS=1 to make this a failure): %v", prog, err)
	}
	return bin
}

func newPassword() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
	extra := []string{"--enable-debug-command", "local"} // DEBUG SLEEP makes a slow server
	if s.opts.AppendOnly {
		extra = append(extra, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		extra = append(extra, "--appendonly", "no")
	}
	logfile := filepath.Join(s.dir, "redis.log")
	args := append(serverArgs(s.Port, s.dir, logfile, s.pass), extra...)
	args = append(args, s.args...)
	var client *tls.Config
	if s.tls != nil {
		client = s.tls.client
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(s.Port),
			"--tls-cert-file", s.tls.cert, "--tls-key-file", s.tls.key, "--tls-ca-cert-file", s.tls.ca,
			"--tls-auth-clients", "no", "--tls-cluster", "yes", "--tls-replication", "yes")
	}
	cmd, err := launch(s.bin, s.Port, logfile, s.pass, client, args)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd = cmd
}

// Launch starts bin (a redis-server) on 127.0.0.1:port, working in dir
// with its log there and nothing saved unless extra says so, requiring
// pass when it is not empty, and waits up to 10s until it answers PING.
// The caller owns the process: it kills and waits for it. Start uses it,
// and so does a command that measures against a real server.
func Launch(bin string, port int, dir, pass string, extra ...string) (*exec.Cmd, error) {
	logfile := filepath.Join(dir, "redis.log")
	return launch(bin, port, logfile, pass, nil, append(serverArgs(port, dir, logfile, pass), extra...))
}

func serverArgs(port int, dir, logfile, pass string) []string {
	args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--daemonize", "no", "--logfile", logfile}
	if pass != "" {
		args = append(args, "--requirepass", pass)
	}
	return args
}

// launch runs bin with args and waits up to 10s until 127.0.0.1:port
// answers PING (after AUTH pass, when pass is not empty), over TLS with
// tlsConf when it is not nil.
func launch(bin string, port int, logfile, pass string, tlsConf *tls.Config, args []string) (*exec.Cmd, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	// Raw RESP, so that waiting needs no client: AUTH (when required)
	// and PING must both answer.
	hello, want := "PING\r\n", "+PONG\r\n"
	if pass != "" {
		hello, want = "AUTH "+pass+"\r\n"+hello, "+OK\r\n"+want
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var c net.Conn
		var err error
		d := &net.Dialer{Timeout: 200 * time.Millisecond}
		if tlsConf != nil {
			c, err = tls.DialWithDialer(d, "tcp", addr, tlsConf)
		} else {
			c, err = d.Dial("tcp", addr)
		}
		if err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			io.WriteString(c, hello)
			got := make([]byte, len(want))
			_, err := io.ReadFull(c, got)
			c.Close()
			if err == nil && string(got) == want {
				return cmd, nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			log, _ := os.ReadFile(logfile)
			return nil, fmt.Errorf("redis-server on %s did not answer in 10s: %s", addr, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// URL is the server's redis:// URL (rediss:// over TLS), password included.
func (s *Server) URL() string {
	if s.tls != nil {
		return "rediss://:" + s.pass + "@" + s.Addr() + "/0"
	}
	return "redis://:" + s.pass + "@" + s.Addr() + "/0"
}

// TLS is the client configuration that reaches a TLS server (trusting
// the test's CA), nil for a plain one.
func (s *Server) TLS() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.client
}

// Password is the server's password (AUTH).
func (s *Server) Password() string { return s.pass }

// Client returns a client for the server, closed when the test ends.
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.pass, TLSConfig: s.TLS(), ContextTimeoutEnabled: true})
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
