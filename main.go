// Command smartdocs serves the SmartDocs chat API and its page: document
// Q&A whose POST /chat is rate limited per client, with counters in memory
// or shared through Redis.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smartdocs-go/smartdocs/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run is the whole program: it reads the configuration through getenv,
// serves until ctx is cancelled, then drains in-flight requests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fset.SetOutput(stderr)
	healthcheck := fset.Bool("healthcheck", false, "GET http://127.0.0.1:$PORT/health and exit 0 if it answers 200 (for Docker's HEALTHCHECK)")
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	getenv, err := config.WithDotEnv(os.DirFS("."), ".env", getenv)
	if err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if *healthcheck {
		return checkHealth(ctx, cfg.Port)
	}
	app, err := newApp(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer app.Close()
	return app.serve(ctx)
}

func checkHealth(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/health", port), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New("healthcheck: status " + resp.Status)
	}
	return nil
}
