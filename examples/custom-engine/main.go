// Command custom-engine is SmartDocs with an answer engine of your own:
// model_type "glossary" answers from a small word list, beside the
// built-in engines, with the same wire API (NDJSON stream, /models, the
// 422 for unknown model types) and the same rate limit.
//
// Run it with `go run ./examples/custom-engine`, then
//
//	curl -N localhost:7860/chat -H 'Content-Type: application/json' \
//	  -d '{"question":"what is a token bucket?","model_type":"glossary"}'
//
// In your fork you would rather add the engine's one line to the list in
// app/engines.go; this program passes it through app.Options instead, so
// that it builds beside the unchanged server.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/smartdocs-go/smartdocs/app"
	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/handlers"
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
	return app.Options{Engines: []handlers.Model{
		{Name: "glossary", Description: "Definitions from a word list.", Engine: glossary(terms)},
	}}
}

var terms = map[string]string{
	"token bucket":   "A **token bucket** holds up to N tokens and refills at a steady rate; each request takes one.",
	"sliding window": "A **sliding window** counts the requests of the last window, weighing the previous one by how much of it still overlaps.",
}

// glossary answers with the definition of the first term the question
// names, as a finished string streamed word by word, with the term as
// its source.
func glossary(defs map[string]string) chat.Engine {
	return chat.EngineFunc(func(ctx context.Context, q chat.Query) (*chat.Reply, error) {
		question := strings.ToLower(q.Question)
		for term, def := range defs {
			if strings.Contains(question, term) {
				src := chat.Source{Name: "glossary", Title: "Glossary", Heading: term, Excerpt: def}
				return &chat.Reply{Sources: []chat.Source{src}, Tokens: chat.Stream(ctx, def), Whole: true}, nil
			}
		}
		return &chat.Reply{Tokens: chat.Stream(ctx, "That term is not in the glossary."), Whole: true}, nil
	})
}
