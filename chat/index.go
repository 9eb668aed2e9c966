package chat

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"unicode/utf8"
)

// BM25 parameters: k1 sets how quickly repeated terms stop adding score,
// b how strongly long passages are penalised. These are the usual values.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// Field weights. A word of a section's heading counts as headingWeight
// occurrences in its text, and a word of the document's title as
// titleWeight. Because BM25 saturates repeated words, a heading match also
// earns headingBonus times the word's idf outright: headings say what a
// section is about better than any sentence in it.
const (
	headingWeight = 3
	titleWeight   = 1
	headingBonus  = 0.5
)

// Words shorter than minCorrectable are never typo-corrected: a short
// word one edit away from a word of the documents is too often a
// different word ("cake" and "take"), not a typo.
const minCorrectable = 5

// Relevance threshold. A question gets hits only when
//   - at least minKnownShare of its content words are known to the index,
//     a word fixed by typo correction counting half;
//   - the best passage scores at least minScore; and
//   - some returned passage holds at least minCoverage of the question's
//     words, weighted by idf, so that known words scattered over unrelated
//     passages ("install python on windows") do not make an answer.
//
// Passages scoring below minRelative of the best are left out, so that a
// weak last match does not dilute the answer.
const (
	minKnownShare = 0.5
	minScore      = 1.0
	minCoverage   = 0.5
	minRelative   = 0.2
)

// Hit is a passage found by Search and its BM25 score.
type Hit struct {
	Passage Passage
	Score   float64
}

// Index is a BM25 index over passages. It is immutable once built and safe
// for concurrent use. A nil *Index finds nothing.
type Index struct {
	passages []Passage
	postings map[string][]posting // term -> passages holding it
	lens     []float64            // weighted length of each passage
	avgLen   float64
	words    map[string]string // lower-cased word as written -> its term, for typo correction
	byLen    map[int][]string  // the keys of words grouped by rune count, sorted
}

type posting struct {
	doc       int     // index into passages
	tf        float64 // weighted term frequency
	inHeading bool    // the term is in the passage's heading
}

// NewIndex builds an index over passages, which it keeps and never
// modifies. Text, heading and title are all searched, with the heading
// weighted up.
func NewIndex(passages []Passage) *Index {
	ix := &Index{
		passages: passages,
		postings: make(map[string][]posting),
		lens:     make([]float64, len(passages)),
		words:    make(map[string]string),
		byLen:    make(map[int][]string),
	}
	var total float64
	for i, p := range passages {
		tf := make(map[string]float64)
		add := func(text string, weight float64) {
			for _, t := range tokenize(text) {
				tf[t.term] += weight
				ix.lens[i] += weight
				if !t.whole {
					ix.words[t.surface] = t.term
				}
			}
		}
		add(p.Text, 1)
		add(p.Heading, headingWeight)
		add(p.Title, titleWeight)
		total += ix.lens[i]
		inHeading := make(map[string]bool)
		for _, t := range tokenize(p.Heading) {
			inHeading[t.term] = true
		}
		for term, f := range tf {
			ix.postings[term] = append(ix.postings[term], posting{doc: i, tf: f, inHeading: inHeading[term]})
		}
	}
	if len(passages) > 0 {
		ix.avgLen = total / float64(len(passages))
	}
	for w := range ix.words {
		n := utf8.RuneCountInString(w)
		ix.byLen[n] = append(ix.byLen[n], w)
	}
	for _, ws := range ix.byLen {
		slices.Sort(ws)
	}
	return ix
}

// Search returns up to k passages ranked by BM25, best first, with their
// scores. Query words are lower-cased, stemmed and stripped of stop words;
// a word the documents never use is replaced by the closest one they do
// (one typo allowed, two for words of seven letters or more) or split in
// two ("ratelimit"). Only passages that pass the relevance threshold are
// returned, so a question the documents do not cover returns none.
func (ix *Index) Search(query string, k int) []Hit {
	if ix == nil || k <= 0 {
		return nil
	}
	return ix.search(ix.parse(query), k)
}

// query is an analysed question.
type query struct {
	weights map[string]float64 // index term -> weight
	wholes  map[string]bool    // terms of weights that are whole identifiers
	content float64            // content words in the question
	known   float64            // how many of them the index knows
	unknown float64            // weight of content words with no term in weights
}

// parse analyses text into index terms, fixing typos against the
// index's vocabulary.
func (ix *Index) parse(text string) query {
	q := query{weights: make(map[string]float64), wholes: make(map[string]bool)}
	for _, t := range tokenize(text) {
		if t.whole {
			// Its parts follow and are what counts; the whole only
			// sharpens the match when the documents use it as written.
			if ix.postings[t.term] != nil {
				q.weights[t.term]++
				q.wholes[t.term] = true
			}
			continue
		}
		if ix.postings[t.term] != nil {
			q.content++
			q.known++
			q.weights[t.term]++
			continue
		}
		if nearStopWord(t.surface) {
			continue
		}
		q.content++
		if utf8.RuneCountInString(t.surface) < minCorrectable || !isLetters(t.surface) {
			q.unknown++ // too short or too odd to correct safely
			continue
		}
		if term := ix.correct(t.surface); term != "" {
			q.known += 0.5
			q.weights[term]++
		} else if a, b := ix.split(t.surface); a != "" {
			q.known++
			q.weights[a]++
			q.weights[b]++
		} else {
			q.unknown++
		}
	}
	return q
}

