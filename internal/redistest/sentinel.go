package redistest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel is a master, one replica and three sentinels watching them,
// each a process of its own on loopback, stopped when the test ends. The
// master and the replica require the same password; the sentinels
// require none. The sentinels notice a master that stopped answering
// after one second.
type Sentinel struct {
	t testing.TB
	// Name is the master's name in the sentinels ("mymaster").
	Name string
	// Servers are the master and the replica as started; which one is
	// the master now is Master's answer.
	Servers   []*Server
	sentinels []*sentinelProc
	pass      string
	tls       *tlsFiles // nil: plain TCP
}

// sentinelProc is one redis-server --sentinel.
type sentinelProc struct {
	port int
	cmd  *exec.Cmd
	rdb  *redis.SentinelClient
}

// StartSentinel starts the master, then the replica and waits until it
// has synchronised, then the sentinels, and waits until each sentinel
// knows the replica and the two other sentinels, so that a failover can
// be agreed from the start. That takes a few seconds (sentinels find one
// another through hello messages sent every two): a test shares one
// across its subtests.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return startSentinel(t, nil)
}

// StartSentinelTLS is StartSentinel with every process speaking TLS
// only (clients, replication, sentinels), with a certificate of a CA made
// for the test: URL is rediss://, and TLS is the client configuration
// that trusts the CA.
func StartSentinelTLS(t testing.TB) *Sentinel {
	t.Helper()
	return startSentinel(t, newTLSFiles(t))
}

func startSentinel(t testing.TB, tf *tlsFiles) *Sentinel {
	t.Helper()
	bin := need(t, "redis-server")
	s := &Sentinel{t: t, Name: "mymaster", pass: newPassword(), tls: tf}
	// Either server may be made a replica of the other by a failover,
	// so both authenticate to the master.
	m := startTLS(t, bin, Options{}, s.pass, tf, "--masterauth", s.pass)
	r := startTLS(t, bin, Options{}, s.pass, tf, "--masterauth", s.pass, "--replicaof", "127.0.0.1", strconv.Itoa(m.Port))
	s.Servers = []*Server{m, r}
	rc := r.Client()
	s.waitFor("the replica to synchronise", func(ctx context.Context) error {
		info, err := rc.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("replica not in sync: %s", info)
		}
		return nil
	})
	for range 3 {
		s.sentinels = append(s.sentinels, s.startSentinel(bin, m.Port))
	}
	s.waitFor("the sentinels to know one another and the replica", func(ctx context.Context) error {
		for _, sp := range s.sentinels {
			others, err := sp.rdb.Sentinels(ctx, s.Name).Result()
			if err != nil {
				return err
			}
			if len(others) != 2 {
				return fmt.Errorf("sentinel on %d knows %d other sentinels, want 2", sp.port, len(others))
			}
			reps, err := sp.rdb.Replicas(ctx, s.Name).Result()
			if err != nil {
				return err
			}
			if len(reps) != 1 || reps[0]["flags"] != "slave" {
				return fmt.Errorf("sentinel on %d sees replicas %v, want one healthy", sp.port, reps)
			}
		}
		return nil
	})
	return s
}

func (s *Sentinel) startSentinel(bin string, masterPort int) *sentinelProc {
	s.t.Helper()
	dir := s.t.TempDir()
	port := freePort(s.t)
	logfile := filepath.Join(dir, "sentinel.log")
	conf := filepath.Join(dir, "sentinel.conf")
	// The file must be writable: a sentinel records what it learns in it.
	listen := fmt.Sprintf("port %d", port)
	if s.tls != nil {
		listen = fmt.Sprintf("port 0\ntls-port %d\ntls-cert-file %q\ntls-key-file %q\ntls-ca-cert-file %q\ntls-auth-clients no\ntls-replication yes",
			port, s.tls.cert, s.tls.key, s.tls.ca)
	}
	text := fmt.Sprintf(`%s
bind 127.0.0.1
daemonize no
dir %q
logfile %q
sentinel monitor %s 127.0.0.1 %d 2
sentinel auth-pass %s %s
sentinel down-after-milliseconds %s 1000
sentinel failover-timeout %s 10000
sentinel parallel-syncs %s 1
`, listen, dir, logfile, s.Name, masterPort, s.Name, s.pass, s.Name, s.Name, s.Name)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		s.t.Fatalf("sentinel.conf: %v", err)
	}
	cmd, err := launch(bin, port, logfile, "", s.TLS(), []string{conf, "--sentinel"})
	if err != nil {
		s.t.Fatal(err)
	}
	sp := &sentinelProc{port: port, cmd: cmd,
		rdb: redis.NewSentinelClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), TLSConfig: s.TLS()})}
	s.t.Cleanup(func() {
		sp.rdb.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return sp
}

// waitFor retries check for up to 30s and fails the test if it never
// passes.
func (s *Sentinel) waitFor(what string, check func(ctx context.Context) error) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waited 30s for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SentinelAddrs are the sentinels' host:port.
func (s *Sentinel) SentinelAddrs() []string {
	out := make([]string, len(s.sentinels))
	for i, sp := range s.sentinels {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(sp.port))
	}
	return out
}

