package handlers

import (
	"encoding/json"
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
		reply, err := model.Engine.Answer(r.Context(), q)
		if err != nil {
			writeEngineError(w, d, err)
			return
		}
		if reply == nil {
			reply = &chat.Reply{}
		}
		if reply.Tokens == nil { // an engine's empty answer
			reply.Tokens = func(func(string, error) bool) {}
		}
		if wantsJSON(r) {
			answerJSON(w, d, model.Name, reply)
			return
		}
		stream(w, r, d, reply)
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

// stream writes the original's NDJSON: sources, tokens, done; a failure
// after the first line ends the stream with an error line.
func stream(w http.ResponseWriter, r *http.Request, d Deps, reply *chat.Reply) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	write := func(l line) error {
		rc.SetWriteDeadline(time.Now().Add(writeGrace))
		if err := enc.Encode(l); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := write(line{Type: "sources", Data: sourceNames(reply.Sources), Details: reply.Sources}); err != nil {
		return
	}
	for tok, err := range reply.Tokens {
		if err != nil {
			if r.Context().Err() == nil {
				d.Logger.Warn("answer failed mid-stream", "err", err)
				write(line{Type: "error", Data: publicMessage(err)})
			}
			return
		}
		if err := write(line{Type: "token", Data: tok}); err != nil {
			return
		}
	}
	write(line{Type: "done"})
}

func answerJSON(w http.ResponseWriter, d Deps, model string, reply *chat.Reply) {
	var b strings.Builder
	for tok, err := range reply.Tokens {
		if err != nil {
			writeEngineError(w, d, err)
			return
		}
		b.WriteString(tok)
	}
	// Collecting a model's answer may outlast the server's write timeout.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeGrace))
	out := jsonAnswer{Answer: strings.TrimSpace(b.String()), Sources: []jsonSource{}, Model: model}
	for _, s := range reply.Sources {
		out.Sources = append(out.Sources, jsonSource{Name: s.Name, Title: s.Title, Heading: s.Heading, Excerpt: s.Excerpt})
	}
	respond.JSON(w, http.StatusOK, out)
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
