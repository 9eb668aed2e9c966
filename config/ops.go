package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Ops is how the app is operated: where its metrics are served,
// whether the admin routes exist, and how many bans they may hold.
type Ops struct {
	// MetricsAddr is where GET /metrics is served: "" on the public port
	// beside the API, "host:port" on a listener of its own (and not on
	// the public port), "off" nowhere.
	MetricsAddr string
	// AdminToken is the bearer token of /admin; "" leaves the admin
	// routes out entirely.
	AdminToken string
	// BansMax is BANS_MAX, the most bans kept (adding past it answers
	// 409); 0 when unset, for the bans package's default of 100,000.
	BansMax int
}

// MaxBansMax is the largest BANS_MAX accepted: every instance keeps each
// ban in memory, and Redis keeps them in one hash.
const MaxBansMax = 1_000_000

// MinAdminToken is the shortest ADMIN_TOKEN accepted: long enough that
// guessing it through the rate-limited 401s is hopeless.
const MinAdminToken = 24

// loadOps reads METRICS_ADDR, ADMIN_TOKEN and BANS_MAX.
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
	if v := strings.TrimSpace(getenv("BANS_MAX")); v != "" {
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n < 1 || n > MaxBansMax {
			return o, fmt.Errorf("config: BANS_MAX=%q: want a whole number from 1 to %d", getenv("BANS_MAX"), MaxBansMax)
		}
		o.BansMax = n
	}
	return o, nil
}
