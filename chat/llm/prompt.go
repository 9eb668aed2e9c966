package llm

import (
	"fmt"
	"strings"

	"github.com/smartdocs-go/smartdocs/chat"
)

// instructions open the system message; the passages follow them.
const instructions = "You answer questions about a set of documents. " +
	"Answer only from the context below. If the context does not contain the answer, " +
	"say that the documents do not cover the question; do not guess and do not use outside knowledge. " +
	"Keep the answer short and plain, and name the document a fact comes from when that helps the reader check it."

// messages is what the model is sent for q: the instructions with the
// passages as context, the recent messages of the conversation
// (chat.Query.Recent), then the question.
func messages(q chat.Query, hits []chat.Hit) []message {
	history := q.Recent()
	out := make([]message, 0, len(history)+2)
	out = append(out, message{Role: "system", Content: systemPrompt(hits)})
	for _, m := range history {
		if strings.TrimSpace(m.Content) == "" {
			continue // some providers refuse empty messages
		}
		role := "user"
		if m.Role == "assistant" {
			role = "assistant"
		}
		out = append(out, message{Role: role, Content: m.Content})
	}
	return append(out, message{Role: "user", Content: q.Question})
}

// systemPrompt is the instructions followed by the passages, numbered and
// labelled with their document and section.
func systemPrompt(hits []chat.Hit) string {
	var b strings.Builder
	b.WriteString(instructions)
	b.WriteString("\n\nContext:\n")
	for i, h := range hits {
		p := h.Passage
		label := p.Name
		if p.Title != "" {
			label += ", " + p.Title
		}
		if p.Heading != "" {
			label += " > " + p.Heading
		}
		fmt.Fprintf(&b, "\n[%d] %s\n%s\n", i+1, label, strings.TrimSpace(p.Text))
	}
	return b.String()
}
