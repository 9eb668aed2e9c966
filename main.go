// Command smartdocs serves the SmartDocs chat API and its page: document
// Q&A whose POST /chat is rate limited per client, with counters in memory
// or shared through Redis. The program is package app; this file only
// starts it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/smartdocs-go/smartdocs/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, app.Options{}, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
