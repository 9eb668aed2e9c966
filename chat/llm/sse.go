package llm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Bounds on what one stream may make an engine hold, so that a broken or
// hostile provider fails cleanly instead of growing memory without end.
const (
	// maxLine is the longest line of a stream, without its line ending.
	maxLine = 1 << 20
	// maxEvent is the most data one event may gather over its data lines.
	maxEvent = 1 << 20
)

// errMalformed marks an answer that could not be read: a chunk that is
// not JSON, a line or event past the bounds above, a plain body that is
// not a completion.
var errMalformed = errors.New("malformed answer")

// event is one server-sent event.
type event struct {
	// name is the event field, "" when the event had none.
	name string
	// data is the event's data lines joined by "\n". It is only valid
	// until the next call of events.next.
	data []byte
}

// events reads server-sent events as the HTML standard defines them:
// lines end with CRLF, LF or a lone CR; a line starting with a colon is
// a comment; one space after a field's colon is dropped; data lines add
// up until a blank line dispatches the event; a leading byte order mark
// is skipped. The id and retry fields are read and dropped, since they
// only serve reconnecting, and a streamed POST is never resumed. Memory
// is bounded by maxLine and maxEvent.
type events struct {
	sc      *bufio.Scanner
	data    []byte
	started bool
}

func newEvents(r io.Reader) *events {
	sc := bufio.NewScanner(r)
	// Room for the longest line and its CRLF; the buffer starts small and
	// grows only as far as a long line needs.
	sc.Buffer(make([]byte, 0, 4096), maxLine+2)
	sc.Split(scanLines)
	return &events{sc: sc}
}

var utf8BOM = []byte("\xef\xbb\xbf")

// next returns the next event with data. It returns io.EOF when the
// stream ends; an event that the end cuts off before its blank line is
// dropped, as the standard says. An error wrapping errMalformed means a
// line or an event was too long.
func (es *events) next() (event, error) {
	name := ""
	es.data = es.data[:0]
	hasData := false
	for es.sc.Scan() {
		line := es.sc.Bytes()
		if !es.started {
			es.started = true
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if len(line) > maxLine {
			return event{}, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, maxLine)
		}
		if len(line) == 0 {
			if hasData {
				return event{name: name, data: es.data}, nil
			}
			name = ""
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			name = string(value)
		case "data":
			n := len(es.data) + len(value)
			if hasData {
				n++
			}
			if n > maxEvent {
				return event{}, fmt.Errorf("%w: an event with more than %d bytes of data", errMalformed, maxEvent)
			}
			if hasData {
				es.data = append(es.data, '\n')
			}
			es.data = append(es.data, value...)
			hasData = true
		}
		// Anything else is a comment (empty field name), id, retry or a
		// field the standard says to ignore.
	}
	if err := es.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return event{}, fmt.Errorf("%w: a line longer than %d bytes", errMalformed, maxLine)
		}
		return event{}, err
	}
	return event{}, io.EOF
}

// scanLines splits at CRLF, LF or a lone CR, the three line endings of
// server-sent events. A last line without an ending is returned too.
func scanLines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	}
	// A CR at the end of what has arrived: wait to see whether LF follows.
	return 0, nil, nil
}
