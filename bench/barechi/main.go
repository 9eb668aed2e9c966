// Command barechi is bare chi answering every POST /chat with a 429 and
// nothing else, as a binary of its own: the ceiling to flood beside the
// built smartdocs binary, so that the comparison is of what users deploy
// (each process with its own runtime settings), not only of handlers in
// the bench's process.
//
//	go build -o /tmp/barechi ./bench/barechi && PORT=8081 /tmp/barechi
package main

import (
	"io"
	"log"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
)

func main() {
	r := chi.NewRouter()
	r.Post("/chat", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":"Rate limit exceeded: 3 per 1 minute","detail":"Rate limit exceeded: 3 per 1 minute"}`+"\n")
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), r))
}
