package app

// Deploy tests: Docker cannot build here, so they test what the image
// would hold. The binary is built the way the Dockerfile builds it and run
// the way the image runs it (uid 1000, nothing writable, an empty working
// directory), and the deploy files are read to check that they agree on
// the port, the health path and the user with each other and with the
// code's defaults.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/smartdocs-go/smartdocs/config"
)

// deployHealth is the health path every platform is told to probe.
const deployHealth = "/health"

// dockerfile is what the tests need from the Dockerfile.
type dockerfile struct {
	build       []string // the go build command line, as words
	buildEnv    []string // its leading VAR=value words
	user        string   // USER
	port        string   // ENV PORT
	expose      string   // EXPOSE
	healthcheck string   // HEALTHCHECK ... CMD
	entrypoint  string   // ENTRYPOINT
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	// Join continued lines first.
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		instr, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "RUN":
			words := shellWords(rest)
			i := 0
			for i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
				i++
			}
			if len(words) > i+1 && words[i] == "go" && words[i+1] == "build" {
				d.buildEnv, d.build = words[:i], words[i:]
			}
		case "USER":
			d.user = rest
		case "ENV":
			for _, kv := range shellWords(rest) {
				if v, ok := strings.CutPrefix(kv, "PORT="); ok {
					d.port = v
				}
			}
		case "EXPOSE":
			d.expose = strings.TrimSuffix(rest, "/tcp")
		case "HEALTHCHECK":
			if _, cmd, ok := strings.Cut(rest, "CMD "); ok {
				d.healthcheck = strings.TrimSpace(cmd)
			}
		case "ENTRYPOINT":
			d.entrypoint = rest
		}
	}
	if d.build == nil {
		t.Fatal("Dockerfile: no RUN ... go build line")
	}
	return d
}

// shellWords splits a command line as sh would for the simple quoting a
// Dockerfile uses: double and single quotes group, and are removed.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// deployUID parses USER uid[:gid].
func deployUID(t *testing.T, user string) (uint32, uint32) {
	t.Helper()
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		t.Fatalf("Dockerfile USER %q: want a numeric uid (Spaces runs as 1000)", user)
	}
	gid := uid
	if hasGroup {
		if gid, err = strconv.ParseUint(g, 10, 32); err != nil {
			t.Fatalf("Dockerfile USER %q: want a numeric gid", user)
		}
	}
	return uint32(uid), uint32(gid)
}

// The binary the Dockerfile builds, run as the image runs it: as its
// USER, from an empty directory it cannot write to, with only PORT set.
// It must serve /health, pass its own -healthcheck and stop cleanly on
// SIGTERM.
func TestDeployBinaryRunsAsImageUser(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping in -short: builds the binary")
	}
	if os.Geteuid() != 0 {
		t.Skip("skipping: running as another uid needs root (CI runs as root)")
	}
	d := readDockerfile(t)
	uid, gid := deployUID(t, d.user)

	dir, err := os.MkdirTemp("", "smartdocs-deploy-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	binDir, work := filepath.Join(dir, "bin"), filepath.Join(dir, "work")
	for _, p := range []string{dir, binDir, work} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o555); err != nil && p != binDir {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(binDir, "smartdocs")
	args := append([]string(nil), d.build[1:]...)
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = bin
		}
	}
	// A go command stuck on a lock should fail this test, not the run.
	bctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(bctx, "go", args...)
	build.WaitDelay = 10 * time.Second
	build.Dir = ".." // the repository root, where the Dockerfile builds
	build.Env = append(os.Environ(), d.buildEnv...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(strings.Join(d.buildEnv, " "), "CGO_ENABLED=0") {
		t.Errorf("Dockerfile builds with %q, want CGO_ENABLED=0 for the distroless static image", d.buildEnv)
	}
	if err := os.Chmod(binDir, 0o555); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	env := []string{"PORT=" + strconv.Itoa(port), "HOME=/nonexistent"}
	cred := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	var logs bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = work, env, cred
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-exited
		}
	})

	url := fmt.Sprintf("http://127.0.0.1:%d%s", port, deployHealth)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			var body struct{ Status string }
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != 200 || body.Status != "healthy" {
				t.Fatalf("GET %s: got %d %+v, want 200 healthy", deployHealth, resp.StatusCode, body)
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the binary exited before serving: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on %s in 30s:\n%s", url, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(status); m == nil || string(m[1]) != strconv.Itoa(int(uid)) {
		t.Errorf("the server runs as uid %s, want %d", m[1], uid)
	}

	hc := exec.Command(bin, "-healthcheck")
	hc.Dir, hc.Env, hc.SysProcAttr = work, env, cred
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("%s -healthcheck (the image's HEALTHCHECK): %v\n%s", bin, err, out)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM")
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("the server left files in its working directory: %v", entries)
	}
}

