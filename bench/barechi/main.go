// Command barechi is bare chi as a binary of its own: the peer that
// `go run ./bench` floods beside the built smartdocs binary, so that the
// comparison is of what users deploy (each process with its own runtime
// and server settings), not only of handlers in the bench's process.
//
// By default it answers every POST /chat with a 429, one header and a
// short body, from an http.Server with no timeouts: the ceiling. Flags add
// back, one at a time, what the shipped app keeps and bare chi does not:
//
//	-allowed         answer 200 with a short JSON body instead (the allowed path's ceiling)
//	-response FILE   answer with this 429 instead: header lines, a blank line, the body
//	                 (the bench captures the shipped app's own 429 into it)
//	-timeouts H,R,W,I  serve with these read-header, read, write and idle timeouts
//	                 (the bench passes the app's, from app.NewHTTPServer; the
//	                 binary imports nothing of the app, so that the peer links
//	                 and initialises bare chi and net/http alone)
//
//	go build -o /tmp/barechi ./bench/barechi && /tmp/barechi -port 8081
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

func main() {
	if err := run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "barechi:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	port := fs.Int("port", 8081, "port to listen on, on 127.0.0.1")
	allowed := fs.Bool("allowed", false, "answer 200 instead of 429")
	response := fs.String("response", "", "file holding the 429 to answer with: header lines, a blank line, the body")
	timeouts := fs.String("timeouts", "", "read-header, read, write and idle timeouts, comma-separated (default: none)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	status, header, body := http.StatusTooManyRequests, http.Header{"Content-Type": {"application/json"}},
		[]byte(`{"error":"Rate limit exceeded: 3 per 1 minute","detail":"Rate limit exceeded: 3 per 1 minute"}`+"\n")
	switch {
	case *allowed && *response != "":
		return fmt.Errorf("-allowed and -response: choose one")
	case *allowed:
		status, body = http.StatusOK, []byte(`{"ok":true}`+"\n")
	case *response != "":
		var err error
		if header, body, err = readResponse(*response); err != nil {
			return err
		}
	}
	// Two slices, not the map: a range over a map costs more per request
	// than the ceiling should.
	var names []string
	var values [][]string
	for name, v := range header {
		names, values = append(names, name), append(values, v)
	}
	r := chi.NewRouter()
	r.Post("/chat", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for i, name := range names {
			h[name] = values[i]
		}
		w.WriteHeader(status)
		w.Write(body)
	})
	srv := &http.Server{Handler: r}
	if *timeouts != "" {
		var d [4]time.Duration
		parts := strings.Split(*timeouts, ",")
		if len(parts) != len(d) {
			return fmt.Errorf("-timeouts %q: want four durations, comma-separated", *timeouts)
		}
		for i, p := range parts {
			var err error
			if d[i], err = time.ParseDuration(p); err != nil {
				return fmt.Errorf("-timeouts %q: %w", *timeouts, err)
			}
		}
		srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout = d[0], d[1], d[2], d[3]
	}
	srv.Addr = fmt.Sprintf("127.0.0.1:%d", *port)
	return srv.ListenAndServe()
}

// readResponse reads a response written as header lines, a blank line and
// the body (http.Header.Write, then "\r\n", then the body). Every value is
// capped, so that an append by net/http copies it rather than writes into
// the slice that every request shares.
func readResponse(file string) (http.Header, []byte, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(bytes.NewReader(b))
	mh, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	h := http.Header(mh)
	for name, v := range h {
		h[name] = v[:len(v):len(v)]
	}
	body, err := io.ReadAll(br)
	return h, body, err
}
