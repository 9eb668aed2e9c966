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

import (
	"context"
	"iter"
	"unicode"
	"unicode/utf8"
)

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
	// Whole says the answer was complete before its first token, as with
	// Stream over a finished text: the handlers then send its lines
	// together when it ends, rather than flush each chunk, which would
	// cost a system call and a packet per word and show nothing sooner.
	// The zero value, false, flushes every token as it comes: keep it for
	// tokens that arrive over time (a language model's), or the client
	// would see nothing until the answer ends.
	Whole bool
}

// Engine answers questions: the seam between the HTTP API and whatever
// produces answers. The built-in Docs, the language-model engines of
// chat/llm and a forker's own engine all implement it, and the handlers
// know engines only through it.
//
// Answer returns an error before the first token (the handlers turn it
// into a status code: see UpstreamError); an error during the answer is
// yielded by Reply.Tokens instead. Tokens may be nil for an empty answer.
// Implementations must be safe for concurrent use.
type Engine interface {
	Answer(ctx context.Context, q Query) (*Reply, error)
}

// EngineFunc adapts a plain function to an Engine, as http.HandlerFunc
// does for handlers. With Stream, a function that computes a whole answer
// becomes an engine in one line:
//
//	chat.EngineFunc(func(ctx context.Context, q chat.Query) (*chat.Reply, error) {
//		return &chat.Reply{Tokens: chat.Stream(ctx, "You asked: "+q.Question), Whole: true}, nil
//	})
type EngineFunc func(ctx context.Context, q Query) (*Reply, error)

// Answer calls f.
func (f EngineFunc) Answer(ctx context.Context, q Query) (*Reply, error) { return f(ctx, q) }

// Stream yields a finished answer in chunks of one word each, every word
// with the white space that follows it (line breaks included, so Markdown
// keeps its shape): the chunks concatenated are text exactly. It stops
// with ctx's error, yielded once, as soon as ctx is done. A Reply whose
// Tokens come from Stream should say Whole.
func Stream(ctx context.Context, text string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for len(text) > 0 {
			if err := ctx.Err(); err != nil {
				yield("", err)
				return
			}
			n := wordEnd(text)
			if !yield(text[:n], nil) {
				return
			}
			text = text[n:]
		}
	}
}

// wordEnd is the length of s's first chunk: leading space, a word, and
// the space after it.
func wordEnd(s string) int {
	i := 0
	for inWord := false; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		space := unicode.IsSpace(r)
		if !space {
			if inWord && i > 0 && isSpaceBefore(s, i) {
				return i
			}
			inWord = true
		}
		i += size
	}
	return i
}

// isSpaceBefore reports whether the rune just before byte i is space.
func isSpaceBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsSpace(r)
}
