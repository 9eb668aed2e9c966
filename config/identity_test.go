package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/identity"
)

func getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

const jwtSecret = "0123456789abcdef0123456789abcdef"

func TestIdentityErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	privFile := filepath.Join(dir, "private.pem")
	os.WriteFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)

	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"unknown strategy", map[string]string{"RATE_LIMIT_KEY": "cookie"}, `RATE_LIMIT_KEY="cookie"`},
		{"user without a key", map[string]string{"RATE_LIMIT_KEY": "user"}, `RATE_LIMIT_KEY="user"`},
		{"unknown platform", map[string]string{"PLATFORM": "heroku"}, `PLATFORM="heroku"`},
		{"bad proxies", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, `TRUSTED_PROXIES="10.0.0.0/33"`},
		{"bad hop count", map[string]string{"TRUSTED_PROXY_HOPS": "two"}, `TRUSTED_PROXY_HOPS="two"`},
		{"too many hops", map[string]string{"TRUSTED_PROXY_HOPS": "33"}, `TRUSTED_PROXY_HOPS="33"`},
		{"hops and header", map[string]string{"TRUSTED_PROXY_HOPS": "2", "CLIENT_IP_HEADER": "X-Real-IP"}, "set one of them"},
		{"header with no trusted proxy", map[string]string{"TRUSTED_PROXIES": "none", "CLIENT_IP_HEADER": "X-Real-IP"}, `CLIENT_IP_HEADER="X-Real-IP"`},
		{"hops with no trusted proxy", map[string]string{"TRUSTED_PROXIES": "none", "TRUSTED_PROXY_HOPS": "1"}, `TRUSTED_PROXY_HOPS="1"`},
		{"X-Forwarded-For as the header", map[string]string{"CLIENT_IP_HEADER": "X-Forwarded-For"}, `CLIENT_IP_HEADER="X-Forwarded-For"`},
		{"short JWT secret", map[string]string{"JWT_SECRET": "short"}, "JWT_SECRET"},
		{"missing key file", map[string]string{"JWT_PUBLIC_KEY_FILE": filepath.Join(dir, "nope.pem")}, "JWT_PUBLIC_KEY_FILE"},
		{"private key file", map[string]string{"JWT_PUBLIC_KEY_FILE": privFile}, "private key"},
		{"bad tiers", map[string]string{"RATE_LIMIT_TIERS": "pro=lots"}, `RATE_LIMIT_TIERS="pro=lots"`},
		{"tiers without names", map[string]string{"RATE_LIMIT_TIERS": "3/minute"}, `RATE_LIMIT_TIERS="3/minute"`},
		{"duplicate tier", map[string]string{"RATE_LIMIT_TIERS": "pro=1/minute,PRO=2/minute"}, "twice"},
		{"tier with too many limits", map[string]string{"RATE_LIMIT_TIERS": "pro=" + sixteenLimits()}, "exceed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(getenv(tt.vars))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("got %v, want a config error mentioning %s", err, tt.want)
			}
		})
	}
}

