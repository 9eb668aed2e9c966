package redistest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestCluster checks the cluster helper: three masters share the slots
// and the keys, and Reshard moves slots from one to another.
func TestCluster(t *testing.T) {
	c := StartCluster(t)
	ctx := context.Background()
	rdb := c.Client()
	for i := range 300 {
		if err := rdb.Set(ctx, "k"+string(rune('a'+i%26))+string(rune('a'+i/26)), i, 0).Err(); err != nil {
			t.Fatalf("set through the cluster client: %v", err)
		}
	}
	keys := c.Keys(ctx)
	var total int64
	for i, k := range keys {
		if k == 0 {
			t.Errorf("node %d holds no key; got %v, want keys on every master", i, keys)
		}
		total += k
	}
	if total != 300 {
		t.Errorf("keys over the nodes: got %d (%v), want 300", total, keys)
	}
	before := c.Slots(ctx)
	if before[0]+before[1]+before[2] != 16384 || before[0] == 0 || before[1] == 0 || before[2] == 0 {
		t.Fatalf("slots per node: got %v, want 16384 split over three", before)
	}
	c.Reshard(c.Nodes[0], c.Nodes[1], 100)
	c.WaitOK()
	after := c.Slots(ctx)
	if after[0] != before[0]-100 || after[1] != before[1]+100 || after[2] != before[2] {
		t.Errorf("slots after moving 100 from node 0 to node 1: got %v, want %v", after, []int{before[0] - 100, before[1] + 100, before[2]})
	}
	keys = c.Keys(ctx)
	if keys[0]+keys[1]+keys[2] != 300 {
		t.Errorf("keys after the reshard: got %v, want 300 in all", keys)
	}
	c.Flush(ctx)
	if keys := c.Keys(ctx); keys[0]+keys[1]+keys[2] != 0 {
		t.Errorf("keys after Flush: got %v, want none", keys)
	}
}

// TestSentinel checks the sentinel helper: the failover client reaches
// the master, and both a SENTINEL FAILOVER and a killed master move it to
// the other server, which then holds what was written before.
func TestSentinel(t *testing.T) {
	s := StartSentinel(t)
	ctx := context.Background()
	rdb := s.Client()
	first := s.Master()
	if first != s.Servers[0] {
		t.Fatalf("master at start: got %s, want %s", first.Addr(), s.Servers[0].Addr())
	}
	if err := rdb.Set(ctx, "x", "1", 0).Err(); err != nil {
		t.Fatalf("set through sentinel: %v", err)
	}
	if err := rdb.Do(ctx, "WAIT", 1, 1000).Err(); err != nil {
		t.Fatalf("wait for the replica: %v", err)
	}
	second := s.Failover()
	if second != s.Servers[1] || s.Master() != second {
		t.Fatalf("master after SENTINEL FAILOVER: got %s, want %s", s.Master().Addr(), s.Servers[1].Addr())
	}
	if got, err := second.Client().Get(ctx, "x").Result(); err != nil || got != "1" {
		t.Errorf("key on the new master: got %q, %v; want \"1\"", got, err)
	}
	third := s.KillMaster()
	if third != s.Servers[0] {
		t.Fatalf("master after killing %s: got %s, want %s", second.Addr(), third.Addr(), s.Servers[0].Addr())
	}
	if err := rdb.Set(ctx, "y", "2", 0).Err(); err != nil {
		t.Errorf("set through sentinel after the master was killed: %v", err)
	}
}

// TestClusterTLS checks the TLS cluster helper: the nodes speak TLS only,
// a client that trusts the test's CA reaches every master through the
// cluster, and a plain client gets nowhere.
func TestClusterTLS(t *testing.T) {
	c := StartClusterTLS(t)
	ctx := context.Background()
	if !strings.HasPrefix(c.URL(), "rediss://") {
		t.Errorf("URL: got %s, want rediss://", c.URL())
	}
	rdb := c.Client()
	for i := range 100 {
		if err := rdb.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatalf("set over TLS: %v", err)
		}
	}
	for i, k := range c.Keys(ctx) {
		if k == 0 {
			t.Errorf("master %d holds no key; want keys on every master", i)
		}
	}
	plain := redis.NewClient(&redis.Options{Addr: c.Nodes[0].Addr(), Password: c.Password(), MaxRetries: -1})
	defer plain.Close()
	if err := plain.Ping(ctx).Err(); err == nil {
		t.Error("a plain client reached a TLS node")
	}
}

// TestSentinelTLS checks the TLS sentinel helper: the sentinels find one
// another and the replica over TLS, a failover client that trusts the
// test's CA reaches the master, and a SENTINEL FAILOVER moves it.
func TestSentinelTLS(t *testing.T) {
	s := StartSentinelTLS(t)
	ctx := context.Background()
	if !strings.HasPrefix(s.URL(), "rediss://") {
		t.Errorf("URL: got %s, want rediss://", s.URL())
	}
	rdb := s.Client()
	if err := rdb.Set(ctx, "x", "1", 0).Err(); err != nil {
		t.Fatalf("set through sentinel over TLS: %v", err)
	}
	if next := s.Failover(); next != s.Servers[1] {
		t.Fatalf("master after SENTINEL FAILOVER: got %s, want %s", next.Addr(), s.Servers[1].Addr())
	}
	if err := rdb.Set(ctx, "y", "2", 0).Err(); err != nil {
		t.Errorf("set through sentinel over TLS after the failover: %v", err)
	}
}
