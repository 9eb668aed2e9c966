package chat

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one searchable word of a text.
type token struct {
	surface string // lower-cased as written, before stemming
	term    string // what the index stores: the stem, or the whole identifier
	whole   bool   // an identifier kept whole, such as "redis_url"; its parts follow it
	part    bool   // a part of the identifier before it
}

// tokenize splits s into tokens. Identifiers joined by '_', '-' or '.'
// (REDIS_URL, X-Session-ID, gemini-2.5-flash) and camelCase words
// (maxRetries, URLParam) yield the whole identifier first and then each
// part, so a search matches either: "open_session" finds open_session as
// written, and "open session" finds it by its parts. Stop words and
// one-letter words are dropped; other parts are stemmed.
func tokenize(s string) []token {
	var toks []token
	var one [1]string
	for _, raw := range rawWords(s) {
		parts := one[:0]
		if isPlainWord(raw) {
			parts = append(parts, raw)
		} else {
			parts = splitParts(raw)
		}
		if len(parts) == 0 {
			continue
		}
		if len(parts) > 1 {
			w := strings.ToLower(raw)
			toks = append(toks, token{surface: w, term: w, whole: true})
		}
		for _, p := range parts {
			p = strings.ToLower(p)
			if isStopWord(p) || (utf8.RuneCountInString(p) < 2 && !isDigits(p)) {
				continue
			}
			term := termOf(p)
			if isStopWord(term) { // "meaning", "happened"
				continue
			}
			toks = append(toks, token{surface: p, term: term, part: len(parts) > 1})
		}
	}
	return toks
}

// rawWords returns the runs of letters and digits in s, keeping '_', '-'
// and '.' when they join two such characters. An apostrophe ends the word
// and drops what follows it, so "what's" and "don't" become "what" and "don".
func rawWords(s string) []string {
	var words []string
	// at decodes the rune at byte i; words are substrings of s, so
	// splitting a long text allocates only the slice that holds them.
	at := func(i int) (rune, int) {
		if i >= len(s) {
			return 0, 0
		}
		if c := s[i]; c < utf8.RuneSelf {
			return rune(c), 1
		}
		return utf8.DecodeRuneInString(s[i:])
	}
	for i := 0; i < len(s); {
		r, n := at(i)
		if !isWordRune(r) {
			i += n
			continue
		}
		j := i
		for j < len(s) {
			r, n := at(j)
			if isWordRune(r) {
				j += n
				continue
			}
			if r == '_' || r == '-' || r == '.' {
				if next, _ := at(j + n); isWordRune(next) {
					j += n
					continue
				}
			}
			break
		}
		words = append(words, s[i:j])
		if r, n := at(j); r == '\'' || r == '’' {
			// Skip the contraction's tail.
			j += n
			for j < len(s) {
				r, n := at(j)
				if !isWordRune(r) {
					break
				}
				j += n
			}
		}
		i = j
	}
	return words
}

// isPlainWord reports whether w is one part as splitParts would cut it:
// lower-case ASCII letters and digits after an optional capital, as most
// words are, which spares them the split.
func isPlainWord(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || i == 0 && 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// splitParts cuts an identifier at '_', '-', '.' and case changes:
// "X-RateLimit-Reset" gives X, Rate, Limit, Reset, and "URLParam" gives
// URL, Param. An upper-case run ends before a capital that starts a word
// of two or more lower-case letters, so "IPv6" stays whole.
func splitParts(raw string) []string {
	var parts []string
	for _, p := range strings.FieldsFunc(raw, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		start := 0
		rs := []rune(p)
		for i := 1; i < len(rs); i++ {
			lowerToUpper := unicode.IsLower(rs[i-1]) && unicode.IsUpper(rs[i])
			endOfRun := unicode.IsUpper(rs[i-1]) && unicode.IsUpper(rs[i]) &&
				i+2 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsLower(rs[i+2])
			if lowerToUpper || endOfRun {
				parts = append(parts, string(rs[start:i]))
				start = i
			}
		}
		parts = append(parts, string(rs[start:]))
	}
	return parts
}

func isDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return s != ""
}

