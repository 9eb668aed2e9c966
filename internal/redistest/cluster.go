package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters without replicas, each a
// Server of its own on loopback, created by redis-cli --cluster create and
// stopped when its test ends. Every node requires the same password.
type Cluster struct {
	t testing.TB
	// Nodes are the masters, in the order they were created: node i
	// first served the i-th third of the slots.
	Nodes   []*Server
	cli     string
	pass    string
	clients map[*Server]*redis.Client
	tls     *tlsFiles // nil: plain TCP
}

// StartCluster starts three cluster-enabled servers, joins them into one
// cluster with the 16384 slots split among them, and waits until every
// node reports the cluster ok. Starting one costs about as much as three
// servers and a second or two of joining: a test that needs a cluster for
// several cases shares one across its subtests.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, nil)
}

// StartClusterTLS is StartCluster with every node speaking TLS only, to
// clients and on the cluster bus, with a certificate of a CA made for the
// test: URL is rediss://, and TLS is the client configuration that trusts
// the CA.
func StartClusterTLS(t testing.TB) *Cluster {
	t.Helper()
	return startCluster(t, newTLSFiles(t))
}

func startCluster(t testing.TB, tf *tlsFiles) *Cluster {
	t.Helper()
	bin := need(t, "redis-server")
	c := &Cluster{t: t, cli: need(t, "redis-cli"), pass: newPassword(), clients: map[*Server]*redis.Client{}, tls: tf}
	for range 3 {
		bus := freePort(t)
		c.Nodes = append(c.Nodes, startTLS(t, bin, Options{}, c.pass, tf,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			// The bus port is chosen, not the default port+10000,
			// which may be taken or past 65535.
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-node-timeout", "5000",
			"--masterauth", c.pass))
	}
	args := []string{"--cluster", "create"}
	for _, n := range c.Nodes {
		args = append(args, n.Addr())
	}
	c.redisCLI(append(args, "--cluster-replicas", "0", "--cluster-yes")...)
	c.WaitOK()
	return c
}

// redisCLI runs redis-cli with the cluster's password and fails the test
// if it fails.
func (c *Cluster) redisCLI(args ...string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pre := []string{"-a", c.pass, "--no-auth-warning"}
	if c.tls != nil {
		pre = append(pre, "--tls", "--cacert", c.tls.ca)
	}
	cmd := exec.CommandContext(ctx, c.cli, append(pre, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// WaitOK waits up to 20s until every node says cluster_state:ok and
// agrees that every slot is served, and no slot is being moved.
func (c *Cluster) WaitOK() {
	c.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		bad := ""
		for _, n := range c.Nodes {
			info, err := c.node(n).ClusterInfo(ctx).Result()
			if err != nil {
				bad = err.Error()
				break
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				bad = n.Addr() + ": " + info
				break
			}
			nodes, err := c.node(n).ClusterNodes(ctx).Result()
			if err != nil {
				bad = err.Error()
				break
			}
			if strings.Contains(nodes, "->-") || strings.Contains(nodes, "-<-") {
				bad = n.Addr() + " is moving a slot: " + nodes
				break
			}
		}
		if bad == "" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("cluster not ok after 20s: %s", bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// node returns the plain client of one node, closed when the test ends.
// Not safe for concurrent use.
func (c *Cluster) node(n *Server) *redis.Client {
	rdb, ok := c.clients[n]
	if !ok {
		rdb = n.Client()
		c.clients[n] = rdb
	}
	return rdb
}

// Addrs are the nodes' host:port.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// URL is the cluster in redis.ParseClusterURL's form, password included:
// redis://:pass@node1?addr=node2&addr=node3 (rediss:// over TLS).
func (c *Cluster) URL() string {
	var b strings.Builder
	scheme := "redis"
	if c.tls != nil {
		scheme = "rediss"
	}
	b.WriteString(scheme + "://:" + c.pass + "@" + c.Nodes[0].Addr())
	for i, n := range c.Nodes[1:] {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString("addr=" + n.Addr())
	}
	return b.String()
}

// TLS is the client configuration that reaches a TLS cluster (trusting
// the test's CA), nil for a plain one.
func (c *Cluster) TLS() *tls.Config {
	if c.tls == nil {
		return nil
	}
	return c.tls.client
}

// Password is the password every node requires.
func (c *Cluster) Password() string { return c.pass }

// Client returns a cluster client, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), Password: c.pass, TLSConfig: c.TLS(), ContextTimeoutEnabled: true})
	c.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// ID is a node's cluster id.
func (c *Cluster) ID(n *Server) string {
	c.t.Helper()
	id, err := c.node(n).Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		c.t.Fatalf("cluster myid of %s: %v", n.Addr(), err)
	}
	return id
}

// Reshard moves slots slots from one node to another with redis-cli
// --cluster reshard, key by key (MIGRATE), as an operator would, and
// returns once redis-cli is done. Clients see MOVED and ASK meanwhile.
func (c *Cluster) Reshard(from, to *Server, slots int) {
	c.t.Helper()
	c.redisCLI("--cluster", "reshard", c.Nodes[0].Addr(),
		"--cluster-from", c.ID(from), "--cluster-to", c.ID(to),
		"--cluster-slots", strconv.Itoa(slots), "--cluster-yes")
}

// Keys reports how many keys each node holds (DBSIZE), in Nodes' order.
func (c *Cluster) Keys(ctx context.Context) []int64 {
	c.t.Helper()
	out := make([]int64, len(c.Nodes))
	for i, n := range c.Nodes {
		k, err := c.node(n).DBSize(ctx).Result()
		if err != nil {
			c.t.Fatalf("dbsize of %s: %v", n.Addr(), err)
		}
		out[i] = k
	}
	return out
}

// Count reports how many keys matching pattern (SCAN MATCH) each node
// holds, in Nodes' order.
func (c *Cluster) Count(ctx context.Context, pattern string) []int64 {
	c.t.Helper()
	out := make([]int64, len(c.Nodes))
	for i, n := range c.Nodes {
		iter := c.node(n).Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			out[i]++
		}
		if err := iter.Err(); err != nil {
			c.t.Fatalf("scan of %s: %v", n.Addr(), err)
		}
	}
	return out
}

// Slots reports how many slots each node serves, in Nodes' order, as
// the first node sees it.
func (c *Cluster) Slots(ctx context.Context) []int {
	c.t.Helper()
	ranges, err := c.node(c.Nodes[0]).ClusterSlots(ctx).Result()
	if err != nil {
		c.t.Fatalf("cluster slots: %v", err)
	}
	out := make([]int, len(c.Nodes))
	for _, r := range ranges {
		for i, n := range c.Nodes {
			if len(r.Nodes) > 0 && r.Nodes[0].Addr == n.Addr() {
				out[i] += int(r.End - r.Start + 1)
			}
		}
	}
	return out
}

// Flush empties every node.
func (c *Cluster) Flush(ctx context.Context) {
	c.t.Helper()
	for _, n := range c.Nodes {
		if err := c.node(n).FlushAll(ctx).Err(); err != nil {
			c.t.Fatalf("flushall on %s: %v", n.Addr(), err)
		}
	}
}

// String names the nodes, for failure messages.
func (c *Cluster) String() string {
	return fmt.Sprintf("cluster %v", c.Addrs())
}