// URL is the topology in redis.ParseFailoverURL's form: the sentinels'
// addresses, the master's name and the data nodes' password (the
// sentinels need none).
func (s *Sentinel) URL() string {
	addrs := s.SentinelAddrs()
	scheme := "redis"
	if s.tls != nil {
		scheme = "rediss"
	}
	u := scheme + "://" + addrs[0] + "?master_name=" + s.Name + "&password=" + s.pass
	for _, a := range addrs[1:] {
		u += "&addr=" + a
	}
	return u
}

// TLS is the client configuration that reaches a TLS topology (trusting
// the test's CA), nil for a plain one.
func (s *Sentinel) TLS() *tls.Config {
	if s.tls == nil {
		return nil
	}
	return s.tls.client
}

// Password is what the master and the replica require.
func (s *Sentinel) Password() string { return s.pass }

// Client returns a failover client that finds the master through the
// sentinels, closed when the test ends.
func (s *Sentinel) Client() *redis.Client {
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.Name, SentinelAddrs: s.SentinelAddrs(), Password: s.pass, TLSConfig: s.TLS(), ContextTimeoutEnabled: true})
	s.t.Cleanup(func() { rdb.Close() })
	return rdb
}

// MasterAddr is the master's host:port as the first sentinel that
// answers names it.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	var err error
	for _, sp := range s.sentinels {
		var hp []string
		hp, err = sp.rdb.GetMasterAddrByName(ctx, s.Name).Result()
		if err == nil && len(hp) == 2 {
			return net.JoinHostPort(hp[0], hp[1]), nil
		}
	}
	return "", fmt.Errorf("redistest: no sentinel names the master: %v", err)
}

// Master is the server the sentinels name as master.
func (s *Sentinel) Master() *Server {
	s.t.Helper()
	addr, err := s.MasterAddr(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	for _, srv := range s.Servers {
		if srv.Addr() == addr {
			return srv
		}
	}
	s.t.Fatalf("the sentinels name %s as master, which is neither %s nor %s", addr, s.Servers[0].Addr(), s.Servers[1].Addr())
	return nil
}

// Failover asks a sentinel to fail over (SENTINEL FAILOVER) and waits
// until every sentinel names the other server as master and it says it
// is one. It returns the new master.
func (s *Sentinel) Failover() *Server {
	s.t.Helper()
	old := s.Master()
	s.waitFor("SENTINEL FAILOVER to be accepted", func(ctx context.Context) error {
		// A sentinel refuses while a previous failover is settling.
		return s.sentinels[0].rdb.Failover(ctx, s.Name).Err()
	})
	return s.waitSwitch(old)
}

// KillMaster stops the master (SIGKILL, by its PID) and waits until the
// sentinels have agreed that it is down and promoted the replica, which
// it returns. The old master stays down.
func (s *Sentinel) KillMaster() *Server {
	s.t.Helper()
	old := s.Master()
	old.Stop()
	return s.waitSwitch(old)
}

// waitSwitch waits until every sentinel names a master other than old
// and that server reports the master role.
func (s *Sentinel) waitSwitch(old *Server) *Server {
	s.t.Helper()
	var next *Server
	for _, srv := range s.Servers {
		if srv != old {
			next = srv
		}
	}
	nc := next.Client()
	s.waitFor("the sentinels to promote "+next.Addr(), func(ctx context.Context) error {
		for _, sp := range s.sentinels {
			hp, err := sp.rdb.GetMasterAddrByName(ctx, s.Name).Result()
			if err != nil {
				return err
			}
			if got := net.JoinHostPort(hp[0], hp[1]); got != next.Addr() {
				return fmt.Errorf("sentinel on %d names %s", sp.port, got)
			}
		}
		info, err := nc.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master") {
			return fmt.Errorf("%s is not master yet", next.Addr())
		}
		return nil
	})
	return next
}
