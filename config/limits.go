package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// RouteLimit declares a limit that routes take by name, as in
// r.With(d.Limit("chat")).Post("/chat", ...); handlers.Limits lists them
// beside the routes. Every name has counters of its own; routes that name
// the same limit share it (POST /chat and POST /api/chat do). The per-IP
// ceiling (RATE_LIMIT_PER_IP) and the global budget (RATE_LIMIT_GLOBAL)
// are not route limits: every limited route shares them unless its line
// opts out.
type RouteLimit struct {
	// Name is what routes call it: lower case letters, digits and '-'.
	Name string
	// Var is the variable that overrides Default, such as RATE_LIMIT.
	Var string
	// Default is the limit when Var is unset, in RATE_LIMIT's syntax
	// ("3/minute", "10/minute;100/day").
	Default string
}

var routeLimitName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// reservedLimitNames are the layers every limited route shares, and the
// chat limit's policy name.
var reservedLimitNames = map[string]bool{"per-ip": true, "global": true, "per-client": true}

// LoadRouteLimits reads each declared limit through getenv, after
// checking that the declarations are sound: valid, unique names (two
// limits of one name would share counters without a word). shared is the
// number of limits every decision carries besides the route's own (the
// per-IP ceiling's and the global budget's): together they must fit
// ratelimit.MaxLimits.
func LoadRouteLimits(getenv func(string) string, decl []RouteLimit, shared int) (map[string][]ratelimit.Limit, error) {
	out := make(map[string][]ratelimit.Limit, len(decl))
	for _, d := range decl {
		switch {
		case !routeLimitName.MatchString(d.Name) || reservedLimitNames[d.Name]:
			return nil, fmt.Errorf("config: route limit %q: want a name of lower case letters, digits and '-', other than per-ip, global and per-client", d.Name)
		case out[d.Name] != nil:
			return nil, fmt.Errorf("config: route limit %q is declared twice: two limiters of one name would share counters; give each its own name", d.Name)
		case d.Var == "":
			return nil, fmt.Errorf("config: route limit %q: name the variable that sets it", d.Name)
		}
		ls, err := limits(getenv, d.Var, d.Default, false)
		if err != nil {
			return nil, err
		}
		if n := len(ls) + shared; n > ratelimit.MaxLimits {
			return nil, fmt.Errorf("config: %s=%q: %d limits with the per-IP and global ones, at most %d fit one decision", d.Var, getenv(d.Var), n, ratelimit.MaxLimits)
		}
		out[d.Name] = ls
	}
	return out, nil
}

// FormatLimits joins limits back into RATE_LIMIT's syntax, as GET /whoami
// shows them: "3 per 1 minute;50 per 1 day".
func FormatLimits(ls []ratelimit.Limit) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ";")
}