// stopWords are words too common to say what a question is about, each
// between spaces so that a lookup is a substring test.
const stopWords = " a about above after again against all almost also always am an and any are as at" +
	" be because been before being below between both but by can cannot could did do does doing done" +
	" anybody anyone anything everybody everyone everything explain give gives happen happens know look looks" +
	" make makes making many mean means need neither nobody nothing put somebody someone something take takes tell want" +
	" during each either else etc even ever every few for from further get gets getting got had has have" +
	" having he her here hers him his how however i if in into is it its itself just let lets like me might" +
	" more most much must my no nor not now of off on once one ones only or other others our ours out over own per" +
	" please quite rather really same shall she should so some such than that the their theirs them then" +
	" there these they this those though through thus to too under until up upon us very via was we well" +
	" were what when where whether which while who whom whose why will with within without would yes yet" +
	" you your yours "

// fillerWords are the filler of a chat ("actually", "straight", "is it
// possible", "thanks"), which a question typed to a person carries and
// documents rarely use. Unknown to the index, such a word counted as a
// missing part of the question and could turn it away, so it is a stop
// word. Unlike stopWords, a word one typo away from one of them is not
// dropped (see nearStopWord): "cable" is not "able", nor "staff" "stuff".
const fillerWords = " able actually already anyway basically exactly guys hey hi maybe ok okay possible" +
	" probably simply somehow still straight stuff sure thank thanks thing things whatever "

// contractions are stop words typed without their apostrophe. They are
// kept apart from stopWords so that a word one letter away ("won",
// "can") is not dropped as a typo of one.
const contractions = " aren cant couldnt didnt doesnt dont hasnt havent im isnt ive shouldnt wasnt werent whats wont wouldnt youre "

// isStopWord reports whether w, lower-cased, is a stop word, a
// contraction or chat filler: the words of stopWords and contractions,
// then those of fillerWords, as switches, which the compiler turns into
// binary searches (TestStopWords keeps them in step with the lists).
func isStopWord(w string) bool {
	switch w {
	case "a", "about", "above", "after", "again", "against", "all", "almost", "also", "always", "am",
		"an", "and", "any", "anybody", "anyone", "anything", "are", "aren", "as", "at", "be", "because",
		"been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "cant",
		"could", "couldnt", "did", "didnt", "do", "does", "doesnt", "doing", "done", "dont", "during",
		"each", "either", "else", "etc", "even", "ever", "every", "everybody", "everyone", "everything",
		"explain", "few", "for", "from", "further", "get", "gets", "getting", "give", "gives", "got",
		"had", "happen", "happens", "has", "hasnt", "have", "havent", "having", "he", "her", "here",
		"hers", "him", "his", "how", "however", "i", "if", "im", "in", "into", "is", "isnt", "it", "its",
		"itself", "ive", "just", "know", "let", "lets", "like", "look", "looks", "make", "makes", "making", "many", "me", "mean",
		"means", "might", "more", "most", "much", "must", "my", "need", "neither", "no", "nobody", "nor",
		"not", "nothing", "now", "of", "off", "on", "once", "one", "ones", "only", "or", "other", "others", "our", "ours",
		"out", "over", "own", "per", "please", "put", "quite", "rather", "really", "same", "shall", "she",
		"should", "shouldnt", "so", "some", "somebody", "someone", "something", "such", "take", "takes",
		"tell", "than", "that", "the", "their", "theirs", "them", "then", "there", "these", "they", "this",
		"those", "though", "through", "thus", "to", "too", "under", "until", "up", "upon", "us", "very",
		"via", "want", "was", "wasnt", "we", "well", "were", "werent", "what", "whats", "when", "where",
		"whether", "which", "while", "who", "whom", "whose", "why", "will", "with", "within", "without",
		"wont", "would", "wouldnt", "yes", "yet", "you", "your", "youre", "yours":
		return true
	}
	switch w {
	case "able", "actually", "already", "anyway", "basically", "exactly", "guys", "hey", "hi", "maybe",
		"ok", "okay", "possible", "probably", "simply", "somehow", "still", "straight", "stuff", "sure",
		"thank", "thanks", "thing", "things", "whatever":
		return true
	}
	return false
}

// nearStopWord reports whether w is one typo away from a stop word of
// four letters or more, as "afer" is from "after": such a word is dropped
// rather than matched to some unrelated term of the documents.
func nearStopWord(w string) bool {
	for s := range strings.FieldsSeq(stopWords) {
		if len(s) >= 4 && editDistance(w, s, 1) <= 1 {
			return true
		}
	}
	return false
}

