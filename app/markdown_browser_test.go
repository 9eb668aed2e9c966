package app

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/smartdocs-go/smartdocs/internal/llmtest"
	"github.com/smartdocs-go/smartdocs/static"
)

// markdownDoc is a document whose sections the docs engine answers with
// in their own Markdown: one carries HTML that must stay text, one a
// table, one a code block.
const markdownDoc = "# Widgets\n\n" +
	"Widgets are the small parts this guide describes.\n\n" +
	"## Widget colours\n\n" +
	"Widgets come in red and blue. A widget's colour is set with `WIDGET_COLOUR`, and a label may carry markup such as " +
	`<img src=x onerror="window.__pwned = 1; document.title = 'pwned'"> or <script>window.__pwned = 2; document.title = 'pwned'</script>` +
	", which is shown as written.\n\n" +
	"## Widget sizes\n\n" +
	"Which sizes are there? The sizes are these:\n\n" +
	"| Size | Width | Notes |\n" +
	"|:-----|------:|:-----:|\n" +
	"| small | 10 | for `desks` |\n" +
	"| large | 40 | for **floors** |\n\n" +
	"## Installing a widget\n\n" +
	"To install a widget, run:\n\n" +
	"```sh\nwidget install --colour red\n```\n"

// markdownLLMHead and markdownLLMTail are the fake provider's answer: the
// head, then, once the test has seen the head rendered mid-stream, the
// tail one word at a time.
const (
	markdownLLMHead = "Here is **the answer** with `inline code`.\n\n" +
		"| Size | Width |\n|:-----|------:|\n| small | 10 |\n"
	markdownLLMTail = "| large | 40 |\n\n" +
		"- first item\n- second item\n\n" +
		"1. one\n2. two\n\n" +
		"```go\nfmt.Println(\"hi\")\n```\n\n" +
		"See [the docs](https://example.com/docs) or [this](javascript:window.__pwned=3). " +
		`Also <img src=x onerror="window.__pwned = 4; document.title = 'pwned'"> and <script>window.__pwned = 5</script> stay text.` + "\n"
)

// answerJS describes the last answer on the page: what it shows as text,
// which elements it has, and whether anything in it ran.
const answerJS = `(() => {
	const a = [...document.querySelectorAll('.message.assistant .answer')].pop();
	const texts = (sel) => [...a.querySelectorAll(sel)].map((e) => e.textContent);
	return {
		text: a.textContent,
		html: a.querySelectorAll('img, script, iframe, [onerror], [onclick]').length,
		tables: a.querySelectorAll('table').length,
		rows: a.querySelectorAll('table tbody tr').length,
		heads: [...a.querySelectorAll('table th')].map((e) => e.textContent + '/' + e.className),
		pre: texts('pre > code'),
		preClass: [...a.querySelectorAll('pre > code')].map((e) => e.className),
		code: texts(':not(pre) > code'),
		strong: texts('strong'),
		ul: a.querySelectorAll('ul > li').length,
		ol: a.querySelectorAll('ol > li').length,
		links: [...a.querySelectorAll('a')].map((e) => e.getAttribute('href') + ' rel=' + e.rel + ' target=' + e.target),
		pwned: window.__pwned === undefined ? '' : String(window.__pwned),
		title: document.title,
	};
})()`

// answerView is what answerJS returns.
type answerView struct {
	Text     string   `json:"text"`
	HTML     int      `json:"html"` // img, script, iframe or inline handlers inside the answer
	Tables   int      `json:"tables"`
	Rows     int      `json:"rows"`
	Heads    []string `json:"heads"` // "text/class" of each th
	Pre      []string `json:"pre"`
	PreClass []string `json:"preClass"`
	Code     []string `json:"code"` // inline code
	Strong   []string `json:"strong"`
	UL       int      `json:"ul"`
	OL       int      `json:"ol"`
	Links    []string `json:"links"`
	Pwned    string   `json:"pwned"`
	Title    string   `json:"title"`
}

