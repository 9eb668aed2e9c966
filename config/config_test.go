package config

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7860 || c.Redis != nil || c.RedisTimeout != 100*time.Millisecond || c.FailureMode != "fallback" {
		t.Errorf("got port %d redis %v timeout %v mode %q", c.Port, c.Redis, c.RedisTimeout, c.FailureMode)
	}
	if got := FormatLimits(c.RateLimit); got != "3 per 1 minute" {
		t.Errorf("RateLimit = %q, want 3 per 1 minute", got)
	}
	if got := FormatLimits(c.PerIP); got != "60 per 1 minute" {
		t.Errorf("PerIP = %q, want 60 per 1 minute", got)
	}
	if c.Global != nil || c.DryRun || c.Algorithm != ratelimit.SlidingWindow || c.KeyName != "session" {
		t.Errorf("got global %v dry %v alg %q key %q", c.Global, c.DryRun, c.Algorithm, c.KeyName)
	}
	if len(c.Trusted) != 6 {
		t.Errorf("Trusted = %v, want the 6 default ranges", c.Trusted)
	}
}

func TestValues(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PORT":                "8080",
		"REDIS_URL":           "rediss://user:pw@redis.example:6380/2",
		"REDIS_TIMEOUT":       "250ms",
		"REDIS_FAILURE_MODE":  "Closed",
		"RATE_LIMIT":          "10 per hour; 50/day",
		"RATE_LIMIT_PER_IP":   "off",
		"RATE_LIMIT_GLOBAL":   "5000/day",
		"RATE_LIMIT_STRATEGY": "sliding-log",
		"RATE_LIMIT_DRY_RUN":  "true",
		"RATE_LIMIT_KEY":      "ip",
		"TRUSTED_PROXIES":     "none",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.Redis == nil || c.Redis.Mode != RedisSingle || c.Redis.Single.Addr != "redis.example:6380" || c.Redis.Single.DB != 2 || c.Redis.Single.TLSConfig == nil {
		t.Errorf("port %d redis %+v", c.Port, c.Redis)
	}
	if c.RedisTimeout != 250*time.Millisecond || c.FailureMode != "closed" || c.PerIP != nil || len(c.Global) != 1 || len(c.RateLimit) != 2 {
		t.Errorf("got %+v", c)
	}
	if c.Algorithm != ratelimit.SlidingLog || !c.DryRun || c.KeyName != "ip" || len(c.Trusted) != 0 {
		t.Errorf("got %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	for _, tt := range []struct{ name, value string }{
		{"PORT", "x"}, {"PORT", "-1"}, {"REDIS_URL", "localhost:6379"}, {"REDIS_TIMEOUT", "0s"},
		{"REDIS_FAILURE_MODE", "retry"}, {"RATE_LIMIT", "3/minute;5/minute"}, {"RATE_LIMIT", "off"},
		{"RATE_LIMIT_PER_IP", "1/fortnight"}, {"RATE_LIMIT_GLOBAL", "x"}, {"RATE_LIMIT_STRATEGY", "leaky"},
		{"RATE_LIMIT_DRY_RUN", "2"}, {"RATE_LIMIT_KEY", "x"}, {"TRUSTED_PROXIES", "10.0.0.0/8,banana"},
		{"RATE_LIMIT_SECRET", "tooshort"}, {"DOCS_DIR", "/nonexistent/dir"}, {"LOG_FORMAT", "xml"}, {"LOG_LEVEL", "loud"},
	} {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.name: tt.value}))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.name) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming %s", err, tt.name)
			}
		})
	}
}

func TestWithDotEnv(t *testing.T) {
	fsys := fstest.MapFS{".env": {Data: []byte("# comment\nPORT=9000\nexport RATE_LIMIT=\"5/minute\"\nLOG_LEVEL='debug'\n\n")}}
	real := env(map[string]string{"PORT": "9100"})
	getenv, err := WithDotEnv(fsys, ".env", real)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"PORT": "9100", "RATE_LIMIT": "5/minute", "LOG_LEVEL": "debug", "OTHER": ""} {
		if got := getenv(k); got != want {
			t.Errorf("%s = %q, want %q (the real environment wins)", k, got, want)
		}
	}
	if _, err := WithDotEnv(fstest.MapFS{".env": {Data: []byte("NOEQUALS\n")}}, ".env", real); err == nil {
		t.Error("a line without = was accepted")
	}
	same, err := WithDotEnv(fstest.MapFS{}, ".env", real)
	if err != nil || same("PORT") != "9100" {
		t.Errorf("without .env: %v, PORT %q", err, same("PORT"))
	}
}

// TestRateLimitRanges: a rate-limit variable out of range stops start-up
// with one line that names the variable, its value and the range.
func TestRateLimitRanges(t *testing.T) {
	sixteen := ""
	for i := 1; i <= 16; i++ {
		sixteen += fmt.Sprintf("%d/%d hours;", i, i)
	}
	tests := []struct {
		name, val, want string
	}{
		{"RATE_LIMIT", "3/1000000 days", `config: RATE_LIMIT="3/1000000 days": invalid limit "3/1000000 days": the window must be from 1 second to 366 days`},
		{"RATE_LIMIT", "3/300000 days", `config: RATE_LIMIT="3/300000 days": invalid limit "3/300000 days": the window must be from 1 second to 366 days`},
		{"RATE_LIMIT", "9223372036854775807/second", `config: RATE_LIMIT="9223372036854775807/second": invalid limit "9223372036854775807/second": the count must be a whole number from 1 to 1000000000`},
		{"RATE_LIMIT_PER_IP", "0/minute", `config: RATE_LIMIT_PER_IP="0/minute": invalid limit "0/minute": the count must be`},
		{"RATE_LIMIT_GLOBAL", "5/367 days", `config: RATE_LIMIT_GLOBAL="5/367 days": invalid limit`},
		{"RATE_LIMIT", "3/minute;5/60 seconds", `config: RATE_LIMIT="3/minute;5/60 seconds": invalid limit "3/minute;5/60 seconds": two limits over 1m0s`},
		// Sixteen parse, but with the default per-IP ceiling they are
		// seventeen in one decision: refused at start-up, not per request.
		{"RATE_LIMIT", sixteen, `config: RATE_LIMIT="` + sixteen + `", RATE_LIMIT_PER_IP="" and RATE_LIMIT_GLOBAL="": 17 limits together, at most 16 fit one decision`},
		{"RATE_LIMIT", sixteen + "17/17 hours", `17 limits, at most 16 fit one decision`},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.val, func(t *testing.T) {
			_, err := Load(env(map[string]string{tt.name: tt.val}))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
	// The edges of the ranges start.
	c, err := Load(env(map[string]string{"RATE_LIMIT": "1000000000/366 days", "RATE_LIMIT_PER_IP": "1/second"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := FormatLimits(c.RateLimit); got != "1000000000 per 366 day" {
		t.Errorf("RateLimit = %q, want 1000000000 per 366 day", got)
	}
}
