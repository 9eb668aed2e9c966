// Package llm answers questions with a language model behind an
// OpenAI-compatible chat-completions API: Google Gemini's compatibility
// endpoint, Ollama, OpenAI, Groq, vLLM, a Hugging Face router. Every
// answer is grounded in the passages the docs engine retrieves: they go to
// the model as its only context, and they are the reply's sources.
//
// It speaks the streaming chat-completions protocol itself, with the
// standard library alone: a POST to {base}/chat/completions with
// "stream": true, answered with server-sent events whose data are JSON
// chunks, the last with a finish_reason, then "data: [DONE]". (A client
// library for it cost more to build than the rest of the program.) An
// engine sends exactly the base URL, key and model it was given, reads
// nothing from the environment, and never retries on its own, so that a
// provider's 429 reaches the caller with its Retry-After.
//
// Failures of the provider are *chat.UpstreamError values; the package
// knows nothing of HTTP status codes for its own callers.
package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
)

// Defaults for Options.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultPassages = 4
)

// errTimeout is the cause an engine cancels a call with when the provider
// is silent for longer than Options.Timeout.
var errTimeout = errors.New("llm: provider timeout")

// Retriever finds the passages an answer is grounded in; *chat.Docs is one.
type Retriever interface {
	Passages(q chat.Query, k int) []chat.Hit
}

// Options configures an Engine. Name, BaseURL, Model and Docs are required.
type Options struct {
	// Name is the model_type the engine answers for, such as "gemini".
	Name string
	// BaseURL is the API root, such as https://api.openai.com/v1; the
	// engine posts to BaseURL + "/chat/completions", with or without a
	// slash at the end of BaseURL.
	BaseURL string
	// APIKey is sent as a bearer token; "" sends no Authorization header.
	APIKey string
	// Model is the provider's model name, such as "gemini-2.5-flash".
	Model string
	// Timeout bounds each wait for the provider: for its answer to start,
	// then for every next chunk, so a long answer that keeps coming is
	// never cut. Default DefaultTimeout.
	Timeout time.Duration
	// Passages is how many passages ground an answer. Default
	// DefaultPassages.
	Passages int
	// Docs retrieves the passages.
	Docs Retriever
	// HTTPClient makes the calls; default a client of the engine's own
	// over http.DefaultTransport, with no overall timeout.
	HTTPClient *http.Client
	// Now reads the clock for Retry-After dates; default time.Now.
	Now func() time.Time
}

// Engine answers from a language model. It is safe for concurrent use.
type Engine struct {
	opts Options
	// endpoint is the chat-completions URL.
	endpoint string
	// afterFunc starts the timer of one answer; tests fire it by hand.
	afterFunc func(time.Duration, func()) timer
}

// timer is what an engine does with a *time.Timer.
type timer interface {
	Reset(time.Duration) bool
	Stop() bool
}

// New checks opts and returns an Engine. It makes no network call.
func New(opts Options) (*Engine, error) {
	if opts.Name == "" {
		return nil, errors.New("llm: Options.Name is empty")
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("llm: %s: base URL %q: want http:// or https:// with a host", opts.Name, opts.BaseURL)
	}
	if opts.Model == "" {
		return nil, fmt.Errorf("llm: %s: Options.Model is empty", opts.Name)
	}
	if opts.Docs == nil {
		return nil, fmt.Errorf("llm: %s: Options.Docs is nil", opts.Name)
	}
	if opts.Timeout < 0 || opts.Passages < 0 {
		return nil, fmt.Errorf("llm: %s: negative Timeout or Passages", opts.Name)
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Passages == 0 {
		opts.Passages = DefaultPassages
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Engine{
		opts:      opts,
		endpoint:  u.JoinPath("chat", "completions").String(),
		afterFunc: func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) },
	}, nil
}

