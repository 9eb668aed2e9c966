package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/internal/respond"
)

const (
	// maxQuestion is the longest question accepted, in characters.
	maxQuestion = 4000
	// writeGrace is how long each streamed line may take to write; the
	// deadline moves with every line so long answers are not cut by the
	// server's write timeout.
	writeGrace = 30 * time.Second
	// capGrace is how long the error line that ends a capped answer may
	// take to write, past ANSWER_MAX_DURATION.
	capGrace = 5 * time.Second
)

// The errors that end an answer past its bounds (Deps.AnswerMaxBytes and
// AnswerMaxDuration); they are the cause of the engine's cancelled context.
var (
	errAnswerTooLong = errors.New("handlers: answer longer than its byte bound")
	errAnswerTooSlow = errors.New("handlers: answer longer than its time bound")
)

// chatRequest is the original SmartDocs request body.
type chatRequest struct {
	Question  *string        `json:"question"`
	ModelType *string        `json:"model_type"`
	History   []chat.Message `json:"history"`
}

// line is one NDJSON line of the stream.
type line struct {
	Type    string        `json:"type"`
	Data    any           `json:"data,omitempty"`
	Details []chat.Source `json:"details,omitempty"`
}

// jsonAnswer is the reply to Accept: application/json.
type jsonAnswer struct {
	Answer  string       `json:"answer"`
	Sources []jsonSource `json:"sources"`
	Model   string       `json:"model"`
}

type jsonSource struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Heading string `json:"heading,omitempty"`
	Excerpt string `json:"excerpt"`
}

func handleChat(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		if err := decode(w, r, &req); err != nil {
			writeRequestError(w, err)
			return
		}
		q, model, err := validate(req, d)
		if err != nil {
			writeRequestError(w, err)
			return
		}
		if model.Engine == nil {
			respond.Error(w, http.StatusServiceUnavailable, fmt.Sprintf("model_type %q is not configured: set %s", model.Name, model.Missing))
			return
		}
		ctx, cancel, deadline := answerContext(r, d)
		defer cancel(nil)
		reply, err := model.Engine.Answer(ctx, q)
		if err != nil {
			writeEngineError(w, d, capCause(ctx, err))
			return
		}
		if reply == nil {
			reply = &chat.Reply{}
		}
		if reply.Tokens == nil { // an engine's empty answer
			reply.Tokens = func(func(string, error) bool) {}
		}
		a := answer{w: w, r: r, d: d, ctx: ctx, cancel: cancel, deadline: deadline, reply: reply}
		if wantsJSON(r) {
			a.collect(model.Name)
			return
		}
		a.stream()
	}
}

// validate checks a request the way FastAPI's model would.
func validate(req chatRequest, d Deps) (chat.Query, Model, error) {
	var errs []fieldError
	var q chat.Query
	switch {
	case req.Question == nil:
		errs = append(errs, fieldError{Loc: []any{"body", "question"}, Msg: "Field required", Type: "missing"})
	case strings.TrimSpace(*req.Question) == "":
		errs = append(errs, fieldError{Loc: []any{"body", "question"}, Msg: "String should have at least 1 character", Type: "string_too_short"})
	case len([]rune(*req.Question)) > maxQuestion:
		errs = append(errs, fieldError{Loc: []any{"body", "question"}, Msg: fmt.Sprintf("String should have at most %d characters", maxQuestion), Type: "string_too_long"})
	default:
		q.Question = strings.TrimSpace(*req.Question)
	}
	name := d.DefaultModel
	if req.ModelType != nil && *req.ModelType != "" {
		name = *req.ModelType
	}
	i := slices.IndexFunc(d.Models, func(m Model) bool { return m.Name == name })
	if i < 0 {
		var names []string
		for _, m := range d.Models {
			names = append(names, "'"+m.Name+"'")
		}
		errs = append(errs, fieldError{Loc: []any{"body", "model_type"}, Msg: "Input should be " + strings.Join(names, " or "), Type: "literal_error"})
	}
	for j, m := range req.History {
		if m.Role != "user" && m.Role != "assistant" {
			errs = append(errs, fieldError{Loc: []any{"body", "history", j, "role"}, Msg: "Input should be 'user' or 'assistant'", Type: "literal_error"})
		}
	}
	if len(errs) > 0 {
		return q, Model{}, invalid(errs...)
	}
	// All of it goes to the engine, which uses only Query.Recent.
	q.History = req.History
	return q, d.Models[i], nil
}

// wantsJSON reports whether the client asked for one JSON object rather
// than the NDJSON stream.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

