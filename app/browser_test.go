package app

// Browser tests: the real page in Debian's Chromium, headless, driven by
// chromedp against the real app. They skip where Chromium is missing,
// unless REQUIRE_BROWSER=1 (as .ci/run sets), and write screenshots to
// testdata/artifacts/ (git-ignored) for a person to look at.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browserArtifacts is where screenshots go, relative to this package.
const browserArtifacts = "testdata/artifacts"

// browserWatch is injected into every page before its own scripts: it
// collects Content-Security-Policy violations and uncaught errors, which
// the tests require to stay empty.
const browserWatch = `window.__problems = [];
document.addEventListener('securitypolicyviolation', (e) => window.__problems.push('CSP ' + e.violatedDirective + ' blocked ' + e.blockedURI));
window.addEventListener('error', (e) => window.__problems.push('error ' + e.message));`

// browserSessions records the X-Session-ID of every request, by path.
type browserSessions struct {
	mu  sync.Mutex
	ids map[string][]string
}

func (s *browserSessions) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ids[r.URL.Path] = append(s.ids[r.URL.Path], r.Header.Get("X-Session-ID"))
		s.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func (s *browserSessions) of(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids[path]...)
}

// browserServer runs the real app with env behind an httptest server.
func browserServer(t *testing.T, env map[string]string) (*httptest.Server, *browserSessions) {
	t.Helper()
	cfg, err := load(func(k string) string { return env[k] }, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, Options{}, &syncLog{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	seen := &browserSessions{ids: map[string][]string{}}
	srv := httptest.NewServer(seen.wrap(a.handler))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		a.Close()
	})
	return srv, seen
}

// browser starts headless Chromium with a fresh profile and returns a tab
// that watches for CSP violations. The whole test gets two minutes.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/chromium"); serr == nil {
			path, err = "/usr/bin/chromium", nil
		}
	}
	if err != nil {
		if os.Getenv("REQUIRE_BROWSER") == "1" {
			t.Fatalf("chromium not found and REQUIRE_BROWSER=1: %v", err)
		}
		t.Skipf("skipping: chromium not found (apt-get install chromium, or set REQUIRE_BROWSER=1 to make this a failure): %v", err)
	}
	profile, err := os.MkdirTemp("", "smartdocs-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(profile),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1024, 800),
	)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancel()
		// Chromium's children may still write to the profile briefly.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browserWatch}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return tab
}

