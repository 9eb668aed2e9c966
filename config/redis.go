package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisMode says what REDIS_URL names: one node, a cluster, or the
// sentinels that know a master.
type RedisMode string

// The Redis modes (REDIS_MODE).
const (
	// RedisSingle is one node (or a proxy that looks like one, as most
	// hosted Redis does): REDIS_URL in redis.ParseURL's form,
	// redis://[user:password@]host:port[/db].
	RedisSingle RedisMode = "single"
	// RedisCluster is a Redis Cluster: REDIS_URL in
	// redis.ParseClusterURL's form, one node in the host and more in
	// addr= parameters, redis://:password@host1:6379?addr=host2:6379.
	// A cluster has database 0 only.
	RedisCluster RedisMode = "cluster"
	// RedisSentinel is a master found through Sentinel: REDIS_URL in
	// redis.ParseFailoverURL's form, the sentinels in the host and addr=,
	// the master's name in master_name= and its password in password=,
	// redis://sentinel1:26379?master_name=mymaster&addr=sentinel2:26379.
	RedisSentinel RedisMode = "sentinel"
)

// The ranges the Redis settings are checked against at start-up.
const (
	// MaxRedisDB is the highest database number REDIS_URL may name:
	// Redis has 16 databases (0 to 15) unless its own configuration
	// says otherwise, and a number past them fails every command.
	MaxRedisDB = 15
	// MinRedisTimeout and MaxRedisTimeout bound REDIS_TIMEOUT: below a
	// millisecond no decision could reach even a local Redis, so the
	// instance would decide from its own memory for good; past a minute a
	// request waits longer than any client would.
	MinRedisTimeout = time.Millisecond
	MaxRedisTimeout = time.Minute
	// DefaultRedisTimeout is REDIS_TIMEOUT's default.
	DefaultRedisTimeout = 100 * time.Millisecond
)

// Redis is REDIS_MODE and REDIS_URL, parsed: exactly one of Single,
// Cluster and Sentinel is set, the one Mode names.
type Redis struct {
	Mode     RedisMode
	Single   *redis.Options
	Cluster  *redis.ClusterOptions
	Sentinel *redis.FailoverOptions
}

// NewClient returns a client for the mode: a *redis.Client for single
// and sentinel (a failover client that follows the master), a
// *redis.ClusterClient for cluster. Its calls end at their context's
// deadline (ContextTimeoutEnabled), so that REDIS_TIMEOUT bounds socket
// reads too, not only the wait for a connection.
func (r *Redis) NewClient() redis.UniversalClient {
	switch r.Mode {
	case RedisCluster:
		o := *r.Cluster
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(&o)
	case RedisSentinel:
		o := *r.Sentinel
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(&o)
	}
	o := *r.Single
	o.ContextTimeoutEnabled = true
	return redis.NewClient(&o)
}

// Hosts are the addresses REDIS_URL names (host:port, or a socket path),
// never a password: what logs and /health may show. For sentinel they
// are the sentinels'.
func (r *Redis) Hosts() []string {
	switch r.Mode {
	case RedisCluster:
		return r.Cluster.Addrs
	case RedisSentinel:
		return r.Sentinel.SentinelAddrs
	}
	return []string{r.Single.Addr}
}

// loadRedis reads REDIS_MODE, REDIS_URL and REDIS_TIMEOUT into c. It
// leaves c.Redis nil when REDIS_URL is unset (memory mode).
func loadRedis(c *Config, getenv func(string) string) error {
	var err error
	c.Redis, c.RedisTimeout, err = parseRedis(getenv)
	return err
}

