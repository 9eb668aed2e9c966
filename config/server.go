package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Server bounds what clients can hold of the server: connections open at
// once, and how long and how large one answer may grow. Load fills every
// field, with the defaults below when the variables are unset.
type Server struct {
	// MaxConnections is MAX_CONNECTIONS, the most connections open at
	// once; past it the oldest connection not serving a request is
	// closed, or a new one answered 503 when all are busy.
	MaxConnections int
	// AnswerMaxDuration is ANSWER_MAX_DURATION, the longest one answer
	// may stream (or take to collect, for JSON answers); past it the
	// engine is cancelled and the stream ends with an error line.
	AnswerMaxDuration time.Duration
	// AnswerMaxBytes is ANSWER_MAX_BYTES, the most bytes one answer may
	// write; past it the engine is cancelled and the stream ends with an
	// error line.
	AnswerMaxBytes int64
}

// DefaultReadLimit is RATE_LIMIT_READS' default, the limit of GET
// /limits per client (see handlers.Limits).
const DefaultReadLimit = "60/minute"

// Defaults and ranges of the Server settings, as .env.example and the
// README list them.
const (
	DefaultMaxConnections = 4096
	MinMaxConnections     = 10
	MaxMaxConnections     = 1_000_000

	DefaultAnswerMaxDuration = 2 * time.Minute
	MinAnswerMaxDuration     = time.Second
	MaxAnswerMaxDuration     = time.Hour

	DefaultAnswerMaxBytes = 1 << 20
	MinAnswerMaxBytes     = 1 << 10
	MaxAnswerMaxBytes     = 64 << 20
)

// loadServer reads MAX_CONNECTIONS, ANSWER_MAX_DURATION and
// ANSWER_MAX_BYTES.
func loadServer(getenv func(string) string) (Server, error) {
	s := Server{MaxConnections: DefaultMaxConnections, AnswerMaxDuration: DefaultAnswerMaxDuration, AnswerMaxBytes: DefaultAnswerMaxBytes}
	if v := strings.TrimSpace(getenv("MAX_CONNECTIONS")); v != "" {
		n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if err != nil || n < MinMaxConnections || n > MaxMaxConnections {
			return s, fmt.Errorf("config: MAX_CONNECTIONS=%q: want a whole number from %d to %d (each open connection holds a file descriptor)", getenv("MAX_CONNECTIONS"), MinMaxConnections, MaxMaxConnections)
		}
		s.MaxConnections = n
	}
	if v := strings.TrimSpace(getenv("ANSWER_MAX_DURATION")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < MinAnswerMaxDuration || d > MaxAnswerMaxDuration {
			return s, fmt.Errorf("config: ANSWER_MAX_DURATION=%q: want a duration from %v to %v, such as 2m or 90s", getenv("ANSWER_MAX_DURATION"), MinAnswerMaxDuration, MaxAnswerMaxDuration)
		}
		s.AnswerMaxDuration = d
	}
	if v := strings.TrimSpace(getenv("ANSWER_MAX_BYTES")); v != "" {
		n, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 10, 64)
		if err != nil || n < MinAnswerMaxBytes || n > MaxAnswerMaxBytes {
			return s, fmt.Errorf("config: ANSWER_MAX_BYTES=%q: want a whole number of bytes from %d (1 KiB) to %d (64 MiB)", getenv("ANSWER_MAX_BYTES"), MinAnswerMaxBytes, MaxAnswerMaxBytes)
		}
		s.AnswerMaxBytes = n
	}
	return s, nil
}
