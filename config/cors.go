package config

import (
	"fmt"
	"net/url"
	"strings"
)

// corsOrigins reads CORS_ORIGINS: the comma-separated origins whose pages
// may call the API from a browser. Empty means CORS is off (nil); "*"
// alone allows every origin; an origin may start its host with "*." to
// allow every subdomain (https://*.hf.space).
func corsOrigins(getenv func(string) string) ([]string, error) {
	v := strings.TrimSpace(getenv("CORS_ORIGINS"))
	if v == "" {
		return nil, nil
	}
	bad := func() error {
		return fmt.Errorf("config: CORS_ORIGINS=%q: want comma-separated origins such as http://localhost:5173,https://*.hf.space (scheme and host, no path), or * alone", getenv("CORS_ORIGINS"))
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		if o == "" {
			continue
		}
		if o == "*" {
			if v != "*" {
				return nil, bad()
			}
			return []string{"*"}, nil
		}
		scheme, host, ok := strings.Cut(o, "://")
		if !ok || (scheme != "http" && scheme != "https") || host == "" || strings.ContainsAny(host, "/?#@") {
			return nil, bad()
		}
		if n := strings.Count(host, "*"); n > 1 || (n == 1 && !strings.HasPrefix(host, "*.")) {
			return nil, bad()
		}
		u, err := url.Parse(scheme + "://" + strings.Replace(host, "*", "x", 1))
		if err != nil || u.Hostname() == "" {
			return nil, bad()
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, bad()
	}
	return out, nil
}
