package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/smartdocs-go/smartdocs/identity"
	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// loadIdentity reads how clients are told apart: RATE_LIMIT_KEY, the
// trust model (PLATFORM and its preset, TRUSTED_PROXIES,
// TRUSTED_PROXY_HOPS, CLIENT_IP_HEADER), the JWT settings and
// RATE_LIMIT_TIERS. It needs c.PerIP and c.Global to check that every tier
// fits in one decision.
func loadIdentity(c *Config, getenv func(string) string) error {
	bad := func(name, want string) error {
		return fmt.Errorf("config: %s=%q: %s", name, getenv(name), want)
	}
	c.KeyName = strings.ToLower(strings.TrimSpace(getenv("RATE_LIMIT_KEY")))
	if c.KeyName == "" {
		c.KeyName = "session"
	}
	var err error
	if c.Key, err = identity.ParseStrategy(c.KeyName); err != nil {
		return bad("RATE_LIMIT_KEY", "want "+identity.Strategies)
	}

	c.Platform = strings.ToLower(strings.TrimSpace(getenv("PLATFORM")))
	if c.Platform == "" || c.Platform == "auto" {
		c.Platform = identity.DetectPlatform(getenv)
	}
	preset, err := identity.PlatformPreset(c.Platform)
	if err != nil {
		return bad("PLATFORM", "want "+identity.Platforms+" (empty: detected)")
	}
	trusted := strings.TrimSpace(getenv("TRUSTED_PROXIES"))
	if trusted == "" {
		trusted = preset.Trusted
	}
	if c.Trusted, err = identity.ParseTrusted(trusted); err != nil {
		return bad("TRUSTED_PROXIES", "want comma-separated CIDRs such as 10.0.0.0/8,172.16.0.0/12 (default: the private ranges), or none")
	}
	hops := strings.TrimSpace(getenv("TRUSTED_PROXY_HOPS"))
	header := strings.TrimSpace(getenv("CLIENT_IP_HEADER"))
	if hops == "" && header == "" {
		c.Hops, c.ClientIPHeader = preset.Hops, preset.Header
	} else {
		if hops != "" {
			n, err := strconv.Atoi(hops)
			if err != nil || n < 0 || n > identity.MaxHops {
				return bad("TRUSTED_PROXY_HOPS", fmt.Sprintf("want how many proxies append to X-Forwarded-For, 1 to %d (0: walk past TRUSTED_PROXIES)", identity.MaxHops))
			}
			c.Hops = n
		}
		if !strings.EqualFold(header, "none") {
			c.ClientIPHeader = header
		}
	}
	if c.Hops > 0 && c.ClientIPHeader != "" {
		return fmt.Errorf("config: TRUSTED_PROXY_HOPS=%q and CLIENT_IP_HEADER=%q: set one of them", getenv("TRUSTED_PROXY_HOPS"), getenv("CLIENT_IP_HEADER"))
	}
	// The resolver checks the rest (header syntax, a trusted peer to
	// believe); its message is reported under the variable that caused it.
	if _, err := identity.NewResolver(identity.ResolverOptions{Trusted: c.Trusted, Hops: c.Hops, Header: c.ClientIPHeader}); err != nil {
		name := "CLIENT_IP_HEADER"
		if c.ClientIPHeader == "" {
			name = "TRUSTED_PROXY_HOPS"
		}
		return fmt.Errorf("config: %s=%q with TRUSTED_PROXIES=%q: %v", name, getenv(name), getenv("TRUSTED_PROXIES"), err)
	}

	if err := loadJWT(c, getenv); err != nil {
		return err
	}
	if c.Tiers, err = parseTiers(getenv("RATE_LIMIT_TIERS"), len(c.PerIP)+len(c.Global)); err != nil {
		return fmt.Errorf("config: RATE_LIMIT_TIERS=%q: %v", getenv("RATE_LIMIT_TIERS"), err)
	}
	return nil
}

