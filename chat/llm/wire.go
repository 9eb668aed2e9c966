package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// maxErrorBody is how much of a provider's error body is read.
	maxErrorBody = 64 << 10
	// maxPlainBody is the largest plain JSON completion accepted.
	maxPlainBody = 4 << 20
	// maxMessage is the longest provider message kept for the log.
	maxMessage = 300
)

// request is the body of a chat-completions call. Only what every
// OpenAI-compatible provider accepts is sent.
type request struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`
}

// message is one message of a request: role "system", "user" or
// "assistant".
type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chunk is what the engine reads of a streamed chat-completion chunk, or
// of a whole completion (whose choices carry a message instead of a
// delta). JSON nulls read as "".
type chunk struct {
	Choices []choice `json:"choices"`
	// Error is set when the provider sent an error object instead.
	Error json.RawMessage `json:"error"`
}

type choice struct {
	Index        int     `json:"index"`
	Delta        content `json:"delta"`
	Message      content `json:"message"`
	FinishReason string  `json:"finish_reason"`
}

type content struct {
	Content string `json:"content"`
}

// failed reports whether c is an error object rather than a chunk.
func (c *chunk) failed() bool {
	e := bytes.TrimSpace(c.Error)
	return len(e) > 0 && !bytes.Equal(e, []byte("null"))
}

// statusError is a provider's answer with a status outside 2xx.
type statusError struct {
	status int
	header http.Header
	body   []byte // the start of the body, at most maxErrorBody
}

func (e *statusError) Error() string {
	if msg := providerMessage(e.body); msg != "" {
		return msg
	}
	return fmt.Sprintf("status %d", e.status)
}

// streamError is an error object the provider sent where a chunk was
// due, as OpenAI-compatible servers do when they fail after the 200.
type streamError struct{ msg string }

func (e *streamError) Error() string { return "error in the stream: " + e.msg }

// newStreamError reads the message out of an error event's data.
func newStreamError(data []byte) *streamError {
	msg := providerMessage(data)
	if msg == "" {
		msg = "no message"
	}
	return &streamError{msg: msg}
}

// stream is one answer being read: the events of a streamed answer, or
// the single chunk of a plain JSON completion.
type stream struct {
	body io.Closer // nil for a plain completion, read and closed already
	ev   *events   // nil once the stream is over
	one  *chunk    // a plain completion's only chunk, until it is read
}

// post sends req and returns the answer's stream once the provider's
// status and headers have arrived. A status outside 2xx is a
// *statusError.
func (e *Engine) post(ctx context.Context, req request) (*stream, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	if e.opts.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+e.opts.APIKey)
	}
	resp, err := e.opts.HTTPClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, &statusError{status: resp.StatusCode, header: resp.Header, body: readBody(resp)}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		// Some proxies and servers answer a streamed request with one
		// plain completion; it reads as a stream of one chunk.
		defer resp.Body.Close()
		c, err := plainCompletion(resp.Body)
		if err != nil {
			return nil, err
		}
		return &stream{one: c}, nil
	}
	// Anything else is read as server-sent events, whatever its type: a
	// body without events ends as an empty, malformed answer.
	return &stream{body: resp.Body, ev: newEvents(resp.Body)}, nil
}

// plainCompletion reads a whole JSON completion as one finished chunk.
func plainCompletion(r io.Reader) (*chunk, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxPlainBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPlainBody {
		return nil, fmt.Errorf("%w: a completion larger than %d bytes", errMalformed, maxPlainBody)
	}
	var c chunk
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if c.failed() {
		return nil, newStreamError(c.Error)
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		finish := ch.FinishReason
		if finish == "" {
			finish = "stop" // the completion is whole, whatever it says
		}
		return &chunk{Choices: []choice{{Delta: ch.Message, FinishReason: finish}}}, nil
	}
	return nil, fmt.Errorf("%w: a JSON body that is not a completion", errMalformed)
}

// next returns the next chunk of the answer, or io.EOF after [DONE] or
// at the end of the body. An error object in the stream is a
// *streamError; a chunk that cannot be read wraps errMalformed. Events
// with an empty data field (keep-alives) and events of a type other than
// the default "message" and "error" are skipped.
func (s *stream) next() (*chunk, error) {
	if s.one != nil {
		c := s.one
		s.one = nil
		return c, nil
	}
	for s.ev != nil {
		ev, err := s.ev.next()
		if err != nil {
			s.ev = nil
			return nil, err
		}
		data := bytes.TrimSpace(ev.data)
		switch {
		case len(data) == 0:
			continue
		case bytes.Equal(data, []byte("[DONE]")):
			s.ev = nil
			return nil, io.EOF
		case ev.name == "error":
			s.ev = nil
			return nil, newStreamError(data)
		case ev.name != "" && ev.name != "message":
			continue
		}
		var c chunk
		if err := json.Unmarshal(data, &c); err != nil {
			s.ev = nil
			return nil, fmt.Errorf("%w: %w", errMalformed, err)
		}
		if c.failed() {
			s.ev = nil
			return nil, newStreamError(c.Error)
		}
		return &c, nil
	}
	return nil, io.EOF
}

// close ends the call: the provider sees its connection go.
func (s *stream) close() {
	if s.body != nil {
		s.body.Close()
	}
}

// readBody returns the start of an error response's body.
func readBody(resp *http.Response) []byte {
	if resp.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return b
}

// retryAfter reads how long a provider asked to wait: OpenAI's
// retry-after-ms, the standard Retry-After in seconds or as a date, or
// the retryDelay of Google's RetryInfo in the body. It returns 0 when
// none is given.
func retryAfter(h http.Header, body []byte, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && !math.IsInf(ms, 0) && ms < 1e12 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 && s < 1e8 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		if d, err := time.ParseDuration(findString(v, "retryDelay")); err == nil && d > 0 {
			return d
		}
	}
	return 0
}

// providerMessage returns the first "message" of a JSON error body, such
// as OpenAI's {"error": {"message": ...}} or Google's list of errors, or
// else an error given as a plain string, shortened for a log line; ""
// when there is none.
func providerMessage(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	msg := findString(v, "message")
	if msg == "" {
		msg = findString(v, "error") // {"error": "text"}, as Ollama sends
	}
	if s, ok := v.(string); ok && msg == "" {
		msg = s // the value of an error field that is a string
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if r := []rune(msg); len(r) > maxMessage {
		msg = string(r[:maxMessage]) + "…"
	}
	return msg
}

// findString returns the first string value under key in decoded JSON,
// searching depth first.
func findString(v any, key string) string {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[key].(string); ok {
			return s
		}
		for _, c := range v {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	case []any:
		for _, c := range v {
			if s := findString(c, key); s != "" {
				return s
			}
		}
	}
	return ""
}