func sourceNames(ss []chat.Source) []string {
	names := make([]string, 0, len(ss))
	for _, s := range ss {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	return names
}

// answerContext is the engine's context: the request's, cancelled past
// Deps.AnswerMaxDuration (with errAnswerTooSlow as its cause) or by the
// answer's writer. deadline is zero when the answer has no time bound.
func answerContext(r *http.Request, d Deps) (ctx context.Context, cancel context.CancelCauseFunc, deadline time.Time) {
	outer, cancelOuter := context.WithCancelCause(r.Context())
	if d.AnswerMaxDuration <= 0 {
		return outer, cancelOuter, time.Time{}
	}
	deadline = time.Now().Add(d.AnswerMaxDuration)
	ctx, stop := context.WithDeadlineCause(outer, deadline, errAnswerTooSlow)
	return ctx, func(cause error) { cancelOuter(cause); stop() }, deadline
}

// capCause is err, or the bound that cancelled ctx if one did: an engine
// reports only context.DeadlineExceeded or Canceled.
func capCause(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if c := context.Cause(ctx); errors.Is(c, errAnswerTooLong) || errors.Is(c, errAnswerTooSlow) {
		return c
	}
	return err
}

// answer is one reply on its way to the client, within its bounds.
type answer struct {
	w        http.ResponseWriter
	r        *http.Request
	d        Deps
	ctx      context.Context
	cancel   context.CancelCauseFunc
	deadline time.Time // zero: no time bound
	reply    *chat.Reply
}

// writeDeadline is when the next write must be done: writeGrace from now,
// but never past the answer's time bound and the grace of the error line
// that ends it. A write that is still under way at the bound may finish:
// were its deadline the bound itself, a line caught by it would break the
// connection, and the client would get a stream cut short without the
// error line that says why.
func (a *answer) writeDeadline() time.Time {
	t := time.Now().Add(writeGrace)
	if !a.deadline.IsZero() && a.deadline.Add(capGrace).Before(t) {
		return a.deadline.Add(capGrace)
	}
	return t
}

// stream writes the original's NDJSON: sources, tokens, done; a failure
// after the first line ends the stream with an error line, as does an
// answer past Deps.AnswerMaxBytes or AnswerMaxDuration (whose engine is
// then cancelled).
func (a *answer) stream() {
	rc := http.NewResponseController(a.w)
	h := a.w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	a.w.WriteHeader(http.StatusOK)
	var written int64
	write := func(l line, deadline time.Time) error {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		// The bound is on the answer: the line that ends the stream,
		// done or error, is always sent.
		ends := l.Type == "done" || l.Type == "error"
		if max := a.d.AnswerMaxBytes; max > 0 && !ends && written+int64(len(b)) > max {
			return errAnswerTooLong
		}
		rc.SetWriteDeadline(deadline)
		if _, err := a.w.Write(b); err != nil {
			return err
		}
		written += int64(len(b))
		if a.reply.Whole && !ends {
			// Sent with the last line (chat.Reply.Whole); a long answer
			// still leaves in pieces as the server's buffer fills.
			return nil
		}
		return rc.Flush()
	}
	// fail ends the stream with an error line, if the client still
	// listens; the line may take capGrace past the time bound.
	fail := func(err error) {
		if a.r.Context().Err() != nil {
			return
		}
		err = capCause(a.ctx, err)
		if !errors.Is(err, errAnswerTooLong) && !errors.Is(err, errAnswerTooSlow) {
			a.d.Logger.Warn("answer failed mid-stream", "err", err)
		}
		write(line{Type: "error", Data: publicMessage(err)}, time.Now().Add(capGrace))
	}
	// next writes l unless it would take the answer past its bounds.
	next := func(l line) bool {
		if err := a.ctx.Err(); err != nil {
			fail(err)
			return false
		}
		err := write(l, a.writeDeadline())
		if errors.Is(err, errAnswerTooLong) {
			a.cancel(err)
			fail(err)
		} else if err != nil {
			a.cancel(err) // the client stopped reading: stop the engine too
		}
		return err == nil
	}
	if !next(line{Type: "sources", Data: sourceNames(a.reply.Sources), Details: a.reply.Sources}) {
		return
	}
	for tok, err := range a.reply.Tokens {
		if err != nil {
			fail(err)
			return
		}
		if !next(line{Type: "token", Data: tok}) {
			return
		}
	}
	write(line{Type: "done"}, a.writeDeadline())
}

// collect collects the whole answer and writes it as one object; past
// Deps.AnswerMaxBytes or AnswerMaxDuration it answers the bound's error
// instead.
func (a *answer) collect(model string) {
	var b strings.Builder
	for tok, err := range a.reply.Tokens {
		if err == nil {
			err = a.ctx.Err()
		}
		if err == nil && a.d.AnswerMaxBytes > 0 && int64(b.Len()+len(tok)) > a.d.AnswerMaxBytes {
			err = errAnswerTooLong
			a.cancel(err)
		}
		if err != nil {
			writeEngineError(a.w, a.d, capCause(a.ctx, err))
			return
		}
		b.WriteString(tok)
	}
	// Collecting a model's answer may outlast the server's write timeout.
	http.NewResponseController(a.w).SetWriteDeadline(time.Now().Add(writeGrace))
	out := jsonAnswer{Answer: strings.TrimSpace(b.String()), Sources: []jsonSource{}, Model: model}
	for _, s := range a.reply.Sources {
		out.Sources = append(out.Sources, jsonSource{Name: s.Name, Title: s.Title, Heading: s.Heading, Excerpt: s.Excerpt})
	}
	respond.JSON(a.w, http.StatusOK, out)
}

// writeEngineError maps an engine's error to a status, showing the client
// nothing of its internals. A model may fail only after LLM_TIMEOUT, past
// the server's write timeout, so the error gets its own time to be written.
func writeEngineError(w http.ResponseWriter, d Deps, err error) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeGrace))
	status, msg, retryAfter := engineStatus(err)
	if status >= 500 {
		d.Logger.Warn("answer failed", "status", status, "err", err)
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	respond.Error(w, status, msg)
}
