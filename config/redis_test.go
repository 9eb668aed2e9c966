package config

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisModes(t *testing.T) {
	for _, tt := range []struct {
		name, mode, url string
		hosts           []string
		tls             bool
		db              int
	}{
		{"single by default", "", "redis://:pw@redis.example:6380/2", []string{"redis.example:6380"}, false, 2},
		{"single", "single", "rediss://u:pw@redis.example:6380", []string{"redis.example:6380"}, true, 0},
		{"single without port", "SINGLE", "redis://redis.example", []string{"redis.example:6379"}, false, 0},
		{"single database 15", "", "redis://redis.example/15", []string{"redis.example:6379"}, false, 15},
		{"unix socket", "", "unix:///run/redis.sock?db=3", []string{"/run/redis.sock"}, false, 3},
		{"cluster", "cluster", "redis://:pw@10.0.0.1:7000?addr=10.0.0.2:7000&addr=10.0.0.3:7000",
			[]string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"}, false, 0},
		{"cluster over TLS", "cluster", "rediss://:pw@c1.example:6379?addr=c2.example:6379", []string{"c1.example:6379", "c2.example:6379"}, true, 0},
		{"cluster one seed, database 0", "cluster", "redis://c1.example:6379/0", []string{"c1.example:6379"}, false, 0},
		{"sentinel", "sentinel", "redis://s1.example:26379?master_name=mymaster&password=pw&addr=s2.example:26379&addr=s3.example:26379",
			[]string{"s1.example:26379", "s2.example:26379", "s3.example:26379"}, false, 0},
		{"sentinel over TLS, database 4", "sentinel", "rediss://s1.example:26379/4?master_name=m", []string{"s1.example:26379"}, true, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _, err := parseRedis(env(map[string]string{"REDIS_MODE": tt.mode, "REDIS_URL": tt.url}))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := RedisMode(strings.ToLower(tt.mode))
			if want == "" {
				want = RedisSingle
			}
			if r.Mode != want {
				t.Errorf("mode: got %q, want %q", r.Mode, want)
			}
			if got := r.Hosts(); !slices.Equal(got, tt.hosts) {
				t.Errorf("hosts: got %v, want %v", got, tt.hosts)
			}
			var tls bool
			var db int
			switch r.Mode {
			case RedisSingle:
				tls, db = r.Single.TLSConfig != nil, r.Single.DB
			case RedisCluster:
				tls = r.Cluster.TLSConfig != nil
			case RedisSentinel:
				tls, db = r.Sentinel.TLSConfig != nil, r.Sentinel.DB
				if r.Sentinel.MasterName == "" {
					t.Error("master name: got none")
				}
			}
			if tls != tt.tls || db != tt.db {
				t.Errorf("got TLS %v database %d, want TLS %v database %d", tls, db, tt.tls, tt.db)
			}
			rdb := r.NewClient()
			defer rdb.Close()
			wantType := map[RedisMode]string{RedisSingle: "*redis.Client", RedisCluster: "*redis.ClusterClient", RedisSentinel: "*redis.Client"}[r.Mode]
			if got := typeName(rdb); got != wantType {
				t.Errorf("client: got %s, want %s", got, wantType)
			}
		})
	}
}

func typeName(rdb redis.UniversalClient) string {
	switch rdb.(type) {
	case *redis.ClusterClient:
		return "*redis.ClusterClient"
	case *redis.Client:
		return "*redis.Client"
	}
	return "other"
}

