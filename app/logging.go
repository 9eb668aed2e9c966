package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxLogValue is how much of one string a log line shows: more than any
// value the program writes itself, and a bound on what a client can make
// it write (an unauthenticated DELETE /admin/bans/<100 KB id> logs the
// path).
const maxLogValue = 200

// maxLogMessage bounds a message; ours are fixed sentences, a library's
// lines are formatted from whatever it met.
const maxLogMessage = 1024

// clipHandler clips every string value of a record (attributes, groups,
// errors) to maxLogValue bytes and its message to maxLogMessage, so that
// no client-supplied string makes a line long, whichever package logs it.
// Records that need no clipping pass through untouched.
type clipHandler struct{ next slog.Handler }

func (h clipHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h clipHandler) Handle(ctx context.Context, r slog.Record) error {
	long := len(r.Message) > maxLogMessage
	r.Attrs(func(a slog.Attr) bool {
		long = long || needsClip(a.Value)
		return !long
	})
	if !long {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, clip(r.Message, maxLogMessage), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clipAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h clipHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = clipAttr(a)
	}
	return clipHandler{h.next.WithAttrs(out)}
}

func (h clipHandler) WithGroup(name string) slog.Handler {
	return clipHandler{h.next.WithGroup(clip(name, maxLogValue))}
}

func needsClip(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString:
		return len(v.String()) > maxLogValue
	case slog.KindGroup:
		for _, a := range v.Group() {
			if len(a.Key) > maxLogValue || needsClip(a.Value) {
				return true
			}
		}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return len(err.Error()) > maxLogValue
		}
	case slog.KindLogValuer:
		return needsClip(v.Resolve())
	}
	return false
}

func clipAttr(a slog.Attr) slog.Attr {
	a.Key = clip(a.Key, maxLogValue)
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(clip(v.String(), maxLogValue))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = clipAttr(x)
		}
		a.Value = slog.GroupValue(out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && len(err.Error()) > maxLogValue {
			a.Value = slog.StringValue(clip(err.Error(), maxLogValue))
		} else {
			a.Value = v
		}
	default:
		a.Value = v
	}
	return a
}

// clip cuts s to at most n bytes on a character boundary and says how
// long it was.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:cut], len(s))
}

// Library log bounds: a library may write as many lines as it meets
// failures (go-redis writes one per failed dial while Redis is down).
const (
	libraryEvery = 10 * time.Second
	libraryBurst = 5
)

// libraryLog takes a library's Printf-style lines (go-redis's, through
// redis.SetLogger) into the app's logger, in its format (LOG_FORMAT) and
// level filter, as WARN records "library" with the library's name and its
// line clipped. At most libraryBurst lines per libraryEvery go through;
// the others are counted, and the count is written with the next line let
// through. Safe for concurrent use.
type libraryLog struct {
	log  *slog.Logger
	name string
	now  func() time.Time

	mu      sync.Mutex
	start   time.Time // of the current interval
	written int       // in the current interval
	dropped int64     // since the last line written
}

func newLibraryLog(log *slog.Logger, name string, now func() time.Time) *libraryLog {
	if now == nil {
		now = time.Now
	}
	return &libraryLog{log: log, name: name, now: now}
}

// Printf is go-redis's Logging interface.
func (l *libraryLog) Printf(ctx context.Context, format string, v ...any) {
	if !l.log.Enabled(ctx, slog.LevelWarn) {
		return
	}
	l.mu.Lock()
	if now := l.now(); now.Sub(l.start) >= libraryEvery {
		l.start, l.written = now, 0
	}
	if l.written >= libraryBurst {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.written++
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	attrs := []slog.Attr{slog.String("from", l.name), slog.String("line", clip(strings.TrimSpace(fmt.Sprintf(format, v...)), maxLogValue))}
	if dropped > 0 {
		attrs = append(attrs, slog.Int64("lines_suppressed_before", dropped))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "library", attrs...)
}
