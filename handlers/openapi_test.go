package handlers

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// undocumented are the route prefixes left out of the OpenAPI document on
// purpose: the operator's API behind ADMIN_TOKEN is not part of the public
// one.
var undocumented = []string{"/admin/"}

// fullDeps has every optional route switched on.
func fullDeps() Deps {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	admin := chi.NewRouter()
	admin.Get("/bans", ok)
	return Deps{
		Models:       []Model{{Name: "docs", Engine: oneWord{}}},
		DefaultModel: "docs",
		Static:       fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}, "app.js": {Data: []byte("//")}},
		WhoAmI:       ok,
		Peek:         func(*http.Request) ([]ratelimit.State, error) { return nil, nil },
		Metrics:      ok,
		Admin:        admin,
	}
}

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	rec := httptest.NewRecorder()
	NewServer(fullDeps()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json: got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	return doc
}

func TestOpenAPIDocument(t *testing.T) {
	doc := loadSpec(t)
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Errorf("got openapi %q, want 3.1.0", doc.OpenAPI)
	}
	chatOp := doc.Paths.Find("/chat").Post
	for _, status := range []int{200, 413, 415, 422, 429, 502, 503, 504} {
		if chatOp.Responses.Status(status) == nil {
			t.Errorf("POST /chat documents no %d", status)
		}
	}
	ok := chatOp.Responses.Status(200).Value
	for _, ct := range []string{"application/x-ndjson", "application/json"} {
		if ok.Content.Get(ct) == nil {
			t.Errorf("POST /chat 200 has no %s body", ct)
		}
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy"} {
		if ok.Headers[h] == nil {
			t.Errorf("POST /chat 200 does not document %s", h)
		}
	}
	if h := chatOp.Responses.Status(429).Value.Headers["Retry-After"]; h == nil || !h.Value.Required {
		t.Errorf("POST /chat 429 does not require Retry-After")
	}
}

// chiToOpenAPI turns a chi pattern into an OpenAPI path: "/static/*" is
// "/static/{file}", "{id:[0-9]+}" is "{id}".
func chiToOpenAPI(pattern string) string {
	pattern = regexp.MustCompile(`\{([^}:]+):[^}]*\}`).ReplaceAllString(pattern, "{$1}")
	if strings.HasSuffix(pattern, "/*") {
		pattern = strings.TrimSuffix(pattern, "*") + "{file}"
	}
	return pattern
}

// TestOpenAPIEveryRoute fails when a route is served but not documented,
// or documented but not served.
func TestOpenAPIEveryRoute(t *testing.T) {
	doc := loadSpec(t)
	routes, ok := NewServer(fullDeps()).(chi.Routes)
	if !ok {
		t.Fatal("NewServer did not return a chi router")
	}
	methods := map[string][]string{} // OpenAPI path -> methods served
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !slices.ContainsFunc(undocumented, func(p string) bool { return strings.HasPrefix(route, p) }) {
			path := chiToOpenAPI(route)
			methods[path] = append(methods[path], method)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for path, ms := range methods {
		if slices.Contains(ms, http.MethodConnect) {
			// Mounted for every method (r.Handle), as file servers are:
			// GET is the one that means something.
			ms = []string{http.MethodGet}
		}
		for _, method := range ms {
			served[method+" "+path] = true
			item := doc.Paths.Find(path)
			if item == nil || item.GetOperation(method) == nil {
				t.Errorf("%s %s is served but not in handlers/apidocs/openapi.json: document it there", method, path)
			}
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is documented but not served", method, path)
			}
		}
	}
}

func TestDocsPage(t *testing.T) {
	h := NewServer(fullDeps())
	get := func(path string) (*httptest.ResponseRecorder, string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec, string(b)
	}
	rec, page := get("/docs")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("GET /docs: got CSP %q, want the strict one", csp)
	}

	t.Run("no inline script or style, nothing from elsewhere", func(t *testing.T) {
		for _, bad := range []*regexp.Regexp{
			regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
			regexp.MustCompile(`(?i)<style`),
			regexp.MustCompile(`(?i)\sstyle\s*=`),
			regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
			regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//`),
		} {
			if m := bad.FindString(page); m != "" {
				t.Errorf("the page has %q, which the CSP or offline use forbids", m)
			}
		}
	})

	t.Run("every asset it names is served", func(t *testing.T) {
		refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(page, -1)
		if len(refs) < 2 {
			t.Fatalf("got %d local references, want the script and the style sheet", len(refs))
		}
		for _, m := range refs {
			if rec, _ := get(m[1]); rec.Code != http.StatusOK {
				t.Errorf("GET %s: got %d, want 200", m[1], rec.Code)
			}
		}
	})

	t.Run("assets", func(t *testing.T) {
		tests := []struct {
			path, contentType string
			status            int
		}{
			{"/docs/apidocs.js", "text/javascript; charset=utf-8", http.StatusOK},
			{"/docs/apidocs.css", "text/css; charset=utf-8", http.StatusOK},
			{"/docs/openapi.json", "application/json", http.StatusNotFound},
			{"/docs/index.html", "application/json", http.StatusNotFound},
		}
		for _, tt := range tests {
			rec, _ := get(tt.path)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("GET %s: got %d %q, want %d %q", tt.path, rec.Code, rec.Header().Get("Content-Type"), tt.status, tt.contentType)
			}
		}
	})

	t.Run("the script builds the page without HTML strings or eval", func(t *testing.T) {
		_, js := get("/docs/apidocs.js")
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", ".style."} {
			if strings.Contains(js, bad) {
				t.Errorf("apidocs.js uses %s", bad)
			}
		}
	})
}
