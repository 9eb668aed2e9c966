package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/smartdocs-go/smartdocs/docs"
)

// collect drains a reply's tokens and returns them with the error that
// ended the stream, if any.
func collect(t *testing.T, r *Reply) ([]string, error) {
	t.Helper()
	var toks []string
	for tok, err := range r.Tokens {
		if err != nil {
			return toks, err
		}
		toks = append(toks, tok)
	}
	return toks, nil
}

// answer asks d and returns the whole answer text and the sources.
func answer(t *testing.T, d *Docs, q Query) (string, []Source) {
	t.Helper()
	r, err := d.Answer(t.Context(), q)
	if err != nil {
		t.Fatalf("Answer(%q): %v", q.Question, err)
	}
	toks, err := collect(t, r)
	if err != nil {
		t.Fatalf("Answer(%q) tokens: %v", q.Question, err)
	}
	return strings.Join(toks, ""), r.Sources
}

func TestAnswer(t *testing.T) {
	d := NewDocs(bundledIndex(t))
	tests := []struct {
		question string
		want     []string // words the answer must contain
		source   string   // file of the first source
	}{
		{"how many questions can i ask per minute", []string{"3"}, "rate-limiting.md"},
		{"what does 413 mean", []string{"64 KiB"}, "api.md"},
		{"retry afer header", []string{"Retry-After", "seconds"}, "rate-limiting.md"},
		{"default port", []string{"7860"}, "configuration.md"},
	}
	for _, tt := range tests {
		t.Run(tt.question, func(t *testing.T) {
			text, sources := answer(t, d, Query{Question: tt.question})
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("answer %q: want it to contain %q", text, w)
				}
			}
			if len(sources) == 0 || len(sources) > answerPassages {
				t.Fatalf("got %d sources, want 1 to %d", len(sources), answerPassages)
			}
			if got := sources[0].Name; got != tt.source {
				t.Errorf("first source: got %q, want %q", got, tt.source)
			}
			for _, s := range sources {
				if s.Title == "" || s.Excerpt == "" || s.Score <= 0 {
					t.Errorf("source %+v: want a title, an excerpt and a positive score", s)
				}
				if n := len(s.Excerpt); n > maxExcerpt+len(" …") {
					t.Errorf("excerpt of %d bytes, want at most %d", n, maxExcerpt)
				}
			}
			if n := len(text); n > 2*maxAnswerBytes {
				t.Errorf("answer of %d bytes, want about %d at most: %q", n, maxAnswerBytes, text)
			}
		})
	}
}

func TestAnswerTokens(t *testing.T) {
	d := NewDocs(smallIndex(t))
	r, err := d.Answer(t.Context(), Query{Question: "what does REDIS_FAILURE_MODE do"})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := collect(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) < 5 {
		t.Fatalf("got %d tokens, want one per word: %q", len(toks), toks)
	}
	for i, tok := range toks {
		word := strings.TrimSuffix(tok, " ")
		if i < len(toks)-1 && word == tok {
			t.Errorf("token %d %q: want a trailing space", i, tok)
		}
		if i == len(toks)-1 && word != tok {
			t.Errorf("last token %q: want no trailing space", tok)
		}
		if word == "" || strings.ContainsAny(word, " \t\n") {
			t.Errorf("token %d %q: want one word", i, tok)
		}
	}
	want := "When the server cannot reach Redis, `REDIS_FAILURE_MODE` decides between fallback, open and closed."
	if got := strings.Join(toks, ""); got != want {
		t.Errorf("answer: got %q, want %q", got, want)
	}
}

func TestAnswerNotCovered(t *testing.T) {
	d := NewDocs(bundledIndex(t))
	questions := []string{
		"what's the weather today",
		"who won the football game",
		"what is the capital of france",
		"tell me a joke",
		"best pizza in new york",
		"how to lose weight fast",
		"install python on windows",
		"translate hello into spanish",
		"",
	}
	for _, q := range questions {
		t.Run(q, func(t *testing.T) {
			text, sources := answer(t, d, Query{Question: q})
			if len(sources) != 0 {
				t.Errorf("got sources %v, want none", sources)
			}
			if !strings.Contains(text, "documents do not cover") {
				t.Errorf("answer %q: want it to say the documents do not cover the question", text)
			}
		})
	}
}

