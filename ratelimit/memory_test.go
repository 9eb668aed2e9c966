package ratelimit_test

import (
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/internal/storetest"
)

func newMemory(t *testing.T, alg ratelimit.Algorithm, now func() time.Time) ratelimit.Store {
	t.Helper()
	s, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{Algorithm: alg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMemoryStore(t *testing.T) { storetest.Run(t, newMemory) }

// TestMemoryConcurrentBurst: one lock per decision, so a concurrent burst
// of one client admits exactly the limit.
func TestMemoryConcurrentBurst(t *testing.T) {
	p := &ratelimit.Policy{Name: "per-client", Limits: []ratelimit.Limit{{Requests: 3, Window: time.Minute}}}
	for _, alg := range []ratelimit.Algorithm{ratelimit.SlidingWindow, ratelimit.FixedWindow, ratelimit.SlidingLog} {
		t.Run(string(alg), func(t *testing.T) {
			s := newMemory(t, alg, time.Now)
			if got := storetest.Burst(t, []ratelimit.Store{s}, p, 1000); got != 3 {
				t.Errorf("memory store admitted %d of 1000, want 3", got)
			}
		})
	}
}
