package ratelimit

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMemoryFootprint fills a MemoryStore with 1,000,000 distinct keys in
// one window, measures the live heap they hold, then moves the clock past
// two windows and checks that sweepAll hands the memory back.
//
// It asserts sizes and counts, never times. Run with -v to see bytes per
// key.
func TestMemoryFootprint(t *testing.T) {
	const (
		keys = 1_000_000
		// budget is the bound for a million keys; "well under"
		// means we want half of it.
		budget = 200 << 20
	)
	tests := []struct {
		alg Algorithm
		// maxPerKey is what this algorithm may cost per key, in bytes.
		maxPerKey uint64
	}{
		// FixedWindow keeps the same counter per key as SlidingWindow
		// and is left out to keep the test short under -race.
		{SlidingWindow, budget / 2 / keys},
		// A sliding log holds one timestamp per admitted request, so
		// its cost grows with the limit; with one request per key it
		// must still fit the budget.
		{SlidingLog, budget / keys},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			c := newClock()
			s, err := NewMemoryStore(MemoryOptions{Algorithm: tt.alg, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			p := &Policy{Name: "per-client", Limits: []Limit{{3, time.Minute}}}
			base := liveHeap()

			rules := []Rule{{Policy: p}}
			buf := make([]byte, 0, 40)
			for i := 0; i < keys; i++ {
				// Keys shaped like identity.Keys.Client's: hash tag
				// and hash, 34 bytes.
				buf = append(buf[:0], '{')
				buf = strconv.AppendUint(buf, uint64(i)*0x9e3779b97f4a7c15, 16)
				buf = append(buf, '}')
				buf = strconv.AppendUint(buf, uint64(i), 16)
				rules[0].Key = string(buf)
				res, err := s.Allow(context.Background(), rules)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Allowed {
					t.Fatalf("key %d refused on its first request: %+v", i, res)
				}
			}
			if got := s.size(); got != keys {
				t.Fatalf("size() = %d after %d distinct keys, want %d", got, keys, keys)
			}
			peak := liveHeap()
			grown := sub(peak, base)
			perKey := grown / keys
			t.Logf("%s: %d keys hold %.1f MiB of live heap: %d bytes per key", tt.alg, keys, float64(grown)/(1<<20), perKey)
			if perKey > tt.maxPerKey {
				t.Errorf("%d bytes per key (%.1f MiB for %d keys), want at most %d (%.1f MiB)",
					perKey, float64(grown)/(1<<20), keys, tt.maxPerKey, float64(tt.maxPerKey*keys)/(1<<20))
			}

			// Every key was last used at the clock's start; two
			// windows and a second later all of them are idle.
			c.Set(c.Now().Add(2*time.Minute + time.Second))
			s.sweepAll()
			if got := s.size(); got != 0 {
				t.Errorf("size() = %d after two idle windows and sweepAll, want 0", got)
			}
			after := sub(liveHeap(), base)
			t.Logf("%s: after sweepAll the store holds %.1f MiB (%.1f%% of its peak)", tt.alg, float64(after)/(1<<20), 100*float64(after)/float64(grown))
			if after > grown/4 {
				t.Errorf("after sweepAll the store still holds %d bytes, want at most a quarter of its peak %d", after, grown)
			}
			runtime.KeepAlive(s)
		})
	}
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
