package redisstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

// TestFailoverClosedRules: in closed mode a down store refuses with the
// first limit that applies; a decision with no limit (no rules, or rules
// whose policies hold none, reachable only by calling Allow directly)
// has nothing to refuse and must not index a rule that is not there.
func TestFailoverClosedRules(t *testing.T) {
	f, err := NewFailover(errStore{}, FailoverOptions{Mode: Closed, Probe: func(context.Context) error { return errors.New("down") }})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	empty := &ratelimit.Policy{Name: "empty"}
	ip := &ratelimit.Policy{Name: "per-ip", Note: "per IP", Limits: []ratelimit.Limit{{Requests: 5, Window: time.Minute}}}
	tests := []struct {
		name    string
		rules   []ratelimit.Rule
		allowed bool
		policy  string
		refused uint64
	}{
		{"no rules", nil, true, "", 0},
		{"rules without limits", []ratelimit.Rule{{Policy: empty, Key: "k"}}, true, "", 0},
		{"the first rule with a limit", []ratelimit.Rule{{Policy: empty, Key: "k"}, {Policy: ip, Key: "ip"}}, false, "per-ip", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.Allow(context.Background(), tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			if res.Allowed != tt.allowed || res.Policy != tt.policy || res.Refused != tt.refused {
				t.Errorf("got %+v, want allowed %v, policy %q, refused %b", res, tt.allowed, tt.policy, tt.refused)
			}
			if !tt.allowed && (res.RetryAfter != time.Second || res.Limit != ip.Limits[0]) {
				t.Errorf("got %+v, want the per-ip limit with a one-second wait", res)
			}
		})
	}
}