func TestTiers(t *testing.T) {
	c, err := Load(getenv(map[string]string{
		"RATE_LIMIT_KEY":   "user",
		"JWT_SECRET":       jwtSecret,
		"RATE_LIMIT_TIERS": "free=3/minute, Pro=60/minute;1000/day, team=100/minute,5000/day",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"free": "3 per 1 minute", "pro": "60 per 1 minute;1000 per 1 day", "team": "100 per 1 minute;5000 per 1 day"}
	if len(c.Tiers) != len(want) {
		t.Fatalf("got %d tiers, want %d", len(c.Tiers), len(want))
	}
	for name, w := range want {
		if got := FormatLimits(c.Tiers[name]); got != w {
			t.Errorf("tier %s: got %s, want %s", name, got, w)
		}
	}
	if c.JWT.TierClaim != "tier" || string(c.JWT.Secret) != jwtSecret {
		t.Errorf("JWT: got claim %q, want tier and the secret", c.JWT.TierClaim)
	}
}

// TestPlatformPresets resolves the headers each platform was reported to
// send, through the settings that PLATFORM (or its detection) produces.
func TestPlatformPresets(t *testing.T) {
	type req struct {
		remote  string
		headers []string
	}
	tests := []struct {
		name string
		vars map[string]string
		req  req
		want string
	}{
		{"huggingface", map[string]string{"PLATFORM": "huggingface"},
			req{"10.16.3.80:40000", []string{"X-Forwarded-For: 6.6.6.6, 198.51.100.1"}}, "198.51.100.1"},
		{"railway edge from the shared address space", map[string]string{"PLATFORM": "railway"},
			req{"100.64.0.9:40000", []string{"X-Forwarded-For: 6.6.6.6, 198.51.100.1", "X-Real-IP: 6.6.6.6"}}, "198.51.100.1"},
		{"railway detected", map[string]string{"RAILWAY_ENVIRONMENT_ID": "e"},
			req{"100.64.0.9:40000", []string{"X-Forwarded-For: 198.51.100.1"}}, "198.51.100.1"},
		{"railway without the preset keys on the edge", map[string]string{"PLATFORM": "none"},
			req{"100.64.0.9:40000", []string{"X-Forwarded-For: 198.51.100.1"}}, "100.64.0.9"},
		// Headers as reported from a Render service, with a forged
		// X-Forwarded-For: the client, then a Cloudflare edge, then
		// Render's proxy.
		{"render", map[string]string{"PLATFORM": "render"},
			req{"10.19.64.237:40000", []string{"X-Forwarded-For: 2.2.2.2,198.51.100.1, 172.71.95.118, 10.19.64.237", "CF-Connecting-IP: 198.51.100.1", "True-Client-IP: 198.51.100.1"}}, "198.51.100.1"},
		{"render detected", map[string]string{"RENDER": "true"},
			req{"10.19.64.237:40000", []string{"X-Forwarded-For: 198.51.100.1, 172.71.95.118", "CF-Connecting-IP: 198.51.100.1"}}, "198.51.100.1"},
		{"render without the preset keys on Cloudflare", map[string]string{"PLATFORM": "none"},
			req{"10.19.64.237:40000", []string{"X-Forwarded-For: 198.51.100.1, 172.71.95.118, 10.19.64.237"}}, "172.71.95.118"},
		{"render with an explicit hop count instead", map[string]string{"PLATFORM": "render", "TRUSTED_PROXY_HOPS": "3"},
			req{"10.19.64.237:40000", []string{"X-Forwarded-For: 2.2.2.2, 198.51.100.1, 172.71.95.118, 10.19.64.237", "CF-Connecting-IP: 6.6.6.6"}}, "198.51.100.1"},
		{"render with the header turned off walks the chain", map[string]string{"PLATFORM": "render", "CLIENT_IP_HEADER": "none"},
			req{"10.19.64.237:40000", []string{"X-Forwarded-For: 198.51.100.1, 172.71.95.118", "CF-Connecting-IP: 6.6.6.6"}}, "172.71.95.118"},
		{"explicit TRUSTED_PROXIES replaces the preset's", map[string]string{"PLATFORM": "railway", "TRUSTED_PROXIES": "10.0.0.0/8"},
			req{"100.64.0.9:40000", []string{"X-Forwarded-For: 198.51.100.1"}}, "100.64.0.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(getenv(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := identity.NewResolver(identity.ResolverOptions{Trusted: c.Trusted, Hops: c.Hops, Header: c.ClientIPHeader})
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.req.remote
			for _, h := range tt.req.headers {
				k, v, _ := strings.Cut(h, ": ")
				r.Header.Add(k, v)
			}
			res := rs.Resolve(r)
			if got := res.IP.String(); got != tt.want {
				t.Errorf("got %s (%s, platform %s), want %s", got, res.Rule, c.Platform, tt.want)
			}
		})
	}
}

// sixteenLimits is sixteen limits over sixteen windows: one decision's
// most, too many beside the per-IP ceiling.
func sixteenLimits() string {
	parts := make([]string, 16)
	for i := range parts {
		parts[i] = strconv.Itoa(i+1) + "/" + strconv.Itoa(i+1) + " seconds"
	}
	return strings.Join(parts, ";")
}
