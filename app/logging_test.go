package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestClipHandler(t *testing.T) {
	long := strings.Repeat("é", 60_000) // 120 KB, two bytes a character
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		// field is the JSON field whose value must be clipped.
		field string
	}{
		{"string attribute", func(l *slog.Logger) { l.Warn("admin: wrong or missing token", "route", "/admin/bans/"+long) }, "route"},
		{"error", func(l *slog.Logger) { l.Error("failed", "err", errors.New(long)) }, "err"},
		{"group", func(l *slog.Logger) { l.Info("x", slog.Group("g", "id", long)) }, "g"},
		{"WithAttrs", func(l *slog.Logger) { l.With("id", long).Info("x") }, "id"},
		{"message", func(l *slog.Logger) { l.Info(long) }, "msg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.log(slog.New(clipHandler{slog.NewJSONHandler(&b, nil)}))
			if b.Len() > 2*maxLogMessage {
				t.Errorf("got a line of %d bytes, want at most %d", b.Len(), 2*maxLogMessage)
			}
			var v map[string]any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatalf("line %.200q: %v", b.String(), err)
			}
			if !regexp.MustCompile(`…\(1200\d\d bytes\)`).MatchString(b.String()) {
				t.Errorf("line %.300q does not say how long the value was", b.String())
			}
			if _, ok := v[tt.field]; !ok {
				t.Errorf("line %.300q lacks %s", b.String(), tt.field)
			}
		})
	}
	// Short values pass through as they are.
	var b bytes.Buffer
	slog.New(clipHandler{slog.NewJSONHandler(&b, nil)}).Info("request", "method", "POST", "status", 200)
	if !strings.Contains(b.String(), `"msg":"request","method":"POST","status":200`) {
		t.Errorf("got %s, want the record unchanged", b.String())
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…(6 bytes)"},
		{"aéé", 2, "a…(5 bytes)"}, // never half a character
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := clip(tt.in, tt.n); got != tt.want {
				t.Errorf("clip(%q, %d): got %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// A library that writes a line per failure writes at most libraryBurst
// lines per libraryEvery through our logger, in our format; the lines it
// held back are counted in the next one.
func TestLibraryLog(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLibraryLog(slog.New(clipHandler{slog.NewJSONHandler(&b, nil)}), "go-redis", func() time.Time { return now })
	steps := []struct {
		advance time.Duration
		lines   int
		want    int // lines written in this step
	}{
		{0, 1000, libraryBurst},
		{time.Second, 1000, 0},
		{libraryEvery, 1000, libraryBurst},
	}
	for i, s := range steps {
		b.Reset()
		now = now.Add(s.advance)
		for range s.lines {
			l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %v", 5, errors.New("dial tcp 127.0.0.1:1: connect: connection refused"+strings.Repeat("!", 5000)))
		}
		got := strings.Split(strings.TrimSpace(b.String()), "\n")
		if b.Len() == 0 {
			got = nil
		}
		if len(got) != s.want {
			t.Fatalf("step %d: got %d lines, want %d", i, len(got), s.want)
		}
		for _, line := range got {
			var v struct {
				Level, Msg, From, Line string
			}
			if err := json.Unmarshal([]byte(line), &v); err != nil || v.Level != "WARN" || v.Msg != "library" || v.From != "go-redis" || !strings.HasPrefix(v.Line, "redis: connection pool") || len(v.Line) > 2*maxLogValue {
				t.Errorf("step %d: got %.300s, want a JSON WARN library line from go-redis, clipped", i, line)
			}
		}
		if i == 2 && !strings.Contains(got[0], `"lines_suppressed_before":1995`) {
			t.Errorf("step 2: first line %s, want the 1995 lines held back counted", got[0])
		}
	}
}

// While Redis is down, go-redis's own lines come through our logger in our
// format (JSON here), a bounded number of them.
func TestRedisLogsThroughOurLogger(t *testing.T) {
	_, _, logs := opsApp(t, map[string]string{"REDIS_URL": "redis://127.0.0.1:1"})
	var lines int
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "go-redis") {
			continue
		}
		lines++
		var v struct{ Level, Msg, From, Line string }
		if err := json.Unmarshal([]byte(line), &v); err != nil || v.Msg != "library" || v.From != "go-redis" || !strings.Contains(v.Line, "connection refused") {
			t.Errorf("got %s, want a JSON library line from go-redis naming the refused connection", line)
		}
	}
	if lines == 0 || lines > libraryBurst {
		t.Errorf("got %d go-redis lines in the log, want 1 to %d:\n%s", lines, libraryBurst, logs)
	}
}

// An unauthenticated DELETE /admin/bans/<100 KB id> is refused with a
// warning of ordinary length.
func TestAdminWarningClipped(t *testing.T) {
	_, a, logs := opsApp(t, map[string]string{"ADMIN_TOKEN": opsToken})
	start := len(logs.String())
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, httptest.NewRequest(http.MethodDelete, "/admin/bans/"+strings.Repeat("a", 100<<10), nil))
	if w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
		t.Fatalf("got status %d, want 401 or 403", w.Code)
	}
	got := strings.TrimSpace(logs.String()[start:])
	if !strings.Contains(got, "wrong or missing token") {
		t.Fatalf("got log %.300q, want the admin's warning", got)
	}
	for _, line := range strings.Split(got, "\n") {
		if len(line) > 1000 {
			t.Errorf("got a log line of %d bytes, want at most 1000: %.300s", len(line), line)
		}
	}
}