// TestBrowserMarkdownAnswers asks the real app in Chromium, through the
// docs engine and through a language-model engine backed by the fake
// provider: answers render as Markdown (tables, code, lists, links) while
// they stream, and HTML from a document or a model shows as text and
// never runs.
func TestBrowserMarkdownAnswers(t *testing.T) {
	ctx := browser(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "widgets.md"), []byte(markdownDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	p := newLLMProvider(t, func(w http.ResponseWriter, r *http.Request) {
		llmtest.SSE(w, llmtest.Chunk(markdownLLMHead, ""))
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		var data []string
		for _, word := range strings.SplitAfter(markdownLLMTail, " ") {
			data = append(data, llmtest.Chunk(word, ""))
		}
		llmtest.SSE(w, append(data, llmtest.Chunk("", "stop"), "[DONE]")...)
	})
	srv, _ := browserServer(t, p.llmEnv("DOCS_DIR", dir, "RATE_LIMIT", "100/minute"))
	t.Cleanup(unblock) // after the server's cleanup is registered, so it runs first and no request is left waiting
	browserDo(t, ctx, "load the page", chromedp.Navigate(srv.URL))
	browserWait(t, ctx, "the models", `[...document.getElementById('model').options].some((o) => o.value === 'llm' && !o.disabled)`, 10*time.Second)

	n := 0
	ask := func(model, question string) answerView {
		t.Helper()
		n++
		browserDo(t, ctx, "ask "+question,
			chromedp.SetValue(chromedp.ID("model"), model),
			chromedp.SetValue(chromedp.ID("question"), question),
			chromedp.Click(chromedp.ID("send")),
		)
		browserWait(t, ctx, "the answer to "+question, strings.Replace(browserIdle, "%d", strconv.Itoa(n), 1), 20*time.Second)
		return browserEval[answerView](t, ctx, answerJS)
	}
	safe := func(t *testing.T, got answerView, markup ...string) {
		t.Helper()
		if got.HTML != 0 || got.Pwned != "" || got.Title != "SmartDocs" {
			t.Errorf("HTML in the answer became elements or ran: %d elements, window.__pwned=%q, title %q", got.HTML, got.Pwned, got.Title)
		}
		for _, m := range markup {
			if !strings.Contains(got.Text, m) {
				t.Errorf("the answer shows %q, want it to show %q as text", got.Text, m)
			}
		}
	}

	t.Run("docs engine, HTML in a document", func(t *testing.T) {
		got := ask("docs", "what colours do widgets come in")
		safe(t, got,
			`<img src=x onerror="window.__pwned = 1; document.title = 'pwned'">`,
			`<script>window.__pwned = 2; document.title = 'pwned'</script>`)
		if strings.Join(got.Code, "|") != "WIDGET_COLOUR" {
			t.Errorf("inline code: got %q, want [WIDGET_COLOUR]", got.Code)
		}
	})

	t.Run("docs engine, a table", func(t *testing.T) {
		got := ask("docs", "which widget sizes are there")
		want := "Size/align-left|Width/align-right|Notes/align-center"
		if got.Tables != 1 || got.Rows != 2 || strings.Join(got.Heads, "|") != want {
			t.Errorf("got %d tables, %d rows, heads %q; want 1 table, 2 rows, heads %s", got.Tables, got.Rows, got.Heads, want)
		}
		if strings.Join(got.Code, "|") != "desks" || strings.Join(got.Strong, "|") != "floors" {
			t.Errorf("cells: got code %q and strong %q, want desks and floors", got.Code, got.Strong)
		}
		if strings.Contains(got.Text, "|") {
			t.Errorf("the table's pipes show: %q", got.Text)
		}
	})

	t.Run("docs engine, a code block", func(t *testing.T) {
		got := ask("docs", "how do I install a widget")
		if strings.Join(got.Pre, "|") != "widget install --colour red" || strings.Join(got.PreClass, "|") != "language-sh" {
			t.Errorf("got code blocks %q with classes %q, want one language-sh block", got.Pre, got.PreClass)
		}
		if strings.Contains(got.Text, "```") {
			t.Errorf("the fence shows: %q", got.Text)
		}
	})

	t.Run("language model, while it streams and after", func(t *testing.T) {
		n++
		browserDo(t, ctx, "ask the model",
			chromedp.SetValue(chromedp.ID("model"), "llm"),
			chromedp.SetValue(chromedp.ID("question"), "how do I install a widget"),
			chromedp.Click(chromedp.ID("send")),
		)
		// The head has arrived and the answer is not finished: it is
		// already Markdown.
		browserWait(t, ctx, "the head of the answer, rendered",
			`document.querySelectorAll('.message.assistant').length === `+strconv.Itoa(n)+
				` && document.getElementById('messages').getAttribute('aria-busy') === 'true'`+
				` && [...document.querySelectorAll('.message.assistant .answer')].pop().querySelector('table tbody tr') !== null`, 20*time.Second)
		mid := browserEval[answerView](t, ctx, answerJS)
		if mid.Rows != 1 || strings.Join(mid.Strong, "|") != "the answer" || strings.Contains(mid.Text, "**") {
			t.Errorf("mid-stream: got %d rows, strong %q, text %q; want the head rendered", mid.Rows, mid.Strong, mid.Text)
		}
		unblock()
		browserWait(t, ctx, "the whole answer", strings.Replace(browserIdle, "%d", strconv.Itoa(n), 1), 20*time.Second)
		got := browserEval[answerView](t, ctx, answerJS)

		safe(t, got, `<img src=x onerror="window.__pwned = 4; document.title = 'pwned'">`, `<script>window.__pwned = 5</script>`, "or this.")
		checks := []struct {
			what      string
			got, want any
		}{
			{"tables", got.Tables, 1},
			{"table rows", got.Rows, 2},
			{"bullet items", got.UL, 2},
			{"numbered items", got.OL, 2},
			{"inline code", strings.Join(got.Code, "|"), "inline code"},
			{"code blocks", strings.Join(got.Pre, "|"), `fmt.Println("hi")`},
			{"code block classes", strings.Join(got.PreClass, "|"), "language-go"},
			// The javascript: link is its text alone, not a link.
			{"links", strings.Join(got.Links, "|"), "https://example.com/docs rel=noopener noreferrer target=_blank"},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
			}
		}
		browserShot(t, ctx, "browser-markdown.png")

		// The history sent with the question holds the earlier answers'
		// Markdown, not the text of their rendering.
		reqs := p.Requests()
		if len(reqs) != 1 {
			t.Fatalf("the provider got %d requests, want 1", len(reqs))
		}
		var sent string
		for _, m := range reqs[0].Messages {
			if m.Role == "assistant" {
				sent += m.Content + "\n"
			}
		}
		if !strings.Contains(sent, "|:-----|------:|:-----:|") || !strings.Contains(sent, "```sh") {
			t.Errorf("history sent to the model: got %q, want the answers' Markdown", sent)
		}
	})
	browserNoProblems(t, ctx)
}

