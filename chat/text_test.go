package chat

import (
	"slices"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string // terms, in order
	}{
		{"Set REDIS_URL first", []string{"set", "redis_url", "redis", "url", "first"}},
		{"the X-Session-ID header", []string{"x-session-id", "session", "id", "head"}},
		{"X-RateLimit-Reset", []string{"x-ratelimit-reset", "rat", "limit", "reset"}},
		{"What's the limit?", []string{"limit"}},
		{"gemini-2.5-flash on port 7860.", []string{"gemini-2.5-flash", "gemini", "2", "5", "flash", "port", "7860"}},
		{"OpenAI-compatible", []string{"openai-compatible", "open", "ai", "compat"}},
		{"a b c 1", []string{"1"}},
		{"maxRetries", []string{"maxretries", "maximum", "retry"}},
		{"ClientIPFromXFF", []string{"clientipfromxff", "client", "ip", "xff"}},
		{"URLParam and IPv6", []string{"urlparam", "url", "paramet", "ipv6"}},
		{"ERR_QUOTA_EXCEEDED", []string{"err_quota_exceeded", "error", "quota", "exceed"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got []string
			for _, tok := range tokenize(tt.in) {
				got = append(got, tok.term)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("tokenize(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestStem(t *testing.T) {
	tests := []struct {
		words []string // all stem alike
		want  string
	}{
		{[]string{"limit", "limits", "limited", "limiting", "limiter", "limiters", "limitation"}, "limit"},
		{[]string{"cache", "caches", "cached", "caching"}, "cach"},
		{[]string{"policy", "policies"}, "policy"},
		{[]string{"deploy", "deploys", "deployed", "deploying", "deployment"}, "deploy"},
		{[]string{"run", "running"}, "run"},
		{[]string{"install", "installed", "installing"}, "install"},
		{[]string{"configure", "configured", "configuration"}, "configur"},
		{[]string{"compress", "compression"}, "compress"},
		{[]string{"protect", "protection"}, "protect"},
		{[]string{"compatible", "compatibility"}, "compat"},
		{[]string{"validate", "validated", "validating", "validation"}, "valid"},
		{[]string{"deprecated", "deprecating", "deprecation"}, "deprec"},
		{[]string{"edit", "edits", "editable"}, "edit"},
		{[]string{"perform", "performance"}, "perform"},
		{[]string{"available", "availability"}, "avail"},
		{[]string{"secure", "security"}, "secur"},
		{[]string{"redis"}, "redis"},
		{[]string{"status"}, "status"},
		{[]string{"access"}, "access"},
		{[]string{"ipv6"}, "ipv6"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			for _, w := range tt.words {
				if got := stem(w); got != tt.want {
					t.Errorf("stem(%q): got %q, want %q", w, got, tt.want)
				}
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		max  int
		want int
	}{
		{"redis", "redis", 2, 0},
		{"redus", "redis", 2, 1},
		{"spcae", "space", 2, 1}, // swapped letters cost one
		{"afer", "after", 2, 1},
		{"kitten", "sitting", 3, 3},
		{"abc", "xyz", 1, 2}, // gives up past max
		{"a", "abcd", 1, 2},
		{"", "ab", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b, tt.max); got != tt.want {
				t.Errorf("editDistance(%q, %q, %d): got %d, want %d", tt.a, tt.b, tt.max, got, tt.want)
			}
		})
	}
}

func TestStopWords(t *testing.T) {
	for _, list := range []string{stopWords, contractions, fillerWords} {
		for w := range strings.FieldsSeq(list) {
			if !isStopWord(w) {
				t.Errorf("isStopWord(%q): got false, want true", w)
			}
		}
	}
	for _, w := range []string{"", "redis", "limit", "won", "a b"} {
		if isStopWord(w) {
			t.Errorf("isStopWord(%q): got true, want false", w)
		}
	}
}

// TestUserWordsTable: every line of userWords is "typed words: document
// words", lower case, and a typed word is neither a stop word nor in
// relatedWords, where it would never be looked up.
func TestUserWordsTable(t *testing.T) {
	related := wordTable(relatedWords)
	for line := range strings.Lines(userWords) {
		line = strings.TrimSpace(line)
		typed, docs, ok := strings.Cut(line, ":")
		if !ok || strings.Count(line, ":") != 1 || strings.TrimSpace(typed) == "" || strings.TrimSpace(docs) == "" {
			t.Errorf("line %q: want typed words, one colon, document words", line)
			continue
		}
		if line != strings.ToLower(line) {
			t.Errorf("line %q: want lower case", line)
		}
		for w := range strings.FieldsSeq(typed) {
			if isStopWord(w) {
				t.Errorf("line %q: typed word %q is a stop word, never looked up", line, w)
			}
			if related[termOf(w)] != nil {
				t.Errorf("line %q: typed word %q is in relatedWords, which is looked up first", line, w)
			}
		}
	}
}

func TestTermOf(t *testing.T) {
	tests := []struct {
		words []string // all give the same term
		want  string
	}{
		{[]string{"use", "uses", "used", "using", "usage"}, "use"},
		{[]string{"num", "number", "numbers"}, "numb"},
		{[]string{"param", "params", "parameter", "parameters"}, "paramet"},
		{[]string{"env", "environment"}, "environ"},
		{[]string{"config", "conf", "cfg", "configuration", "configure", "configured"}, "configur"},
		{[]string{"min"}, "min"}, // minute or minimum: left alone
		{[]string{"async", "asynchronous"}, "asynchronous"},
		{[]string{"sync", "synchronous"}, "synchronous"},
		{[]string{"day", "days", "daily"}, "day"},
		{[]string{"easy", "easily"}, "easy"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			for _, w := range tt.words {
				if got := termOf(w); got != tt.want {
					t.Errorf("termOf(%q): got %q, want %q", w, got, tt.want)
				}
			}
		})
	}
}

func TestStemKeepsPly(t *testing.T) {
	for _, tt := range []struct{ word, want string }{
		{"applies", "apply"},
		{"apply", "apply"},
		{"quickly", "quick"},
	} {
		if got := stem(tt.word); got != tt.want {
			t.Errorf("stem(%q): got %q, want %q", tt.word, got, tt.want)
		}
	}
}
