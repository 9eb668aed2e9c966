package chat

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// How Docs composes an answer: from the best passage alone, as the part of
// it that answers the question, in the document's own Markdown. A passage
// is cut into blocks (paragraphs, lists, code blocks, tables, Q/A pairs);
// the block that holds most of the question's words is the answer, with
// the sentence that introduces it when it is a list, code or table,
// with the code or list a paragraph introduces, and, when it holds no
// code, with the section's best matching code block.
const (
	// maxAnswerBytes is about the longest answer: blocks are added while
	// the answer is shorter, and a long table is cut to its matching rows.
	maxAnswerBytes = 1800
	// codeContext is how many lines before a matching line of a long
	// code block are quoted with it.
	codeContext = 2
	// maxTableRows is the most rows of a table quoted whole; a longer
	// one is cut to its header and the rows that match the question.
	maxTableRows = 12
	// shapeBonus multiplies the score of a block whose kind suits the
	// question: code or a list for "how do I", a table for "which" or
	// "list", the opening block for "what is".
	shapeBonus = 1.5
	// shortLead is the longest paragraph, in bytes, quoted with the list
	// or table right after it even when it does not end in ":".
	shortLead = 200
	// laterMargin is how much more a unit must score than an earlier one
	// to be the answer instead.
	laterMargin = 0.1
	// unsureCoverage is the share of the question's weight the best
	// passage must hold for Docs to answer without saying it is unsure.
	unsureCoverage = 0.3
	// secondShare is how close to the best unit's score another unit
	// must come to be quoted with it.
	secondShare = 0.8
	// openingLead is the longest opening paragraph of a section, in
	// bytes, quoted before an answer drawn from further down.
	openingLead = 300
	// subHeadingShare is the share of its score that the "####" heading
	// a block sits under adds to the block's own.
	subHeadingShare = 1.0
)

// blockKind is what a block of Markdown is.
type blockKind int

const (
	blockPara blockKind = iota
	blockList
	blockCode
	blockTable
	blockHeading // a "####" heading inside a section
	blockLinks   // link reference definitions
	blockNote    // a fenced admonition of MyST or Sphinx: "```{note}"
)

// isAdmonition reports whether a fence line opens a MyST or Sphinx aside,
// such as "```{note}" or "```{versionadded}", rather than code
// ("```{pip-cli}") or content shown another way ("````{tab} Linux",
// "````{admonition} Example").
func isAdmonition(fenceLine string) bool {
	info := strings.TrimLeft(fenceLine, "`~ ")
	if !strings.HasPrefix(info, "{") {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(info, "{"), "}")
	switch name {
	case "note", "warning", "caution", "attention", "danger", "important", "tip", "hint",
		"seealso", "versionadded", "versionchanged", "deprecated":
		return true
	}
	return false
}

// block is a run of lines of one kind.
type block struct {
	kind  blockKind
	text  string
	lines []string
}

// blocks cuts Markdown into blocks. A list runs over blank lines while its
// items or their indented continuations go on; a fenced code block is one
// block even with blank lines in it.
func blocks(text string) []block {
	var (
		out   []block
		cur   []string
		kind  blockKind
		fence codeFence
	)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, block{kind: kind, text: strings.Join(cur, "\n"), lines: cur})
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if fence != "" {
			cur = append(cur, line)
			fence.step(line)
			if fence == "" && (kind == blockCode || kind == blockNote) {
				flush()
			}
			continue
		}
		if fenceMarker(line) != "" {
			indented := len(line)-len(strings.TrimLeft(line, " ")) >= 2
			_, isItem := listItem(t)
			switch {
			case isItem && kind == blockList && len(cur) > 0:
			case isItem:
				flush()
				kind = blockList
			case kind == blockList && indented && len(cur) > 0:
			default:
				flush()
				kind = blockCode
				if isAdmonition(t) {
					kind = blockNote
				}
			}
			cur = append(cur, line)
			fence.step(line)
			continue
		}
		if t == "" {
			if kind != blockList {
				flush()
			} else {
				cur = append(cur, line)
			}
			continue
		}
		var k blockKind
		_, isItem := listItem(t)
		switch {
		case strings.HasPrefix(t, "|"):
			k = blockTable
		case isItem:
			k = blockList
		case isLinkDefinition(line):
			k = blockLinks
		case isHeading(line):
			k = blockHeading
		default:
			k = blockPara
		}
		indented := line != strings.TrimLeft(line, " \t")
		switch {
		case len(cur) > 0 && kind == blockList && (k == blockList || indented || !endsBlank(cur)):
			// an item, a continuation, or a lazy line of the list
		case len(cur) > 0 && kind == k && k != blockHeading:
		default:
			flush()
			kind = k
		}
		cur = append(cur, line)
	}
	flush()
	for i := range out {
		out[i].lines = trimBlankTail(out[i].lines)
		out[i].text = strings.Join(out[i].lines, "\n")
	}
	return out
}