// markdownBenchJS streams an answer (%s, a JSON string) word by word into
// a detached container three ways, each chunk rendered at once (the page
// itself renders at most once per frame): as plain text appended, as
// Markdown rebuilt whole, and as Markdown through View, which keeps the
// blocks that did not change. It returns milliseconds per answer.
const markdownBenchJS = `(async () => {
	const { View, render } = await import('/static/markdown.js');
	const chunks = %s.split(/(?<=\s)(?=\S)/);
	const box = document.createElement('div');
	document.body.append(box);
	const time = (f) => { box.replaceChildren(); const t0 = performance.now(); f(); box.offsetHeight; return performance.now() - t0; };
	const r = {
		plain: time(() => { for (const c of chunks) box.append(c); }),
		whole: time(() => { let s = ''; for (const c of chunks) { s += c; box.replaceChildren(...render(s)); } }),
		view: time(() => { const v = new View(box); let s = ''; for (const c of chunks) { s += c; v.set(s); } }),
	};
	box.remove();
	return r;
})()`

// BenchmarkBrowserMarkdown measures, in Chromium, what rendering an
// answer as Markdown while it streams costs beside showing it as plain
// text: a typical answer (the first 2 KB of docs/rate-limiting.md) and a
// whole document as one long answer (docs/configuration.md, 12 KB).
//
//	go test -run '^$' -bench BrowserMarkdown -benchtime 5x ./app/
func BenchmarkBrowserMarkdown(b *testing.B) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		b.Skipf("skipping: chromium not found: %v", err)
	}
	srv := httptest.NewServer(http.StripPrefix("/static/", http.FileServerFS(static.FS)))
	defer srv.Close()
	ctx, cancel := chromedp.NewExecAllocator(b.Context(), chromedp.ExecPath(path), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(b.TempDir()), chromedp.NoFirstRun)
	defer cancel()
	tab, cancelTab := chromedp.NewContext(ctx)
	defer cancelTab()
	if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/static/index.html")); err != nil {
		b.Fatal(err)
	}
	rate, err := os.ReadFile("../docs/rate-limiting.md")
	if err != nil {
		b.Fatal(err)
	}
	config, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		answer string
	}{
		{"2KB", strings.ToValidUTF8(string(rate[:2048]), "")},
		{"12KB", string(config)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			quoted, _ := json.Marshal(tt.answer)
			js := fmt.Sprintf(markdownBenchJS, quoted)
			var plain, whole, view float64
			for b.Loop() {
				got, err := chromedp.Run(tab, chromedp.Evaluate[map[string]float64](js, chromedp.EvalAwaitPromise))
				if err != nil {
					b.Fatal(err)
				}
				plain += got["plain"]
				whole += got["whole"]
				view += got["view"]
			}
			n := float64(b.N)
			b.ReportMetric(plain/n, "plain-ms/answer")
			b.ReportMetric(whole/n, "whole-ms/answer")
			b.ReportMetric(view/n, "view-ms/answer")
			b.ReportMetric(view/plain, "view/plain")
			b.ReportMetric(view/whole, "view/whole")
		})
	}
}
