package app

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestTuneGC: with GOGC or GOMEMLIMIT set the runtime's settings stand;
// unset, a small live heap gets GOGC=400 and a larger one less, so that
// the heap grows at most 64 MB past it, never under the runtime's 100.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	current := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
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
