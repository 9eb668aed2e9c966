// Package config reads SmartDocs' settings from the environment once, at
// start-up, and checks every one of them: a bad value is an error that
// names the variable and says what it accepts, never a silent default.
package config

import (
	"bufio"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// Config is every setting, parsed.
type Config struct {
	Port int
	// Redis is nil in memory mode (REDIS_URL unset); see redis.go.
	Redis *Redis
	// RedisTimeout bounds every call to Redis (REDIS_TIMEOUT).
	RedisTimeout time.Duration
	// FailureMode is what a decision does while Redis is unreachable:
	// "fallback", "open" or "closed".
	FailureMode string

	RateLimit []ratelimit.Limit
	// Limits are the route limits by name (see RouteLimit), RateLimit
	// among them as "chat"; the app fills it with LoadRouteLimits.
	Limits map[string][]ratelimit.Limit
	// PerIP is nil when the per-IP ceiling is off.
	PerIP []ratelimit.Limit
	// Global is nil when there is no global budget.
	Global    []ratelimit.Limit
	Algorithm ratelimit.Algorithm
	DryRun    bool
	KeyName   string
	Key       identity.Strategy
	Trusted   []netip.Prefix
	// Platform, Hops and ClientIPHeader finish the trust model; JWT and
	// Tiers serve RATE_LIMIT_KEY=user (see identity.go).
	Platform       string
	Hops           int
	ClientIPHeader string
	JWT            identity.VerifierOptions
	// Tiers is nil when RATE_LIMIT_TIERS is unset.
	Tiers map[string][]ratelimit.Limit
	// Secret is nil when RATE_LIMIT_SECRET is unset.
	Secret []byte

	// DocsDir is "" for the bundled documents.
	DocsDir string

	// Models configures the answer engines (config/llm.go).
	Models Models
	// CORSOrigins is nil when CORS is off (CORS_ORIGINS).
	CORSOrigins []string

	LogFormat string
	LogLevel  string

	// Ops holds METRICS_ADDR and ADMIN_TOKEN (see ops.go).
	Ops Ops
	// Server holds MAX_CONNECTIONS and the bounds of one answer (see
	// server.go).
	Server Server
}

// Default values, as .env.example lists them.
const (
	DefaultPort      = 7860
	DefaultRateLimit = "3/minute"
	DefaultPerIP     = "60/minute"
)

// Load reads the configuration through getenv.
func Load(getenv func(string) string) (Config, error) {
	c := Config{Port: DefaultPort, RedisTimeout: DefaultRedisTimeout, FailureMode: "fallback", LogFormat: "text", LogLevel: "info"}
	bad := func(name, val, want string) error {
		return fmt.Errorf("config: %s=%q: %s", name, val, want)
	}
	if v := getenv("PORT"); v != "" {
		p, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || p < 0 || p > 65535 {
			return c, bad("PORT", v, "want a port number from 0 to 65535")
		}
		c.Port = p
	}
	if err := loadRedis(&c, getenv); err != nil {
		return c, err
	}
	if v := getenv("REDIS_FAILURE_MODE"); v != "" {
		switch m := strings.ToLower(strings.TrimSpace(v)); m {
		case "fallback", "open", "closed":
			c.FailureMode = m
		default:
			return c, bad("REDIS_FAILURE_MODE", v, "want fallback, open or closed")
		}
	}
	var err error
	if c.RateLimit, err = limits(getenv, "RATE_LIMIT", DefaultRateLimit, false); err != nil {
		return c, err
	}
	if c.PerIP, err = limits(getenv, "RATE_LIMIT_PER_IP", DefaultPerIP, true); err != nil {
		return c, err
	}
	if c.Global, err = limits(getenv, "RATE_LIMIT_GLOBAL", "off", true); err != nil {
		return c, err
	}
	if n := len(c.RateLimit) + len(c.PerIP) + len(c.Global); n > ratelimit.MaxLimits {
		// One request is decided over all three at once.
		return c, fmt.Errorf("config: RATE_LIMIT=%q, RATE_LIMIT_PER_IP=%q and RATE_LIMIT_GLOBAL=%q: %d limits together, at most %d fit one decision",
			getenv("RATE_LIMIT"), getenv("RATE_LIMIT_PER_IP"), getenv("RATE_LIMIT_GLOBAL"), n, ratelimit.MaxLimits)
	}
	if c.Algorithm, err = ratelimit.ParseAlgorithm(strings.TrimSpace(getenv("RATE_LIMIT_STRATEGY"))); err != nil {
		return c, bad("RATE_LIMIT_STRATEGY", getenv("RATE_LIMIT_STRATEGY"), "want sliding-window, fixed-window or sliding-log")
	}
	if c.DryRun, err = boolean(getenv, "RATE_LIMIT_DRY_RUN"); err != nil {
		return c, err
	}
	if err := loadIdentity(&c, getenv); err != nil {
		return c, err
	}
	if v := getenv("RATE_LIMIT_SECRET"); v != "" {
		if len(v) < 16 {
			return c, fmt.Errorf("config: RATE_LIMIT_SECRET: want at least 16 characters (got %d)", len(v))
		}
		c.Secret = []byte(v)
	}
	if v := strings.TrimSpace(getenv("DOCS_DIR")); v != "" {
		st, err := os.Stat(v)
		if err != nil || !st.IsDir() {
			return c, bad("DOCS_DIR", v, "want a directory of .md or .txt files that exists")
		}
		c.DocsDir = v
	}
	if c.Models, err = loadModels(getenv); err != nil {
		return c, err
	}
	if c.CORSOrigins, err = corsOrigins(getenv); err != nil {
		return c, err
	}
	if v := getenv("LOG_FORMAT"); v != "" {
		switch f := strings.ToLower(strings.TrimSpace(v)); f {
		case "text", "json":
			c.LogFormat = f
		default:
			return c, bad("LOG_FORMAT", v, "want text or json")
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		switch l := strings.ToLower(strings.TrimSpace(v)); l {
		case "debug", "info", "warn", "error":
			c.LogLevel = l
		default:
			return c, bad("LOG_LEVEL", v, "want debug, info, warn or error")
		}
	}
	if c.Ops, err = loadOps(getenv); err != nil {
		return c, err
	}
	if c.Server, err = loadServer(getenv); err != nil {
		return c, err
	}
	return c, nil
}

func limits(getenv func(string) string, name, def string, offOK bool) ([]ratelimit.Limit, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		v = def
	}
	if offOK && strings.EqualFold(v, "off") {
		return nil, nil
	}
	ls, err := ratelimit.ParseLimits(v)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "ratelimit: ")
		if offOK {
			msg += ", or off"
		}
		return nil, fmt.Errorf("config: %s=%q: %s", name, getenv(name), msg)
	}
	return ls, nil
}

func boolean(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "0", "false", "no", "off":
		return false, nil
	case "1", "true", "yes", "on":
		return true, nil
	}
	return false, fmt.Errorf("config: %s=%q: want 1 or 0 (true or false)", name, getenv(name))
}

// WithDotEnv returns a getenv that answers from getenv first and, for
// variables it leaves empty, from the KEY=VALUE lines of the file at path
// (if it exists): the real environment wins. Lines may start with
// "export ", values may be quoted, and # starts a comment line.
func WithDotEnv(fsys fs.FS, path string, getenv func(string) string) (func(string) string, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return getenv, nil
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("config: %s line %d: want KEY=VALUE", path, n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		vals[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vals[k]
	}, nil
}
