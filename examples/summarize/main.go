// Command summarize is SmartDocs with a route of your own under a limit
// of its own: POST /summarize, 10 requests a minute per client
// (RATE_LIMIT_SUMMARIZE), counted apart from POST /chat's 3 a minute
// but behind the same bans, per-IP ceiling and global budget.
//
//	go run ./examples/summarize
//	curl localhost:7860/summarize -H 'Content-Type: application/json' \
//	  -d '{"text":"First sentence. Second sentence."}'
//
// In your fork you would rather add the route's line and the limit's
// line to handlers/routes.go (routes and Limits); this program passes
// both through app.Options, so that it builds beside the unchanged
// server.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-chi/chi/v5"

	"github.com/smartdocs-go/smartdocs/app"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
	"github.com/smartdocs-go/smartdocs/internal/respond"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, options(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func options() app.Options {
	return app.Options{
		Limits: []config.RouteLimit{{Name: "summarize", Var: "RATE_LIMIT_SUMMARIZE", Default: "10/minute"}},
		Routes: func(r chi.Router, d handlers.Deps) {
			r.With(d.Limit("summarize")).Post("/summarize", handleSummarize)
		},
	}
}

// handleSummarize answers {"text": ...} with its first sentence.
func handleSummarize(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if err := respond.Decode(w, r, &req, respond.DecodeOptions{MaxBytes: 64 << 10}); err != nil {
		respond.Refuse(w, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		respond.Error(w, http.StatusUnprocessableEntity, "text must not be blank")
		return
	}
	summary, _, _ := strings.Cut(strings.TrimSpace(req.Text), ". ")
	respond.JSON(w, http.StatusOK, map[string]string{"summary": strings.TrimSuffix(summary, ".") + "."})
}
