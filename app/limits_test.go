package app

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
)

// limitsApp serves the real app with opts added, from vars.
func limitsApp(t *testing.T, opts Options, vars map[string]string) (*httptest.Server, error) {
	t.Helper()
	h, closeApp, err := NewHandler(context.Background(), opts, env(vars), io.Discard)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); closeApp() })
	return srv, nil
}

func okRoute(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }

// statuses sends n POSTs to path as one client and returns the statuses.
func statuses(t *testing.T, srv *httptest.Server, path string, n int) []int {
	t.Helper()
	var out []int
	for range n {
		resp := ask(t, srv, path, `{"question":"what is limited?"}`)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
	return out
}

// A route's limit names its own counters; the per-IP ceiling and the
// global budget are shared unless the route opts out on its line.
func TestNamedRouteLimits(t *testing.T) {
	opts := Options{
		Limits: []config.RouteLimit{
			{Name: "a", Var: "RATE_LIMIT_A", Default: "5/minute"},
			{Name: "b", Var: "RATE_LIMIT_B", Default: "5/minute"},
		},
		Routes: func(r chi.Router, d handlers.Deps) {
			r.With(d.Limit("a")).Post("/a", okRoute)
			r.With(d.Limit("b", handlers.NoGlobal)).Post("/b", okRoute)
		},
	}
	srv, err := limitsApp(t, opts, map[string]string{"RATE_LIMIT_GLOBAL": "4/minute", "RATE_LIMIT_PER_IP": "off"})
	if err != nil {
		t.Fatal(err)
	}
	// /a and /chat share the global budget of 4: /a takes 3 of it,
	// /chat its last one, then both are refused by the budget.
	if got := statuses(t, srv, "/a", 3); !allAre(got, 200) {
		t.Fatalf("/a: got %v, want 3×200", got)
	}
	if got := statuses(t, srv, "/chat", 2); got[0] != 200 || got[1] != 429 {
		t.Errorf("/chat after /a took 3 of the global 4: got %v, want 200 then 429", got)
	}
	if got := statuses(t, srv, "/a", 1); got[0] != 429 {
		t.Errorf("/a past the global budget: got %v, want 429", got)
	}
	// /b opted out of the global budget: its own 5 a minute, in full.
	if got := statuses(t, srv, "/b", 6); !allAre(got[:5], 200) || got[5] != 429 {
		t.Errorf("/b (NoGlobal): got %v, want 5×200 then 429", got)
	}
}

func allAre(s []int, v int) bool {
	for _, x := range s {
		if x != v {
			return false
		}
	}
	return len(s) > 0
}

// A route limit that, with the shared layers, would not fit one decision
// stops start-up naming its variable.
func TestRouteLimitTooManyNamesVariable(t *testing.T) {
	opts := Options{Limits: []config.RouteLimit{{Name: "summarize", Var: "RATE_LIMIT_SUMMARIZE", Default: "1/minute"}}}
	many := "1/second;2/2 seconds;3/3 seconds;4/4 seconds;5/5 seconds;6/6 seconds;7/7 seconds;8/8 seconds;9/9 seconds;10/10 seconds;11/11 seconds;12/12 seconds;13/13 seconds;14/14 seconds;15/15 seconds"
	_, err := limitsApp(t, opts, map[string]string{"RATE_LIMIT_SUMMARIZE": many, "RATE_LIMIT_GLOBAL": "1000/day"})
	if err == nil || !strings.HasPrefix(err.Error(), "config: RATE_LIMIT_SUMMARIZE=") {
		t.Errorf("got %v, want an error naming RATE_LIMIT_SUMMARIZE", err)
	}
}

// Mistakes in declaring or naming limits stop start-up with one line.
func TestRouteLimitMistakesStopStartup(t *testing.T) {
	route := func(name string, opts ...handlers.LimitOption) func(chi.Router, handlers.Deps) {
		return func(r chi.Router, d handlers.Deps) { r.With(d.Limit(name, opts...)).Post("/x", okRoute) }
	}
	for _, tt := range []struct {
		name string
		opts Options
		want string
	}{
		{"undeclared name", Options{Routes: route("summarize")}, `d.Limit("summarize"): no limit of that name`},
		{"declared twice", Options{Limits: []config.RouteLimit{{Name: "chat", Var: "X", Default: "1/minute"}}}, `route limit "chat" is declared twice`},
		{"reserved name", Options{Limits: []config.RouteLimit{{Name: "per-ip", Var: "X", Default: "1/minute"}}}, `route limit "per-ip"`},
		{"one name, two sets of layers", Options{Routes: route("chat", handlers.NoPerIP)}, `d.Limit("chat") is named with different opt-outs`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := limitsApp(t, tt.opts, map[string]string{})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("got %v, want one line containing %q", err, tt.want)
			}
		})
	}
}
