package chat

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrNoDocuments is returned, wrapped, by Load when there is nothing to
// answer from.
var ErrNoDocuments = errors.New("chat: no documents")

// maxPassage is the length in bytes beyond which a section is cut into
// several passages at paragraph breaks. Shorter passages rank more
// precisely and give tighter answers; much shorter ones lose context.
const maxPassage = 1200

// maxTextParagraphs is the most paragraphs of a .txt file put in one
// passage, since plain text has no headings to group them.
const maxTextParagraphs = 3

// Passage is one retrievable unit of a document: a section under a
// Markdown heading, or part of one when the section is long.
type Passage struct {
	Name    string // file path within the loaded fs.FS, such as "rate-limiting.md"
	Title   string // the document's "#" title, or the file name when it has none
	Heading string // the "##" or "###" heading of the section; "" for the text before the first
	// Parent is the "##" heading a "###" section sits under, "" for
	// others: "Default paths" under "Where is the cache stored".
	Parent string
	Text   string // the section's Markdown, without its heading line
}

// Load reads every .md and .txt file in fsys, descending into
// subdirectories but skipping hidden ones, and splits the files into
// passages in path order. Markdown is split at "##" and "###" headings,
// and long sections again at blank lines, without the link targets of
// MyST and reStructuredText ("(wheel-caching)="); text files are split
// into groups of a few paragraphs.
//
// Files that cannot be read are skipped. Load returns an error wrapping
// ErrNoDocuments when no readable, non-empty .md or .txt file is found,
// including when fsys itself cannot be read.
func Load(fsys fs.FS) ([]Passage, error) {
	var passages []Passage
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name == "." {
				return err
			}
			return nil // an unreadable subdirectory or file is skipped
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(path.Ext(name))
		if ext != ".md" && ext != ".txt" {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil
		}
		text := normalize(string(b))
		if ext == ".md" {
			passages = append(passages, splitMarkdown(name, text)...)
		} else {
			passages = append(passages, splitText(name, text)...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDocuments, err)
	}
	if len(passages) == 0 {
		return nil, fmt.Errorf("%w: no readable, non-empty .md or .txt file", ErrNoDocuments)
	}
	return passages, nil
}

// normalize makes text valid UTF-8 with "\n" line ends and no byte order mark.
func normalize(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.TrimPrefix(s, "\uFEFF")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// splitMarkdown cuts a Markdown document into passages, one per "##" or
// "###" section plus one for the text before the first, ignoring heading
// marks inside fenced code blocks.
func splitMarkdown(name, text string) []Passage {
	text = stripFrontMatter(text)
	type section struct {
		heading, parent string
		lines           []string
	}
	var (
		title    string
		sections []section
		cur      section
		fence    codeFence
		level2   string // the last "##" heading
	)
	for _, line := range strings.Split(text, "\n") {
		// A fence line is code, never a heading, and so is what it
		// encloses.
		if !fence.step(line) && fence == "" {
			if level, h := atxHeading(line); level > 0 && level <= 3 {
				h = plainHeading(h)
				if level == 1 && title == "" {
					title = h
					continue
				}
				sections = append(sections, cur)
				cur = section{heading: h}
				switch level {
				case 2:
					level2 = h
				case 3:
					cur.parent = level2
				}
				continue
			}
			if isTargetLabel(line) {
				continue
			}
		}
		cur.lines = append(cur.lines, line)
	}
	sections = append(sections, cur)
	if title == "" {
		title = path.Base(name)
	}

	var passages []Passage
	for _, s := range sections {
		body := strings.TrimSpace(strings.Join(s.lines, "\n"))
		if body == "" {
			continue
		}
		for _, chunk := range chunkParagraphs(paragraphs(body), maxPassage, 0) {
			passages = append(passages, Passage{Name: name, Title: title, Heading: s.heading, Parent: s.parent, Text: chunk})
		}
	}
	return passages
}

// isTargetLabel reports whether line is a MyST target, "(wheel-caching)=",
// or a reStructuredText one, ".. _wheel-caching:": an anchor for links to
// the heading after it, not content. Left in, it would be quoted in
// answers and would add the next section's words to the one before it.
func isTargetLabel(line string) bool {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "(") && strings.HasSuffix(t, ")=") {
		return len(t) > 3 && !strings.ContainsAny(t[1:len(t)-2], "()")
	}
	return strings.HasPrefix(t, ".. _") && strings.HasSuffix(t, ":")
}

// splitText cuts a plain text file into passages of a few paragraphs each,
// titled with the file name.
func splitText(name, text string) []Passage {
	var passages []Passage
	for _, chunk := range chunkParagraphs(paragraphs(text), maxPassage, maxTextParagraphs) {
		passages = append(passages, Passage{Name: name, Title: path.Base(name), Text: chunk})
	}
	return passages
}

