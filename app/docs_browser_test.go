package app

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPIDocs opens /docs in Chromium under the server's
// Content-Security-Policy: the operations render from /openapi.json, and
// "Try it" sends a real request and shows the streamed answer and the
// rate-limit headers, with no CSP violation or script error.
func TestBrowserAPIDocs(t *testing.T) {
	ctx := browser(t)
	srv, _ := browserServer(t, nil)

	browserDo(t, ctx, "load /docs", chromedp.Navigate(srv.URL+"/docs"))
	browserWait(t, ctx, "the operations", `document.querySelectorAll('details.op').length >= 10`, 10*time.Second)
	if got := browserEval[string](t, ctx, `document.getElementById('title').textContent`); got != "SmartDocs API" {
		t.Errorf("got title %q, want SmartDocs API", got)
	}

	// Try GET /health.
	browserDo(t, ctx, "send GET /health",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('health').open = true`),
		chromedp.Click(chromedp.CSS(`#health button[type=submit]`)),
	)
	browserWait(t, ctx, "the health answer", `document.querySelector('#health pre').textContent.includes('"healthy"')`, 10*time.Second)

	// Try POST /chat with the example body: the NDJSON stream arrives.
	browserDo(t, ctx, "send POST /chat",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('chat').open = true`),
		chromedp.Click(chromedp.CSS(`#chat button[type=submit]`)),
	)
	browserWait(t, ctx, "the streamed answer", `document.querySelector('#chat pre').textContent.includes('{"type":"done"}')`, 20*time.Second)
	head := browserEval[string](t, ctx, `document.querySelector('#chat .result-head').textContent`)
	for _, want := range []string{"200", "application/x-ndjson", "x-ratelimit-remaining: "} {
		if !strings.Contains(head, want) {
			t.Errorf("the result shows %q, want it to include %q", head, want)
		}
	}
	browserShot(t, ctx, "browser-api-docs.png")
	browserNoProblems(t, ctx)
}