// browserDo runs steps, failing the test with what was being done.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// browserEval evaluates a JavaScript expression.
func browserEval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// browserWait waits until a JavaScript condition holds.
func browserWait(t *testing.T, ctx context.Context, what, cond string, timeout time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout))); err != nil {
		t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

func browserShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 gives PNG, less JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(browserArtifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(browserArtifacts, name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func browserNoProblems(t *testing.T, ctx context.Context) {
	t.Helper()
	if got := browserEval[[]string](t, ctx, `window.__problems || []`); len(got) != 0 {
		t.Errorf("the page reported problems: %q", got)
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const (
	browserStatus = `document.getElementById('status').textContent`
	// browserIdle: n answers shown, the last one finished, Send usable.
	browserIdle = `document.querySelectorAll('.message.assistant').length === %d && !document.getElementById('send').disabled && document.getElementById('messages').getAttribute('aria-busy') === 'false'`
)

func TestBrowserChat(t *testing.T) {
	ctx := browser(t)
	// A short window, so the countdown of the fourth question ends soon;
	// sliding-log makes "three in the window" exact.
	srv, seen := browserServer(t, map[string]string{"RATE_LIMIT": "3/10 seconds", "RATE_LIMIT_STRATEGY": "sliding-log"})

	browserDo(t, ctx, "load the page", chromedp.Navigate(srv.URL))
	browserWait(t, ctx, "the quota from /limits", browserStatus+` === '3 of 3 requests left'`, 10*time.Second)
	id := browserEval[string](t, ctx, `localStorage.getItem('smartdocs-session-id')`)
	if !uuidV4.MatchString(id) {
		t.Fatalf("session id %q is not a version 4 UUID", id)
	}
	browserDo(t, ctx, "reload", chromedp.Reload())
	browserWait(t, ctx, "the quota after the reload", browserStatus+` === '3 of 3 requests left'`, 10*time.Second)
	if again := browserEval[string](t, ctx, `localStorage.getItem('smartdocs-session-id')`); again != id {
		t.Fatalf("session id changed across a reload: %q, then %q", id, again)
	}

	// The first question by keyboard alone: type, then Enter.
	browserDo(t, ctx, "ask by keyboard",
		chromedp.Focus(chromedp.ID("question")),
		chromedp.SendKeys(chromedp.ID("question"), "How does rate limiting work?"),
		chromedp.KeyEvent(kb.Enter),
	)
	browserWait(t, ctx, "the first answer", strings.Replace(browserIdle, "%d", "1", 1), 20*time.Second)
	answer := browserEval[string](t, ctx, `document.querySelector('.message.assistant .answer').textContent`)
	sources := browserEval[int](t, ctx, `document.querySelectorAll('.message.assistant .sources li').length`)
	if len(strings.TrimSpace(answer)) < 20 || sources == 0 {
		t.Errorf("got answer %q with %d sources; want an answer and its sources", answer, sources)
	}
	if got := browserEval[string](t, ctx, browserStatus); got != "2 of 3 requests left" {
		t.Errorf("status after one question: got %q, want 2 of 3 requests left", got)
	}
	for _, path := range []string{"/limits", "/chat"} {
		ids := seen.of(path)
		if len(ids) == 0 {
			t.Errorf("no request to %s reached the server", path)
		}
		for _, got := range ids {
			if got != id {
				t.Errorf("%s carried X-Session-ID %q, want %q", path, got, id)
			}
		}
	}
	browserShot(t, ctx, "browser-answer.png")

	// Two more with the mouse, then the fourth is refused.
	for n := 2; n <= 4; n++ {
		browserDo(t, ctx, "ask by clicking",
			chromedp.SetValue(chromedp.ID("question"), "What is the per-IP ceiling?"),
			chromedp.Click(chromedp.ID("send")),
		)
		if n < 4 {
			browserWait(t, ctx, "an answer", strings.Replace(browserIdle, "%d", string(rune('0'+n)), 1), 20*time.Second)
		}
	}
	browserWait(t, ctx, "the countdown", `document.getElementById('countdown') !== null && document.getElementById('send').disabled`, 10*time.Second)
	if msg := browserEval[string](t, ctx, `document.querySelector('.message.assistant:last-child .error').textContent`); !strings.Contains(msg, "Rate limit exceeded") {
		t.Errorf("refusal shows %q, want the rate-limit message", msg)
	}
	browserShot(t, ctx, "browser-limited.png")
	browserWait(t, ctx, "the end of the countdown", `document.getElementById('countdown') === null && !document.getElementById('send').disabled`, 30*time.Second)
	if got := browserEval[string](t, ctx, browserStatus); got != "You can send again." {
		t.Errorf("status after the countdown: got %q", got)
	}

	// Keyboard users see where they are, and every control has a name.
	browserDo(t, ctx, "tab from the question", chromedp.Focus(chromedp.ID("question")), chromedp.KeyEvent(kb.Tab))
	focus := browserEval[map[string]any](t, ctx, `(() => { const a = document.activeElement; const s = getComputedStyle(a);
		return { id: a.id, visible: a.matches(':focus-visible'), outline: s.outlineStyle, width: s.outlineWidth }; })()`)
	if focus["id"] != "model" || focus["visible"] != true || focus["outline"] == "none" || focus["width"] == "0px" {
		t.Errorf("after Tab from the question: got %v, want #model with a visible focus outline", focus)
	}
	names := browserEval[map[string]any](t, ctx, `({
		question: document.getElementById('question').labels.length,
		model: document.getElementById('model').labels.length,
		send: document.getElementById('send').textContent.trim(),
		log: document.getElementById('messages').getAttribute('role'),
		status: document.getElementById('status').getAttribute('role'),
	})`)
	if names["question"] != 1.0 || names["model"] != 1.0 || names["send"] != "Send" || names["log"] != "log" || names["status"] != "status" {
		t.Errorf("accessible names and roles: got %v", names)
	}
	browserNoProblems(t, ctx)
}

func TestBrowserAdmin(t *testing.T) {
	ctx := browser(t)
	srv, _ := browserServer(t, map[string]string{"ADMIN_TOKEN": opsToken})
	for range 5 {
		resp, err := http.Post(srv.URL+"/chat", "application/json", strings.NewReader(`{"question": "What is Redis for?"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	browserDo(t, ctx, "open the admin page", chromedp.Navigate(srv.URL+"/admin/rate-limits"))
	browserDo(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("token"), opsToken),
		chromedp.KeyEvent(kb.Enter),
	)
	browserWait(t, ctx, "the chart", `document.querySelectorAll('#chart g').length === 60`, 10*time.Second)
	got := browserEval[map[string]any](t, ctx, `({
		allowed: [...document.querySelectorAll('#chart rect.allowed')].filter((r) => Number(r.getAttribute('height')) > 0).length,
		limited: [...document.querySelectorAll('#chart rect.limited')].filter((r) => Number(r.getAttribute('height')) > 0).length,
		summary: document.getElementById('summary').textContent,
	})`)
	if got["allowed"].(float64) < 1 || got["limited"].(float64) < 1 || !strings.Contains(got["summary"].(string), "Limited2") {
		t.Errorf("admin page: got %v, want bars for 3 allowed and 2 limited", got)
	}
	browserShot(t, ctx, "admin-rate-limits.png")
	browserNoProblems(t, ctx)
}