// isPronoun reports whether w points back at something said earlier, which
// marks a question as a follow-up.
func isPronoun(w string) bool {
	switch w {
	case "it", "its", "that", "this", "they", "them", "those", "these", "their":
		return true
	}
	return false
}

// stem strips common English suffixes so that "limits", "limited",
// "limiting" and "limiter" all become "limit". It is deliberately light:
// what matters is that the index and the query agree, not that the stem is
// a word. Words with digits and words of three letters or fewer are kept.
func stem(w string) string {
	if len(w) <= 3 || !isLetters(w) {
		return w
	}
	// Plurals first.
	switch {
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		w = w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"):
		w = w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") &&
		!strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		w = w[:len(w)-1]
	}
	// Then at most one derivational or inflectional suffix, keeping a stem
	// long enough to stay distinctive.
	rules := [...]struct {
		suffix, repl string
		minStem      int
		undouble     bool
	}{
		{"ation", "", 4, false},
		{"ssion", "ss", 4, false}, // compression, compress
		{"ction", "ct", 4, false}, // protection, protect
		{"ibility", "", 4, false}, // compatibility, compatible
		{"ability", "", 4, false}, // availability, available
		{"ility", "le", 4, false},
		{"ity", "", 4, false}, // security, secure
		{"ment", "", 4, false},
		{"ness", "", 4, false},  // readiness, ready
		{"ating", "", 4, false}, // validating, validation
		{"ated", "", 4, false},  // deprecated, deprecation
		{"ate", "", 4, false},   // validate, validation
		{"able", "", 4, true},   // editable, edit
		{"ible", "", 4, false},  // accessible, access
		{"ful", "", 4, false},   // successful, success
		{"ence", "", 5, false},  // precedence, precede
		{"ance", "", 5, false},  // performance, perform
		{"ing", "", 3, true},
		{"ied", "y", 3, false},
		{"ily", "y", 2, false}, // daily, day; easily, easy
		{"ed", "", 3, true},
		{"ly", "", 3, false},
		{"er", "", 4, true},
	}
	for _, r := range rules {
		if r.suffix == "ly" && strings.HasSuffix(w, "ply") {
			continue // apply, reply, supply: not adverbs
		}
		if strings.HasSuffix(w, r.suffix) && len(w)-len(r.suffix) >= r.minStem {
			w = w[:len(w)-len(r.suffix)] + r.repl
			if r.undouble {
				w = undouble(w)
			}
			break
		}
	}
	if len(w) > 3 && strings.HasSuffix(w, "e") {
		w = w[:len(w)-1]
	}
	return w
}

// termOf returns the index term of a lower-cased word: its stem, with an
// abbreviation spelt out, so that "num", "config" and "params" in an
// identifier or a question meet "number", "configuration" and
// "parameters" in prose.
func termOf(w string) string {
	t := stem(w)
	if full := abbreviation(t); full != "" {
		return stem(full)
	}
	switch t {
	case "using", "used", "usag":
		// Too short for stem's rules, and the most common verb of
		// documentation: "using it" must meet "Usage".
		return "use"
	}
	return t
}

// abbreviation returns the word that the stem t abbreviates in technical
// writing, or "" when t is not a common abbreviation. Abbreviations that
// stand for two words ("min", "sec", "dev") are left alone.
func abbreviation(t string) string {
	switch t {
	case "num":
		return "number"
	case "max":
		return "maximum"
	case "env":
		return "environment"
	case "config", "conf", "cfg":
		return "configuration"
	case "dir":
		return "directory"
	case "auth":
		return "authentication"
	case "repo":
		return "repository"
	case "pkg":
		return "package"
	case "info":
		return "information"
	case "req":
		return "request"
	case "resp":
		return "response"
	case "err":
		return "error"
	case "msg":
		return "message"
	case "db":
		return "database"
	case "cmd":
		return "command"
	case "arg":
		return "argument"
	case "param":
		return "parameter"
	case "addr":
		return "address"
	case "ctx":
		return "context"
	case "lib":
		return "library"
	case "spec":
		return "specification"
	case "dep":
		return "dependency"
	case "impl":
		return "implementation"
	case "src":
		return "source"
	case "dest":
		return "destination"
	case "tmp", "temp":
		return "temporary"
	case "async":
		return "asynchronous"
	case "sync":
		return "synchronous"
	}
	return ""
}

