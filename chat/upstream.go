package chat

import (
	"fmt"
	"time"
)

// UpstreamKind says what went wrong with the model provider behind an
// engine. The handlers turn each kind into one status and one message.
type UpstreamKind int

const (
	// UpstreamUnavailable: the provider could not be reached, answered
	// with a server error, or dropped the connection.
	UpstreamUnavailable UpstreamKind = iota + 1
	// UpstreamAuth: the provider refused the credentials (401 or 403).
	UpstreamAuth
	// UpstreamRateLimited: the provider's own rate limit refused the call
	// (429); RetryAfter says when to try again, when it said so.
	UpstreamRateLimited
	// UpstreamTimeout: the provider did not start answering, or stopped
	// sending, within the engine's timeout.
	UpstreamTimeout
	// UpstreamRejected: the provider refused the request itself (another
	// 4xx, such as an unknown model name).
	UpstreamRejected
	// UpstreamMalformed: the provider's answer could not be read, or its
	// stream ended before the answer was finished.
	UpstreamMalformed
)

func (k UpstreamKind) String() string {
	switch k {
	case UpstreamUnavailable:
		return "unavailable"
	case UpstreamAuth:
		return "credentials refused"
	case UpstreamRateLimited:
		return "rate limited"
	case UpstreamTimeout:
		return "timed out"
	case UpstreamRejected:
		return "request rejected"
	case UpstreamMalformed:
		return "malformed answer"
	}
	return fmt.Sprintf("UpstreamKind(%d)", int(k))
}

// UpstreamError is a failure of the model provider behind an engine,
// before or during its answer. Its text names the engine, the kind and
// the provider's status, never an API key: engines remove the key from
// Err before wrapping it.
type UpstreamError struct {
	Engine string // the model_type, such as "gemini"
	Kind   UpstreamKind
	// Status is the provider's HTTP status, 0 when there was none.
	Status int
	// RetryAfter is how long the provider asked to wait before the next
	// call (its Retry-After), 0 when it did not say.
	RetryAfter time.Duration
	// Err is the cause, with any key removed; it may be nil.
	Err error
}

func (e *UpstreamError) Error() string {
	s := "chat: " + e.Engine + ": model provider " + e.Kind.String()
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *UpstreamError) Unwrap() error { return e.Err }
