package chat

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadNoDocuments(t *testing.T) {
	tests := []struct {
		name string
		fsys func(t *testing.T) fstest.MapFS
		dir  func(t *testing.T) string // used instead of fsys when set
	}{
		{name: "empty dir", dir: func(t *testing.T) string { return t.TempDir() }},
		{name: "missing dir", dir: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") }},
		{name: "only a png", fsys: func(*testing.T) fstest.MapFS {
			return fstest.MapFS{"logo.png": {Data: []byte("\x89PNG\r\n\x1a\n")}}
		}},
		{name: "only empty text files", fsys: func(*testing.T) fstest.MapFS {
			return fstest.MapFS{
				"empty.md":  {Data: nil},
				"blank.txt": {Data: []byte("  \n\n\t\n")},
				"title.md":  {Data: []byte("# Only a title\n")},
			}
		}},
		{name: "only hidden folders", fsys: func(*testing.T) fstest.MapFS {
			return fstest.MapFS{".git/notes.md": {Data: []byte("# Notes\n\nSome text.\n")}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.dir != nil {
				_, err = Load(os.DirFS(tt.dir(t)))
			} else {
				_, err = Load(tt.fsys(t))
			}
			if !errors.Is(err, ErrNoDocuments) {
				t.Errorf("Load: got error %v, want one wrapping ErrNoDocuments", err)
			}
		})
	}
}

func TestLoadFiles(t *testing.T) {
	fsys := fstest.MapFS{
		"b.md":            {Data: []byte("# B\n\nAbout b.\n")},
		"a.txt":           {Data: []byte("Plain text.\n")},
		"guides/c.MD":     {Data: []byte("# C\n\n## One\n\nFirst.\n")},
		"guides/logo.png": {Data: []byte("\x89PNG")},
		".hidden/d.md":    {Data: []byte("# D\n\nHidden.\n")},
	}
	passages, err := Load(fsys)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, p := range passages {
		got = append(got, p.Name+"|"+p.Title+"|"+p.Heading+"|"+p.Text)
	}
	want := []string{
		"a.txt|a.txt||Plain text.",
		"b.md|B||About b.",
		"guides/c.MD|C|One|First.",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Load passages:\ngot  %q\nwant %q", got, want)
	}
}

func TestLoadOnDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "guide.md"), []byte("# Guide\r\n\r\n## Start\r\n\r\nRun it.\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	passages, err := Load(os.DirFS(dir))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(passages) != 1 {
		t.Fatalf("got %d passages, want 1", len(passages))
	}
	if got, want := passages[0], (Passage{Name: "guide.md", Title: "Guide", Heading: "Start", Text: "Run it."}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestSplitMarkdown(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Passage
	}{
		{
			name: "intro and sections",
			in:   "# Title\n\nIntro text.\n\n## First\n\nOne.\n\n### Detail\n\nTwo.\n\n## Second\n\nThree.\n",
			want: []Passage{
				{Heading: "", Text: "Intro text."},
				{Heading: "First", Text: "One."},
				{Heading: "Detail", Parent: "First", Text: "Two."},
				{Heading: "Second", Text: "Three."},
			},
		},
		{
			name: "no intro, empty section skipped",
			in:   "# Title\n## Empty\n## Full ##\nBody.\n",
			want: []Passage{{Heading: "Full", Text: "Body."}},
		},
		{
			name: "headings inside code are text",
			in:   "# Title\n\n## Code\n\n```sh\n## not a heading\n\necho hi\n```\n\nAfter.\n",
			want: []Passage{{Heading: "Code", Text: "```sh\n## not a heading\n\necho hi\n```\n\nAfter."}},
		},
		{
			name: "level four stays in its section",
			in:   "# Title\n\n## Top\n\n#### Small\n\nText.\n",
			want: []Passage{{Heading: "Top", Text: "#### Small\n\nText."}},
		},
		{
			name: "no title uses the file name",
			in:   "Just text, #hashtag.\n\n## Part\n\nMore.\n",
			want: []Passage{
				{Title: "doc.md", Heading: "", Text: "Just text, #hashtag."},
				{Title: "doc.md", Heading: "Part", Text: "More."},
			},
		},
		{
			name: "front matter is dropped",
			in:   "---\ntitle: x\nsdk: docker\n---\n# Title\n\nHello.\n",
			want: []Passage{{Heading: "", Text: "Hello."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitMarkdown("doc.md", tt.in)
			for i := range tt.want {
				tt.want[i].Name = "doc.md"
				if tt.want[i].Title == "" {
					tt.want[i].Title = "Title"
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("splitMarkdown:\ngot  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSplitLongSection(t *testing.T) {
	var paras []string
	for i := range 7 {
		paras = append(paras, strings.Repeat(string(rune('a'+i)), 350))
	}
	body := strings.Join(paras, "\n\n")
	passages := splitMarkdown("long.md", "# Long\n\n## Big\n\n"+body+"\n\n## Small\n\nTiny.\n")

	var big []string
	for _, p := range passages {
		if p.Heading == "Big" {
			if len(p.Text) > maxPassage {
				t.Errorf("passage of %d bytes, want at most %d", len(p.Text), maxPassage)
			}
			big = append(big, p.Text)
		}
	}
	if len(big) < 2 {
		t.Fatalf("got %d passages for a %d-byte section, want several", len(big), len(body))
	}
	if got := strings.Join(big, "\n\n"); got != body {
		t.Errorf("joined chunks differ from the section:\ngot  %q\nwant %q", got, body)
	}
	if last := passages[len(passages)-1]; last.Heading != "Small" || last.Text != "Tiny." {
		t.Errorf("last passage: got %q %q, want %q %q", last.Heading, last.Text, "Small", "Tiny.")
	}
}

func TestSplitText(t *testing.T) {
	var paras []string
	for i := range 7 {
		paras = append(paras, "Paragraph "+string(rune('A'+i))+".")
	}
	got := splitText("notes/plain.txt", strings.Join(paras, "\n\n\n"))
	want := []Passage{
		{Name: "notes/plain.txt", Title: "plain.txt", Text: "Paragraph A.\n\nParagraph B.\n\nParagraph C."},
		{Name: "notes/plain.txt", Title: "plain.txt", Text: "Paragraph D.\n\nParagraph E.\n\nParagraph F."},
		{Name: "notes/plain.txt", Title: "plain.txt", Text: "Paragraph G."},
	}
	if !slices.Equal(got, want) {
		t.Errorf("splitText:\ngot  %q\nwant %q", got, want)
	}
}

// TestSplitTargetLabels: MyST and reStructuredText link targets are
// anchors for the heading after them, not text of the section before.
func TestSplitTargetLabels(t *testing.T) {
	passages := splitMarkdown("caching.md", "# Caching\n\n## Responses\n\nResponses are cached.\n\n(wheel-caching)=\n\n"+
		"## Wheels\n\nBuilt wheels are kept.\n\n.. _wheel-cache-dir:\n\n## Where\n\nIn the home folder, (see above)=.\n")
	want := []string{"Responses are cached.", "Built wheels are kept.", "In the home folder, (see above)=."}
	var got []string
	for _, p := range passages {
		got = append(got, p.Text)
	}
	if !slices.Equal(got, want) {
		t.Errorf("passage texts: got %q, want %q", got, want)
	}
}