// TestRedisErrors checks that every Redis setting out of its range, and
// every URL that does not fit its mode, stops start-up with one line that
// names the variable and does not repeat the password.
func TestRedisErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		says string // the variable the error must name
	}{
		{"empty URL means no host", map[string]string{"REDIS_URL": "redis://"}, "REDIS_URL"},
		{"no host, password only", map[string]string{"REDIS_URL": "redis://:secretpw@"}, "REDIS_URL"},
		{"no host with port", map[string]string{"REDIS_URL": "redis://:6379"}, "REDIS_URL"},
		{"no scheme", map[string]string{"REDIS_URL": "localhost:6379"}, "REDIS_URL"},
		{"http scheme", map[string]string{"REDIS_URL": "http://redis.example"}, "REDIS_URL"},
		{"database past 15", map[string]string{"REDIS_URL": "redis://:secretpw@redis.example/99999"}, "REDIS_URL"},
		{"database 16", map[string]string{"REDIS_URL": "redis://redis.example/16"}, "REDIS_URL"},
		{"database in the query", map[string]string{"REDIS_URL": "redis://redis.example?db=99"}, "REDIS_URL"},
		{"port past 65535", map[string]string{"REDIS_URL": "redis://redis.example:99999"}, "REDIS_URL"},
		{"port 0", map[string]string{"REDIS_URL": "redis://redis.example:0"}, "REDIS_URL"},
		{"cluster URL in single mode", map[string]string{"REDIS_URL": "redis://c1:6379?addr=c2:6379"}, "REDIS_URL"},
		{"sentinel URL in single mode", map[string]string{"REDIS_URL": "redis://s1:26379?master_name=m"}, "REDIS_URL"},
		{"sentinel URL in cluster mode", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://s1:26379?master_name=m"}, "REDIS_URL"},
		{"database in cluster mode", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://c1:6379/2"}, "REDIS_URL"},
		{"cluster addr without port", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://c1:6379?addr=c2"}, "REDIS_URL"},
		{"cluster addr port past 65535", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://c1:6379?addr=c2:70000"}, "REDIS_URL"},
		{"cluster empty URL", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://"}, "REDIS_URL"},
		{"unknown cluster option", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "redis://c1:6379?colour=red"}, "REDIS_URL"},
		{"sentinel without master_name", map[string]string{"REDIS_MODE": "sentinel", "REDIS_URL": "redis://s1:26379?addr=s2:26379"}, "REDIS_URL"},
		{"sentinel database past 15", map[string]string{"REDIS_MODE": "sentinel", "REDIS_URL": "redis://s1:26379/20?master_name=m"}, "REDIS_URL"},
		{"sentinel empty URL", map[string]string{"REDIS_MODE": "sentinel", "REDIS_URL": "redis://?master_name=m"}, "REDIS_URL"},
		{"unix socket in cluster mode", map[string]string{"REDIS_MODE": "cluster", "REDIS_URL": "unix:///run/redis.sock"}, "REDIS_URL"},
		{"unknown mode", map[string]string{"REDIS_MODE": "ring", "REDIS_URL": "redis://r1"}, "REDIS_MODE"},
		{"cluster without URL", map[string]string{"REDIS_MODE": "cluster"}, "REDIS_MODE"},
		{"timeout 1ns", map[string]string{"REDIS_TIMEOUT": "1ns"}, "REDIS_TIMEOUT"},
		{"timeout 999us", map[string]string{"REDIS_TIMEOUT": "999us"}, "REDIS_TIMEOUT"},
		{"timeout 0", map[string]string{"REDIS_TIMEOUT": "0s"}, "REDIS_TIMEOUT"},
		{"timeout negative", map[string]string{"REDIS_TIMEOUT": "-5ms"}, "REDIS_TIMEOUT"},
		{"timeout past a minute", map[string]string{"REDIS_TIMEOUT": "61s"}, "REDIS_TIMEOUT"},
		{"timeout without unit", map[string]string{"REDIS_TIMEOUT": "100"}, "REDIS_TIMEOUT"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.env))
			if err == nil {
				t.Fatalf("got no error, want one naming %s", tt.says)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.says) || strings.Contains(msg, "\n") {
				t.Errorf("got %q, want one line naming %s", msg, tt.says)
			}
			if strings.Contains(msg, "secretpw") {
				t.Errorf("got %q, want the password left out", msg)
			}
		})
	}
}

func TestRedisTimeoutRange(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want time.Duration
	}{
		{"", DefaultRedisTimeout}, {"1ms", time.Millisecond}, {"250ms", 250 * time.Millisecond}, {"1m", time.Minute}, {" 2s ", 2 * time.Second},
	} {
		t.Run(tt.v, func(t *testing.T) {
			_, got, err := parseRedis(env(map[string]string{"REDIS_TIMEOUT": tt.v}))
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
