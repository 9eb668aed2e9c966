package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// build is the smartdocs binary, built once for the package's tests.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// binary builds the program (CGO off, as the Dockerfile does) the first
// time a test asks for it.
func binary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		build.dir, build.err = os.MkdirTemp("", "smartdocs-e2e-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "smartdocs")
		cmd := exec.Command(goBin, "build", "-o", build.path, "..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// nginxBinary finds Debian's nginx or skips, unless REQUIRE_NGINX=1.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("REQUIRE_NGINX") == "1" {
		t.Fatal("nginx not found and REQUIRE_NGINX=1: apt-get install -y nginx")
	}
	t.Skip("skipping: nginx not found (apt-get install -y nginx, or set REQUIRE_NGINX=1 to make this a failure)")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// listening reports whether something accepts connections on addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitFor polls cond every 20ms until it holds or bound passes, and
// reports how long it took. Bounds are there so a broken build fails
// instead of hanging; tests never assert on the duration.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > bound {
			t.Fatalf("gave up after %v waiting for %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// app is one smartdocs process.
type app struct {
	t    *testing.T
	bin  string
	env  []string
	dir  string
	Port int
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // the exit error, once done is closed
	runs int
}

// startApp starts the binary with exactly the given environment (nothing
// of the test's own leaks in), in an empty directory so that no .env file
// is read. It listens on a port of its own choosing (PORT=0), read back
// from its log, so that tests of other packages running at the same time
// cannot take it in between.
func startApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	a := &app{t: t, bin: binary(t), dir: t.TempDir()}
	a.env = []string{"PATH=" + os.Getenv("PATH"), "LOG_FORMAT=text"}
	for k, v := range env {
		a.env = append(a.env, k+"="+v)
	}
	a.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of instance :%d's log:\n%s", a.Port, tail(a.log, 25))
		}
		a.stop()
	})
	return a
}

func (a *app) start() {
	a.t.Helper()
	a.runs++
	a.log = filepath.Join(a.dir, fmt.Sprintf("run%d.log", a.runs))
	f, err := os.Create(a.log)
	if err != nil {
		a.t.Fatal(err)
	}
	a.cmd = exec.Command(a.bin)
	a.cmd.Dir, a.cmd.Env = a.dir, append(a.env, "PORT="+strconv.Itoa(a.Port))
	a.cmd.Stdout, a.cmd.Stderr = f, f
	if err := a.cmd.Start(); err != nil {
		f.Close()
		a.t.Fatalf("start smartdocs: %v", err)
	}
	done := make(chan struct{})
	a.done = done
	go func() {
		a.err = a.cmd.Wait()
		f.Close()
		close(done)
	}()
	exitedEarly := func() {
		select {
		case <-done:
			a.t.Fatalf("instance exited at start: %v\n%s", a.err, tail(a.log, 20))
		default:
		}
	}
	waitFor(a.t, 15*time.Second, "the instance to log its address", func() bool {
		exitedEarly()
		b, _ := os.ReadFile(a.log)
		_, rest, ok := strings.Cut(string(b), "msg=listening addr=")
		if !ok {
			return false
		}
		addr, _, _ := strings.Cut(rest, " ")
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			a.t.Fatalf("instance logged address %q: %v", addr, err)
		}
		a.Port, _ = strconv.Atoi(port)
		return true
	})
	waitFor(a.t, 15*time.Second, "instance :"+strconv.Itoa(a.Port)+" to answer /health", func() bool {
		exitedEarly()
		_, err := a.health()
		return err == nil
	})
}

// restart starts the process again with the same environment on the same
// port, which nginx knows it by. (Another process could take the port in
// the moment it is free; none of ours asks for a fixed one.)
func (a *app) restart() { a.t.Helper(); a.start() }

// signal sends sig to the process by its PID.
func (a *app) signal(sig syscall.Signal) {
	if a.cmd != nil && a.cmd.Process != nil {
		a.cmd.Process.Signal(sig)
	}
}

// exited reports whether the process has ended.
func (a *app) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// wait waits, bounded, for the process to end and returns its exit error.
func (a *app) wait(bound time.Duration) error {
	select {
	case <-a.done:
		return a.err
	case <-time.After(bound):
		return fmt.Errorf("instance :%d still running after %v", a.Port, bound)
	}
}

// stop ends the process: SIGTERM, then SIGKILL if it does not drain.
func (a *app) stop() {
	if a.cmd == nil || a.exited() {
		return
	}
	a.signal(syscall.SIGTERM)
	if a.wait(10*time.Second) != nil && !a.exited() {
		a.cmd.Process.Kill()
		<-a.done
	}
}

func (a *app) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)) }
func (a *app) url() string  { return "http://" + a.addr() }

// health is GET /health's limiter object.
type health struct {
	Store string `json:"store"`
	Redis string `json:"redis"`
}

