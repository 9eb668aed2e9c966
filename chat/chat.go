// Package chat answers questions from a folder of documents.
//
// Load splits Markdown and text files into passages, NewIndex ranks them
// with BM25, and Docs, the built-in "docs" engine, answers a question
// with the few sentences of the best passages that match it, streamed
// word by word, with the passages as sources. It needs no API key and no
// network. Engines backed by a language model can use Docs.Retrieve to
// ground their answers in the same passages.
//
// The package knows nothing of HTTP: it takes a context and a Query and
// returns a Reply.
package chat

import "iter"

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // "user" or "assistant"
	Content string `json:"content"`
}

// Query is what an engine is asked.
type Query struct {
	Question string
	// History holds the earlier turns, oldest first. Engines use only
	// Recent(); Docs uses them to resolve follow-up questions such as
	// "how do I set it?".
	History []Message
}

// MaxHistory is the number of most recent history messages an engine uses.
const MaxHistory = 10

// Recent returns the last MaxHistory messages of the history: the only
// part of it any engine looks at.
func (q Query) Recent() []Message {
	if len(q.History) > MaxHistory {
		return q.History[len(q.History)-MaxHistory:]
	}
	return q.History
}

// Source is a passage an answer draws on.
type Source struct {
	Name    string  `json:"name"`    // document file name, such as "rate-limiting.md"
	Title   string  `json:"title"`   // the document's "#" title
	Heading string  `json:"heading"` // the passage's "##" heading, "" for the introduction
	Excerpt string  `json:"excerpt"` // the start of the passage as plain text, at most about 240 characters
	Score   float64 `json:"score"`   // BM25 relevance, higher is better; only comparable within one answer
}

// Reply is an answer in progress: its sources are known before the first
// word of the answer.
type Reply struct {
	// Sources are the passages the answer draws on, best first. It is
	// empty when the documents do not cover the question.
	Sources []Source
	// Tokens yields the answer in chunks, in order, as they are produced;
	// concatenated they form the answer. When the context given to Answer
	// is cancelled, it yields the context's error once and stops.
	Tokens iter.Seq2[string, error]
}
