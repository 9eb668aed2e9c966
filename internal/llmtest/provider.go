package llmtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is what a Provider was sent.
type Request struct {
	Path     string      `json:"-"`
	Auth     string      `json:"-"` // the Authorization header
	Header   http.Header `json:"-"` // all the headers
	Model    string      `json:"model"`
	Stream   bool        `json:"stream"`
	Messages []Message   `json:"messages"`
}

// Message is one message of a Request, in order.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Provider is a fake chat-completions server: it records each request and
// answers with its handler, which can read what it was sent with Sent. It
// is closed when its test ends.
type Provider struct {
	// URL is the server's base URL, without a path.
	URL string

	mu   sync.Mutex
	reqs []Request
}

type sentKey struct{}

// NewProvider starts a Provider that answers with handle. A body that is
// not JSON gets 400.
func NewProvider(t testing.TB, handle http.HandlerFunc) *Provider {
	t.Helper()
	p := &Provider{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		req.Path, req.Auth, req.Header = r.URL.Path, r.Header.Get("Authorization"), r.Header.Clone()
		p.mu.Lock()
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
		handle(w, r.WithContext(context.WithValue(r.Context(), sentKey{}, req)))
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Requests returns what the Provider was sent so far.
func (p *Provider) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.reqs...)
}

// Sent returns the Request a Provider's handler is answering.
func Sent(r *http.Request) Request {
	req, _ := r.Context().Value(sentKey{}).(Request)
	return req
}
