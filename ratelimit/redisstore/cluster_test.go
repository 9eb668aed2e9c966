package redisstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
	"github.com/smartdocs-go/smartdocs/ratelimit"
	"github.com/smartdocs-go/smartdocs/ratelimit/internal/storetest"
)

func TestHashTag(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"rl:sw:per-client:{a1b2}c3d4:60", "a1b2"},
		{"rl:sw:global:{global}:60", "global"},
		{"rl:sw:global:global:60", ""},
		{"a{}b{c}", ""}, // an empty first tag: Redis hashes the whole key
		{"a{b", ""},
		{"{x}{y}", "x"},
		{"}{z}", "z"},
	} {
		t.Run(tt.key, func(t *testing.T) {
			if got := hashTag(tt.key); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// clientRules are the rules the app applies to one client: its own key
// and its address's, which share the address's hash tag (as identity
// makes them), and, when global is set, the budget shared by everyone.
func clientRules(client, ip, global *Policy, i int) []Rule {
	tag := fmt.Sprintf("{ip%d}", i)
	rules := []Rule{{Policy: client, Key: tag + fmt.Sprintf("c%d", i)}, {Policy: ip, Key: tag}}
	if global != nil {
		rules = append(rules, Rule{Policy: global, Key: "global"})
	}
	return rules
}

// TestCluster runs the store against a real three-master Redis Cluster,
// one cluster for every subtest: the shared store behaviour, exact limits
// with three stores (three instances of the app) deciding together, the
// global budget in a slot of its own, counts given back, shared round
// trips per node, and a reshard under traffic.
func TestCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	ctx := context.Background()
	clientP := &Policy{Name: "per-client", Limits: []Limit{{Requests: 3, Window: time.Minute}}}
	ipP := &Policy{Name: "per-ip", Note: "per IP", Limits: []Limit{{Requests: 60, Window: time.Minute}}}
	globalP := &Policy{Name: "global", Note: "for everyone", Limits: []Limit{{Requests: 20, Window: time.Minute}}}
	algs := []ratelimit.Algorithm{ratelimit.SlidingWindow, ratelimit.FixedWindow, ratelimit.SlidingLog}
	prefix := 0
	// stores returns three stores, each on a cluster client of its own,
	// with a fresh prefix.
	stores := func(t *testing.T, alg ratelimit.Algorithm) []ratelimit.Store {
		t.Helper()
		prefix++
		var out []ratelimit.Store
		for range 3 {
			s, err := New(c.Client(), Options{Algorithm: alg, Prefix: fmt.Sprintf("c%d", prefix)})
			if err != nil {
				t.Fatal(err)
			}
			if !s.cluster {
				t.Fatal("a store on a *redis.ClusterClient does not know it is in a cluster")
			}
			out = append(out, s)
		}
		return out
	}

	t.Run("Store", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, alg ratelimit.Algorithm, now func() time.Time) ratelimit.Store {
			prefix++
			s, err := New(c.Client(), Options{Algorithm: alg, Now: now, Prefix: fmt.Sprintf("s%d", prefix)})
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})

	t.Run("OneClientBurst", func(t *testing.T) {
		for _, alg := range algs {
			t.Run(string(alg), func(t *testing.T) {
				if got := storetest.Burst(t, stores(t, alg), clientP, 300); got != 3 {
					t.Errorf("three stores on the cluster admitted %d of 300, want 3", got)
				}
			})
		}
	})

	t.Run("ManyClients", func(t *testing.T) {
		c.Flush(ctx)
		ss := stores(t, ratelimit.SlidingWindow)
		admitted := decide(t, ss, 40, 10, func(i int) []Rule { return clientRules(clientP, ipP, nil, i) })
		for i, n := range admitted {
			if n != 3 {
				t.Errorf("client %d: got %d of 10 admitted, want 3", i, n)
			}
		}
		keys := c.Keys(ctx)
		for i, k := range keys {
			if k == 0 {
				t.Errorf("master %d holds no counter; keys per master %v, want them spread over all three", i, keys)
			}
		}
		if total := keys[0] + keys[1] + keys[2]; total != 80 {
			t.Errorf("counters: got %d (%v per master), want 80 (a client's and its address's for 40 clients)", total, keys)
		}
	})

	t.Run("GlobalBudget", func(t *testing.T) {
		for _, alg := range algs {
			t.Run(string(alg), func(t *testing.T) {
				ss := stores(t, alg)
				admitted := decide(t, ss, 60, 3, func(i int) []Rule { return clientRules(clientP, ipP, globalP, i) })
				total := 0
				for i, n := range admitted {
					total += n
					if n > 3 {
						t.Errorf("client %d: got %d admitted, want at most 3", i, n)
					}
					// Refused requests were given back: the client's
					// counter holds exactly what was admitted.
					st, err := ss[0].Peek(ctx, clientRules(clientP, ipP, nil, i))
					if err != nil {
						t.Fatal(err)
					}
					if want := 3 - n; st[0].Remaining != want {
						t.Errorf("client %d after %d admitted: got %d left, want %d (a refusal by the global budget must give the client's count back)", i, n, st[0].Remaining, want)
					}
				}
				if total != 20 {
					t.Errorf("got %d of 180 requests admitted under a global budget of 20, want 20", total)
				}
				res, err := ss[1].Allow(ctx, clientRules(clientP, ipP, globalP, 999))
				if err != nil {
					t.Fatal(err)
				}
				if res.Allowed || res.Policy != "global" || res.Refused != 1<<2 || res.RetryAfter <= 0 {
					t.Errorf("a new client after the budget is spent: got %+v, want refused by global (Refused bit 2) with a Retry-After", res)
				}
			})
		}
	})

	t.Run("GiveBack", func(t *testing.T) {
		// Step by step on a test clock: client b is refused by a spent
		// global budget, and its own counters are as before.
		one := &Policy{Name: "global", Limits: []Limit{{Requests: 1, Window: time.Minute}}}
		for _, alg := range algs {
			t.Run(string(alg), func(t *testing.T) {
				clock := newClock()
				prefix++
				s, err := New(c.Client(), Options{Algorithm: alg, Now: clock.Now, Prefix: fmt.Sprintf("g%d", prefix)})
				if err != nil {
					t.Fatal(err)
				}
				a, b := clientRules(clientP, ipP, one, 1), clientRules(clientP, ipP, one, 2)
				if res, err := s.Allow(ctx, a); err != nil || !res.Allowed {
					t.Fatalf("first request: got %+v, %v; want admitted", res, err)
				}
				for range 5 {
					clock.Set(clock.Now().Add(time.Second))
					res, err := s.Allow(ctx, b)
					if err != nil || res.Allowed || res.Policy != "global" {
						t.Fatalf("b under a spent budget: got %+v, %v; want refused by global", res, err)
					}
				}
				st, err := s.Peek(ctx, b[:2])
				if err != nil {
					t.Fatal(err)
				}
				if st[0].Remaining != 3 || st[1].Remaining != 60 {
					t.Errorf("b's counters after five refusals by the budget: got %d and %d left, want 3 and 60", st[0].Remaining, st[1].Remaining)
				}
			})
		}
	})

	t.Run("SharedRoundTrips", func(t *testing.T) {
		// Concurrent decisions share pipelines, one per node: count what
		// reaches each node.
		var pipes, scripts atomic.Int64
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Password: c.Password(), PoolSize: 4})
		defer rdb.Close()
		rdb.OnNewNode(func(n *redis.Client) { n.AddHook(nodeCounter{&pipes, &scripts}) })
		prefix++
		s, err := New(rdb, Options{Prefix: fmt.Sprintf("p%d", prefix)})
		if err != nil {
			t.Fatal(err)
		}
		s.Allow(ctx, clientRules(clientP, ipP, nil, 9999)) // loads the slots
		pipes.Store(0)
		scripts.Store(0)
		admitted := decide(t, []ratelimit.Store{s}, 200, 5, func(i int) []Rule { return clientRules(clientP, ipP, nil, i) })
		for i, n := range admitted {
			if n != 3 {
				t.Errorf("client %d: got %d of 5, want 3", i, n)
			}
		}
		if scripts.Load() < 1000 || pipes.Load() >= scripts.Load() {
			t.Errorf("1000 decisions reached the nodes as %d scripts in %d pipelines, want them to share pipelines", scripts.Load(), pipes.Load())
		}
		t.Logf("1000 decisions: %d scripts in %d node pipelines", scripts.Load(), pipes.Load())
	})

	t.Run("Reshard", func(t *testing.T) {
		// Traffic runs through the Failover, as in the app, while slots
		// move between masters: no decision may fail, and once the move
		// is done the limits are exact again.
		var fos []*Failover
		for _, s := range stores(t, ratelimit.SlidingWindow) {
			local, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rdb := c.Client()
			fo, err := NewFailover(s, FailoverOptions{Local: local, Timeout: time.Second, HonoursDeadline: true,
				Probe: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
			if err != nil {
				t.Fatal(err)
			}
			defer fo.Close()
			fos = append(fos, fo)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var decided, failed atomic.Int64
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					_, err := fos[i%3].Allow(ctx, clientRules(clientP, ipP, globalP, w*100000+i))
					decided.Add(1)
					if err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		before := c.Slots(ctx)
		c.Reshard(c.Nodes[0], c.Nodes[2], 1000)
		c.Reshard(c.Nodes[1], c.Nodes[0], 500)
		close(stop)
		wg.Wait()
		c.WaitOK()
		after := c.Slots(ctx)
		if after[0] != before[0]-500 || after[1] != before[1]-500 || after[2] != before[2]+1000 {
			t.Errorf("slots per master: got %v after moving 1000 from 0 to 2 and 500 from 1 to 0, from %v", after, before)
		}
		if failed.Load() != 0 || decided.Load() == 0 {
			t.Errorf("got %d of %d decisions failed during the reshard, want none (and some made)", failed.Load(), decided.Load())
		}
		for _, fo := range fos {
			waitUp(t, fo)
		}
		stores := []ratelimit.Store{fos[0], fos[1], fos[2]}
		admitted := decide(t, stores, 40, 6, func(i int) []Rule { return clientRules(clientP, ipP, nil, 1000000+i) })
		for i, n := range admitted {
			if n != 3 {
				t.Errorf("client %d after the reshard: got %d of 6 admitted, want 3", i, n)
			}
		}
		t.Logf("%d decisions during the reshard, %d by the failure mode", decided.Load(), fos[0].Stats().Fallbacks+fos[1].Stats().Fallbacks+fos[2].Stats().Fallbacks)
	})
}

// decide sends each of clients clients each requests at once, spread over
// stores, and returns how many of each client's were admitted. A failed
// decision fails the test.
func decide(t *testing.T, stores []ratelimit.Store, clients, each int, rules func(i int) []Rule) []int {
	t.Helper()
	admitted := make([]atomic.Int64, clients)
	var wg sync.WaitGroup
	for i := range clients {
		for j := range each {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := stores[(i+j)%len(stores)].Allow(context.Background(), rules(i))
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				if res.Allowed {
					admitted[i].Add(1)
				}
			}()
		}
	}
	wg.Wait()
	out := make([]int, clients)
	for i := range admitted {
		out[i] = int(admitted[i].Load())
	}
	return out
}

// nodeCounter counts the pipelines and scripts that reach one node.
type nodeCounter struct{ pipes, scripts *atomic.Int64 }

func (n nodeCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (n nodeCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isScript(cmd) {
			n.pipes.Add(1)
			n.scripts.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (n nodeCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		n.pipes.Add(1)
		for _, c := range cmds {
			if isScript(c) {
				n.scripts.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}