// isHeading reports whether line is an ATX heading with text: "#### Options",
// not "#123 fixed" or a "#" comment in indented code.
func isHeading(line string) bool {
	level, text := atxHeading(line)
	return level > 0 && text != ""
}

func endsBlank(lines []string) bool {
	return len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == ""
}

func trimBlankTail(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// intent is the shape of answer a question asks for.
type intent int

const (
	intentAny      intent = iota
	intentHowTo           // "how do I", "example": steps or code
	intentOverview        // "what is X", "features": the opening paragraph and its list
	intentTable           // "which", "list", "requirements": a table or a list
	intentExplain         // "how does", "why": prose
)

// questionIntent guesses what shape of answer question asks for.
func questionIntent(question string) intent {
	q := " " + strings.ToLower(strings.Join(rawWords(question), " ")) + " "
	has := func(phrases ...string) bool {
		for _, p := range phrases {
			if strings.Contains(q, " "+p+" ") {
				return true
			}
		}
		return false
	}
	switch {
	case has("how do i", "how do you", "how can i", "how to", "how should i", "example", "examples", "show me", "steps", "syntax", "command"):
		return intentHowTo
	case has("which", "list", "table", "requirements", "requirement", "supported", "options"):
		return intentTable
	case has("what is", "what are", "what's", "overview", "features", "introduction", "tell me about") &&
		len(strings.Fields(q)) <= 10:
		return intentOverview
	case has("how does", "how do they", "how is", "how are", "why"):
		return intentExplain
	}
	return intentAny
}

// compose answers from the best hit: the block of its passage that best
// matches terms, shaped by what question asks for. When the passage holds
// less than unsureCoverage of the question's weight, the answer says it
// is unsure and names the section it quotes.
func compose(ix *Index, question string, hits []Hit, terms map[string]float64) string {
	top := hits[0].Passage
	text := ix.sectionText(top)
	if qa := answerFromQA(ix, text, terms); qa != "" {
		return qa
	}
	bs := blocks(text)
	heads := headingAbove(bs)
	want := questionIntent(question)
	us := units(bs)
	if len(us) == 0 {
		return NotCovered
	}
	scores := make([]float64, len(us))
	best := 0
	for i, u := range us {
		scores[i] = blockScore(ix, u.text(bs), terms)
		if h := heads[u.from]; h >= 0 {
			scores[i] += subHeadingShare * blockScore(ix, bs[h].text, terms)
		}
		if suits(want, bs[u.main].kind, u.main, bs) {
			scores[i] *= shapeBonus
		}
		// A later unit must do clearly better: documents put the main
		// point first and the details after it.
		if scores[i] > scores[best]*(1+laterMargin) {
			best = i
		}
	}
	overview := scores[best] == 0 || want == intentOverview && scores[0] >= 0.5*scores[best]
	if overview {
		// Only the heading or title matched, or the question asks what
		// something is: the section's opening says what it is about;
		// for "which" or "list", its first table or list does.
		best = 0
		if want == intentTable {
			for i, u := range us {
				if k := bs[u.main].kind; k == blockTable || k == blockList {
					best = i
					break
				}
			}
		}
	}
	u := us[best]
	switch {
	case overview && best == 0 && bs[u.main].kind == blockPara && len(us) > 1 && bs[us[1].main].kind == blockList:
		u.to = us[1].to // the opening paragraph and its list
	case want == intentOverview && best == 1 && bs[us[0].main].kind == blockPara:
		u.from = us[0].from // the list with the paragraph it follows
	}
	// Code is clearer with the paragraph that leads up to it.
	if u.from == u.main && bs[u.main].kind == blockCode && u.from > 0 && bs[u.from-1].kind == blockPara &&
		blockScore(ix, bs[u.from-1].text, terms) > 0 {
		u.from--
	}
	// A short paragraph right before a list or table is what it sums up.
	if bs[u.main].kind == blockPara && u.from == u.to && len(bs[u.main].text) <= shortLead && u.to+1 < len(bs) {
		if k := bs[u.to+1].kind; k == blockList || k == blockTable {
			u.to++
		}
	}
	// Code right after the answer shows how to do what it says, and so do
	// the steps a paragraph right after it introduces ("you need to:").
	if next := u.to + 1; next < len(bs) && bs[next].kind == blockCode && blockScore(ix, bs[next].text, terms) > 0 {
		u.to = next
	} else if bs[u.main].kind == blockPara && best+1 < len(us) && us[best+1].from == u.to+1 && us[best+1].main != us[best+1].from {
		u.to = us[best+1].to
	}
	// The answer is u, and what is quoted with it, in document order,
	// each while the answer stays within maxAnswerBytes.
	pieces := []piece{{u, render(bs, u, terms, ix)}}
	size := len(pieces[0].text)
	quote := func(x unit, text string) {
		if size+len(text) <= maxAnswerBytes {
			pieces = append(pieces, piece{x, text})
			size += len(text)
		}
	}
	if !overview {
		// A close second holds what the first may lack.
		if add := bestOutside(us, scores, u, func(i int) bool { return scores[i] >= secondShare*scores[best] }); add >= 0 {
			quote(us[add], render(bs, us[add], terms, ix))
		}
		// Prose that says what to do is more use with the command that
		// does it: the section's best matching code.
		if !slices.ContainsFunc(pieces, piece.hasCode) {
			if c := bestOutside(us, scores, u, func(i int) bool { return bs[us[i].main].kind == blockCode }); c >= 0 {
				quote(us[c], render(bs, us[c], terms, ix))
			}
		}
	}
	if first := us[0]; !overview && u.from > first.to && bs[first.from].kind == blockPara && heads[first.from] < 0 {
		// The section's short opening, a paragraph or the list or
		// code a paragraph leads into, says what the rest is about;
		// text under a "####" heading is no opening but a subject of
		// its own.
		if open := render(bs, first, terms, ix); len(open) <= openingLead &&
			!slices.ContainsFunc(pieces, func(p piece) bool { return strings.Contains(p.text, open) }) {
			quote(first, open)
		}
	}
	text = join(bs, heads, pieces)
	if coverage(ix, top, terms) < unsureCoverage {
		where := top.Title
		if top.Heading != "" {
			where = top.Heading + "” in “" + top.Title
		}
		return "I am not sure the documents answer this. The closest section is “" + where + "”:\n\n" + text
	}
	return text
}

// headingAbove returns, for each block of bs, the index of the
// heading it sits under, or -1 when none does. In a long section of an
// API reference a "####" heading ("#### `messageKey` (String)") names
// what the blocks after it are about, as a section's heading does for
// the section: its words count for them, and it is quoted with them.
func headingAbove(bs []block) []int {
	heads := make([]int, len(bs))
	h := -1
	for i, b := range bs {
		heads[i] = h
		if b.kind == blockHeading {
			h = i
		}
	}
	return heads
}

// piece is a unit quoted in an answer, rendered.
type piece struct {
	u    unit
	text string
}

func (p piece) hasCode() bool { return strings.Contains(p.text, "```") }

// join returns the pieces in document order, each run of them under a
// heading led by that heading.
func join(bs []block, heads []int, pieces []piece) string {
	slices.SortFunc(pieces, func(a, b piece) int { return cmp.Compare(a.u.from, b.u.from) })
	var parts []string
	shown := -1
	for _, p := range pieces {
		if h := heads[p.u.from]; h >= 0 && h != shown {
			parts = append(parts, bs[h].text)
			shown = h
		}
		parts = append(parts, p.text)
	}
	return strings.Join(parts, "\n\n")
}

// bestOutside returns the unit, outside the blocks of u, with the
// highest non-zero score among those ok accepts, or -1.
func bestOutside(us []unit, scores []float64, u unit, ok func(i int) bool) int {
	add := -1
	for i, o := range us {
		if o.to >= u.from && o.from <= u.to || scores[i] == 0 || !ok(i) {
			continue
		}
		if add < 0 || scores[i] > scores[add] {
			add = i
		}
	}
	return add
}

// unit is a run of blocks bs[from:to+1] quoted together: a block with the
// paragraph ending in ":" that introduces it. main is the block that
// gives the unit its kind.
type unit struct{ from, to, main int }

func (u unit) text(bs []block) string {
	var parts []string
	for i := u.from; i <= u.to; i++ {
		parts = append(parts, bs[i].text)
	}
	return strings.Join(parts, "\n")
}

// units groups blocks into units, leaving out headings and link
// definitions.
func units(bs []block) []unit {
	var us []unit
	for i := 0; i < len(bs); i++ {
		k := bs[i].kind
		if k == blockLinks || k == blockHeading {
			continue
		}
		u := unit{from: i, to: i, main: i}
		for u.to+1 < len(bs) && bs[u.to].kind == blockPara && endsWithColon(bs[u.to].text) {
			nk := bs[u.to+1].kind
			if nk == blockLinks || nk == blockHeading || nk == blockPara {
				break
			}
			u.to++
			u.main = u.to
		}
		us = append(us, u)
		i = u.to
	}
	return us
}

// suits reports whether block i of kind k is the shape the intent wants.
func suits(want intent, k blockKind, i int, bs []block) bool {
	switch want {
	case intentHowTo:
		return k == blockCode || k == blockList && isOrdered(bs[i].lines)
	case intentTable:
		return k == blockTable || k == blockList
	case intentExplain:
		return k == blockPara
	}
	return false
}

func isOrdered(lines []string) bool {
	t := strings.TrimSpace(lines[0])
	return t != "" && unicode.IsDigit(rune(t[0]))
}

// blockScore is the idf mass of the question's terms found in text, each
// term counted once.
func blockScore(ix *Index, text string, terms map[string]float64) float64 {
	seen := make(map[string]bool)
	var s float64
	for _, t := range tokenize(text) {
		if seen[t.term] {
			continue
		}
		seen[t.term] = true
		s += terms[t.term] * ix.idf(t.term)
	}
	return s
}

// coverage is the share of the question's weight found in p, the way
// the relevance threshold measures it.
func coverage(ix *Index, p Passage, terms map[string]float64) float64 {
	found := make(map[string]bool)
	for _, text := range []string{p.Text, p.Heading, p.Parent, p.Title} {
		for _, t := range tokenize(text) {
			found[t.term] = true
		}
	}
	var total, got float64
	for term, w := range terms {
		if strings.ContainsAny(term, "_-.") {
			continue // a whole identifier; its parts are counted
		}
		m := w * ix.idf(term)
		total += m
		if found[term] {
			got += m
		}
	}
	if total == 0 {
		return 1
	}
	return got / total
}

// render returns the blocks of u, a long table cut to its matching rows,
// stopping before maxAnswerBytes.
func render(bs []block, u unit, terms map[string]float64, ix *Index) string {
	var parts []string
	size := 0
	for i := u.from; i <= u.to; i++ {
		text := bs[i].text
		switch bs[i].kind {
		case blockTable:
			text = cutTable(bs[i].lines, terms, ix)
		case blockCode:
			text = cutCode(bs[i].lines, terms, ix, maxAnswerBytes-size)
		}
		if size > 0 && size+len(text) > maxAnswerBytes {
			break
		}
		parts = append(parts, text)
		size += len(text)
	}
	return strings.Join(parts, "\n\n")
}

func endsWithColon(text string) bool {
	return strings.HasSuffix(strings.TrimSpace(text), ":")
}

// cutTable returns a table whole when it is short, or else its header
// and the rows that hold a term of the question.
func cutTable(lines []string, terms map[string]float64, ix *Index) string {
	if len(lines) <= maxTableRows+2 {
		return strings.Join(lines, "\n")
	}
	head := 2
	if len(lines) < head {
		head = len(lines)
	}
	out := append([]string(nil), lines[:head]...)
	for _, l := range lines[head:] {
		if blockScore(ix, l, terms) > 0 {
			out = append(out, l)
		}
	}
	if len(out) == head {
		out = lines[:min(len(lines), maxTableRows+2)]
	}
	return strings.Join(out, "\n")
}

// cutCode returns a code block whole when it fits in budget bytes, or
// else its fences and the lines that best match the question, each with
// the codeContext lines before it (the comment that explains it), and
// "..." where lines were left out. Lines are taken best first, then in
// the order of the block, while they fit: in a long interface where
// every line names a route or a handler, the one that names all the
// question's words is kept.
func cutCode(lines []string, terms map[string]float64, ix *Index, budget int) string {
	if len(lines) < 3 || len(strings.Join(lines, "\n")) <= budget {
		return strings.Join(lines, "\n")
	}
	body := lines[1 : len(lines)-1]
	scores := make([]float64, len(body))
	var order []int
	for i, l := range body {
		if scores[i] = blockScore(ix, l, terms); scores[i] > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	keep := make([]bool, len(body))
	size := len(lines[0]) + len(lines[len(lines)-1]) + 2*len("\n...")
	for _, i := range order {
		add := 0
		for j := max(0, i-codeContext); j <= i; j++ {
			if !keep[j] {
				add += len(body[j]) + len("\n...\n")
			}
		}
		if size+add > budget {
			continue
		}
		size += add
		for j := max(0, i-codeContext); j <= i; j++ {
			keep[j] = true
		}
	}
	out := []string{lines[0]}
	gap := false
	for i, l := range body {
		if !keep[i] {
			gap = true
			continue
		}
		if gap {
			out = append(out, "...")
		}
		gap = false
		out = append(out, l)
	}
	if gap {
		out = append(out, "...")
	}
	return strings.Join(append(out, lines[len(lines)-1]), "\n")
}

// answerFromQA finds, in a passage written as questions and answers
// ("Q: ...", "A: ..." or "**Q:** ..."), the question that best matches
// terms and returns its answer: the lines after it up to the next
// question, without the "A:" label. It returns "" when the passage has
// no such pairs or none matches.
func answerFromQA(ix *Index, text string, terms map[string]float64) string {
	type pair struct {
		q      string
		answer []string
	}
	var pairs []pair
	for _, line := range strings.Split(text, "\n") {
		if q, ok := qaPrefix(line, "q", "question"); ok {
			pairs = append(pairs, pair{q: q})
			continue
		}
		if len(pairs) == 0 {
			continue
		}
		p := &pairs[len(pairs)-1]
		if a, ok := qaPrefix(line, "a", "answer"); ok && len(p.answer) == 0 {
			line = a
		}
		if len(p.answer) == 0 && strings.TrimSpace(line) == "" {
			continue
		}
		p.answer = append(p.answer, line)
	}
	best, bestScore := -1, 0.0
	for i, p := range pairs {
		if s := blockScore(ix, p.q, terms); s > bestScore && len(trimBlankTail(p.answer)) > 0 {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return ""
	}
	return strings.TrimSpace(strings.Join(trimBlankTail(pairs[best].answer), "\n"))
}

// qaPrefix reports whether line starts with one of the labels ("Q",
// "Question") followed by ':' or '.', in bold or not, and returns the rest.
func qaPrefix(line string, labels ...string) (string, bool) {
	t := strings.TrimLeft(line, "#>*_ ")
	for _, l := range labels {
		if len(t) <= len(l) || !strings.EqualFold(t[:len(l)], l) {
			continue
		}
		rest := strings.TrimLeft(t[len(l):], "*_")
		if strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, ".") {
			rest = strings.TrimLeft(rest[1:], "*_ ")
			return rest, true
		}
	}
	return "", false
}
