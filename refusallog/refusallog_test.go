package refusallog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type line struct {
	Msg       string
	Requests  int64
	Key       string
	Policy    string
	Keys      int64
	Shown     int    `json:"keys_shown"`
	Untracked int64  `json:"requests_of_keys_not_counted_apart"`
	In        string `json:"in_the_last"`
}

func lines(t *testing.T, b *bytes.Buffer) []line {
	t.Helper()
	var out []line
	for _, s := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if s == "" {
			continue
		}
		var l line
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, l)
	}
	b.Reset()
	return out
}

func newSummary(opts Options) (*Summary, *bytes.Buffer, *clock) {
	var b bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts.Logger = slog.New(slog.NewJSONHandler(&b, nil))
	opts.Now = c.now
	return New(opts), &b, c
}

func TestFlush(t *testing.T) {
	tests := []struct {
		name string
		adds map[string]int // key -> refusals, policy per-client
		top  int
		want []line
	}{
		{"nothing refused writes nothing", nil, 3, nil},
		{"one key", map[string]int{"1a2b3c4d": 4213}, 3, []line{
			{Msg: "refused", Requests: 4213, Key: "1a2b3c4d", Policy: "per-client", In: "10s"},
			{Msg: "refusals", Requests: 4213, Keys: 1, Shown: 1, In: "10s"},
		}},
		{"top keys first, then the total", map[string]int{"aaaa": 5, "bbbb": 50, "cccc": 7, "dddd": 1}, 2, []line{
			{Msg: "refused", Requests: 50, Key: "bbbb", Policy: "per-client", In: "10s"},
			{Msg: "refused", Requests: 7, Key: "cccc", Policy: "per-client", In: "10s"},
			{Msg: "refusals", Requests: 63, Keys: 4, Shown: 2, In: "10s"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b, c := newSummary(Options{Top: tt.top})
			for k, n := range tt.adds {
				for range n {
					s.Add(k, "per-client")
				}
			}
			c.add(10 * time.Second)
			s.Flush(t.Context())
			got := lines(t, b)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			// The next interval starts empty.
			c.add(10 * time.Second)
			s.Flush(t.Context())
			if got := lines(t, b); len(got) != 0 {
				t.Errorf("second flush: got %+v, want no line", got)
			}
		})
	}
}

// A flood of 20,000 refusals, from one key or from 20,000 keys, writes at
// most Top+1 lines per interval, and the total counts every refusal.
func TestFloodIsBounded(t *testing.T) {
	tests := []struct {
		name string
		key  func(i int) string
	}{
		{"one key", func(int) string { return "1a2b3c4d" }},
		{"a key per request", func(i int) string { return fmt.Sprintf("%08x", i) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, b, c := newSummary(Options{MaxKeys: 1000})
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < 20_000; i += 4 {
						s.Add(tt.key(i), "per-client")
					}
				}()
			}
			wg.Wait()
			c.add(DefaultEvery)
			s.Flush(t.Context())
			got := lines(t, b)
			if len(got) > DefaultTop+1 {
				t.Errorf("got %d lines, want at most %d", len(got), DefaultTop+1)
			}
			last := got[len(got)-1]
			if last.Msg != "refusals" || last.Requests != 20_000 {
				t.Errorf("total line: got %+v, want refusals of 20000 requests", last)
			}
			var named int64
			for _, l := range got[:len(got)-1] {
				named += l.Requests
			}
			if named+last.Untracked > last.Requests {
				t.Errorf("named %d and untracked %d exceed the total %d", named, last.Untracked, last.Requests)
			}
			if n := len(s.counts); n != 0 {
				t.Errorf("after the flush: got %d keys held, want 0", n)
			}
		})
	}
}

// Past MaxKeys, new keys count in the total only: memory stays bounded.
func TestMaxKeys(t *testing.T) {
	s, b, c := newSummary(Options{MaxKeys: 3, Top: 5})
	for i := range 10 {
		s.Add(fmt.Sprint("k", i), "per-ip")
	}
	s.Add("k0", "per-ip")
	if n := len(s.counts); n != 3 {
		t.Fatalf("got %d keys held, want 3", n)
	}
	c.add(5 * time.Second)
	s.Flush(t.Context())
	got := lines(t, b)
	want := line{Msg: "refusals", Requests: 11, Keys: 4, Shown: 3, Untracked: 7, In: "5s"}
	if last := got[len(got)-1]; last != want {
		t.Errorf("got %+v, want %+v", last, want)
	}
	if got[0].Key != "k0" || got[0].Requests != 2 {
		t.Errorf("first line: got %+v, want k0 with 2", got[0])
	}
}

// TestMessages: a Summary of something other than refusals names it in
// both its lines.
func TestMessages(t *testing.T) {
	s, b, c := newSummary(Options{Message: "unrouted", TotalMessage: "unrouted requests"})
	s.Add("404", "no-route")
	s.Add("404", "no-route")
	c.add(10 * time.Second)
	s.Flush(t.Context())
	want := []line{
		{Msg: "unrouted", Requests: 2, Key: "404", Policy: "no-route", In: "10s"},
		{Msg: "unrouted requests", Requests: 2, Keys: 1, Shown: 1, In: "10s"},
	}
	if got := lines(t, b); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
