package chat

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// BM25F parameters. Each field of a passage is length-normalised on its
// own (b per field) and weighted (w per field) before the usual BM25
// saturation (k1) is applied to their sum, so a word in a short heading
// counts for more than the same word in a long body, and a long body does
// not drown its heading. The heading field holds the passage's heading and
// the heading of the section it sits in; the title field the document's
// title.
const (
	bm25K1 = 1.2

	bodyWeight  = 1.0
	bodyB       = 0.75
	headWeight  = 3.0
	headB       = 0.3
	titleWeight = 1.0
	titleB      = 0.3

	// headingFullBonus times the idf mass of a passage's heading is
	// earned when the question holds every word of that heading.
	headingFullBonus = 0.5

	// headingBonus is earned outright, times the word's idf, by a
	// passage whose own heading holds a word of the question: headings
	// say what a section is about better than any sentence in it, and
	// saturation would otherwise cap that.
	headingBonus = 0.5

	// siblingShare times the idf of a question's word is earned by a
	// passage of a long section for each word found only in the
	// section's other passages.
	siblingShare = 1.0
)

// fileContextBoost multiplies the score of a passage in the file where
// the question a follow-up leans on finds its best passage: a
// conversation stays on one page more often than not, so "and on
// linux?" after a question on the config file's location is asked of the
// configuration page first, not of another page that also names Linux
// and Windows.
const fileContextBoost = 1.3

// ownMissFactor multiplies the score of a passage that holds none of a
// follow-up's own words, only those of the question before it: "and how
// do I delete them?" after listing files asks for something new, which
// the section that answered the listing does not say.
const ownMissFactor = 0.5

// fileShareDamping is the factor on the idf of a word that occurs in
// every file of the folder. A product name used on every page ("pip",
// "chi") says little about which page answers, yet as it is missing from
// some sections it keeps a high idf and outweighs the rest of a short
// question. It applies when the folder has at least minFilesForDamping
// files.
const (
	fileShareDamping   = 0.5
	minFilesForDamping = 3
)

// Words shorter than minCorrectable are never typo-corrected: a short
// word one edit away from a word of the documents is too often a
// different word ("cake" and "take"), not a typo.
const minCorrectable = 5

// Relevance threshold. A question gets hits only when
//   - more than minKnownShare of its content words are known to the index,
//     a word fixed by typo correction or stood in for by related words
//     counting correctedShare;
//   - the best passage scores at least minScore; and
//   - some returned passage, with the rest of its section when the
//     section was cut into several, holds at least minCoverage of the
//     question's words, weighted by idf, so that known words scattered
//     over unrelated passages ("install python on windows") do not make
//     an answer.
//
// Passages scoring below minRelative of the best are left out, so that a
// weak last match does not dilute the answer.
//
// snakeWeight is the weight of an identifier joined by '_' that two
// adjacent words of a question spell, lower than that of one written
// whole (see Index.parse).
//
// relatedWeight is the weight of a related word (see relatedWords) of a
// question's word the documents use; standInWeight the weight shared by
// the related words standing in for one they never use, lower than the
// word's own because a related word is not quite the same word.
//
// unknownWeight is the weight of a word the documents never use, as a
// share of the highest idf.
const (
	askingWeight   = 0.3
	snakeWeight    = 0.5
	relatedWeight  = 0.3
	standInWeight  = 0.5
	correctedShare = 0.75
	unknownWeight  = 0.75
	minKnownShare  = 0.5
	minScore       = 1.0
	minCoverage    = 0.45
	minRelative    = 0.2
)

// Hit is a passage found by Search and its BM25F score.
type Hit struct {
	Passage Passage
	Score   float64
}

// Index is a BM25F index over passages. It is immutable once built and
// safe for concurrent use. A nil *Index finds nothing.
type Index struct {
	passages []Passage
	postings map[string][]posting // term -> passages holding it
	lens     [][numFields]float64 // length of each field of each passage, in words
	avgLen   [numFields]float64
	damping  map[string]float64   // term -> idf factor below 1, for terms in every file
	heads    [][]string           // the distinct terms of each passage's own heading
	sections map[sectionKey][]int // the passages of each section cut into several, in order
	siblings [][]int              // per passage, its section's entry in sections; nil when not cut
	words    map[string]string    // lower-cased word as written -> its term, for typo correction
	byLen    map[int][]string     // the keys of words grouped by rune count, sorted
	related  map[string][]string  // term -> the terms grouped with it in relatedWords
	typed    map[string][]string  // term typed -> the terms of userWords documents use for it
}

