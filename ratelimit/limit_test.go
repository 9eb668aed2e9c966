package ratelimit

import (
	"errors"
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
	for _, in := range []string{
		"", ";", "3", "minute", "0/minute", "-1/minute", "3/fortnight", "3/minute/day",
		"3 every minute", "x/minute", "3/0 minutes", "3/x minutes", "3/2 3 minutes",
		"99999999999999999999/minute",
	} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseLimits(in)
			if !errors.Is(err, ErrInvalidLimit) {
				t.Errorf("ParseLimits(%q) error = %v, want ErrInvalidLimit", in, err)
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

func FuzzParseLimits(f *testing.F) {
	for _, s := range []string{"3/minute", "5 per 30 seconds", "3/minute;50/day", "0/x", "1/1 day"} {
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
		for _, l := range ls {
			if l.Requests < 1 || l.Window < time.Second {
				t.Fatalf("ParseLimits(%q) gave %#v", s, l)
			}
		}
		// What it formats, it parses back to the same limits.
		again, err := ParseLimits(FormatLimits(ls))
		if err != nil {
			t.Fatalf("ParseLimits(FormatLimits(%v)): %v", ls, err)
		}
		for i := range ls {
			if again[i] != ls[i] {
				t.Fatalf("round trip of %q: got %v, want %v", s, again, ls)
			}
		}
	})
}
