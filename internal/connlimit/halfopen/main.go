// Command halfopen measures what connections that never finish their
// headers cost a running server: it opens N of them to ADDR, then reads
// the server's RSS (process PID, from /proc) and times GET /health while
// they are open, and 15, 60 and 150 seconds after it closes them. For the
// README's measurements; Linux only.
//
//	go run ./internal/connlimit/halfopen 127.0.0.1:7860 $(pidof smartdocs) 10000
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func rss(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS") {
			return strings.TrimSpace(strings.TrimPrefix(l, "VmRSS:"))
		}
	}
	return "?"
}

func health(addr string) (time.Duration, string) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return time.Since(start), err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return time.Since(start), err.Error()
	}
	resp.Body.Close()
	return time.Since(start), resp.Status
}

func main() {
	addr, pid := os.Args[1], os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	fmt.Println("before: rss", rss(pid))
	var cs []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fmt.Println("dial", i, err)
			break
		}
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		cs = append(cs, c)
	}
	time.Sleep(2 * time.Second)
	d, st := health(addr)
	fmt.Printf("during (%d half-open): rss %s, /health %v %s\n", len(cs), rss(pid), d.Round(time.Millisecond), st)
	for _, c := range cs {
		c.Close()
	}
	closed := time.Now()
	for _, w := range []int{15, 60, 150} {
		time.Sleep(time.Until(closed.Add(time.Duration(w) * time.Second)))
		d, st = health(addr)
		fmt.Printf("%ds after closing: rss %s, /health %v %s\n", w, rss(pid), d.Round(time.Millisecond), st)
	}
}
