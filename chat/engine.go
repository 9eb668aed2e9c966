package chat

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

// NotCovered is the whole answer Docs gives when the documents do not
// cover a question.
const NotCovered = "The documents do not cover this question, so I cannot answer it from them. " +
	"Try asking it another way, with the words the documents would use."

const (
	// answerPassages is how many passages Docs draws an answer from and
	// returns as sources.
	answerPassages = 3
	// maxExcerpt is the longest Source.Excerpt in bytes, before the ellipsis.
	maxExcerpt = 240
	// followUpWeight is the weight of words taken from the previous
	// question when a follow-up is expanded, against 1 for its own words.
	followUpWeight = 0.5
)

// Docs is the built-in answer engine, "docs": it answers from an Index
// with no API key and no network, by quoting the sentences that best
// match the question.
//
// Docs is safe for concurrent use, including Swap during Answer: each call
// uses the index that was current when it started. The zero value has no
// index and says of every question that the documents do not cover it.
type Docs struct {
	ix atomic.Pointer[Index]
}

// NewDocs returns an engine answering from ix.
func NewDocs(ix *Index) *Docs {
	d := &Docs{}
	d.ix.Store(ix)
	return d
}

// Swap replaces the index atomically, as when DOCS_DIR is reloaded.
// Answers already streaming finish with the old index.
func (d *Docs) Swap(ix *Index) {
	d.ix.Store(ix)
}

// Retrieve returns up to k sources for q, best first, for a language
// model to ground its answer in. A follow-up question ("how do I set
// it?") is searched together with the last question in q.History. It
// returns none when the documents do not cover the question.
func (d *Docs) Retrieve(q Query, k int) []Source {
	hits, _ := retrieve(d.ix.Load(), q, k)
	return sources(hits)
}

// Answer answers q from the documents. The reply's sources are the
// passages used; its tokens are the answer, one word at a time with its
// trailing space, made of the one to three sentences of those passages
// that best match the question. When nothing matches, the sources are
// empty and the answer is NotCovered.
//
// Answer fails only when ctx is already done. The token stream checks ctx
// before each word and ends with ctx's error when it is cancelled.
func (d *Docs) Answer(ctx context.Context, q Query) (*Reply, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chat: answer: %w", err)
	}
	ix := d.ix.Load()
	hits, terms := retrieve(ix, q, answerPassages)
	text := NotCovered
	if len(hits) > 0 {
		text = compose(ix, q.Question, hits, terms)
	}
	return &Reply{Sources: sources(hits), Tokens: Stream(ctx, text), Whole: true}, nil
}

// retrieve searches ix for q and returns the hits with the weighted terms
// they were found with. A question that leans on the previous one (it
// finds nothing by itself, says "it" or "that", starts with "and" or
// "what about", or has at most one word of its own) is searched again
// with the words of the earlier user messages added at a lower weight,
// provided the question's own words are known to the documents. A
// question that stands on its own is never changed by the history, and
// "what about the weather?" stays unanswered after a good question. The
// expanded search favours the file the last question finds by itself.
func retrieve(ix *Index, q Query, k int) ([]Hit, map[string]float64) {
	if ix == nil || k <= 0 {
		return nil, nil
	}
	own := ix.parse(q.Question)
	hits := ix.search(own, k)
	prev := earlierQuestions(q.Recent())
	if len(prev) == 0 || !isFollowUp(q.Question, own, hits) || own.known < minKnownShare*own.content {
		return hits, own.weights
	}
	combined := own
	for _, p := range prev {
		combined = combined.followUp(ix.parse(p))
	}
	if h := ix.search(ix.parse(prev[0]), 1); len(h) > 0 {
		combined.file = h[0].Passage.Name // see fileContextBoost
	}
	if expanded := ix.search(combined, k); len(expanded) > 0 {
		return expanded, combined.weights
	}
	return hits, own.weights
}

