package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Ops is how the app is operated: where its metrics are served and
// whether the admin routes exist.
type Ops struct {
	// MetricsAddr is where GET /metrics is served: "" on the public port
	// beside the API, "host:port" on a listener of its own (and not on
	// the public port), "off" nowhere.
	MetricsAddr string
	// AdminToken is the bearer token of /admin; "" leaves the admin
	// routes out entirely.
	AdminToken string
}

// MinAdminToken is the shortest ADMIN_TOKEN accepted: long enough that
// guessing it through the rate-limited 401s is hopeless.
const MinAdminToken = 24

// loadOps reads METRICS_ADDR and ADMIN_TOKEN.
func loadOps(getenv func(string) string) (Ops, error) {
	var o Ops
	switch v := strings.TrimSpace(getenv("METRICS_ADDR")); {
	case v == "":
	case strings.EqualFold(v, "off"):
		o.MetricsAddr = "off"
	default:
		host, port, err := net.SplitHostPort(v)
		p, perr := strconv.Atoi(port)
		if err != nil || perr != nil || p < 0 || p > 65535 || strings.ContainsAny(host, " /") {
			return o, fmt.Errorf("config: METRICS_ADDR=%q: want host:port such as 127.0.0.1:9090 or :9090, or off", getenv("METRICS_ADDR"))
		}
		o.MetricsAddr = v
	}
	if v := getenv("ADMIN_TOKEN"); v != "" {
		if strings.TrimSpace(v) != v || len(v) < MinAdminToken {
			return o, fmt.Errorf("config: ADMIN_TOKEN: want at least %d characters without surrounding spaces (got %d), such as the output of openssl rand -hex 32", MinAdminToken, len(v))
		}
		o.AdminToken = v
	}
	return o, nil
}
