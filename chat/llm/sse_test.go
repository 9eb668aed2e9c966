package llm

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readEvents reads every event of r as "name|data", until the end or an
// error.
func readEvents(t *testing.T, r io.Reader) ([]string, error) {
	t.Helper()
	es := newEvents(r)
	var got []string
	for {
		ev, err := es.next()
		if errors.Is(err, io.EOF) {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		got = append(got, ev.name+"|"+string(ev.data))
	}
}

func TestEvents(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"LF", "data: a\n\ndata: b\n\n", []string{"|a", "|b"}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"|a", "|b"}},
		{"lone CR", "data: a\r\rdata: b\r\r", []string{"|a", "|b"}},
		{"mixed endings", "data: a\r\n\ndata: b\r\r\n", []string{"|a", "|b"}},
		{"comments", ": ping\n\ndata: a\n: ping\n\n:\n\n", []string{"|a"}},
		{"event, id and retry fields", "event: message\nid: 7\nretry: 1000\ndata: a\n\n", []string{"message|a"}},
		{"event name forgotten after dispatch", "event: error\ndata: x\n\ndata: y\n\n", []string{"error|x", "|y"}},
		{"event without data dropped", "event: error\n\ndata: y\n\n", []string{"|y"}},
		{"data over several lines", "data: {\"a\":\ndata: 1}\n\n", []string{"|{\"a\":\n1}"}},
		{"no space after the colon", "data:a\n\n", []string{"|a"}},
		{"only one space dropped", "data:  a \n\n", []string{"| a "}},
		{"field without a colon", "data\n\n", []string{"|"}},
		{"unknown field", "foo: bar\ndata: a\n\n", []string{"|a"}},
		{"byte order mark", "\xef\xbb\xbfdata: a\n\n", []string{"|a"}},
		{"blank lines between events", "\n\n\ndata: a\n\n\n\n", []string{"|a"}},
		{"event cut off by the end", "data: a\n\ndata: b\n", []string{"|a"}},
		{"last line without an ending", "data: a\n\ndata: b", []string{"|a"}},
		{"empty stream", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Byte by byte too, so that a CR and its LF arrive apart.
			for _, r := range []io.Reader{strings.NewReader(tt.in), iotest.OneByteReader(strings.NewReader(tt.in))} {
				got, err := readEvents(t, r)
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("got events %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestEventsBounds(t *testing.T) {
	line := strings.Repeat("x", maxLine-len("data: "))
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"the longest line", "data: " + line + "\r\n\r\n", false},
		{"a line one byte longer", "data: x" + line + "\n\n", true},
		{"a line one byte longer, CR ending", "data: x" + line + "\r\r", true},
		{"an event of the most data", "data: " + line[:maxEvent/2] + "\ndata: " + line[:maxEvent/2-1] + "\n\n", false},
		{"an event one byte over", "data: " + line[:maxEvent/2] + "\ndata: " + line[:maxEvent/2] + "\n\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readEvents(t, strings.NewReader(tt.in))
			switch {
			case tt.wantErr && !errors.Is(err, errMalformed):
				t.Errorf("got %d events, error %v; want an error wrapping errMalformed", len(got), err)
			case !tt.wantErr && (err != nil || len(got) != 1):
				t.Errorf("got %d events, error %v; want 1 event", len(got), err)
			}
		})
	}
}

// endless is a line that never ends; it counts what was read of it.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

func TestEventsEndlessLine(t *testing.T) {
	r := &endless{}
	_, err := readEvents(t, r)
	if !errors.Is(err, errMalformed) {
		t.Fatalf("got %v, want an error wrapping errMalformed", err)
	}
	// The reader holds at most one line and its ending at a time.
	if r.n > maxLine+2 {
		t.Errorf("got %d bytes read, want at most %d", r.n, maxLine+2)
	}
}

func TestScanLines(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		atEOF   bool
		advance int
		token   string
	}{
		{"LF", "ab\ncd", false, 3, "ab"},
		{"CRLF", "ab\r\ncd", false, 4, "ab"},
		{"CR", "ab\rcd", false, 3, "ab"},
		{"CR last, more to come", "ab\r", false, 0, ""},
		{"CR last at the end", "ab\r", true, 3, "ab"},
		{"no ending yet", "ab", false, 0, ""},
		{"no ending at the end", "ab", true, 2, "ab"},
		{"empty line", "\n", false, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			advance, token, err := scanLines([]byte(tt.data), tt.atEOF)
			if err != nil || advance != tt.advance || string(token) != tt.token {
				t.Errorf("got %d %q %v, want %d %q <nil>", advance, token, err, tt.advance, tt.token)
			}
		})
	}
}