func deployYAML(t *testing.T, path string, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

func deployRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// str renders a YAML or JSON scalar for comparison.
func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// The deploy files agree on the port, the health path and the user, with
// each other and with the code.
func TestDeployFilesAgree(t *testing.T) {
	port := strconv.Itoa(config.DefaultPort)
	d := readDockerfile(t)

	t.Run("Dockerfile", func(t *testing.T) {
		if d.port != port || d.expose != port {
			t.Errorf("ENV PORT=%s, EXPOSE %s; want both %s (config.DefaultPort)", d.port, d.expose, port)
		}
		if uid, _ := deployUID(t, d.user); uid != 1000 {
			t.Errorf("USER %s: want uid 1000, the uid Spaces runs containers as", d.user)
		}
		if d.healthcheck != `["/smartdocs", "-healthcheck"]` || d.entrypoint != `["/smartdocs"]` {
			t.Errorf("HEALTHCHECK CMD %s, ENTRYPOINT %s; want the binary's -healthcheck and the binary", d.healthcheck, d.entrypoint)
		}
		if !slicesContains(d.build, "/out/smartdocs") {
			t.Errorf("go build %q: want -o /out/smartdocs, which the final stage copies", d.build)
		}
	})

	space := deployYAML(t, "space.yaml", deployRead(t, "space.yaml"))
	t.Run("space.yaml", func(t *testing.T) {
		if str(space["sdk"]) != "docker" || str(space["app_port"]) != port {
			t.Errorf("sdk %v, app_port %v; want docker and %s", space["sdk"], space["app_port"], port)
		}
	})

	t.Run("README front matter", func(t *testing.T) {
		b, err := os.ReadFile("../README.md")
		if os.IsNotExist(err) {
			t.Skip("README.md does not exist yet: it must start with the keys of space.yaml between --- lines")
		}
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "\r\n", "\n")
		rest, ok := strings.CutPrefix(text, "---\n")
		front, _, closed := strings.Cut(rest, "\n---\n")
		if !ok || !closed {
			t.Fatal("README.md must start with YAML front matter between --- lines: Hugging Face Spaces reads its settings there")
		}
		fm := deployYAML(t, "README.md front matter", []byte(front))
		for k, want := range space {
			if str(fm[k]) != str(want) {
				t.Errorf("front matter %s: %v, space.yaml says %v", k, fm[k], want)
			}
		}
		for k := range fm {
			if _, ok := space[k]; !ok {
				t.Errorf("front matter has %s, space.yaml does not: keep the two in step", k)
			}
		}
	})

	t.Run("render.yaml", func(t *testing.T) {
		render := deployYAML(t, "render.yaml", deployRead(t, "render.yaml"))
		services, _ := render["services"].([]any)
		names := map[string]map[string]any{}
		var web map[string]any
		for _, s := range services {
			m, _ := s.(map[string]any)
			names[str(m["name"])] = m
			if m["type"] == "web" {
				web = m
			}
		}
		if web == nil {
			t.Fatal("no web service")
		}
		if str(web["runtime"]) != "docker" || str(web["healthCheckPath"]) != deployHealth {
			t.Errorf("web service runtime %v, healthCheckPath %v; want docker and %s", web["runtime"], web["healthCheckPath"], deployHealth)
		}
		if p := strings.TrimPrefix(str(web["dockerfilePath"]), "./"); p != "Dockerfile" {
			t.Errorf("dockerfilePath %v, want ./Dockerfile", web["dockerfilePath"])
		}
		envs, _ := web["envVars"].([]any)
		for _, e := range envs {
			m, _ := e.(map[string]any)
			switch str(m["key"]) {
			case "PORT":
				// Render routes to PORT; pinning it to another value
				// than the image's would split the two.
				if str(m["value"]) != port {
					t.Errorf("PORT %v, want %s or unset", m["value"], port)
				}
			case "REDIS_URL":
				from, _ := m["fromService"].(map[string]any)
				if kv := names[str(from["name"])]; kv == nil || str(kv["type"]) != "keyvalue" || str(from["property"]) != "connectionString" {
					t.Errorf("REDIS_URL comes from %v, want the connectionString of a keyvalue service in this file", from)
				}
			}
		}
	})

	t.Run("railway.json", func(t *testing.T) {
		var r struct {
			Build  struct{ Builder, DockerfilePath string }
			Deploy struct {
				HealthcheckPath string `json:"healthcheckPath"`
			}
		}
		if err := json.Unmarshal(deployRead(t, "railway.json"), &r); err != nil {
			t.Fatal(err)
		}
		if r.Build.Builder != "DOCKERFILE" || r.Build.DockerfilePath != "Dockerfile" || r.Deploy.HealthcheckPath != deployHealth {
			t.Errorf("got %+v; want the DOCKERFILE builder on Dockerfile and healthcheckPath %s", r, deployHealth)
		}
	})

	t.Run("docker-compose.yml", func(t *testing.T) {
		compose := deployYAML(t, "docker-compose.yml", deployRead(t, "docker-compose.yml"))
		services, _ := compose["services"].(map[string]any)
		for _, name := range []string{"app", "app1", "app2", "app3"} {
			svc, _ := services[name].(map[string]any)
			if svc == nil {
				t.Errorf("no service %s", name)
				continue
			}
			env, _ := svc["environment"].(map[string]any)
			if str(env["PORT"]) != port {
				t.Errorf("%s: PORT %v, want %s", name, env["PORT"], port)
			}
			if !strings.HasPrefix(str(env["REDIS_URL"]), "redis://redis:") {
				t.Errorf("%s: REDIS_URL %v, want the redis service", name, env["REDIS_URL"])
			}
			if u := str(svc["user"]); u != "" && !strings.HasPrefix(u, "1000") {
				t.Errorf("%s: user %s, want the image's 1000", name, u)
			}
			if name != "app" && !strings.Contains(fmt.Sprint(svc["profiles"]), "scale") {
				t.Errorf("%s: profiles %v, want scale", name, svc["profiles"])
			}
		}
		app, _ := services["app"].(map[string]any)
		if ports := fmt.Sprint(app["ports"]); !strings.Contains(ports, ":"+port) {
			t.Errorf("app ports %s: want the container's %s published", ports, port)
		}
		nginx := string(deployRead(t, "deploy/nginx.conf"))
		upstreams := regexp.MustCompile(`server\s+(app\d):(\d+);`).FindAllStringSubmatch(nginx, -1)
		if len(upstreams) != 3 {
			t.Errorf("nginx.conf: %d upstream servers, want app1..app3", len(upstreams))
		}
		for _, u := range upstreams {
			if u[2] != port {
				t.Errorf("nginx.conf: %s:%s, want port %s", u[1], u[2], port)
			}
		}
	})

	t.Run("health path is served", func(t *testing.T) {
		srv, _, _ := opsApp(t, nil)
		resp, err := http.Get(srv.URL + deployHealth)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: got %d, want 200", deployHealth, resp.StatusCode)
		}
	})
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
