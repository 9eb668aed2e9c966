package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/smartdocs-go/smartdocs/app"
)

// A binary variant is a program built with `go build` and flooded as a
// process of its own: what users deploy, with its own runtime and server
// settings, beside bare chi built the same way. The other variants
// (servers.go) share the bench's process, its GOGC and its http.Server.
type binary struct {
	// pkg is what `go build` builds: smartdocs or barechi.
	pkg string
	// start gives the binary's arguments and environment for one run on
	// port; the environment is the whole of it (PATH and HOME aside), so
	// that a developer's REDIS_URL or .env cannot change what is measured.
	start func(d deps, port int) (args, env []string)
}

// What `go build` builds, by import path, so that the bench builds the
// same programs from whatever folder it runs in.
const (
	barechi   = "github.com/smartdocs-go/smartdocs/bench/barechi"
	smartdocs = "github.com/smartdocs-go/smartdocs"
)

// barechiRun is bare chi's binary (bench/barechi): -allowed on the
// allowed path; on the rejected one, with app429 the shipped app's 429
// (-response, the file prepareBinaries captured it to) and, when
// timeouts is not "", the app's server timeouts (-timeouts).
func barechiRun(app429 bool, timeouts string) func(d deps, port int) ([]string, []string) {
	return func(d deps, port int) ([]string, []string) {
		args := []string{"-port", strconv.Itoa(port)}
		if d.path == allowed {
			return append(args, "-allowed"), nil
		}
		if app429 {
			args = append(args, "-response", d.response)
		}
		if timeouts != "" {
			args = append(args, "-timeouts", timeouts)
		}
		return args, nil
	}
}

// appTimeouts is barechi's -timeouts for the app's own http.Server
// (app.NewHTTPServer): the one place they are written.
func appTimeouts() string {
	s := app.NewHTTPServer(nil)
	return fmt.Sprintf("%v,%v,%v,%v", s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
}

// smartdocsRun is the shipped binary with default settings, on the
// bench's Redis or not, and with RATE_LIMIT raised on the allowed path
// (appEnv), as the in-process app variants run.
func smartdocsRun(withRedis bool) func(d deps, port int) ([]string, []string) {
	return func(d deps, port int) ([]string, []string) {
		env := []string{"PORT=" + strconv.Itoa(port)}
		for k, v := range appEnv(d, withRedis) {
			env = append(env, k+"="+v)
		}
		return nil, env
	}
}

// prepareBinaries builds every binary the chosen variants run into dir,
// and captures the shipped app's 429 into a file for bare chi to answer
// with. It returns the built programs by package and the file.
func prepareBinaries(ctx context.Context, vs []variant, dir string) (built map[string]string, response string, err error) {
	built = map[string]string{}
	for _, v := range vs {
		if v.bin == nil || built[v.bin.pkg] != "" {
			continue
		}
		// The import path's last element: barechi, smartdocs.
		out := filepath.Join(dir, v.bin.pkg[strings.LastIndexByte(v.bin.pkg, '/')+1:])
		// Built as the Dockerfile builds it.
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, v.bin.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("go build %s: %v: %s", v.bin.pkg, err, b)
		}
		built[v.bin.pkg] = out
	}
	if len(built) == 0 {
		return built, "", nil
	}
	h, body, err := captured429(ctx)
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	if err := h.Write(&b); err != nil {
		return nil, "", err
	}
	b.WriteString("\r\n")
	b.Write(body)
	response = filepath.Join(dir, "app-429.http")
	return built, response, os.WriteFile(response, b.Bytes(), 0o644)
}

// measureBinary runs wrk once against a fresh process of variant v. The
// answers are counted by wrk (its non-2xx count on the rejected path are
// the 429s) and the CPU time is the process's own, from /proc.
func measureBinary(ctx context.Context, cfg config, wrk, script string, v variant, d deps, program, logFile string) (result, error) {
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	args, env := v.bin.start(d, port)
	logs, err := os.Create(logFile)
	if err != nil {
		return result{}, err
	}
	defer logs.Close()
	cmd := exec.Command(program, args...)
	// Its own folder, so that no .env of the developer's is read; and
	// killed with the bench, should the bench die without stopping it.
	cmd.Dir = filepath.Dir(logFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			return errors.New("did not stop within 30s of SIGTERM")
		}
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(ctx, addr, exited); err != nil {
		stop()
		b, _ := os.ReadFile(logFile)
		return result{}, fmt.Errorf("%s: %w\n%s", v.name, err, b)
	}
	cpuBefore, err := processCPUOf(cmd.Process.Pid)
	if err != nil {
		stop()
		return result{}, err
	}
	res, err := runWrk(ctx, wrk, script, "http://"+addr+"/chat", cfg)
	if err != nil {
		stop()
		return result{}, err
	}
	cpuAfter, err := processCPUOf(cmd.Process.Pid)
	if err == nil {
		// wrk counts answers only as 2xx or not: one more request, as
		// the script sends it, says which status the flood met.
		res.probe, err = probe(addr, d.path)
	}
	if err != nil {
		stop()
		return result{}, err
	}
	if err := stop(); err != nil && !isTerminated(err) {
		return result{}, fmt.Errorf("%s: %w", v.name, err)
	}
	res.serverCPU = cpuAfter - cpuBefore
	res.variant, res.path = v.name, d.path
	if d.path == allowed {
		res.ok, res.other = res.requests-res.non2xx, res.non2xx
	} else {
		res.ok, res.limited = res.requests-res.non2xx, res.non2xx
	}
	if v.whole {
		res.logBytes, res.logLines = countLines(logs, 0)
	}
	return res, nil
}

// isTerminated says err is a process's exit by the SIGTERM that stopped
// it (barechi does not catch it; smartdocs drains and exits 0).
func isTerminated(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return true
		}
	}
	return false
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// client gives up on a server that accepts and does not answer.
var client = &http.Client{Timeout: 2 * time.Second}

// probe sends one request as the path's wrk script does (on the allowed
// path from a new client) and returns the status it got.
func probe(addr string, p path) (int, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/chat", strings.NewReader(question))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "wrk")
	if p == allowed {
		req.Header.Set("X-Forwarded-For", "198.51.100.7")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	client.CloseIdleConnections()
	return resp.StatusCode, nil
}

// waitListening waits until addr answers HTTP, the process exits, or 20s
// pass.
func waitListening(ctx context.Context, addr string, exited <-chan error) error {
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before listening: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		// Any answer will do: bare chi has no GET route.
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return errors.New("not listening after 20s")
}

// processCPUOf is the CPU time, user and system, that process pid has
// used, from /proc/pid/stat (in clock ticks of 10ms).
func processCPUOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after it. utime and stime are fields 14 and 15 of the line.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
