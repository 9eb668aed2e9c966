package ratelimit

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseLimits(t *testing.T) {
	tests := []struct {
		in   string
		want []Limit
	}{
		{"3/minute", []Limit{{3, time.Minute}}},
		{"3 per minute", []Limit{{3, time.Minute}}},
		{"10/hour", []Limit{{10, time.Hour}}},
		{"1/second", []Limit{{1, time.Second}}},
		{"50/day", []Limit{{50, 24 * time.Hour}}},
		{"5/30 seconds", []Limit{{5, 30 * time.Second}}},
		{"5 per 30 seconds", []Limit{{5, 30 * time.Second}}},
		{" 3 / Minutes ", []Limit{{3, time.Minute}}},
		{"3/minute;50/day", []Limit{{3, time.Minute}, {50, 24 * time.Hour}}},
		{"3/minute; 50/day ;", []Limit{{3, time.Minute}, {50, 24 * time.Hour}}},
		{"3/minute,50/day", []Limit{{3, time.Minute}, {50, 24 * time.Hour}}},
		{"2/2 hours", []Limit{{2, 2 * time.Hour}}},
		// The edges of the range.
		{"1000000000/366 days", []Limit{{MaxRequests, MaxWindow}}},
		{"1/1 second", []Limit{{1, time.Second}}},
		{"1/31622400 seconds", []Limit{{1, MaxWindow}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseLimits(tt.in)
			if err != nil {
				t.Fatalf("ParseLimits(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseLimits(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("ParseLimits(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseLimitsErrors(t *testing.T) {
	seventeen := ""
	for i := 1; i <= MaxLimits+1; i++ {
		seventeen += fmt.Sprintf("1/%d seconds;", i)
	}
	tests := []struct {
		in, want string // want: a part of the error's text
	}{
		{"", "want N/second"},
		{";", "want N/second"},
		{"3", "too short"},
		{"minute", "too short"},
		{"0/minute", "from 1 to 1000000000"},
		{"-1/minute", "from 1 to 1000000000"},
		{"3/fortnight", "unknown unit"},
		{"3/minute/day", "unexpected words"},
		{"3 every minute", `"/" or "per"`},
		{"x/minute", "whole number"},
		{"3/0 minutes", "at least 1"},
		{"3/x minutes", "at least 1"},
		{"3/2 3 minutes", "unexpected words"},
		{"99999999999999999999/minute", "from 1 to 1000000000"},
		{"9223372036854775807/second", "from 1 to 1000000000"},
		{"1000000001/second", "from 1 to 1000000000"},
		{"3/1000000 days", "from 1 second to 366 days"},
		{"3/300000 days", "from 1 second to 366 days"},
		{"3/367 days", "from 1 second to 366 days"},
		{"3/31622401 seconds", "from 1 second to 366 days"},
		{"3/99999999999999999999 seconds", "at least 1"},
		{"3/minute;5/60 seconds", "two limits over 1m0s"},
		{seventeen, "17 limits, at most 16"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseLimits(tt.in)
			if !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("ParseLimits(%q) error = %v, want ErrInvalidLimit", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseLimits(%q) error = %q, want it to say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestLimitString(t *testing.T) {
	tests := []struct {
		l    Limit
		want string
	}{
		{Limit{3, time.Minute}, "3 per 1 minute"},
		{Limit{60, time.Minute}, "60 per 1 minute"},
		{Limit{5, 30 * time.Second}, "5 per 30 second"},
		{Limit{50, 24 * time.Hour}, "50 per 1 day"},
		{Limit{2, 90 * time.Minute}, "2 per 90 minute"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.l, got, tt.want)
		}
	}
}

// FuzzParseLimits: whatever ParseLimits accepts is in range, formats back
// to the same limits, and yields sane headers through the middleware and
// the memory store, admitted and refused, now and at the end of the
// longest window: every number present, a whole number, never negative.
func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{
		"3/minute", "5 per 30 seconds", "3/minute;50/day", "0/x", "1/1 day",
		"1000000000/366 days", "1/second;2/minute;3/hour;4/day", "3/1000000 days",
		"9223372036854775807/second", "1/31622400 seconds",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ls, err := ParseLimits(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("ParseLimits(%q) error %v does not wrap ErrInvalidLimit", s, err)
			}
			return
		}
		parts := make([]string, len(ls))
		for i, l := range ls {
			if l.check() != nil {
				t.Fatalf("ParseLimits(%q) gave %#v, out of range", s, l)
			}
			parts[i] = l.String()
		}
		// What it formats, it parses back to the same limits.
		again, err := ParseLimits(strings.Join(parts, ";"))
		if err != nil {
			t.Fatalf("ParseLimits of %q formatted: %v", s, err)
		}
		if !slices.Equal(again, ls) {
			t.Fatalf("round trip of %q: got %v, want %v", s, again, ls)
		}
		checkHeaders(t, ls)
	})
}

// checkHeaders sends requests through a Limiter with limits ls until one
// is refused (or four passed), then again after the longest window, and
// checks every rate-limit header of every answer.
func checkHeaders(t *testing.T, ls []Limit) {
	t.Helper()
	c := newClock()
	s, err := NewMemoryStore(MemoryOptions{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	lim, err := New(Options{Store: s, Now: c.Now, Layers: []Layer{{Policy: Policy{Name: "p", Limits: ls}, Key: KeyByHeader("X-Key")}}})
	if err != nil {
		t.Fatalf("New with %v: %v", ls, err)
	}
	h := lim.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	longest := slices.MaxFunc(ls, func(a, b Limit) int { return cmp.Compare(a.Window, b.Window) }).Window
	for _, at := range []time.Duration{0, longest} {
		c.Set(newClock().Now().Add(at))
		for i := 0; i < 4; i++ {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("X-Key", "k")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			hd := w.Header()
			names := []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}
			if w.Code == http.StatusTooManyRequests {
				names = append(names, "Retry-After")
			}
			for _, n := range names {
				if v, err := strconv.ParseInt(hd.Get(n), 10, 64); err != nil || v < 0 {
					t.Fatalf("limits %v, request %d at +%v: %s = %q, want a whole number of at least 0", ls, i, at, n, hd.Get(n))
				}
			}
			if reset, _ := strconv.ParseInt(hd.Get("X-RateLimit-Reset"), 10, 64); reset < c.Now().Unix() {
				t.Fatalf("limits %v: X-RateLimit-Reset = %d, before now (%d)", ls, reset, c.Now().Unix())
			}
			rl := hd.Get("RateLimit")
			_, params, _ := strings.Cut(rl, ";")
			var rv, tv int64
			if _, err := fmt.Sscanf(params, "r=%d;t=%d", &rv, &tv); err != nil || rv < 0 || tv < 0 {
				t.Fatalf("limits %v: RateLimit = %q, want r and t of at least 0", ls, rl)
			}
			if w.Code == http.StatusTooManyRequests {
				break
			}
		}
	}
}
