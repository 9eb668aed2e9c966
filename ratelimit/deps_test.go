package ratelimit_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoRedisInMemoryPath: an importer of ratelimit alone links no Redis
// client; package redisstore does (so the check can fail).
func TestNoRedisInMemoryPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const client = "github.com/redis/go-redis/v9"
	for _, tt := range []struct {
		pkg  string
		want bool
	}{
		{"github.com/smartdocs-go/smartdocs/ratelimit", false},
		{"github.com/smartdocs-go/smartdocs/ratelimit/redisstore", true},
	} {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, out)
			}
			if got := strings.Contains(string(out), client); got != tt.want {
				t.Errorf("go list -deps %s lists %s: got %v, want %v", tt.pkg, client, got, tt.want)
			}
		})
	}
}