func parseRedis(getenv func(string) string) (*Redis, time.Duration, error) {
	timeout := DefaultRedisTimeout
	if v := getenv("REDIS_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < MinRedisTimeout || d > MaxRedisTimeout {
			return nil, 0, fmt.Errorf("config: REDIS_TIMEOUT=%q: want a duration from 1ms to 1m, such as 100ms", v)
		}
		timeout = d
	}
	mode := RedisSingle
	if v := strings.ToLower(strings.TrimSpace(getenv("REDIS_MODE"))); v != "" {
		switch m := RedisMode(v); m {
		case RedisSingle, RedisCluster, RedisSentinel:
			mode = m
		default:
			return nil, 0, fmt.Errorf("config: REDIS_MODE=%q: want single, cluster or sentinel", getenv("REDIS_MODE"))
		}
	}
	v := strings.TrimSpace(getenv("REDIS_URL"))
	if v == "" {
		if mode != RedisSingle {
			return nil, 0, fmt.Errorf("config: REDIS_MODE=%s needs REDIS_URL", mode)
		}
		return nil, timeout, nil
	}
	r, err := parseRedisURL(mode, v)
	if err != nil {
		// The URL is not repeated: it may hold a password.
		return nil, 0, fmt.Errorf("config: REDIS_URL (REDIS_MODE=%s): %w", mode, err)
	}
	return r, timeout, nil
}

// redisForms is how each mode's URL looks, for error messages.
var redisForms = map[RedisMode]string{
	RedisSingle:   "redis://[user:password@]host:port[/db] or rediss://...",
	RedisCluster:  "redis://[user:password@]host1:port?addr=host2:port&addr=host3:port or rediss://...",
	RedisSentinel: "redis://sentinel1:26379?master_name=NAME&addr=sentinel2:26379[&password=...] or rediss://...",
}

// parseRedisURL parses v in mode's form and checks what go-redis leaves
// to the first command: a host, a port and a database in range, and no
// parameter that belongs to another mode.
func parseRedisURL(mode RedisMode, v string) (*Redis, error) {
	want := "want " + redisForms[mode]
	u, err := url.Parse(v)
	if err != nil {
		return nil, errors.New(want + ": not a URL")
	}
	if u.Scheme == "unix" && mode == RedisSingle {
		o, err := redis.ParseURL(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", want, err)
		}
		return &Redis{Mode: mode, Single: o}, checkDB(o.DB)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, fmt.Errorf("%s: scheme %q", want, u.Scheme)
	}
	// go-redis reads a missing host as localhost: a URL cut short
	// (redis:// from an unset variable in a template) must not quietly
	// reach a different server.
	if u.Hostname() == "" {
		return nil, errors.New(want + ": the URL names no host")
	}
	if err := checkPort(u.Port()); err != nil {
		return nil, err
	}
	q := u.Query()
	for _, a := range q["addr"] {
		_, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("%s: addr=%s is not host:port", want, a)
		}
		if err := checkPort(p); err != nil {
			return nil, err
		}
	}
	r := &Redis{Mode: mode}
	switch mode {
	case RedisSingle:
		if q.Has("addr") || q.Has("master_name") {
			return nil, fmt.Errorf("%s: addr= and master_name= list cluster nodes or sentinels; set REDIS_MODE=cluster or REDIS_MODE=sentinel", want)
		}
		if r.Single, err = redis.ParseURL(v); err != nil {
			return nil, fmt.Errorf("%s: %w", want, err)
		}
		return r, checkDB(r.Single.DB)
	case RedisCluster:
		if q.Has("master_name") {
			return nil, fmt.Errorf("%s: master_name= names a Sentinel master; set REDIS_MODE=sentinel", want)
		}
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return nil, fmt.Errorf("%s: a cluster has database 0 only, the URL names /%s", want, p)
		}
		u.Path = ""
		if r.Cluster, err = redis.ParseClusterURL(u.String()); err != nil {
			return nil, fmt.Errorf("%s: %w", want, err)
		}
		return r, nil
	case RedisSentinel:
		if q.Get("master_name") == "" {
			return nil, fmt.Errorf("%s: master_name= is missing", want)
		}
		if r.Sentinel, err = redis.ParseFailoverURL(v); err != nil {
			return nil, fmt.Errorf("%s: %w", want, err)
		}
		return r, checkDB(r.Sentinel.DB)
	}
	return nil, fmt.Errorf("config: unknown Redis mode %q", mode)
}

func checkPort(p string) error {
	if p == "" {
		return nil // go-redis's default, 6379
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s: want 1 to 65535", p)
	}
	return nil
}

func checkDB(db int) error {
	if db < 0 || db > MaxRedisDB {
		return fmt.Errorf("database %d: want 0 to %d (Redis's default number of databases)", db, MaxRedisDB)
	}
	return nil
}
