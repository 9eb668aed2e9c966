package config

import (
	"context"
	"testing"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
)

// TestRedisTLS: a rediss:// URL gives, in every mode, a client that
// speaks TLS to real servers (and sentinels) that accept nothing else. The
// test trusts its own CA the way a host's certificate is trusted through
// the system's roots.
func TestRedisTLS(t *testing.T) {
	ctx := context.Background()
	single := redistest.Start(t, redistest.Options{TLS: true})
	cluster := redistest.StartClusterTLS(t)
	sentinel := redistest.StartSentinelTLS(t)
	for _, tt := range []struct{ name, mode, url string }{
		{"single", "single", single.URL()},
		{"cluster", "cluster", cluster.URL()},
		{"sentinel", "sentinel", sentinel.URL()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := parseRedis(env(map[string]string{"REDIS_MODE": tt.mode, "REDIS_URL": tt.url}))
			if err != nil {
				t.Fatal(err)
			}
			switch r.Mode {
			case RedisSingle:
				if r.Single.TLSConfig == nil {
					t.Fatal("rediss:// gave no TLS configuration")
				}
				r.Single.TLSConfig.RootCAs = single.TLS().RootCAs
			case RedisCluster:
				if r.Cluster.TLSConfig == nil {
					t.Fatal("rediss:// gave no TLS configuration")
				}
				r.Cluster.TLSConfig.RootCAs = cluster.TLS().RootCAs
			case RedisSentinel:
				if r.Sentinel.TLSConfig == nil {
					t.Fatal("rediss:// gave no TLS configuration")
				}
				r.Sentinel.TLSConfig.RootCAs = sentinel.TLS().RootCAs
			}
			rdb := r.NewClient()
			defer rdb.Close()
			for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
				if err := rdb.Set(ctx, k, "1", 0).Err(); err != nil {
					t.Fatalf("set over TLS: %v", err)
				}
			}
		})
	}
}