// relatedWords are groups of words that documentation uses for the same
// idea, one group per line. A question's word brings in the other words
// of its group (see Index.parse), so "delete a package" finds a section
// on uninstalling.
const relatedWords = `uninstall remove delete
install setup
error failure fail
limit quota throttle
fast speed performance benchmark
size big large
folder directory
download fetch
old older legacy outdated
change modify edit alter
stop prevent disable omit avoid skip
check verify validate
find search locate lookup
start launch begin
allow permit enable
password credential secret
concurrent parallel simultaneous
upgrade update
run execute
compress compression gzip
linux unix
mac macos osx
algorithm approach technique pattern
send transmit`

// userWords are words people type for what documentation calls
// otherwise, one line each: the words typed, a colon, and the words a
// document may use instead. Unlike relatedWords they only stand in for
// a word the documents never use (see Index.standIns): where a folder
// uses both, it means two things by them. Each line says the same thing
// in other words, not a thing that goes with it: "visitor" is a client,
// while "health" is not a status. A fork adds its own users' words here.
const userWords = `wipe erase nuke: purge clear remove delete
visitor visitors: client user
subdomain subdomains: host hostname
keychain: keyring
sha: hash
ship: send transmit
kill abort: cancel terminate
crash crashes crashed: panic error failure
tarball tarballs: archive
ban banned blacklist denylist blocklist: deny
whitelist allowlist: allow
login signin: authentication authenticate
pw pwd passwd: password
creds: credential credentials
perf: performance
cron: schedule
venv: virtualenv
ssl: tls
certs: certificate certificates
stats statistics: metrics
deflate: compress compression
retire retired sunset: deprecate deprecated deprecation
obsolete: deprecated legacy`

// phrasalVerbs are verbs whose particle, most often a stop word, changes
// their meaning, one a line: verb, particle, and the one word that means
// the same. A verb with a common literal sense beside the phrasal one
// stays out: "work with" asks about compatibility in "does it work with
// python 3" and about use in "how do I work with requirements files".
const phrasalVerbs = `turn off disable
switch off disable
shut off disable
turn on enable
switch on enable
get rid remove
go down fail
goes down fail
went down fail`

// idioms are two words, stop words or words that mean something else
// apart, that together mean one word, one a line: the two words and the
// one they mean.
const idioms = `at once concurrent
same time concurrent`

// twoWords returns the one word that a and b, in this order, mean
// together in table (phrasalVerbs or idioms), or "" when table does not
// hold them.
func twoWords(table, a, b string) string {
	for line := range strings.Lines(table) {
		x, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		y, one, _ := strings.Cut(rest, " ")
		if strings.EqualFold(a, x) && strings.EqualFold(b, y) {
			return one
		}
	}
	return ""
}

// wordTable maps the term of each word a table's line starts from to the
// terms of the words it may stand for. A line "typed: document words"
// (userWords) maps each typed word to the document words; a line without
// a colon is a group (relatedWords), each of whose words maps to the
// others.
func wordTable(table string) map[string][]string {
	m := make(map[string][]string)
	for line := range strings.Lines(table) {
		from, to, ok := strings.Cut(line, ":")
		if !ok {
			to = from
		}
		for w := range strings.FieldsSeq(from) {
			t := termOf(w)
			for d := range strings.FieldsSeq(to) {
				if u := termOf(d); u != t && !slices.Contains(m[t], u) {
					m[t] = append(m[t], u)
				}
			}
		}
	}
	return m
}

// undouble turns "runn" (from "running") into "run", but keeps the double
// l, s and z of "install", "pass" and "buzz".
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouylsz", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

// editDistance returns the optimal string alignment distance between a
// and b (insertions, deletions, substitutions and swaps of two adjacent
// letters each cost 1), or max+1 once it is certain to exceed max.
func editDistance(a, b string, max int) int {
	// Typical words fit the fixed buffers, so a search that compares a
	// word against hundreds of others does not allocate for each.
	var abuf, bbuf [32]rune
	var rows [3][33]int
	ra, rb := appendRunes(abuf[:0], a), appendRunes(bbuf[:0], b)
	if d := len(ra) - len(rb); d > max || -d > max {
		return max + 1
	}
	var prev2, prev, cur []int
	if n := len(rb) + 1; n <= len(rows[0]) {
		prev2, prev, cur = rows[0][:n], rows[1][:n], rows[2][:n]
	} else {
		prev2, prev, cur = make([]int, n), make([]int, n), make([]int, n)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > max {
			return max + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}