func (a *app) health() (health, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(a.url() + "/health")
	if err != nil {
		return health{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Limiter health `json:"limiter"`
	}
	if resp.StatusCode != http.StatusOK {
		return health{}, fmt.Errorf("GET /health: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return health{}, err
	}
	return body.Limiter, nil
}

// redisState is the instance's view of Redis ("ok" or "unreachable"), or
// the error that kept it from answering.
func (a *app) redisState() string {
	h, err := a.health()
	if err != nil {
		return "error: " + err.Error()
	}
	return h.Redis
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// nginx is Debian's nginx, round robin over the instances.
type nginx struct {
	dir       string
	Port      int
	cmd       *exec.Cmd
	accessLog string
}

const nginxConf = `
worker_processes 1;
{{user}}
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 2048; }
http {
  log_format e2e '$http_x_test_id|$status|$upstream_addr|$upstream_status';
  access_log {{dir}}/access.log e2e;
  client_body_temp_path {{dir}}/client_body;
  proxy_temp_path {{dir}}/proxy;
  fastcgi_temp_path {{dir}}/fastcgi;
  uwsgi_temp_path {{dir}}/uwsgi;
  scgi_temp_path {{dir}}/scgi;
  upstream smartdocs {
{{servers}}
  }
  server {
    listen 127.0.0.1:{{port}};
    location / {
      proxy_pass http://smartdocs;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
    }
  }
}
`

// startNginx starts nginx in the foreground with a generated
// configuration whose pid, logs and temp paths all live in a temp dir. Its
// port is picked free just before; should another process take it in
// between, it tries another.
func startNginx(t *testing.T, apps []*app) *nginx {
	t.Helper()
	for attempt := 1; ; attempt++ {
		n, err := tryNginx(t, apps)
		if err == nil {
			return n
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

func tryNginx(t *testing.T, apps []*app) (*nginx, error) {
	t.Helper()
	bin := nginxBinary(t)
	n := &nginx{dir: t.TempDir(), Port: freePort(t)}
	n.accessLog = filepath.Join(n.dir, "access.log")
	errorLog := filepath.Join(n.dir, "error.log")
	var servers strings.Builder
	for _, a := range apps {
		fmt.Fprintf(&servers, "    server %s;\n", a.addr())
	}
	user := ""
	if os.Getuid() == 0 {
		// Workers would drop to nobody, who cannot enter the test's
		// private temp dir.
		user = "user root;"
	}
	conf := strings.NewReplacer("{{dir}}", n.dir, "{{user}}", user, "{{servers}}", servers.String(), "{{port}}", strconv.Itoa(n.Port)).Replace(nginxConf)
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "-c", confPath, "-p", n.dir, "-e", errorLog, "-g", "daemon off;")
	out := &bytes.Buffer{}
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan struct{})
	go func() { n.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nginx error log:\n%s", tail(errorLog, 20))
		}
		// SIGQUIT: graceful shutdown of the master and its workers.
		n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-done
		}
	})
	var exited error
	waitFor(t, 10*time.Second, "nginx to listen", func() bool {
		select {
		case <-done:
			exited = fmt.Errorf("nginx exited at start: %s\n%s", out, tail(errorLog, 20))
			return true
		default:
		}
		return listening(n.addr())
	})
	return n, exited
}

func (n *nginx) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }
func (n *nginx) url() string  { return "http://" + n.addr() }

// waitLogged waits until nginx has logged n requests whose X-Test-Id
// starts with prefix: it writes a line when it finalizes a request, which
// may be just after the client has read the answer.
func (n *nginx) waitLogged(t *testing.T, prefix string, want int) map[string]logged {
	t.Helper()
	var logs map[string]logged
	waitFor(t, 10*time.Second, fmt.Sprintf("nginx to log %d requests %s*", want, prefix), func() bool {
		logs = n.accessLogFor(t, prefix)
		return len(logs) >= want
	})
	return logs
}

// logged is one request as nginx's access log saw it.
type logged struct {
	status   int
	upstream string // the last upstream tried
	tries    int
}

// accessLogFor returns the logged requests whose X-Test-Id starts with
// prefix, by id.
func (n *nginx) accessLogFor(t *testing.T, prefix string) map[string]logged {
	t.Helper()
	b, err := os.ReadFile(n.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]logged{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, "|")
		if len(f) != 4 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		st, _ := strconv.Atoi(f[1])
		ups := strings.Split(f[2], ", ")
		out[f[0]] = logged{status: st, upstream: ups[len(ups)-1], tries: len(ups)}
	}
	return out
}

// client is one visitor: its own loopback address (127.0.x.y), its own
// User-Agent, its own connections. Instances key clients by address and
// User-Agent, so every client has its own quota.
type client struct {
	ip string
	ua string
	hc *http.Client
}

var nextClient atomic.Int64