// Answer retrieves the passages for q and asks the model to answer from
// them alone. It returns once the provider's stream has started: a
// failure before that (credentials, the provider's 429, a timeout, an
// unreadable answer) is a *chat.UpstreamError, and a cancelled ctx is
// returned wrapped. The reply's tokens are the provider's chunks as they
// arrive; a failure after that is yielded once as the last element.
// Cancelling ctx, or stopping the range over the tokens, ends the call to
// the provider.
//
// When the documents do not cover q, Answer does not call the provider:
// the reply has no sources and its answer is chat.NotCovered.
func (e *Engine) Answer(ctx context.Context, q chat.Query) (*chat.Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("llm: %s: %w", e.opts.Name, err)
	}
	hits := e.opts.Docs.Passages(q, e.opts.Passages)
	if len(hits) == 0 {
		return &chat.Reply{Tokens: func(yield func(string, error) bool) { yield(chat.NotCovered, nil) }, Whole: true}, nil
	}
	sources := make([]chat.Source, len(hits))
	for i, h := range hits {
		sources[i] = h.Source()
	}

	ctx, cancel := context.WithCancelCause(ctx)
	timer := e.afterFunc(e.opts.Timeout, func() { cancel(errTimeout) })
	// Read the first chunk here, so that a refusal or a broken stream is
	// an error with a status rather than an error line after a 200.
	s, err := e.post(ctx, request{Model: e.opts.Model, Messages: messages(q, hits), Stream: true})
	var first *chunk
	if err == nil {
		if first, err = s.next(); err != nil {
			s.close()
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = &chat.UpstreamError{Engine: e.opts.Name, Kind: chat.UpstreamMalformed, Err: errors.New("empty stream")}
		} else {
			err = e.fail(ctx, err)
		}
		timer.Stop()
		cancel(nil)
		return nil, err
	}
	timer.Reset(e.opts.Timeout)

	tokens := func(yield func(string, error) bool) {
		defer cancel(nil)
		defer timer.Stop()
		defer s.close()
		finished := false
		c := first
		for {
			for _, ch := range c.Choices {
				if ch.Index != 0 {
					continue
				}
				if ch.FinishReason != "" {
					finished = true
				}
				if ch.Delta.Content != "" && !yield(ch.Delta.Content, nil) {
					return
				}
			}
			next, err := s.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				yield("", e.fail(ctx, err))
				return
			}
			timer.Reset(e.opts.Timeout)
			c = next
		}
		if !finished {
			yield("", &chat.UpstreamError{Engine: e.opts.Name, Kind: chat.UpstreamMalformed, Err: errors.New("stream ended before the answer was finished")})
		}
	}
	return &chat.Reply{Sources: sources, Tokens: tokens}, nil
}

// fail turns an error of the call into what Answer returns: the caller's
// own cancellation wrapped, anything else a *chat.UpstreamError whose
// text holds no key.
func (e *Engine) fail(ctx context.Context, err error) error {
	ue := &chat.UpstreamError{Engine: e.opts.Name}
	cause := context.Cause(ctx)
	var se *statusError
	var streamErr *streamError
	switch {
	case errors.Is(cause, errTimeout):
		ue.Kind = chat.UpstreamTimeout
		ue.Err = fmt.Errorf("no answer within %s", e.opts.Timeout)
		return ue
	case ctx.Err() != nil:
		return fmt.Errorf("llm: %s: %w", e.opts.Name, cause)
	case errors.As(err, &se):
		ue.Status = se.status
		ue.Kind = statusKind(se.status)
		if ue.Kind == chat.UpstreamRateLimited {
			ue.RetryAfter = retryAfter(se.header, se.body, e.opts.Now())
		}
		if providerMessage(se.body) == "" {
			// The status says it all; a proxy's HTML page would say less.
			return ue
		}
	case errors.As(err, &streamErr):
		ue.Kind = chat.UpstreamUnavailable
	case errors.Is(err, errMalformed):
		ue.Kind = chat.UpstreamMalformed
	default:
		ue.Kind = chat.UpstreamUnavailable
	}
	ue.Err = errors.New(e.redact(err.Error()))
	return ue
}

// redact removes the API key from s, in case a provider or a proxy
// echoes it in an error.
func (e *Engine) redact(s string) string {
	if e.opts.APIKey == "" {
		return s
	}
	return strings.ReplaceAll(s, e.opts.APIKey, "[redacted]")
}

// statusKind classifies a provider's error status.
func statusKind(status int) chat.UpstreamKind {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return chat.UpstreamAuth
	case status == http.StatusTooManyRequests:
		return chat.UpstreamRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return chat.UpstreamTimeout
	case status < 500:
		return chat.UpstreamRejected
	}
	return chat.UpstreamUnavailable
}
