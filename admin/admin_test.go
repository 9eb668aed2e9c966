package admin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/analytics"
	"github.com/smartdocs-go/smartdocs/bans"
)

const token = "s3cret-admin-token-0123456789"

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newServer mounts the admin handler at /admin as the app does.
func newServer(t *testing.T, c *clock) *httptest.Server {
	t.Helper()
	return newServerWith(t, c, bans.New(&bans.MemoryStore{}, bans.Options{Now: c.now}))
}

func newServerWith(t *testing.T, c *clock, b *bans.Bans) *httptest.Server {
	t.Helper()
	an := analytics.New(analytics.Options{Now: c.now})
	an.Record(analytics.Event{Key: "a1b2c3d4e5f60718", Allowed: true})
	an.Record(analytics.Event{Key: "a1b2c3d4e5f60718", Allowed: false})
	h, err := New(Options{
		Token:       token,
		Analytics:   an,
		Bans:        b,
		Key:         func(r *http.Request) (string, error) { return r.Header.Get("X-Test-IP"), nil },
		Policies:    `"per-client";q=3;w=60`,
		KeyStrategy: "session",
		Now:         c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/admin", h)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

type call struct {
	method, path, auth, accept, body, ip string
}

func do(t *testing.T, srv *httptest.Server, c call) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if c.accept != "" {
		req.Header.Set("Accept", c.accept)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-IP", c.ip)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestAuth(t *testing.T) {
	srv := newServer(t, &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)})
	tests := []struct {
		name   string
		call   call
		status int
	}{
		{"no token", call{method: "GET", path: "/admin/rate-limits"}, 401},
		{"wrong token", call{method: "GET", path: "/admin/rate-limits", auth: "Bearer nope"}, 401},
		{"basic scheme", call{method: "GET", path: "/admin/rate-limits", auth: "Basic " + token}, 401},
		{"token as prefix", call{method: "GET", path: "/admin/rate-limits", auth: "Bearer " + token + "x"}, 401},
		{"right token", call{method: "GET", path: "/admin/rate-limits", auth: "Bearer " + token}, 200},
		{"bans need it too", call{method: "GET", path: "/admin/bans"}, 401},
		{"page needs none", call{method: "GET", path: "/admin/rate-limits", accept: "text/html,application/xhtml+xml,*/*;q=0.8"}, 200},
		{"script needs none", call{method: "GET", path: "/admin/assets/admin.js"}, 200},
		{"root redirects", call{method: "GET", path: "/admin/"}, 302},
		{"unknown", call{method: "GET", path: "/admin/nope", auth: "Bearer " + token}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, tt.call)
			if resp.StatusCode != tt.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestReport(t *testing.T) {
	srv := newServer(t, &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)})
	resp, body := do(t, srv, call{method: "GET", path: "/admin/rate-limits", auth: "Bearer " + token})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var got struct {
		Store       string
		Allowed     int64               `json:"allowed_last_hour"`
		Limited     int64               `json:"limited_last_hour"`
		PerMinute   []analytics.Minute  `json:"per_minute"`
		Unique      analytics.Unique    `json:"unique_clients"`
		Offenders   []analytics.Offense `json:"top_offenders"`
		KeyStrategy string              `json:"key_strategy"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Store != "memory" || got.Allowed != 1 || got.Limited != 1 || len(got.PerMinute) != 60 || got.Unique.ThisHour != 1 ||
		len(got.Offenders) != 1 || got.Offenders[0].Key != "a1b2c3d4e5f60718" || got.KeyStrategy != "session" {
		t.Errorf("got %+v", got)
	}
}

// Wrong tokens are limited per address: past the limit even the right
// token is refused until the window frees a slot, so guessing is slow.
func TestWrongTokensAreLimited(t *testing.T) {
	c := &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	srv := newServer(t, c)
	bad := call{method: "GET", path: "/admin/bans", auth: "Bearer guess", ip: "attacker"}
	good := call{method: "GET", path: "/admin/bans", auth: "Bearer " + token, ip: "attacker"}
	for i := range MaxFailures {
		if resp, _ := do(t, srv, bad); resp.StatusCode != 401 {
			t.Fatalf("wrong token %d: got %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, _ := do(t, srv, bad)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("wrong token past the limit: got %d (Retry-After %q), want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := do(t, srv, good); resp.StatusCode != 429 {
		t.Errorf("right token from the locked address: got %d, want 429", resp.StatusCode)
	}
	if resp, _ := do(t, srv, call{method: "GET", path: "/admin/bans", auth: "Bearer " + token, ip: "owner"}); resp.StatusCode != 200 {
		t.Errorf("right token from another address: got %d, want 200", resp.StatusCode)
	}
	c.t = c.t.Add(FailureWindow)
	if resp, _ := do(t, srv, good); resp.StatusCode != 200 {
		t.Errorf("a window later: got %d, want 200", resp.StatusCode)
	}
}

func TestBans(t *testing.T) {
	srv := newServer(t, &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)})
	auth := "Bearer " + token
	resp, body := do(t, srv, call{method: "POST", path: "/admin/bans", auth: auth, body: `{"ip": "198.51.100.7", "duration": "1h", "reason": "spam"}`})
	if resp.StatusCode != 201 {
		t.Fatalf("POST: got %d %s, want 201", resp.StatusCode, body)
	}
	var ban bans.Ban
	if err := json.Unmarshal([]byte(body), &ban); err != nil || ban.ID == "" || ban.IP != "198.51.100.7" || ban.Until == nil ||
		!ban.Until.Equal(time.Date(2025, 3, 1, 13, 0, 0, 0, time.UTC)) || resp.Header.Get("Location") != "/admin/bans/"+ban.ID {
		t.Fatalf("POST: got %s (Location %q)", body, resp.Header.Get("Location"))
	}
	if _, body := do(t, srv, call{method: "GET", path: "/admin/bans", auth: auth}); !strings.Contains(body, ban.ID) {
		t.Errorf("GET: got %s, want ban %s listed", body, ban.ID)
	}
	if resp, _ := do(t, srv, call{method: "DELETE", path: "/admin/bans/" + ban.ID, auth: auth}); resp.StatusCode != 204 {
		t.Errorf("DELETE: got %d, want 204", resp.StatusCode)
	}
	if resp, _ := do(t, srv, call{method: "DELETE", path: "/admin/bans/" + ban.ID, auth: auth}); resp.StatusCode != 404 {
		t.Errorf("DELETE again: got %d, want 404", resp.StatusCode)
	}

	bad := []struct {
		name, body string
		status     int
	}{
		{"two targets", `{"ip": "198.51.100.7", "key": "a1b2c3d4"}`, 422},
		{"bad duration", `{"ip": "198.51.100.7", "duration": "forever"}`, 422},
		{"unknown field", `{"address": "198.51.100.7"}`, 422},
		{"not json", `ip=198.51.100.7`, 422},
		{"second object", `{"ip": "198.51.100.7"}{"ip": "198.51.100.8"}`, 422},
		{"stray brace", `{"ip": "198.51.100.7"}}`, 422},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, call{method: "POST", path: "/admin/bans", auth: auth, body: tt.body})
			if resp.StatusCode != tt.status || !strings.Contains(body, `"detail"`) {
				t.Errorf("got %d %s, want %d with a detail", resp.StatusCode, body, tt.status)
			}
		})
	}
	if _, body := do(t, srv, call{method: "GET", path: "/admin/bans", auth: auth}); body != `{"bans":[]}`+"\n" {
		t.Errorf("after the refused bodies: got %s, want no bans", body)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/admin/bans", strings.NewReader(`{"ip": "198.51.100.7"}`))
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("text/plain: got %d, want 415", resp.StatusCode)
	}
}

// Past the cap an add is refused with 409 and a detail that gives the
// cap; lifting a ban makes room.
func TestBanCap(t *testing.T) {
	c := &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	srv := newServerWith(t, c, bans.New(&bans.MemoryStore{}, bans.Options{Now: c.now, Max: 2}))
	auth := "Bearer " + token
	var first bans.Ban
	for i, ip := range []string{"198.51.100.1", "198.51.100.2"} {
		resp, body := do(t, srv, call{method: "POST", path: "/admin/bans", auth: auth, body: `{"ip": "` + ip + `"}`})
		if resp.StatusCode != 201 {
			t.Fatalf("ban %d: got %d %s, want 201", i+1, resp.StatusCode, body)
		}
		if i == 0 {
			json.Unmarshal([]byte(body), &first)
		}
	}
	resp, body := do(t, srv, call{method: "POST", path: "/admin/bans", auth: auth, body: `{"ip": "198.51.100.3"}`})
	var got struct{ Detail string }
	json.Unmarshal([]byte(body), &got)
	if resp.StatusCode != 409 || !strings.Contains(got.Detail, "at most 2 bans") {
		t.Errorf("third ban: got %d %s, want 409 with a detail saying at most 2 bans", resp.StatusCode, body)
	}
	if resp, _ := do(t, srv, call{method: "DELETE", path: "/admin/bans/" + first.ID, auth: auth}); resp.StatusCode != 204 {
		t.Fatalf("DELETE: got %d, want 204", resp.StatusCode)
	}
	if resp, body := do(t, srv, call{method: "POST", path: "/admin/bans", auth: auth, body: `{"ip": "198.51.100.3"}`}); resp.StatusCode != 201 {
		t.Errorf("after lifting one: got %d %s, want 201", resp.StatusCode, body)
	}
}
