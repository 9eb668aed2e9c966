package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const (
	// maxErrorBody is how much of a provider's error body is read.
	maxErrorBody = 64 << 10
	// maxPlainBody is the largest plain JSON completion accepted.
	maxPlainBody = 4 << 20
	// maxMessage is the longest provider message kept for the log.
	maxMessage = 300
)

// plainToStream lets a provider that answers a streamed request with one
// plain JSON completion, as some proxies and servers do, be read as a
// stream of one chunk.
func plainToStream(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res.StatusCode != http.StatusOK {
		return res, err
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/json" {
		return res, nil
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxPlainBody))
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	var c openai.ChatCompletion
	if json.Unmarshal(body, &c) != nil || len(c.Choices) == 0 {
		// Left as it is: read as a stream, it has no events, which Answer
		// reports as a malformed answer.
		res.Body = io.NopCloser(bytes.NewReader(body))
		return res, nil
	}
	finish := c.Choices[0].FinishReason
	if finish == "" {
		finish = "stop" // the completion is whole, whatever it says
	}
	chunk, _ := json.Marshal(map[string]any{
		"id":      c.ID,
		"object":  "chat.completion.chunk",
		"created": c.Created,
		"model":   c.Model,
		"choices": []any{map[string]any{
			"index":         0,
			"delta":         map[string]any{"role": "assistant", "content": c.Choices[0].Message.Content},
			"finish_reason": finish,
		}},
	})
	sse := "data: " + string(chunk) + "\n\ndata: [DONE]\n\n"
	res.Header.Set("Content-Type", "text/event-stream")
	res.Header.Del("Content-Length")
	res.ContentLength = int64(len(sse))
	res.Body = io.NopCloser(strings.NewReader(sse))
	return res, nil
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
// as OpenAI's {"error": {"message": ...}} or Google's list of errors,
// shortened for a log line; "" when there is none.
func providerMessage(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	msg := strings.Join(strings.Fields(findString(v, "message")), " ")
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

// isDecodeError reports whether err means the stream could not be parsed,
// rather than that it was cut.
func isDecodeError(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syntax) || errors.As(err, &typ) || errors.Is(err, bufio.ErrTooLong)
}