func TestAnswerFollowUp(t *testing.T) {
	d := docsOf(t, smallCorpus())
	first := Message{Role: "user", Content: "what is REDIS_URL?"}
	reply := Message{Role: "assistant", Content: "Set REDIS_URL to a redis:// address."}
	filler := make([]Message, MaxHistory)
	for i := range filler {
		filler[i] = Message{Role: "assistant", Content: "Anything else?"}
	}
	connecting := section{"redis.md", "Connecting"}

	algorithm := section{"limits.md", "Algorithm"}

	tests := []struct {
		name     string
		question string
		history  []Message
		want     section // first source; zero for none
	}{
		{"pronoun", "how do I set it?", []Message{first, reply}, connecting},
		{"no words of its own", "why?", []Message{first, reply}, connecting},
		{"short", "and on start-up?", []Message{first, reply}, connecting},
		{"standalone question ignores history", "what does the sliding window counter do per client?", []Message{first, reply}, algorithm},
		{"off topic stays off topic", "what about the weather?", []Message{first, reply}, section{}},
		{"without history", "how do I set it?", nil, algorithm},
		{"question older than the last 10 messages", "how do I set it?", append([]Message{first}, filler...), algorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Query{Question: tt.question, History: tt.history}
			sources := d.Retrieve(q, 3)
			var got section
			if len(sources) > 0 {
				got = section{sources[0].Name, sources[0].Heading}
			}
			if got != tt.want {
				t.Errorf("Retrieve(%q): got %v first, want %v (all: %v)", tt.question, got, tt.want, sources)
			}
			_, answerSources := answer(t, d, q)
			if len(answerSources) != len(sources) {
				t.Errorf("Answer: got %d sources, want the %d of Retrieve", len(answerSources), len(sources))
			}
		})
	}
}