// stripFrontMatter removes a leading YAML block fenced by "---" lines.
func stripFrontMatter(text string) string {
	if !strings.HasPrefix(text, "---\n") {
		return text
	}
	rest := text[len("---\n"):]
	if end := strings.Index(rest, "\n---\n"); end >= 0 {
		return rest[end+len("\n---\n"):]
	}
	if strings.HasSuffix(rest, "\n---") {
		return ""
	}
	return text
}

// codeFence is the marker of the fenced code block a line-by-line reader
// is in, "" outside code.
type codeFence string

// step reads line: a fence marker opens a block, or closes the open one
// when it is at least as long and of the same kind. It reports whether
// line was a fence marker.
func (f *codeFence) step(line string) bool {
	marker := fenceMarker(line)
	if marker == "" {
		return false
	}
	if *f == "" {
		*f = codeFence(marker)
	} else if strings.HasPrefix(marker, string(*f)) {
		*f = ""
	}
	return true
}

// fenceMarker returns the run of backticks or tildes that opens or closes
// a fenced code block on line, also after a list marker, or "" when line
// is not a fence.
func fenceMarker(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	// A list item may open with a fence: "- ```".
	if item, ok := listItem(t); ok && !strings.HasPrefix(t, "> ") {
		t = item
	}
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 {
			return t[:n]
		}
	}
	return ""
}

// atxHeading returns the level and text of a "#" heading line, or 0.
func atxHeading(line string) (int, string) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return 0, ""
	}
	level := len(t) - len(strings.TrimLeft(t, "#"))
	if level == 0 || level > 6 {
		return 0, ""
	}
	rest := t[level:]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return 0, "" // "#hashtag" is not a heading
	}
	rest = strings.TrimSpace(rest)
	// An optional closing sequence of '#' is not part of the heading.
	if trimmed := strings.TrimRight(rest, "#"); trimmed == "" || strings.HasSuffix(trimmed, " ") {
		rest = strings.TrimSpace(trimmed)
	}
	return level, rest
}

// paragraphs splits text at blank lines, keeping each fenced code block
// whole even when it contains blank lines.
func paragraphs(text string) []string {
	var (
		paras []string
		cur   []string
		fence codeFence
	)
	flush := func() {
		// Leading spaces stay: they nest a list or a code block in the
		// list item above it.
		if p := strings.TrimRight(strings.Join(cur, "\n"), " \t\n"); strings.TrimSpace(p) != "" {
			paras = append(paras, p)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		fence.step(line)
		if fence == "" && strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return paras
}

// chunkParagraphs joins consecutive paragraphs into chunks of at most
// maxBytes, and at most maxParas paragraphs when maxParas > 0. A single
// paragraph longer than maxBytes becomes a chunk of its own.
func chunkParagraphs(paras []string, maxBytes, maxParas int) []string {
	var (
		chunks []string
		cur    []string
		size   int
	)
	for _, p := range paras {
		full := len(cur) > 0 && (size+2+len(p) > maxBytes || (maxParas > 0 && len(cur) == maxParas))
		if full {
			chunks = append(chunks, strings.Join(cur, "\n\n"))
			cur, size = nil, 0
		}
		if len(cur) > 0 {
			size += 2
		}
		cur = append(cur, p)
		size += len(p)
	}
	if len(cur) > 0 {
		chunks = append(chunks, strings.Join(cur, "\n\n"))
	}
	return chunks
}

// plainHeading returns a heading with its HTML tags replaced by their alt
// text, if any: a README titled with a logo, "# <img alt="chi" ...>", is
// titled "chi".
func plainHeading(h string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(h[:i])
		if alt := attribute(h[i:i+j], "alt"); alt != "" {
			b.WriteString(alt)
		}
		h = h[i+j+1:]
	}
	b.WriteString(h)
	if t := strings.Join(strings.Fields(b.String()), " "); t != "" {
		return t
	}
	return strings.TrimSpace(h)
}

// attribute returns the double-quoted value of attribute name in an HTML
// tag, or "".
func attribute(tag, name string) string {
	key := name + `="`
	i := strings.Index(tag, key)
	if i < 0 {
		return ""
	}
	rest := tag[i+len(key):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return ""
}

// indexedText returns text without its link reference definitions
// ("[GoDoc]: https://..."), which name link targets, not content.
func indexedText(text string) string {
	if !strings.Contains(text, "]:") {
		return text
	}
	lines := strings.Split(text, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !isLinkDefinition(l) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// isLinkDefinition reports whether line is a Markdown link reference
// definition: "[label]: destination".
func isLinkDefinition(line string) bool {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || !strings.HasPrefix(t, "[") || strings.HasPrefix(t, "[^") {
		return false
	}
	end := strings.Index(t, "]:")
	return end > 1 && !strings.Contains(t[1:end], "]")
}
