package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/smartdocs-go/smartdocs/internal/redistest"
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
func startRedis(bin, dir string) (*redisServer, error) {
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
	rs.cmd, err = redistest.Launch(bin, port, rs.dir, "")
	if err != nil {
		return nil, err
	}
	rs.rdb = redis.NewClient(&redis.Options{Addr: rs.addr})
	return rs, nil
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
