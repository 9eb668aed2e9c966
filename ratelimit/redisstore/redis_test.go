package redisstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/internal/storetest"
)

// Shorthands for the ratelimit types the tests spell often.
type (
	Rule   = ratelimit.Rule
	Policy = ratelimit.Policy
	Limit  = ratelimit.Limit
	Result = ratelimit.Result
)

func newClock() *storetest.Clock { return storetest.NewClock() }

func TestStore(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	prefix := 0
	storetest.Run(t, func(t *testing.T, alg ratelimit.Algorithm, now func() time.Time) ratelimit.Store {
		prefix++
		s, err := New(srv.Client(), Options{Algorithm: alg, Now: now, Prefix: fmt.Sprintf("t%d", prefix)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConcurrentBurst fires a concurrent burst of requests from one
// client at several stores sharing one Redis and counts what passes.
func TestConcurrentBurst(t *testing.T) {
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	srv := redistest.Start(t, redistest.Options{})
	for _, alg := range []ratelimit.Algorithm{ratelimit.SlidingWindow, ratelimit.FixedWindow, ratelimit.SlidingLog} {
		t.Run(string(alg), func(t *testing.T) {
			var stores []ratelimit.Store
			for i := 0; i < 3; i++ {
				// Two stores batch decisions into shared round trips
				// (one of them with a single round trip in flight), one
				// sends each decision alone.
				s, err := New(srv.Client(), Options{Algorithm: alg, Prefix: "burst-" + string(alg), Pipelines: i - 1})
				if err != nil {
					t.Fatal(err)
				}
				stores = append(stores, s)
			}
			if got := storetest.Burst(t, stores, p, 300); got != 3 {
				t.Errorf("three redis stores admitted %d of 300, want 3", got)
			}
		})
	}
}

// TestScriptFlushed: after Redis forgets its scripts (a restart or
// SCRIPT FLUSH), the next decision loads the script again instead of
// failing on NOSCRIPT.
func TestScriptFlushed(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	s, err := New(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	ctx := context.Background()
	if _, err := s.Allow(ctx, []Rule{{Policy: p, Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := s.Allow(ctx, []Rule{{Policy: p, Key: "k"}})
	if err != nil {
		t.Fatalf("after SCRIPT FLUSH: %v", err)
	}
	if !res.Allowed || res.Remaining != 1 {
		t.Errorf("after SCRIPT FLUSH: %+v, want the second request allowed with 1 left", res)
	}
}

// TestBadRules: a decision the script cannot carry fails before any round
// trip, with an error that says why.
func TestBadRules(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	s, err := New(srv.Client(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	many := &Policy{Name: "many"}
	for i := 1; i <= ratelimit.MaxLimits+1; i++ {
		many.Limits = append(many.Limits, Limit{Requests: 1, Window: time.Duration(i) * time.Second})
	}
	for _, tt := range []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"no policy", []Rule{{Key: "k"}}, "rule without a policy"},
		{"too many limits", []Rule{{Policy: many, Key: "k"}}, ratelimit.ErrTooManyLimits.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Allow(context.Background(), tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestKeysExpire: every key a decision leaves in Redis expires, no later
// than its algorithm needs it; the windowed counters set the expiry once
// per window, not on every count.
func TestKeysExpire(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{})
	rdb := srv.Client()
	ctx := context.Background()
	const w = time.Minute
	p := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: w}}}
	for _, tt := range []struct {
		alg ratelimit.Algorithm
		max time.Duration // the longest expiry a key may have
		// expires is how many PEXPIRE the six admitted counts cost:
		// the windowed counters set theirs on a window's first count,
		// the log extends its key with every entry.
		expires int
	}{
		{ratelimit.SlidingWindow, 2 * w, 2},
		{ratelimit.FixedWindow, w + time.Second, 2},
		{ratelimit.SlidingLog, w, 6},
	} {
		t.Run(string(tt.alg), func(t *testing.T) {
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			c := newClock()
			s, err := New(rdb, Options{Algorithm: tt.alg, Now: c.Now, Pipelines: -1})
			if err != nil {
				t.Fatal(err)
			}
			// Two windows with an idle one between them (so that the
			// sliding window does not weigh the first in the second),
			// four requests in each: three admitted, one refused.
			for win := 0; win < 2; win++ {
				for i := 0; i < 4; i++ {
					if _, err := s.Allow(ctx, []Rule{{Policy: p, Key: "k"}}); err != nil {
						t.Fatal(err)
					}
					c.Set(c.Now().Add(time.Second))
				}
				c.Set(c.Now().Add(2 * w))
			}
			keys, err := rdb.Keys(ctx, "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) == 0 {
				t.Fatal("no keys left in Redis")
			}
			for _, k := range keys {
				ttl, err := rdb.PTTL(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= 0 || ttl > tt.max {
					t.Errorf("%s expires in %v, want within (0, %v]", k, ttl, tt.max)
				}
			}
			stats, err := rdb.Info(ctx, "commandstats").Result()
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("cmdstat_pexpire:calls=%d,", tt.expires); !strings.Contains(stats, want) {
				t.Errorf("want %d PEXPIRE calls, commandstats:\n%s", tt.expires, stats)
			}
		})
	}
}
