package bans

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	hour := t0.Add(time.Hour)
	week := t0.Add(7 * 24 * time.Hour)
	tests := []struct {
		name string
		req  Request
		want Ban // ignored when wantErr
		err  bool
	}{
		{"ip for an hour", Request{IP: "198.51.100.7", Duration: "1h", Reason: "spam"}, Ban{IP: "198.51.100.7", Reason: "spam", Since: t0, Until: &hour}, false},
		{"mapped ip", Request{IP: "::ffff:198.51.100.7"}, Ban{IP: "198.51.100.7", Since: t0}, false},
		{"v6 prefix, permanent", Request{Prefix: "2001:db8::1/48"}, Ban{Prefix: "2001:db8::/48", Since: t0}, false},
		{"key in days", Request{Key: "A1B2C3D4", Duration: "7d"}, Ban{Key: "a1b2c3d4", Since: t0, Until: &week}, false},
		{"nothing", Request{Reason: "x"}, Ban{}, true},
		{"two targets", Request{IP: "198.51.100.7", Key: "a1b2c3d4"}, Ban{}, true},
		{"bad ip", Request{IP: "198.51.100.300"}, Ban{}, true},
		{"bad prefix", Request{Prefix: "2001:db8::/129"}, Ban{}, true},
		{"short key", Request{Key: "a1b2"}, Ban{}, true},
		{"key not hex", Request{Key: "{a1b2c3d4}"}, Ban{}, true},
		{"negative duration", Request{IP: "198.51.100.7", Duration: "-1h"}, Ban{}, true},
		{"bad duration", Request{IP: "198.51.100.7", Duration: "soon"}, Ban{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.req, t0)
			if tt.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %+v, %v; want an error wrapping ErrInvalid", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Errorf("got %s, want %s", gj, wj)
			}
		})
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func add(t *testing.T, b *Bans, req Request) Ban {
	t.Helper()
	ban, err := Parse(req, b.opts.Now())
	if err != nil {
		t.Fatal(err)
	}
	ban, err = b.Add(context.Background(), ban)
	if err != nil {
		t.Fatal(err)
	}
	return ban
}

func TestMatch(t *testing.T) {
	c := &clock{t0}
	b := New(&MemoryStore{}, Options{Now: c.now})
	add(t, b, Request{IP: "198.51.100.7", Duration: "1h"})
	add(t, b, Request{Prefix: "2001:db8::/48"})
	add(t, b, Request{Key: "a1b2c3d4"})
	type step struct {
		advance time.Duration
		ip      string
		key     string // the client part; the tag is always ffff0000
		banned  bool
	}
	steps := []step{
		{ip: "198.51.100.7", key: "ffff0000", banned: true},
		{ip: "198.51.100.8", key: "ffff0000", banned: false},
		{ip: "2001:db8:0:ffff::1", banned: true},
		{ip: "2001:db9::1", banned: false},
		{ip: "203.0.113.1", key: "a1b2c3d4e5f60718", banned: true},
		{ip: "203.0.113.1", key: "a1b2c3d5e5f60718", banned: false},
		{ip: "203.0.113.1", key: "0000a1b2c3d4e5f6", banned: false},
		{advance: time.Hour, ip: "198.51.100.7", key: "ffff0000", banned: false},
		{ip: "2001:db8::2", banned: true},
	}
	for i, s := range steps {
		c.t = c.t.Add(s.advance)
		_, got := b.Match(netip.MustParseAddr(s.ip), s.key, "ffff0000")
		if got != s.banned {
			t.Errorf("step %d (%s, %q): got banned %v, want %v", i, s.ip, s.key, got, s.banned)
		}
	}
	// A key ban matches the address tag too: every client of one address.
	if _, ok := b.Match(netip.MustParseAddr("203.0.113.1"), "00000000", "a1b2c3d4e5f6a7b8"); !ok {
		t.Error("key ban did not match the address tag")
	}
	// The expired ban is dropped from the list and the store.
	list, err := b.List(context.Background())
	if err != nil || len(list) != 2 {
		t.Errorf("got %d bans, %v; want 2", len(list), err)
	}
}

func TestMiddleware(t *testing.T) {
	c := &clock{t0}
	var refused int
	b := New(&MemoryStore{}, Options{Now: c.now, OnBanned: func(http.ResponseWriter, *http.Request, Ban) { refused++ }})
	add(t, b, Request{IP: "198.51.100.7", Duration: "2h"})
	reached := 0
	h := b.Middleware(func(r *http.Request) (netip.Addr, []string) {
		return netip.MustParseAddrPort(r.RemoteAddr).Addr(), nil
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))

	tests := []struct {
		remote string
		status int
	}{
		{"198.51.100.7:1234", http.StatusForbidden},
		{"198.51.100.9:1234", http.StatusOK},
	}
	for _, tt := range tests {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/chat", nil)
		r.RemoteAddr = tt.remote
		h.ServeHTTP(w, r)
		if w.Code != tt.status {
			t.Errorf("%s: got status %d, want %d", tt.remote, w.Code, tt.status)
		}
		if tt.status == http.StatusForbidden {
			var body struct{ Detail, Until string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Detail == "" || body.Until != "2025-03-01T14:00:00Z" {
				t.Errorf("got body %s, want a detail and until 2025-03-01T14:00:00Z", w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
		}
	}
	if reached != 1 || refused != 1 {
		t.Errorf("next reached %d times, %d refusals reported; want 1 and 1", reached, refused)
	}
}

func TestRemove(t *testing.T) {
	b := New(&MemoryStore{}, Options{})
	ban := add(t, b, Request{IP: "198.51.100.7"})
	if err := b.Remove(context.Background(), ban.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Match(netip.MustParseAddr("198.51.100.7")); ok {
		t.Error("still banned after Remove")
	}
	if err := b.Remove(context.Background(), ban.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: got %v, want ErrNotFound", err)
	}
}

// Bans in Redis are seen by every instance and outlive both the app and,
// with an append-only file, Redis itself.
func TestRedisSharedAndDurable(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{AppendOnly: true})
	ctx := context.Background()
	one := New(NewRedisStore(srv.Client(), "smartdocs:bans"), Options{})
	two := New(NewRedisStore(srv.Client(), "smartdocs:bans"), Options{})
	ban := add(t, one, Request{Prefix: "203.0.113.0/24", Reason: "scraper"})
	ip := netip.MustParseAddr("203.0.113.50")
	if _, ok := two.Match(ip); ok {
		t.Fatal("instance two matched before its refresh; the test proves nothing")
	}
	if err := two.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := two.Match(ip); !ok || got.ID != ban.ID || got.Reason != "scraper" {
		t.Errorf("instance two: got %+v, %v; want ban %s", got, ok, ban.ID)
	}

	srv.Restart()
	three := New(NewRedisStore(srv.Client(), "smartdocs:bans"), Options{})
	list, err := three.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != ban.ID {
		t.Fatalf("after restarts: got %+v, %v; want ban %s", list, err, ban.ID)
	}
	if err := three.Remove(ctx, ban.ID); err != nil {
		t.Fatal(err)
	}
	if err := one.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := one.Match(ip); ok {
		t.Error("instance one still bans after the ban was lifted elsewhere")
	}
}

// In memory, bans belong to the process: a new one starts with none.
func TestMemoryIsPerProcess(t *testing.T) {
	one := New(&MemoryStore{}, Options{})
	add(t, one, Request{IP: "198.51.100.7"})
	two := New(&MemoryStore{}, Options{})
	if list, _ := two.List(context.Background()); len(list) != 0 {
		t.Errorf("got %d bans in a fresh process, want 0", len(list))
	}
}