// loadJWT reads JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWT_TIER_CLAIM,
// JWT_ISSUER and JWT_AUDIENCE. They are checked whatever the strategy;
// RATE_LIMIT_KEY=user needs a key.
func loadJWT(c *Config, getenv func(string) string) error {
	if v := getenv("JWT_SECRET"); v != "" {
		if len(v) < identity.MinSecret {
			return fmt.Errorf("config: JWT_SECRET: want at least %d characters (got %d)", identity.MinSecret, len(v))
		}
		c.JWT.Secret = []byte(v)
	}
	if path := strings.TrimSpace(getenv("JWT_PUBLIC_KEY_FILE")); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: JWT_PUBLIC_KEY_FILE=%q: want a readable PEM file of public keys: %v", path, err)
		}
		if c.JWT.PublicKeys, err = identity.ParsePublicKeys(data); err != nil {
			return fmt.Errorf("config: JWT_PUBLIC_KEY_FILE=%q: %v", path, err)
		}
	}
	c.JWT.TierClaim = strings.TrimSpace(getenv("JWT_TIER_CLAIM"))
	if c.JWT.TierClaim == "" {
		c.JWT.TierClaim = "tier"
	}
	if len(c.JWT.TierClaim) > 64 {
		return fmt.Errorf("config: JWT_TIER_CLAIM=%q: want a claim name of at most 64 characters", c.JWT.TierClaim)
	}
	c.JWT.Issuer = strings.TrimSpace(getenv("JWT_ISSUER"))
	for _, a := range strings.Split(getenv("JWT_AUDIENCE"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.JWT.Audience = append(c.JWT.Audience, a)
		}
	}
	if c.JWT.Secret == nil && c.JWT.PublicKeys == nil {
		if c.KeyName == "user" {
			return fmt.Errorf("config: RATE_LIMIT_KEY=%q: set JWT_SECRET (HS256) or JWT_PUBLIC_KEY_FILE (RS256/ES256) to verify tokens with", getenv("RATE_LIMIT_KEY"))
		}
		return nil
	}
	if _, err := identity.NewVerifier(c.JWT); err != nil {
		return fmt.Errorf("config: JWT settings: %v", err)
	}
	return nil
}

// parseTiers parses RATE_LIMIT_TIERS: name=limits entries joined by
// commas, such as "free=3/minute,pro=60/minute;1000/day". A comma-separated
// part without "=" continues the previous tier's limits ("pro=60/minute,
// 1000/day"). Names are lower-cased; "default" is the tier of a signed-in
// user whose tier is missing or unknown (otherwise RATE_LIMIT applies).
// Every tier's limits, with others more, must fit in one decision.
func parseTiers(s string, others int) (map[string][]ratelimit.Limit, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	specs := map[string]string{}
	var order []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, lim, ok := strings.Cut(part, "=")
		if !ok {
			if len(order) == 0 {
				return nil, fmt.Errorf("want name=limits entries such as free=3/minute,pro=60/minute;1000/day")
			}
			last := order[len(order)-1]
			specs[last] += ";" + part
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if !validTierName(name) {
			return nil, fmt.Errorf("tier name %q: want lower-case letters, digits, '_', '.' or '-'", name)
		}
		if _, dup := specs[name]; dup {
			return nil, fmt.Errorf("tier %q given twice", name)
		}
		specs[name] = lim
		order = append(order, name)
	}
	out := make(map[string][]ratelimit.Limit, len(specs))
	for _, name := range order {
		ls, err := ratelimit.ParseLimits(specs[name])
		if err != nil {
			return nil, fmt.Errorf("tier %q: %s", name, strings.TrimPrefix(err.Error(), "ratelimit: "))
		}
		if len(ls)+others > ratelimit.MaxLimits {
			return nil, fmt.Errorf("tier %q: %d limits, with the per-IP and global ones, exceed %d in one decision", name, len(ls), ratelimit.MaxLimits)
		}
		out[name] = ls
	}
	return out, nil
}

// validTierName allows 1 to 64 lower-case letters, digits, '_', '.' and
// '-', starting with a letter or digit.
func validTierName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '_' || c == '.' || c == '-')) {
			return false
		}
	}
	return true
}
