package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// BenchmarkTopology measures the store's decisions per second on a
// three-master Redis Cluster beside a single node, in the same run, on
// the allowed path (65,536 client keys tagged as identity makes them, so
// the cluster spreads them over its masters), serially and with 32
// callers:
//
//   - client: one rule, one slot, one script per decision;
//   - client+global: the same with a global budget too high to refuse.
//     On one node that is still one script; in a cluster the budget has
//     a slot of its own, so each decision is two scripts in turn.
//
// All processes share the machine's cores, so the cluster's three
// servers do not add CPU here; the figures show what a cluster costs a
// decision, not what it scales to.
//
//	go test -run '^$' -bench Topology ./ratelimit/redisstore/
func BenchmarkTopology(b *testing.B) {
	single := redistest.Start(b, redistest.Options{})
	cluster := redistest.StartCluster(b)
	srdb := redis.NewClient(&redis.Options{Addr: single.Addr(), Password: single.Password(), PoolSize: 64})
	crdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs(), Password: cluster.Password(), PoolSize: 64})
	b.Cleanup(func() { srdb.Close(); crdb.Close() })
	keys := benchKeys(1 << 16)
	global := &Policy{Name: "global", Limits: []Limit{{Requests: 1 << 30, Window: time.Minute}}}
	for _, topo := range []struct {
		name  string
		rdb   redis.UniversalClient
		flush func()
	}{
		{"single", srdb, func() { single.Flush(context.Background()) }},
		{"cluster", crdb, func() { cluster.Flush(context.Background()) }},
	} {
		for _, rules := range []string{"client", "client+global"} {
			for _, m := range []struct {
				name    string
				callers int
			}{{"serial", 0}, {"parallel-32", 32}} {
				b.Run(topo.name+"/"+rules+"/"+m.name, func(b *testing.B) {
					topo.flush()
					c := contender{topo.name, func(b *testing.B, limit int) (func() decideFunc, func() int64) {
						s, err := New(topo.rdb, Options{})
						if err != nil {
							b.Fatal(err)
						}
						p := &Policy{Name: "per-client", Limits: []Limit{{Requests: limit, Window: time.Minute}}}
						return func() decideFunc {
							rs := []Rule{{Policy: p}, {Policy: global, Key: "global"}}
							if rules == "client" {
								rs = rs[:1]
							}
							return func(ctx context.Context, key string) bool {
								rs[0].Key = key
								res, err := s.Allow(ctx, rs)
								if err != nil {
									panic(err)
								}
								return res.Allowed
							}
						}, nil
					}}
					runDecisions(b, c, 1<<30, keys, m.callers)
				})
			}
		}
	}
}
