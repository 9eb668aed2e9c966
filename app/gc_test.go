package app

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// TestTuneGC: with GOGC or GOMEMLIMIT set the runtime's settings stand;
// unset, a small live heap gets GOGC=400 and a larger one less, so that
// the heap grows at most 64 MB past it, never under the runtime's 100.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		debug.SetGCPercent(123)
		if got := TuneGC(env(map[string]string{v: "200"})); got != 0 || current() != 123 {
			t.Errorf("%s set: TuneGC returned %d and left GOGC at %d, want 0 and 123 untouched", v, got, current())
		}
	}
	if got := TuneGC(env(nil)); got != 400 || current() != 400 {
		t.Errorf("small heap: TuneGC returned %d, GOGC %d; want 400", got, current())
	}
	live := make([]byte, 40<<20) // counts in the live heap, never scanned
	live[len(live)-1] = 1
	if got := TuneGC(env(nil)); got <= 100 || got > 160 || current() != got {
		t.Errorf("40 MB live: TuneGC returned %d, GOGC %d; want 64 MB of headroom, about 160", got, current())
	}
	big := make([]byte, 80<<20)
	big[len(big)-1] = 1
	if got := TuneGC(env(nil)); got != 100 {
		t.Errorf("120 MB live: TuneGC returned %d, want 100, the runtime's default", got)
	}
	runtime.KeepAlive(live)
	runtime.KeepAlive(big)
}

// TestGCRetuned: Run sets the target again as the live heap changes, so
// that a heap grown to 120 MB live is no longer allowed 400% (480 MB)
// more, and one that shrank gets its headroom back.
func TestGCRetuned(t *testing.T) {
	before := debug.SetGCPercent(400)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { keepGCTuned(ctx, 5*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for current() != want {
			if time.Now().After(deadline) {
				t.Fatalf("GOGC stayed %d, want %d", current(), want)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	live := make([]byte, 120<<20)
	live[len(live)-1] = 1
	waitFor(100)
	runtime.KeepAlive(live)
	live = nil
	waitFor(400)
	for _, tt := range []struct {
		live uint64
		want int
	}{{0, 400}, {1 << 20, 400}, {16 << 20, 400}, {32 << 20, 200}, {64 << 20, 100}, {1 << 30, 100}} {
		if got := gcPercent(tt.live); got != tt.want {
			t.Errorf("gcPercent(%d MB) = %d, want %d", tt.live>>20, got, tt.want)
		}
	}
}

// current is the GOGC in force, read without setting it (a set would race
// with keepGCTuned).
func current() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