// correct returns the term of the closest word in the index to w, within
// one edit, or two for words of seven letters or more that start with the
// same letter; "" if there is none. Ties go to the more widespread term,
// then to the alphabetically first.
func (ix *Index) correct(w string) string {
	n := utf8.RuneCountInString(w)
	maxDist := 1
	if n >= 7 {
		maxDist = 2
	}
	first, _ := utf8.DecodeRuneInString(w)
	best, bestDist, bestDF := "", maxDist+1, 0
	for l := n - maxDist; l <= n+maxDist; l++ {
		for _, cand := range ix.byLen[l] {
			d := editDistance(w, cand, maxDist)
			if c, _ := utf8.DecodeRuneInString(cand); d > 1 && c != first {
				continue
			}
			if d > maxDist {
				continue
			}
			term := ix.words[cand]
			df := len(ix.postings[term])
			if d < bestDist || (d == bestDist && df > bestDF) {
				best, bestDist, bestDF = term, d, df
			}
		}
	}
	return best
}

// split returns the terms of two words of the index that w is made of, as
// "ratelimit" is of "rate" and "limit", or "", "" if there are none. The
// longest known first part wins.
func (ix *Index) split(w string) (string, string) {
	rs := []rune(w)
	for i := len(rs) - 2; i >= 3; i-- {
		a, b := ix.known(string(rs[:i])), ix.known(string(rs[i:]))
		if a != "" && b != "" {
			return a, b
		}
	}
	return "", ""
}

// known returns the term for w if the index holds w, or its stem, and w
// is not a stop word; otherwise "".
func (ix *Index) known(w string) string {
	if isStopWord(w) {
		return ""
	}
	if term, ok := ix.words[w]; ok {
		return term
	}
	if term := stem(w); ix.postings[term] != nil {
		return term
	}
	return ""
}

// idf1 returns the inverse document frequency of a term found in one
// passage, the highest there is.
func (ix *Index) idf1() float64 {
	n := float64(len(ix.passages))
	return math.Log(1 + (n-0.5)/1.5)
}

// idf returns the BM25 inverse document frequency of term, 0 when absent.
func (ix *Index) idf(term string) float64 {
	df := float64(len(ix.postings[term]))
	if df == 0 {
		return 0
	}
	n := float64(len(ix.passages))
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// search scores every passage holding a term of q and returns the best k
// that pass the relevance threshold.
func (ix *Index) search(q query, k int) []Hit {
	if len(q.weights) == 0 || q.known < minKnownShare*q.content {
		return nil
	}
	// An unknown word weighs as much as the rarest known one: missing it
	// is missing the most specific part of the question.
	total := q.unknown * ix.idf1()
	scores := make(map[int]float64)
	matched := make(map[int]float64) // idf mass of the question's words found in each passage
	// Sorted terms add up the same way every time, so equal passages tie exactly.
	for _, term := range slices.Sorted(maps.Keys(q.weights)) {
		w, idf := q.weights[term], ix.idf(term)
		if !q.wholes[term] {
			total += w * idf
		}
		for _, p := range ix.postings[term] {
			norm := bm25K1 * (1 - bm25B + bm25B*ix.lens[p.doc]/ix.avgLen)
			scores[p.doc] += w * idf * p.tf * (bm25K1 + 1) / (p.tf + norm)
			if p.inHeading {
				scores[p.doc] += w * idf * headingBonus
			}
			if !q.wholes[term] {
				matched[p.doc] += w * idf
			}
		}
	}
	var top float64
	for _, s := range scores {
		top = max(top, s)
	}
	type scored struct {
		doc   int
		score float64
	}
	var ranked []scored
	var bestMatched float64
	for doc, s := range scores {
		if s >= minRelative*top {
			ranked = append(ranked, scored{doc, s})
			bestMatched = max(bestMatched, matched[doc])
		}
	}
	coverage := 1.0 // when only whole identifiers were asked, and matched
	if total > 0 {
		coverage = bestMatched / total
	}
	if top < minScore || coverage < minCoverage {
		return nil
	}
	// Equal scores keep document order, so results do not depend on map order.
	slices.SortFunc(ranked, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.doc, b.doc))
	})
	if len(ranked) > k {
		ranked = ranked[:k]
	}
	hits := make([]Hit, len(ranked))
	for i, r := range ranked {
		hits[i] = Hit{Passage: ix.passages[r.doc], Score: r.score}
	}
	return hits
}