// The fields of a passage, indexes into posting.tf and Index.lens.
const (
	fieldBody = iota
	fieldHead
	fieldTitle
	numFields
)

type posting struct {
	doc       int                // index into passages
	tf        [numFields]float32 // occurrences in each field
	inHeading bool               // the term is in the passage's own heading
}

// NewIndex builds an index over passages, which it keeps and never
// modifies. Text, heading, parent heading and title are all searched, as
// fields of their own. Link reference definitions ("[x]: https://...")
// are not indexed: they repeat link targets, not content.
func NewIndex(passages []Passage) *Index {
	ix := &Index{
		passages: passages,
		postings: make(map[string][]posting),
		lens:     make([][numFields]float64, len(passages)),
		damping:  make(map[string]float64),
		sections: make(map[sectionKey][]int),
		words:    make(map[string]string),
		byLen:    make(map[int][]string),
		related:  wordTable(relatedWords),
		typed:    wordTable(userWords),
	}
	var total [numFields]float64
	// term -> the files holding it; passages come file by file, so
	// counting a file when it differs from the last one seen is enough.
	type fileCount struct {
		last string
		n    int
	}
	files := make(map[string]fileCount)
	for i, p := range passages {
		tf := make(map[string]*posting)
		add := func(text string, field int) {
			for _, t := range tokenize(text) {
				pt := tf[t.term]
				if pt == nil {
					pt = &posting{doc: i}
					tf[t.term] = pt
				}
				pt.tf[field]++
				ix.lens[i][field]++
				if !t.whole {
					ix.words[t.surface] = t.term
				}
			}
		}
		add(indexedText(p.Text), fieldBody)
		add(p.Heading, fieldHead)
		add(p.Parent, fieldHead)
		add(p.Title, fieldTitle)
		for f := range numFields {
			total[f] += ix.lens[i][f]
		}
		var head []string
		for _, t := range tokenize(p.Heading) {
			if pt := tf[t.term]; pt != nil {
				pt.inHeading = true
			}
			if !t.whole && !slices.Contains(head, t.term) {
				head = append(head, t.term)
			}
		}
		ix.heads = append(ix.heads, head)
		if i > 0 && passages[i-1].Name == p.Name && passages[i-1].Heading == p.Heading {
			key := sectionKey{p.Name, p.Heading}
			if ix.sections[key] == nil {
				ix.sections[key] = []int{i - 1}
			}
			ix.sections[key] = append(ix.sections[key], i)
		}
		for term, pt := range tf {
			ix.postings[term] = append(ix.postings[term], *pt)
			if fc := files[term]; fc.last != p.Name {
				files[term] = fileCount{p.Name, fc.n + 1}
			}
		}
	}
	if len(passages) > 0 {
		for f := range numFields {
			ix.avgLen[f] = max(total[f]/float64(len(passages)), 1)
		}
	}
	allFiles := make(map[string]bool)
	for _, p := range passages {
		allFiles[p.Name] = true
	}
	if n := len(allFiles); n >= minFilesForDamping {
		for term, fc := range files {
			if fc.n >= n {
				ix.damping[term] = fileShareDamping
			}
		}
	}
	ix.siblings = make([][]int, len(passages))
	for _, docs := range ix.sections {
		for _, d := range docs {
			ix.siblings[d] = docs
		}
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

// Search returns up to k passages ranked by BM25F, best first, with their
// scores, one for each section: of a long section cut into several
// passages, only the best is returned. Query words are lower-cased, stemmed and stripped of stop words;
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
	file    string             // the file of the best passage for a follow-up's earlier question; "" if none
	own     map[string]bool    // a follow-up's own terms, when it has some; nil for a question on its own
}

// parse analyses text into index terms, fixing typos against the
// index's vocabulary.
func (ix *Index) parse(text string) query {
	q := query{weights: make(map[string]float64), wholes: make(map[string]bool)}
	extra := make(map[string]float64) // related words of the question's words
	prev := ""                        // the previous word as written, for compounds
	for _, t := range tokenize(ix.phrasal(text)) {
		if !t.whole {
			// "request id" is how people type RequestID: when the
			// documents hold the two words joined as one identifier, it
			// sharpens the match as if typed whole. Joined by '_'
			// ("python version", python_version) it sharpens it at
			// snakeWeight. Joined by '-' ("config-file") they are a
			// phrase more often than a name, and matching them so drew
			// answers away on the development questions.
			if prev != "" && !t.part {
				// Looked up before they are kept, so that the
				// concatenation needs no allocation for most words.
				if ix.postings[prev+t.surface] != nil {
					q.addWhole(prev+t.surface, 1)
				}
				if ix.postings[prev+"_"+t.surface] != nil {
					q.addWhole(prev+"_"+t.surface, snakeWeight)
				}
			}
			prev = t.surface
			if t.part {
				prev = "" // an identifier's parts are joined already
			}
		}
		if t.whole {
			// Its parts follow and are what counts; the whole only
			// sharpens the match when the documents use it as written.
			if ix.postings[t.term] != nil {
				q.weights[t.term]++
				q.wholes[t.term] = true
			}
			continue
		}
		if isAskingWord(t.term) {
			// "show me an example of it": how to answer, not what about.
			if ix.postings[t.term] != nil {
				q.weights[t.term] += askingWeight
			}
			continue
		}
		if ix.postings[t.term] != nil {
			if q.weights[t.term] >= 1 {
				// Said twice ("a request id for each request") is
				// grammar, not emphasis.
				continue
			}
			q.content++
			q.known++
			q.weights[t.term]++
			for _, r := range ix.relatedTerms(t.term) {
				extra[r] = relatedWeight
			}
			continue
		}
		if nearStopWord(t.surface) {
			continue
		}
		q.content++
		if rs := ix.standIns(t.term); len(rs) > 0 {
			// The documents say it another way: their words stand in
			// for it, sharing its weight. Like a corrected typo, it is
			// not quite the question's word, so it counts as known at
			// correctedShare: stand-ins alone cannot make a question
			// look covered.
			q.known += correctedShare
			for _, r := range rs {
				q.weights[r] += standInWeight / float64(len(rs))
			}
			continue
		}
		if utf8.RuneCountInString(t.surface) < minCorrectable || !isLetters(t.surface) {
			q.unknown++ // too short or too odd to correct safely
			continue
		}
		if term := ix.correct(t.surface); term != "" {
			q.known += correctedShare
			q.weights[term]++
		} else if a, b := ix.split(t.surface); a != "" {
			// One word typed, one word's weight, shared by its parts.
			q.known++
			q.weights[a] += 0.5
			q.weights[b] += 0.5
		} else {
			q.unknown++
		}
	}
	// Related words sharpen the ranking but, like whole identifiers, do
	// not count towards how much of the question a passage covers.
	for term, w := range extra {
		if _, asked := q.weights[term]; !asked {
			q.weights[term] = w
			q.wholes[term] = true
		}
	}
	return q
}

// addWhole adds the whole identifier term at weight w, unless the
// question has it already.
func (q *query) addWhole(term string, w float64) {
	if q.weights[term] == 0 {
		q.weights[term] = w
		q.wholes[term] = true
	}
}

// phrasal returns text with each phrasal verb of phrasalVerbs ("turn
// off", or "switch the cache off" at the end of the question) and each
// idiom of idioms ("at once") replaced by the one word that means the
// same ("disable", "concurrent"), when the index knows that word or a
// word related to it: their words are stop words, or mean something else
// apart ("turn").
func (ix *Index) phrasal(text string) string {
	words := rawWords(text)
	var out []string // nil until a phrase is replaced
	for i := 0; i < len(words); i++ {
		w, one, skip := words[i], "", 0
		if i+1 < len(words) {
			one, skip = cmp.Or(twoWords(phrasalVerbs, w, words[i+1]), twoWords(idioms, w, words[i+1])), 1
		}
		if last := len(words) - 1; one == "" && last > i+1 && last <= i+3 {
			// The particle stays, a stop word, and the words between.
			one, skip = twoWords(phrasalVerbs, w, words[last]), 0
		}
		if one != "" && (ix.postings[termOf(one)] != nil || len(ix.relatedTerms(termOf(one))) > 0) {
			if out == nil {
				out = append(out, words[:i]...)
			}
			out = append(out, one)
			i += skip
			continue
		}
		if out != nil {
			out = append(out, w)
		}
	}
	if out == nil {
		return text
	}
	return strings.Join(out, " ")
}

// relatedTerms returns the terms of the index related to term (see
// relatedWords).
func (ix *Index) relatedTerms(term string) []string {
	return ix.held(ix.related[term])
}

// standIns returns the terms of the index that stand in for term, a word
// the documents never use: its related words (see relatedWords) or, when
// the index holds none, the words documents use for it (see userWords).
func (ix *Index) standIns(term string) []string {
	if rs := ix.relatedTerms(term); len(rs) > 0 {
		return rs
	}
	return ix.held(ix.typed[term])
}

// held returns those of terms that the index holds.
func (ix *Index) held(terms []string) []string {
	var out []string
	for _, t := range terms {
		if ix.postings[t] != nil {
			out = append(out, t)
		}
	}
	return out
}

// correct returns the term of the closest word in the index to w that
// starts with the same letter (people rarely mistype the first one, and
// "gaming" is not "naming"), within one edit, or two for words of seven
// letters or more; "" if there is none. Ties go to the more widespread
// term, then to the alphabetically first.
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
			if c, _ := utf8.DecodeRuneInString(cand); c != first {
				continue
			}
			d := editDistance(w, cand, maxDist)
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
	if term := termOf(w); ix.postings[term] != nil {
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

// idf returns the BM25 inverse document frequency of term, 0 when absent,
// damped for a term found in most files.
func (ix *Index) idf(term string) float64 {
	df := float64(len(ix.postings[term]))
	if df == 0 {
		return 0
	}
	n := float64(len(ix.passages))
	idf := math.Log(1 + (n-df+0.5)/(df+0.5))
	if d, ok := ix.damping[term]; ok {
		idf *= d
	}
	return idf
}

// search scores every passage holding a term of q and returns the best k
// that pass the relevance threshold.
func (ix *Index) search(q query, k int) []Hit {
	if len(q.weights) == 0 || q.known <= minKnownShare*q.content {
		return nil
	}
	// An unknown word weighs nearly as much as the rarest known one:
	// missing it is missing a specific part of the question.
	total := q.unknown * unknownWeight * ix.idf1()
	fieldWeight := [numFields]float64{bodyWeight, headWeight, titleWeight}
	fieldB := [numFields]float64{bodyB, headB, titleB}
	// at[doc] is one more than the index in accs of what is summed for
	// passage doc, 0 for none yet: a slice the size of the index, as a
	// map lookup per posting costs more on a large folder.
	type acc struct {
		doc            int
		score, matched float64 // BM25F score; idf mass of the question's words found
		found          uint64  // bit i: the question's word sorted[i] is in the passage
		section        uint64  // found, over every passage of the passage's section when it was cut
	}
	at := make([]int32, len(ix.passages))
	var accs []acc
	// Sorted terms add up the same way every time, so equal passages tie exactly.
	sorted := slices.Sorted(maps.Keys(q.weights))
	mass := ix.masses(q)
	for i, term := range sorted {
		w, idf := q.weights[term], ix.idf(term)
		if !q.wholes[term] {
			total += w * idf
		}
		for _, p := range ix.postings[term] {
			if at[p.doc] == 0 {
				accs = append(accs, acc{doc: p.doc})
				at[p.doc] = int32(len(accs))
			}
			a := &accs[at[p.doc]-1]
			var tf float64
			for f := range numFields {
				norm := 1 - fieldB[f] + fieldB[f]*ix.lens[p.doc][f]/ix.avgLen[f]
				tf += fieldWeight[f] * float64(p.tf[f]) / norm
			}
			a.score += w * idf * tf * (bm25K1 + 1) / (tf + bm25K1)
			if p.inHeading {
				a.score += w * idf * headingBonus
			}
			if !q.wholes[term] {
				a.matched += w * idf
				if i < 64 {
					a.found |= 1 << i
				}
			}
		}
	}
	found := func(doc int) uint64 {
		if j := at[doc]; j > 0 {
			return accs[j-1].found
		}
		return 0
	}
	var top float64
	for j := range accs {
		a := &accs[j]
		a.score += ix.headingMatch(a.doc, mass)
		a.section = a.found
		for _, d := range ix.siblings[a.doc] {
			a.section |= found(d)
		}
		a.score += siblingMatch(mass, sorted, a.section&^a.found)
		if q.file != "" && ix.passages[a.doc].Name == q.file {
			a.score *= fileContextBoost
		}
		if q.own != nil && !ix.holdsAny(a.doc, q.own) {
			a.score *= ownMissFactor
		}
		top = max(top, a.score)
	}
	type scored struct {
		doc   int
		score float64
	}
	var ranked []scored
	var bestMatched float64
	for _, a := range accs {
		if a.score >= minRelative*top {
			ranked = append(ranked, scored{a.doc, a.score})
			matched := a.matched
			if len(ix.siblings[a.doc]) > 0 {
				// A section cut in two covers the question as a whole:
				// its words may fall on both sides of the cut.
				matched = max(matched, foundMass(q, mass, sorted, a.section))
			}
			bestMatched = max(bestMatched, matched)
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
	// A section cut into several passages is one source: its best
	// passage stands for it, and the answer quotes the whole section.
	var hits []Hit
	for _, r := range ranked {
		if len(hits) == k {
			break
		}
		if sibs := ix.siblings[r.doc]; len(sibs) > 0 && slices.ContainsFunc(hits, func(h Hit) bool {
			return h.Passage.Name == ix.passages[r.doc].Name && h.Passage.Heading == ix.passages[r.doc].Heading
		}) {
			continue
		}
		hits = append(hits, Hit{Passage: ix.passages[r.doc], Score: r.score})
	}
	return hits
}

// foundMass is the mass (see masses) of the terms of q, sorted as terms,
// whose bits are set in found, whole identifiers left out, as the
// coverage of the relevance threshold counts it.
func foundMass(q query, mass map[string]float64, terms []string, found uint64) float64 {
	var sum float64
	for i, term := range terms {
		if i < 64 && found&(1<<i) != 0 && !q.wholes[term] {
			sum += mass[term]
		}
	}
	return sum
}

// masses returns the weight times the idf of each of q's terms: what
// finding it is worth, worked out once per search.
func (ix *Index) masses(q query) map[string]float64 {
	m := make(map[string]float64, len(q.weights))
	for term, w := range q.weights {
		m[term] = w * ix.idf(term)
	}
	return m
}

// holdsAny reports whether passage doc holds one of terms. Postings are
// in passage order, so each term costs a binary search.
func (ix *Index) holdsAny(doc int, terms map[string]bool) bool {
	for term := range terms {
		if _, ok := slices.BinarySearchFunc(ix.postings[term], doc, func(p posting, d int) int { return cmp.Compare(p.doc, d) }); ok {
			return true
		}
	}
	return false
}

// headingMatch is the bonus of a passage whose own heading the question
// names in full, as "upgrade pip" names "Upgrading pip": such a section
// is about the question, whatever else its body says.
func (ix *Index) headingMatch(doc int, mass map[string]float64) float64 {
	head := ix.heads[doc]
	if len(head) == 0 {
		return 0
	}
	var sum float64
	for _, term := range head {
		m, ok := mass[term]
		if !ok {
			if _, everywhere := ix.damping[term]; everywhere {
				continue // the product's name, as in "Upgrading pip"
			}
			return 0
		}
		sum += m
	}
	return headingFullBonus * sum
}

// siblingMatch is the bonus of a passage cut from a long section for the
// question's words that other passages of the section hold and it does
// not: the section answers as a whole, and a question whose words fall
// on both sides of a cut should not lose to a short section holding
// fewer of them.
// terms are the question's terms, sorted; others the bit set of those
// the other passages of the section hold and this one does not.
func siblingMatch(mass map[string]float64, terms []string, others uint64) float64 {
	var bonus float64
	for i, term := range terms {
		if i < 64 && others&(1<<i) != 0 {
			bonus += siblingShare * mass[term]
		}
	}
	return bonus
}

// sectionKey names a section: its file and heading.
type sectionKey struct{ name, heading string }

// sectionText returns the Markdown of the whole section p belongs to,
// with the passages a long section was cut into joined again.
func (ix *Index) sectionText(p Passage) string {
	docs := ix.sections[sectionKey{p.Name, p.Heading}]
	if len(docs) == 0 {
		return p.Text
	}
	parts := make([]string, len(docs))
	for i, d := range docs {
		parts[i] = ix.passages[d].Text
	}
	return strings.Join(parts, "\n\n")
}

// isAskingWord reports whether term, a stem, is a word that says what kind
// of answer is wanted ("example", "show", "steps") rather than what it is
// about. Such words count askingWeight, and not as content, so "show me
// an example of using it" is a follow-up about "it".
func isAskingWord(term string) bool {
	switch term {
	case "exampl", "show", "sampl", "step", "way", "explain", "describ":
		return true
	}
	return false
}
