// Command chi-only is a chi application that uses package ratelimit and
// nothing else of SmartDocs: GET /hello is limited to 3 requests a minute
// per client IP, counted in memory, or in Redis when REDIS_URL is set so
// that every instance shares one limit.
//
//	go run ./examples/chi-only
//	REDIS_URL=redis://localhost:6379/0 go run ./examples/chi-only
//	go build -tags noredis ./examples/chi-only   # memory only: no go-redis linked
//
// Behind a proxy, set TRUSTED_PROXIES to its ranges (10.0.0.0/8,...) so
// that the client's address is read from X-Forwarded-For.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/ratelimit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run serves on PORT (default 8080) until ctx ends.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	trusted, err := parseTrusted(getenv("TRUSTED_PROXIES"))
	if err != nil {
		return err
	}
	// newStore is in redis.go, or in noredis.go under -tags noredis.
	store, closeStore, err := newStore(getenv("REDIS_URL"))
	if err != nil {
		return err
	}
	defer closeStore()
	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", port))
	if err != nil {
		return fmt.Errorf("chi-only: PORT=%q: %w", port, err)
	}
	srv := &http.Server{Handler: newHandler(store, trusted), ReadHeaderTimeout: 5 * time.Second}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler is the whole application. A nil store counts in memory.
func newHandler(store ratelimit.Store, trusted []netip.Prefix) http.Handler {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "try GET /hello\n") })
	r.With(ratelimit.LimitBy(store, ratelimit.KeyByIP(trusted...), 3, time.Minute)).
		Get("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })
	return r
}

// parseTrusted reads a comma-separated list of CIDR prefixes.
func parseTrusted(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("chi-only: TRUSTED_PROXIES=%q: %q is not a CIDR prefix such as 10.0.0.0/8", s, f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
