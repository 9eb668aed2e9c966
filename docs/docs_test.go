package docs

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func TestFS(t *testing.T) {
	got, err := fs.Glob(FS, "*.md")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"api.md",
		"configuration.md",
		"deploy-huggingface.md",
		"deploy-railway-render.md",
		"key-strategies.md",
		"memory-vs-redis.md",
		"models.md",
		"monitoring.md",
		"rate-limiting.md",
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: got %q, want %q", got, want)
	}
}

// TestPageShape checks what the answer engine relies on: each page opens
// with one "#" title and is cut into several "##" sections, none empty.
func TestPageShape(t *testing.T) {
	names, err := fs.Glob(FS, "*.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(FS, name)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			if !strings.HasPrefix(text, "# ") {
				t.Errorf("first line %q: want a # title", strings.SplitN(text, "\n", 2)[0])
			}
			if n := strings.Count(text, "\n# "); n != 0 {
				t.Errorf("got %d more # titles, want one", n)
			}
			sections := strings.Split(text, "\n## ")
			if len(sections)-1 < 4 {
				t.Errorf("got %d ## sections, want at least 4", len(sections)-1)
			}
			for _, s := range sections[1:] {
				heading, body, _ := strings.Cut(s, "\n")
				if len(strings.Fields(body)) < 15 {
					t.Errorf("section %q: got %d words, want a real section", heading, len(strings.Fields(body)))
				}
			}
			if strings.Contains(text, "\t") {
				t.Error("page contains a tab; use spaces")
			}
		})
	}
}