func newClient(t *testing.T) *client {
	t.Helper()
	n := nextClient.Add(1)
	if n > 250*250 {
		t.Fatal("out of loopback client addresses")
	}
	ip := fmt.Sprintf("127.0.%d.%d", n/250, n%250+2)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}
	t.Cleanup(tr.CloseIdleConnections)
	return &client{ip: ip, ua: "e2e-client-" + strconv.FormatInt(n, 10), hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// answer is what one request got: a status, or a transport error.
type answer struct {
	id     string
	status int
	err    error
	took   time.Duration
}

const question = `{"question":"How does the rate limiter work?"}`

// chat sends POST /chat to base, tagged with id for nginx's access log,
// and reads the whole answer.
func (c *client) chat(base, id string) answer {
	start := time.Now()
	req, err := http.NewRequest(http.MethodPost, base+"/chat", strings.NewReader(question))
	if err != nil {
		return answer{id: id, err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("X-Test-Id", id)
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{id: id, err: err, took: time.Since(start)}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return answer{id: id, status: resp.StatusCode, err: err, took: time.Since(start)}
}

// burst sends n requests from c at once and returns every answer.
func (c *client) burst(base, prefix string, n int) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = c.chat(base, fmt.Sprintf("%s-%d", prefix, i))
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// tally counts answers by status; transport errors count under 0.
func tally(as []answer) map[int]int {
	m := map[int]int{}
	for _, a := range as {
		if a.err != nil {
			m[0]++
			continue
		}
		m[a.status]++
	}
	return m
}

// checkAnswered fails for every answer that is neither 200 nor 429.
func checkAnswered(t *testing.T, what string, as []answer) {
	t.Helper()
	bad := 0
	for _, a := range as {
		if a.err == nil && (a.status == http.StatusOK || a.status == http.StatusTooManyRequests) {
			continue
		}
		if bad++; bad <= 5 {
			t.Errorf("%s: request %s got status %d, err %v; want 200 or 429", what, a.id, a.status, a.err)
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d requests in all were not answered with 200 or 429", what, bad)
	}
}

// p99 is the 99th percentile of the answers' latencies.
func p99(as []answer) time.Duration {
	ds := make([]time.Duration, 0, len(as))
	for _, a := range as {
		ds = append(ds, a.took)
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)*99+99)/100-1]
}

// load is background traffic: clients sending one request after another
// until stopped.
type load struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	answers []answer
}

func startLoad(t *testing.T, base, prefix string, clients int) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	for i := range clients {
		c := newClient(t)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := 0; ; n++ {
				select {
				case <-l.stop:
					return
				default:
				}
				a := c.chat(base, fmt.Sprintf("%s-%d-%d", prefix, i, n))
				l.mu.Lock()
				l.answers = append(l.answers, a)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answers)
}

// end stops the load and returns every answer.
func (l *load) end() []answer {
	close(l.stop)
	l.wg.Wait()
	return l.answers
}

// pending is a request sent straight to an instance whose body is still
// one byte short, so the instance has decided it (the limiter runs on the
// headers) and its handler is waiting for the rest.
type pending struct {
	conn net.Conn
	rd   *bufio.Reader
	last []byte
}

func (c *client) startPending(t *testing.T, addr string) *pending {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(c.ip)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	head := fmt.Sprintf("POST /chat HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", addr, c.ua, len(question))
	if _, err := io.WriteString(conn, head+question[:len(question)-1]); err != nil {
		t.Fatalf("write to %s: %v", addr, err)
	}
	return &pending{conn: conn, rd: bufio.NewReader(conn), last: []byte(question[len(question)-1:])}
}

// finish sends the last byte and reads the whole answer: its status and
// the last line of its NDJSON stream.
func (p *pending) finish() (status int, lastLine string, err error) {
	p.conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := p.conn.Write(p.last); err != nil {
		return 0, "", err
	}
	resp, err := http.ReadResponse(p.rd, nil)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	return resp.StatusCode, lines[len(lines)-1], nil
}

// slowProxy forwards loopback connections to target and, while its
// delay is set, holds every chunk from the client for that long first:
// a Redis that answers, but too late.
type slowProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startSlowProxy(t *testing.T, target string) *slowProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &slowProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *slowProxy) addr() string { return p.ln.Addr().String() }

func (p *slowProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *slowProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			defer u.Close()
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if d := time.Duration(p.delay.Load()); d > 0 {
						time.Sleep(d)
					}
					if _, werr := u.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
		go func() {
			defer p.wg.Done()
			defer c.Close()
			io.Copy(c, u)
		}()
	}
}

func (p *slowProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// perUpstream counts, for the logged requests, answers by status per
// upstream address.
func perUpstream(logs map[string]logged) map[string]map[int]int {
	out := map[string]map[int]int{}
	for _, l := range logs {
		if out[l.upstream] == nil {
			out[l.upstream] = map[int]int{}
		}
		out[l.upstream][l.status]++
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