// followUp returns q with the terms of the earlier question added at
// followUpWeight. The relevance threshold still judges q's own words,
// unless q has none ("why?").
func (q query) followUp(earlier query) query {
	c := query{
		weights: make(map[string]float64),
		wholes:  make(map[string]bool),
		content: q.content, known: q.known, unknown: q.unknown,
	}
	if q.content == 0 {
		c.content, c.known, c.unknown = earlier.content, earlier.known, followUpWeight*earlier.unknown
	}
	for term, w := range earlier.weights {
		c.weights[term] = followUpWeight * w
	}
	for term, w := range q.weights {
		c.weights[term] = w
		if !isAskingWord(term) {
			if c.own == nil {
				c.own = make(map[string]bool)
			}
			c.own[term] = true
		}
	}
	for term := range earlier.wholes {
		c.wholes[term] = true
	}
	for term := range q.wholes {
		c.wholes[term] = true
	}
	return c
}

// isFollowUp reports whether question seems to lean on the previous one.
func isFollowUp(question string, q query, hits []Hit) bool {
	if len(hits) == 0 || q.content <= 1 {
		return true
	}
	words := rawWords(strings.ToLower(question))
	if len(words) > 0 && (words[0] == "and" || words[0] == "also" || words[0] == "or") {
		return true
	}
	for i, w := range words {
		if isPronoun(w) {
			return true
		}
		if i > 0 && (w == "about" && (words[i-1] == "what" || words[i-1] == "how")) {
			return true
		}
		if i > 0 && (w == "one" || w == "ones") && (words[i-1] == "other" || words[i-1] == "that" || words[i-1] == "this") {
			return true
		}
	}
	return false
}

// earlierQuestions returns the last user message of history (already cut
// to Query.Recent), and the one before it too when the last leans on it
// itself ("and on Railway?"), newest first; none when history has no
// user message.
func earlierQuestions(history []Message) []string {
	var out []string
	for i := len(history) - 1; i >= 0 && len(out) < 2; i-- {
		m := history[i]
		if m.Role != "user" || strings.TrimSpace(m.Content) == "" {
			continue
		}
		out = append(out, m.Content)
		if !leansBack(m.Content) {
			break
		}
	}
	return out
}

// leansBack reports whether a question, seen without an index, points
// back at an earlier one: it starts with "and" or says "it" or "that".
func leansBack(question string) bool {
	words := rawWords(strings.ToLower(question))
	if len(words) == 0 {
		return false
	}
	if words[0] == "and" || words[0] == "also" || words[0] == "or" {
		return true
	}
	return slices.ContainsFunc(words, isPronoun)
}

// listItem returns the text of a Markdown list item or quote line.
func listItem(line string) (string, bool) {
	for _, m := range []string{"- ", "* ", "+ ", "> "} {
		if strings.HasPrefix(line, m) {
			return strings.TrimSpace(line[len(m):]), true
		}
	}
	i := strings.IndexFunc(line, func(r rune) bool { return !unicode.IsDigit(r) })
	if i > 0 && i < len(line)-1 && (line[i] == '.' || line[i] == ')') && line[i+1] == ' ' {
		return strings.TrimSpace(line[i+2:]), true
	}
	return line, false
}

// sources turns hits into sources with plain-text excerpts.
func sources(hits []Hit) []Source {
	if len(hits) == 0 {
		return nil
	}
	out := make([]Source, len(hits))
	for i, h := range hits {
		out[i] = Source{
			Name:    h.Passage.Name,
			Title:   h.Passage.Title,
			Heading: h.Passage.Heading,
			Excerpt: excerpt(h.Passage.Text),
			Score:   math.Round(h.Score*1000) / 1000,
		}
	}
	return out
}

// excerpt returns the start of a passage as one line of text, cut at a
// word boundary after at most maxExcerpt bytes.
func excerpt(text string) string {
	var words []string
	for _, line := range strings.Split(text, "\n") {
		if fenceMarker(line) != "" {
			continue
		}
		t := strings.TrimSpace(line)
		if item, ok := listItem(t); ok {
			t = item
		}
		words = append(words, strings.Fields(t)...)
	}
	var b strings.Builder
	for _, w := range words {
		if b.Len()+1+len(w) > maxExcerpt {
			if b.Len() == 0 { // one huge word, such as a URL
				for _, r := range w {
					if b.Len()+utf8.RuneLen(r) > maxExcerpt {
						break
					}
					b.WriteRune(r)
				}
			}
			b.WriteString(" …")
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}