// TestAnswerFollowUpContext: a follow-up prefers the file where the
// question before it is answered, when another file holds its words too,
// and a section that holds its own words over the one that answered the
// question before.
func TestAnswerFollowUpContext(t *testing.T) {
	passages, err := Load(fstest.MapFS{
		"config.md": {Data: []byte("# Settings\n\n## Location\n\n" +
			"The config file lives in a folder that depends on the system, and each system has its own config file.\n\n" +
			"On Windows it is %APPDATA%\\app\\app.ini. On Unix systems it is ~/.config/app/app.conf, " +
			"and the global config file is /etc/app.conf.\n\n" +
			"## Naming\n\nSections of the file are named after commands.\n\n" +
			"## Precedence\n\nCommand line options override the file.\n")},
		"cache.md": {Data: []byte("# Cache\n\n## Default paths\n\n" +
			"On Linux the cache is ~/.cache/app. On Windows it is %LOCALAPPDATA%\\app\\Cache.\n\n" +
			"## Listing cached files\n\n`app cache list` lists the cached files, and " +
			"`app cache list NAME` the cached files of one package.\n\n" +
			"## Removing the cache\n\n`app cache purge` removes every file from the cache.\n\n" +
			"## What is cached\n\nDownloaded archives and built packages.\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := NewDocs(NewIndex(passages))
	tests := []struct {
		name, earlier, question string
		want                    section
	}{
		{"same file", "where is the config file on windows", "and on linux?", section{"config.md", "Location"}},
		{"own words", "how do i list the cached files", "and how do i delete them?", section{"cache.md", "Removing the cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			history := []Message{{Role: "user", Content: tt.earlier}, {Role: "assistant", Content: "..."}}
			sources := d.Retrieve(Query{Question: tt.question, History: history}, 3)
			if len(sources) == 0 || (section{sources[0].Name, sources[0].Heading}) != tt.want {
				t.Errorf("Retrieve(%q) after %q: got %v, want %v first", tt.question, tt.earlier, sourceSections(sources), tt.want)
			}
		})
	}
}

func TestAnswerFollowUpBundled(t *testing.T) {
	d := NewDocs(bundledIndex(t))
	q := Query{
		Question: "how do I set it?",
		History: []Message{
			{Role: "user", Content: "what is REDIS_URL?"},
			{Role: "assistant", Content: "It points the limiter at a shared Redis."},
		},
	}
	sources := d.Retrieve(q, 3)
	if len(sources) == 0 {
		t.Fatal("Retrieve: got no sources, want the REDIS_URL passage")
	}
	passages, err := Load(docs.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range passages {
		if p.Name == sources[0].Name && p.Heading == sources[0].Heading && !strings.Contains(p.Text, "REDIS_URL") {
			t.Errorf("first source %s %q does not mention REDIS_URL", p.Name, p.Heading)
		}
	}
}

func TestAnswerCancel(t *testing.T) {
	d := NewDocs(bundledIndex(t))
	q := Query{Question: "what happens when redis is down"}

	t.Run("while streaming", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r, err := d.Answer(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var words int
		var got error
		for tok, err := range r.Tokens {
			if err != nil {
				got = err
				continue // a correct stream ends here
			}
			if got != nil {
				t.Fatalf("token %q after error %v", tok, got)
			}
			words++
			if words == 2 {
				cancel()
			}
		}
		if words != 2 {
			t.Errorf("got %d words, want 2 before the cancel took effect", words)
		}
		if !errors.Is(got, context.Canceled) {
			t.Errorf("stream error: got %v, want context.Canceled", got)
		}
	})

	t.Run("before asking", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := d.Answer(ctx, q); !errors.Is(err, context.Canceled) {
			t.Errorf("Answer: got error %v, want context.Canceled", err)
		}
	})

	t.Run("consumer stops early", func(t *testing.T) {
		r, err := d.Answer(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for range r.Tokens {
			break // must not panic by yielding again
		}
	})
}

func TestDocsSwapConcurrent(t *testing.T) {
	bundled := bundledIndex(t)
	small := smallIndex(t)
	d := NewDocs(bundled)
	questions := []string{"REDIS_URL", "rate limit headers", "what's the weather today", "sliding window"}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				q := Query{Question: questions[(i+j)%len(questions)]}
				r, err := d.Answer(t.Context(), q)
				if err != nil {
					t.Errorf("Answer: %v", err)
					return
				}
				var b strings.Builder
				for tok, err := range r.Tokens {
					if err != nil {
						t.Errorf("tokens: %v", err)
						return
					}
					b.WriteString(tok)
				}
				if b.Len() == 0 {
					t.Errorf("Answer(%q): empty answer", q.Question)
				}
				d.Retrieve(q, 2)
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			if i%2 == 0 {
				d.Swap(small)
			} else {
				d.Swap(bundled)
			}
		}
	})
	wg.Wait()
}

func TestDocsWithoutIndex(t *testing.T) {
	tests := []struct {
		name string
		d    *Docs
	}{
		{"zero value", &Docs{}},
		{"nil index", NewDocs(nil)},
		{"swapped to nil", func() *Docs { d := NewDocs(smallIndex(t)); d.Swap(nil); return d }()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, sources := answer(t, tt.d, Query{Question: "REDIS_URL"})
			if len(sources) != 0 || text != NotCovered {
				t.Errorf("got %q with %d sources, want %q with none", text, len(sources), NotCovered)
			}
			if got := tt.d.Retrieve(Query{Question: "REDIS_URL"}, 3); len(got) != 0 {
				t.Errorf("Retrieve: got %v, want none", got)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name, text, want string
	}{
		{"short", "Hello\n\n- there", "Hello there"},
		{"code fence dropped", "Body:\n```json\n{}\n```", "Body: {}"},
		{"cut at a word", long, strings.TrimSpace(strings.Repeat("word ", 48)) + " …"},
		{"one huge word", strings.Repeat("x", 300), strings.Repeat("x", maxExcerpt) + " …"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := excerpt(tt.text); got != tt.want {
				t.Errorf("excerpt: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQueryRecent(t *testing.T) {
	msgs := func(n int) []Message {
		out := make([]Message, n)
		for i := range out {
			out[i] = Message{Role: "user", Content: string(rune('a' + i))}
		}
		return out
	}
	for _, n := range []int{0, 3, MaxHistory, MaxHistory + 4} {
		got := Query{History: msgs(n)}.Recent()
		want := min(n, MaxHistory)
		if len(got) != want {
			t.Errorf("Recent of %d messages: got %d, want %d", n, len(got), want)
			continue
		}
		if n > 0 && got[len(got)-1].Content != string(rune('a'+n-1)) {
			t.Errorf("Recent of %d messages does not end with the newest", n)
		}
	}
}
