package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadServer(t *testing.T) {
	def := Server{MaxConnections: DefaultMaxConnections, AnswerMaxDuration: 2 * time.Minute, AnswerMaxBytes: 1 << 20}
	with := func(f func(*Server)) Server { s := def; f(&s); return s }
	tests := []struct {
		name string
		env  map[string]string
		want Server
		err  string // the whole first part of the error, "" for none
	}{
		{"defaults", nil, def, ""},
		{"connections", map[string]string{"MAX_CONNECTIONS": "50"}, with(func(s *Server) { s.MaxConnections = 50 }), ""},
		{"connections with underscores", map[string]string{"MAX_CONNECTIONS": "1_000_000"}, with(func(s *Server) { s.MaxConnections = 1_000_000 }), ""},
		{"connections too few", map[string]string{"MAX_CONNECTIONS": "9"}, def, `config: MAX_CONNECTIONS="9": want a whole number from 10 to 1000000`},
		{"connections too many", map[string]string{"MAX_CONNECTIONS": "1000001"}, def, `config: MAX_CONNECTIONS="1000001": want`},
		{"connections not a number", map[string]string{"MAX_CONNECTIONS": "many"}, def, `config: MAX_CONNECTIONS="many": want`},
		{"duration", map[string]string{"ANSWER_MAX_DURATION": "90s"}, with(func(s *Server) { s.AnswerMaxDuration = 90 * time.Second }), ""},
		{"duration too short", map[string]string{"ANSWER_MAX_DURATION": "500ms"}, def, `config: ANSWER_MAX_DURATION="500ms": want a duration from 1s to 1h0m0s`},
		{"duration too long", map[string]string{"ANSWER_MAX_DURATION": "2h"}, def, `config: ANSWER_MAX_DURATION="2h": want`},
		{"duration without unit", map[string]string{"ANSWER_MAX_DURATION": "120"}, def, `config: ANSWER_MAX_DURATION="120": want`},
		{"bytes", map[string]string{"ANSWER_MAX_BYTES": "65536"}, with(func(s *Server) { s.AnswerMaxBytes = 65536 }), ""},
		{"bytes too few", map[string]string{"ANSWER_MAX_BYTES": "1023"}, def, `config: ANSWER_MAX_BYTES="1023": want a whole number of bytes from 1024 (1 KiB) to 67108864 (64 MiB)`},
		{"bytes too many", map[string]string{"ANSWER_MAX_BYTES": "67108865"}, def, `config: ANSWER_MAX_BYTES="67108865": want`},
		{"bytes with a unit", map[string]string{"ANSWER_MAX_BYTES": "1MB"}, def, `config: ANSWER_MAX_BYTES="1MB": want`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("got error %v, want one line starting %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if c.Server != tt.want {
				t.Errorf("got %+v, want %+v", c.Server, tt.want)
			}
		})
	}
}
