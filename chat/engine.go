package chat

import (
	"cmp"
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
	// maxSentences is the most sentences an answer has.
	maxSentences = 3
	// maxExcerpt is the longest Source.Excerpt in bytes, before the ellipsis.
	maxExcerpt = 240
	// followUpWeight is the weight of words taken from the previous
	// question when a follow-up is expanded, against 1 for its own words.
	followUpWeight = 0.5
	// centrality is the weight of a sentence's heading terms against
	// the question's terms when sentences are scored.
	centrality = 0.2
	// minSentenceShare is the share of the best sentence's score another
	// sentence needs to join the answer.
	minSentenceShare = 0.5
	// shortQuestion is the most content words a question may have and
	// still be treated as a follow-up of the previous one.
	shortQuestion = 2
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
		text = compose(ix, hits, terms)
	}
	return &Reply{Sources: sources(hits), Tokens: Stream(ctx, text)}, nil
}

// retrieve searches ix for q and returns the hits with the weighted terms
// they were found with. A question that looks like a follow-up (it says
// "it" or "that", is very short, or finds nothing by itself) is searched
// again with the words of the previous user message added at a lower
// weight, provided the question's own words are known to the documents.
// That keeps "what about the weather?" unanswered after a good question.
func retrieve(ix *Index, q Query, k int) ([]Hit, map[string]float64) {
	if ix == nil || k <= 0 {
		return nil, nil
	}
	own := ix.parse(q.Question)
	hits := ix.search(own, k)
	prev := lastUserMessage(q.Recent())
	if prev == "" || !isFollowUp(q.Question, own, hits) || own.known < minKnownShare*own.content {
		return hits, own.weights
	}
	combined := own.followUp(ix.parse(prev))
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
	if len(hits) == 0 || q.content <= shortQuestion {
		return true
	}
	for _, w := range rawWords(question) {
		if isPronoun(strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// lastUserMessage returns the content of the last user message in
// history (already cut to Query.Recent), or "".
func lastUserMessage(history []Message) string {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Role == "user" && strings.TrimSpace(history[i].Content) != "" {
			return history[i].Content
		}
	}
	return ""
}

// compose picks the sentences of hits that best match terms and joins
// them into an answer.
//
// A sentence scores the idf of the question's terms it contains, plus a
// little for the terms of its own heading, which favours the sentence
// that states what a section is about. The score is scaled by how well
// its passage ranked. The best sentence is always used; others join it
// when they score at least half as much. Sentences of one passage keep
// their reading order, and passages come in the order of their best
// sentence.
func compose(ix *Index, hits []Hit, terms map[string]float64) string {
	type candidate struct {
		text      string
		score     float64
		rank, pos int
	}
	var cands []candidate
	for rank, h := range hits {
		heading := make(map[string]bool)
		for _, t := range tokenize(h.Passage.Heading) {
			heading[t.term] = true
		}
		for pos, s := range sentences(h.Passage.Text) {
			seen := make(map[string]bool)
			var score, central float64
			for _, t := range tokenize(s) {
				if seen[t.term] {
					continue
				}
				seen[t.term] = true
				score += terms[t.term] * ix.idf(t.term)
				if heading[t.term] {
					central += ix.idf(t.term)
				}
			}
			if score > 0 {
				score = (score + centrality*central) * h.Score / hits[0].Score
			}
			cands = append(cands, candidate{s, score, rank, pos})
		}
	}
	if len(cands) == 0 {
		return NotCovered
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.score, a.score) })
	if cands[0].score == 0 {
		// Only the heading or title matched: the top passage's opening
		// sentence is the best summary of what it is about.
		for _, c := range cands {
			if c.rank == 0 && c.pos == 0 {
				return c.text
			}
		}
		return cands[0].text
	}
	var chosen []candidate
	seen := make(map[string]bool)
	for _, c := range cands {
		if len(chosen) == maxSentences || c.score < minSentenceShare*cands[0].score {
			break
		}
		if !seen[c.text] {
			seen[c.text] = true
			chosen = append(chosen, c)
		}
	}
	// chosen is best first; order the passages by their first appearance.
	order := make(map[int]int)
	for _, c := range chosen {
		if _, ok := order[c.rank]; !ok {
			order[c.rank] = len(order)
		}
	}
	slices.SortFunc(chosen, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(order[a.rank], order[b.rank]), cmp.Compare(a.pos, b.pos))
	})
	parts := make([]string, len(chosen))
	for i, c := range chosen {
		parts[i] = c.text
	}
	return strings.Join(parts, " ")
}

// sentences returns the sentences of a passage's Markdown as plain lines:
// prose split at sentence ends, each list item on its own, code blocks,
// tables and headings left out, and sentences that only introduce a list
// dropped, since the list is not quoted with them.
func sentences(text string) []string {
	var (
		out   []string
		unit  []string
		fence string
	)
	flush := func() {
		for _, s := range splitSentences(strings.Join(unit, " ")) {
			if strings.HasSuffix(s, ":") || len(strings.Fields(s)) < 4 {
				continue
			}
			if last := s[len(s)-1]; last != '.' && last != '!' && last != '?' {
				s += "."
			}
			out = append(out, s)
		}
		unit = unit[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		if marker := fenceMarker(line); marker != "" {
			flush()
			if fence == "" {
				fence = marker
			} else if strings.HasPrefix(marker, fence) {
				fence = ""
			}
			continue
		}
		t := strings.TrimSpace(line)
		if fence != "" || t == "" || strings.HasPrefix(t, "|") || strings.HasPrefix(t, "#") {
			flush()
			continue
		}
		if item, ok := listItem(t); ok {
			flush()
			t = item
		}
		t = strings.ReplaceAll(strings.ReplaceAll(t, "**", ""), "__", "")
		unit = append(unit, t)
	}
	flush()
	return out
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

// splitSentences splits prose after '.', '!' or '?' when a space and a
// capital letter, digit or quote follow, so "e.g. the" and "1.5 s" stay
// whole.
func splitSentences(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s)-2; i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && s[i+1] == ' ' {
			next, _ := utf8.DecodeRuneInString(s[i+2:])
			if unicode.IsUpper(next) || unicode.IsDigit(next) || next == '`' || next == '"' {
				out = append(out, strings.TrimSpace(s[start:i+1]))
				start = i + 2
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" {
		out = append(out, rest)
	}
	return out
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
