package config

import (
	"strings"
	"testing"
)

func TestLoadOps(t *testing.T) {
	long := strings.Repeat("x", MinAdminToken)
	tests := []struct {
		name string
		env  map[string]string
		want Ops
		err  string // a substring of the error, "" for none
	}{
		{"defaults", nil, Ops{}, ""},
		{"metrics elsewhere", map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}, Ops{MetricsAddr: "127.0.0.1:9090"}, ""},
		{"metrics on every interface", map[string]string{"METRICS_ADDR": ":9090"}, Ops{MetricsAddr: ":9090"}, ""},
		{"metrics off", map[string]string{"METRICS_ADDR": "OFF"}, Ops{MetricsAddr: "off"}, ""},
		{"metrics without port", map[string]string{"METRICS_ADDR": "localhost"}, Ops{}, `config: METRICS_ADDR="localhost": want host:port`},
		{"metrics bad port", map[string]string{"METRICS_ADDR": ":99999"}, Ops{}, "METRICS_ADDR"},
		{"admin token", map[string]string{"ADMIN_TOKEN": long}, Ops{AdminToken: long}, ""},
		{"admin token too short", map[string]string{"ADMIN_TOKEN": "secret"}, Ops{}, "config: ADMIN_TOKEN: want at least 24 characters"},
		{"admin token with spaces", map[string]string{"ADMIN_TOKEN": " " + long}, Ops{}, "ADMIN_TOKEN"},
		{"bans cap", map[string]string{"BANS_MAX": "5000"}, Ops{BansMax: 5000}, ""},
		{"bans cap with underscores", map[string]string{"BANS_MAX": "1_000_000"}, Ops{BansMax: 1_000_000}, ""},
		{"bans cap zero", map[string]string{"BANS_MAX": "0"}, Ops{}, `config: BANS_MAX="0": want a whole number from 1 to 1000000`},
		{"bans cap too large", map[string]string{"BANS_MAX": "1000001"}, Ops{}, "BANS_MAX"},
		{"bans cap not a number", map[string]string{"BANS_MAX": "lots"}, Ops{}, "BANS_MAX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one containing %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the token", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if c.Ops != tt.want {
				t.Errorf("got %+v, want %+v", c.Ops, tt.want)
			}
		})
	}
}
