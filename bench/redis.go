package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is the redis-server this command started and owns.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	dir  string
	rdb  *redis.Client
}

// startRedis starts redis-server on a free loopback port in dir, without
// persistence, and waits until it answers.
func startRedis(ctx context.Context, bin, dir string) (*redisServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	rs := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: filepath.Join(dir, "redis")}
	if err := os.MkdirAll(rs.dir, 0o755); err != nil {
		return nil, err
	}
	rs.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", rs.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(rs.dir, "redis.log"))
	if err := rs.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	rs.rdb = redis.NewClient(&redis.Options{Addr: rs.addr})
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := rs.rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return rs, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			rs.stop()
			log, _ := os.ReadFile(filepath.Join(rs.dir, "redis.log"))
			return nil, fmt.Errorf("redis-server on %s did not answer: %v\n%s", rs.addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// flush empties the server between runs.
func (rs *redisServer) flush(ctx context.Context) error {
	if err := rs.rdb.FlushAll(ctx).Err(); err != nil {
		return fmt.Errorf("redis flushall: %w", err)
	}
	return nil
}

// stop kills the server by its PID and waits for it.
func (rs *redisServer) stop() {
	rs.rdb.Close()
	rs.cmd.Process.Kill()
	rs.cmd.Wait()
}
