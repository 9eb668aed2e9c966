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

// renderJS renders Markdown (%s, a JSON string) with static/markdown.js
// in the page and returns the HTML of the nodes it built.
const renderJS = `import('/static/markdown.js').then((m) => {
	const box = document.createElement('div');
	box.append(...m.render(%s));
	return box.innerHTML;
})`

// TestBrowserMarkdownRender runs the page's renderer in Chromium on each
// construct it supports, and on HTML and links that must not become live.
func TestBrowserMarkdownRender(t *testing.T) {
	ctx := browser(t)
	srv, _ := browserServer(t, nil)
	browserDo(t, ctx, "load the page", chromedp.Navigate(srv.URL))
	render := func(t *testing.T, md string) string {
		t.Helper()
		quoted, _ := json.Marshal(md)
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(renderJS, quoted), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("render %q: %v", md, err)
		}
		return html
	}
	const attrs = ` rel="noopener noreferrer" target="_blank"`
	tests := []struct {
		name, md, want string
	}{
		{"paragraphs", "a\nb\n\nc", "<p>a\nb</p><p>c</p>"},
		{"hard break", "a  \nb\\\nc", "<p>a<br>b<br>c</p>"},
		{"headings sit below the page's own", "# One\n\n###### Six\n\nSetext\n===", "<h3>One</h3><h6>Six</h6><h3>Setext</h3>"},
		{"emphasis", "*a* **b** ***c*** ~~d~~ _e_", "<p><em>a</em> <strong>b</strong> <strong><em>c</em></strong> <del>d</del> <em>e</em></p>"},
		{"no emphasis", "snake_case_name, 2 * 3 * 4, **open", "<p>snake_case_name, 2 * 3 * 4, **open</p>"},
		{"inline code", "`a <b>` and `` x ` y ``", "<p><code>a &lt;b&gt;</code> and <code>x ` y</code></p>"},
		{"escapes and entities", `\*a\* &copy; &#65; &#x42; &bogus;`, "<p>*a* © A B &amp;bogus;</p>"},
		{"HTML is text", `<b>x</b> <img src=x onerror=alert(1)> <script>alert(1)</script>`, "<p>&lt;b&gt;x&lt;/b&gt; &lt;img src=x onerror=alert(1)&gt; &lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"HTML block is text", "<div>\n<iframe src=x></iframe>\n</div>", "<p>&lt;div&gt;\n&lt;iframe src=x&gt;&lt;/iframe&gt;\n&lt;/div&gt;</p>"},
		{"link", `[a *b*](https://x.io/p?q=1 "T")`, `<p><a href="https://x.io/p?q=1"` + attrs + ` title="T">a <em>b</em></a></p>`},
		{"mailto link", "[mail](mailto:a@b.io)", `<p><a href="mailto:a@b.io"` + attrs + `>mail</a></p>`},
		{"javascript: link is text", "[a](javascript:alert(1)) [b](JavaScript:x) [c](java&#115;cript:x)", `<p><span class="unsafe-link">a</span> <span class="unsafe-link">b</span> <span class="unsafe-link">c</span></p>`},
		{"other schemes are text", "[a](data:text/html,x) [b](vbscript:x) [c](/relative) [d](file:///etc/passwd)", `<p><span class="unsafe-link">a</span> <span class="unsafe-link">b</span> <span class="unsafe-link">c</span> <span class="unsafe-link">d</span></p>`},
		{"autolinks", "<https://x.io> <a@b.io> <javascript:alert(1)>", `<p><a href="https://x.io/"` + attrs + `>https://x.io</a> <a href="mailto:a@b.io"` + attrs + `>a@b.io</a> &lt;javascript:alert(1)&gt;</p>`},
		{"bare URLs", "see https://x.io/a_(b). and www.y.io, not javascript:alert(1)", `<p>see <a href="https://x.io/a_(b)"` + attrs + `>https://x.io/a_(b)</a>. and <a href="http://www.y.io/"` + attrs + `>www.y.io</a>, not javascript:alert(1)</p>`},
		{"reference link", "[a][r] and [r]\n\n[r]: https://x.io/r \"R\"", `<p><a href="https://x.io/r"` + attrs + ` title="R">a</a> and <a href="https://x.io/r"` + attrs + ` title="R">r</a></p>`},
		{"images are links", "![alt *t*](https://x.io/i.png) ![x](data:image/png;base64,AAAA)", `<p><a href="https://x.io/i.png"` + attrs + `>alt t</a> <span class="unsafe-link">x</span></p>`},
		{"no link in a link", "[a [b](https://b.io)](https://a.io)", `<p><a href="https://a.io/"` + attrs + `>a [b](https://b.io)</a></p>`},
		{"bullet list", "- a\n- b\n* c", "<ul><li>a</li><li>b</li></ul><ul><li>c</li></ul>"},
		{"numbered list", "3. a\n4. b", `<ol start="3"><li>a</li><li>b</li></ol>`},
		{"loose list", "- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>"},
		{"nested list", "1. a\n   - b\n   - c\n2. d", "<ol><li>a<ul><li>b</li><li>c</li></ul></li><li>d</li></ol>"},
		{"list after a paragraph", "Steps:\n- one\n- two", "<p>Steps:</p><ul><li>one</li><li>two</li></ul>"},
		{"a year is not a list", "In\n2024. it grew", "<p>In\n2024. it grew</p>"},
		{"quote", "> a\n> **b**\nlazy", "<blockquote><p>a\n<strong>b</strong>\nlazy</p></blockquote>"},
		{"rule", "a\n\n---\n\n***", "<p>a</p><hr><hr>"},
		{"fenced code", "```js\nlet x = 1; // c\n```", `<pre><code class="language-js"><span class="tok-keyword">let</span> x = <span class="tok-number">1</span>; <span class="tok-comment">// c</span></code></pre>`},
		{"shell code", "```sh\n# c\ngo build; if x; then echo 'a'; fi\n```", `<pre><code class="language-sh"><span class="tok-comment"># c</span>` + "\n" +
			`go build; <span class="tok-keyword">if</span> x; <span class="tok-keyword">then</span> echo <span class="tok-string">'a'</span>; <span class="tok-keyword">fi</span></code></pre>`},
		{"unknown language is plain", "```brainfuck\nif 1 // x\n```", `<pre><code class="language-brainfuck">if 1 // x</code></pre>`},
		{"task list", "- [ ] a\n- [x] b", `<ul><li class="task"><input type="checkbox" disabled="">a</li><li class="task"><input type="checkbox" disabled="" checked="">b</li></ul>`},
		{"fenced code is text", "~~~html\n<script>alert(1)</script>\n~~~", `<pre><code class="language-html">&lt;script&gt;alert(1)&lt;/script&gt;</code></pre>`},
		{"unclosed fence while streaming", "```\na <b>", "<pre><code>a &lt;b&gt;</code></pre>"},
		{"language class is cleaned", "```x\"onload=\"y\n1\n```", `<pre><code class="language-xonloady">1</code></pre>`},
		{"indented code", "    a\n    b", "<pre><code>a\nb</code></pre>"},
		{"table", "| a | b | c |\n|:-|-:|:-:|\n| 1 \\| 2 | `3` |\n| 4 |", `<div class="table-wrap"><table><thead><tr><th class="align-left">a</th><th class="align-right">b</th><th class="align-center">c</th></tr></thead>` +
			`<tbody><tr><td class="align-left">1 | 2</td><td class="align-right"><code>3</code></td><td class="align-center"></td></tr><tr><td class="align-left">4</td><td class="align-right"></td><td class="align-center"></td></tr></tbody></table></div>`},
		{"table after a paragraph", "Sizes:\n| a |\n| - |\n| 1 |", `<p>Sizes:</p><div class="table-wrap"><table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table></div>`},
		{"pipes without a delimiter row", "a | b\nc | d", "<p>a | b\nc | d</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(t, tt.md); got != tt.want {
				t.Errorf("render %q:\ngot  %s\nwant %s", tt.md, got, tt.want)
			}
		})
	}

	// Input built to be slow or deep still renders, as text.
	for _, md := range []string{
		strings.Repeat("*", 5000) + "a",
		strings.Repeat("[", 5000),
		strings.Repeat("> ", 500) + "deep",
		strings.Repeat("- ", 500) + "deep",
		strings.Repeat("*a ", 500) + strings.Repeat("_b ", 500),
	} {
		if got := render(t, md); !strings.Contains(got, "a") && !strings.Contains(got, "deep") && !strings.Contains(got, "[[[") {
			t.Errorf("render %.20q...: got %.200s, want its text", md, got)
		}
	}

	// View keeps the blocks that did not change and rebuilds the rest.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`(async () => {
		const { View } = await import('/static/markdown.js');
		const box = document.createElement('div');
		const v = new View(box);
		v.set('one\n\n| a |');
		const first = box.firstChild, second = box.lastChild;
		v.set('one\n\n| a |\n| - |');
		const kept = box.firstChild === first, replaced = box.lastChild !== second && box.querySelector('table') !== null;
		v.set('two');
		return [kept, replaced, box.childNodes.length === 1 && box.textContent === 'two'];
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if len(got) != 3 || !got[0] || !got[1] || !got[2] {
		t.Errorf("View: got kept, replaced, reset = %v, want all true", got)
	}
	browserNoProblems(t, ctx)
}
