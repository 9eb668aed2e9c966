package chat

import (
	"strings"
	"testing"
	"testing/fstest"
)

// smallCorpus is a few passages that differ in one thing each, so a search
// has exactly one right answer.
func smallCorpus() fstest.MapFS {
	return fstest.MapFS{
		"redis.md": {Data: []byte(`# Redis

Shared counters for several instances.

## Connecting

Set ` + "`REDIS_URL`" + ` to a redis:// or rediss:// address before start-up.

## Failures

When the server cannot reach Redis, ` + "`REDIS_FAILURE_MODE`" + ` decides between fallback, open and closed.
`)},
		"limits.md": {Data: []byte(`# Limits

## Headers

The page sends an ` + "`X-Session-ID`" + ` header with each question. Clients wait for the number of seconds in Retry-After.

## Algorithm

A sliding window counter limits requests per client and per minute. Set the limit in advance; requests over the set limit wait.
`)},
		"deploy.txt": {Data: []byte("Hugging Face Spaces build the Dockerfile.\n\nThe app port is 7860.\n")},
	}
}

// smallIndex returns an index over smallCorpus.
func smallIndex(tb testing.TB) *Index {
	tb.Helper()
	passages, err := Load(smallCorpus())
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return NewIndex(passages)
}

func TestSearch(t *testing.T) {
	ix := smallIndex(t)
	tests := []struct {
		query string
		want  section // the best hit; the zero section when nothing should match
	}{
		{"REDIS_URL", section{"redis.md", "Connecting"}},
		{"redis_url", section{"redis.md", "Connecting"}},
		{"redis url", section{"redis.md", "Connecting"}},
		{"rediss", section{"redis.md", "Connecting"}},
		{"X-Session-ID", section{"limits.md", "Headers"}},
		{"session id", section{"limits.md", "Headers"}},
		{"limiting", section{"limits.md", "Algorithm"}},
		{"how is it limited", section{"limits.md", "Algorithm"}},
		{"redus failure", section{"redis.md", "Failures"}},                        // typo
		{"hugging face spcae", section{"deploy.txt", ""}},                         // swapped letters
		{"retry afer", section{"limits.md", "Headers"}},                           // typo of a stop word is dropped
		{"slidingwindow", section{"limits.md", "Algorithm"}},                      // run together
		{"REDIS_FAILURE_MODE closed", section{"redis.md", "Failures"}},            // identifier and word
		{"algoritm", section{"limits.md", "Algorithm"}},                           // deletion in a long word
		{"algoritms", section{"limits.md", "Algorithm"}},                          // two edits in a long word
		{"basically redis failure, thanks guys", section{"redis.md", "Failures"}}, // chat filler
		{"redis cable", section{}},                                                // one typo from filler ("able") is still a word the documents lack
		{"is it actually possible to limit, thanks", section{"limits.md", "Algorithm"}},
		{"what's the weather today", section{}},  // off topic
		{"who won the football game", section{}}, // off topic
		{"install python on windows", section{}}, // known words, no passage on them
		{"", section{}},                          // nothing asked
		{"what is it", section{}},                // only stop words
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			hits := ix.Search(tt.query, 3)
			if tt.want == (section{}) {
				if len(hits) != 0 {
					t.Errorf("Search(%q): got %v, want no hits", tt.query, sections(hits))
				}
				return
			}
			if len(hits) == 0 {
				t.Fatalf("Search(%q): got no hits, want %v", tt.query, tt.want)
			}
			if got := (section{hits[0].Passage.Name, hits[0].Passage.Heading}); got != tt.want {
				t.Errorf("Search(%q): got %v first, want %v", tt.query, got, tt.want)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("Search(%q): scores not descending: %v", tt.query, hits)
				}
			}
		})
	}
}

func TestSearchLimits(t *testing.T) {
	ix := smallIndex(t)
	tests := []struct {
		name  string
		ix    *Index
		k     int
		query string
		max   int
	}{
		{"k of one", ix, 1, "redis limits counter", 1},
		{"k of zero", ix, 0, "redis", 0},
		{"negative k", ix, -1, "redis", 0},
		{"nil index", nil, 3, "redis", 0},
		{"empty index", NewIndex(nil), 3, "redis", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ix.Search(tt.query, tt.k); len(got) > tt.max {
				t.Errorf("Search(%q, %d): got %d hits, want at most %d", tt.query, tt.k, len(got), tt.max)
			}
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	ix := bundledIndex(b)
	queries := []string{
		"how many questions can i ask per minute",
		"what happens when redus is down",
		"REDIS_URL",
		"hugging face spcae setup",
		"what's the weather today",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ix.Search(queries[i%len(queries)], 3)
	}
}

func TestCorrectKeepsFirstLetter(t *testing.T) {
	passages, err := Load(fstest.MapFS{"a.md": {Data: []byte("# A\n\n## Naming\n\nNaming rules for settings.\n\n## Spaces\n\nSpace setup.\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	tests := []struct{ word, want string }{
		{"gaming", ""},    // one edit from "naming", but another first letter
		{"namimg", "nam"}, // a typo inside the word
		{"spcae", "spac"}, // swapped letters
	}
	for _, tt := range tests {
		if got := ix.correct(tt.word); got != tt.want {
			t.Errorf("correct(%q): got %q, want %q", tt.word, got, tt.want)
		}
	}
}

// TestRelatedWords: a question that says a thing another way than the
// documents (a related word, an abbreviation) still finds the section
// that uses the documents' word, and a related word alone never turns an
// off-topic question into an answer.
func TestRelatedWords(t *testing.T) {
	passages, err := Load(fstest.MapFS{
		"pkg.md": {Data: []byte(`# Packages

## Uninstalling a package

Run the uninstall command with the package name.

## Installing a package

Run the install command with the package name.

## Proxy hops

Pass the number of trusted proxy hops in front of the server.

## Cache

The cache keeps downloaded files. Its size grows over time.

## Eviction

Entries leave the cache by the least recently used pattern.

## Receive

Reads each log line from a server.

## Transmit

Posts each log line to a server.
`)},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ix := NewIndex(passages)
	tests := []struct {
		query string
		want  string // heading of the best hit; "" when nothing should match
	}{
		{"delete a package", "Uninstalling a package"},
		{"remove package", "Uninstalling a package"},
		{"numTrustedProxies", "Proxy hops"},
		{"how big is the cache", "Cache"},
		{"which algorithm evicts entries", "Eviction"},
		{"ship log lines to a server", "Transmit"},
		{"delete my account on the website", ""},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got, hits := bestHeading(ix, tt.query); got != tt.want {
				t.Errorf("Search(%q) best = %q, want %q (hits %v)", tt.query, got, tt.want, sections(hits))
			}
		})
	}
}

// TestParseRepeatedWord: a word said twice weighs what it weighs once.
func TestParseRepeatedWord(t *testing.T) {
	ix := smallIndex(t)
	q := ix.parse("limit the requests of a client per limit")
	if got := q.weights["limit"]; got != 1 {
		t.Errorf("weight of limit: got %v, want 1", got)
	}
	if q.content != 3 {
		t.Errorf("content words: got %v, want 3 (limit, request, client)", q.content)
	}
}

// TestParseRunTogether: a word typed as two run together ("slidingwindow")
// weighs one word, shared by its parts, not two.
func TestParseRunTogether(t *testing.T) {
	ix := smallIndex(t)
	q := ix.parse("slidingwindow")
	sliding, window := q.weights[termOf("sliding")], q.weights[termOf("window")]
	if sliding == 0 || window == 0 || sliding+window != 1 {
		t.Errorf("weights of sliding and window: got %v and %v, want two shares of 1", sliding, window)
	}
}

// TestSiblingMatch: a long section cut into passages answers as a whole,
// so a question whose words fall on both sides of the cut finds it before
// a short section that holds fewer of them.
func TestSiblingMatch(t *testing.T) {
	filler := strings.Repeat("Background prose about nothing in particular. ", 40)
	fsys := fstest.MapFS{"guide.md": {Data: []byte("# Guide\n\n## Locations\n\nThe settings file lives in the home folder.\n\n" +
		filler + "\n\nOn linux the folder is under the home directory.\n\n" +
		"## Platforms\n\nOn linux the settings are kept.\n\n## Logs\n\nThe log file rotates daily.\n\n## Cache\n\nThe cache file grows.\n")}}
	passages, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var cut int
	for _, p := range passages {
		if p.Heading == "Locations" {
			cut++
		}
	}
	if cut < 2 {
		t.Fatalf("got %d passages for the long section, want it cut in several", cut)
	}
	hits := NewIndex(passages).Search("settings file on linux", 3)
	if len(hits) == 0 || hits[0].Passage.Heading != "Locations" {
		t.Errorf("Search best: got %v, want the Locations section", sections(hits))
	}
}

// TestSiblingCoverage: a question whose words fall on both sides of the
// cut of a long section is covered by that section, although neither
// passage alone holds enough of it to pass the relevance threshold.
func TestSiblingCoverage(t *testing.T) {
	filler := strings.Repeat("Background prose about nothing in particular. ", 40)
	fsys := fstest.MapFS{"guide.md": {Data: []byte("# Guide\n\n## Routing\n\nA pattern may end in a wildcard.\n\n" +
		filler + "\n\nThe matched segment is read back at run time.\n\n" +
		"## Logs\n\nThe log rotates daily, with a timestamp.\n\n## Cache\n\nThe cache grows.\n")}}
	passages, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	hits := NewIndex(passages).Search("wildcard segment timestamp", 3)
	if len(hits) == 0 || hits[0].Passage.Heading != "Routing" {
		t.Errorf("Search best: got %v, want the Routing section", sections(hits))
	}
}

// TestCompoundIdentifier: two words of the question that the documents
// write joined as one identifier ("request id", RequestID) find the
// passage that names it, ahead of one that only uses the words apart.
func TestCompoundIdentifier(t *testing.T) {
	passages, err := Load(fstest.MapFS{"mw.md": {Data: []byte(`# Middlewares

## Handlers

A handler reads the request and the user id from its context.

## Table

| Name | Does |
| --- | --- |
| RequestID | Injects one into the context |
| Logger | Logs the start and end of each call |
| Recoverer | Turns a panic into a 500 |
| Timeout | Ends slow calls |

## Routing

Routes match a pattern such as /users/{name}.

## Mounting

Mount attaches a sub-router under a prefix.

## Groups

A group shares middlewares between routes.
`)}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	q := ix.parse("request id")
	if !q.wholes["requestid"] || q.weights["requestid"] != 1 {
		t.Errorf("parse(request id): got weights %v wholes %v, want requestid whole at 1", q.weights, q.wholes)
	}
	hits := ix.Search("request id", 3)
	if len(hits) == 0 || hits[0].Passage.Heading != "Table" {
		t.Errorf("Search(request id) best: got %v, want the Table section", sections(hits))
	}
}

// TestCompoundSnake: two adjacent words of a question that the documents
// join by '_' sharpen the match at snakeWeight.
func TestCompoundSnake(t *testing.T) {
	passages, err := Load(fstest.MapFS{"req.md": {Data: []byte("# Requirements\n\n" +
		"## Overview\n\nA requirement names a project, and may apply a constraint on the version of the project.\n\n" +
		"## Examples\n\n```\nproject >= 1.2\nproject == 5.4 ; python_version < '3.8'\n```\n\n" +
		"## Files\n\nA requirements file lists one requirement a line.\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	q := ix.parse("requirement that applies to an older python version")
	if !q.wholes["python_version"] || q.weights["python_version"] != snakeWeight {
		t.Errorf("parse: got weights %v wholes %v, want python_version whole at %v", q.weights, q.wholes, snakeWeight)
	}
	if hits := ix.Search("requirement that applies to an older python version", 3); len(hits) == 0 || hits[0].Passage.Heading != "Examples" {
		t.Errorf("Search best: got %v, want the Examples section", sections(hits))
	}
}

// TestCompoundNotFromParts: the parts of an identifier are not joined
// again into another one: "LimitByRealIP" does not ask for RealIP.
func TestCompoundNotFromParts(t *testing.T) {
	passages, err := Load(fstest.MapFS{"mw.md": {Data: []byte("# Middlewares\n\n## Addresses\n\nRealIP sets the remote address.\n\n## Logs\n\nLogger logs each call.\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	if q := ix.parse("LimitByRealIP"); q.wholes["realip"] {
		t.Errorf("parse(LimitByRealIP): got weights %v, want no realip", q.weights)
	}
	if q := ix.parse("real ip"); !q.wholes["realip"] {
		t.Errorf("parse(real ip): got weights %v, want realip", q.weights)
	}
}

// TestPhrasalVerb: "turn off" asks for what the documents call
// disabling, and stays as typed when they never say it so.
func TestPhrasalVerb(t *testing.T) {
	index := func(text string) *Index {
		return indexOf(t, fstest.MapFS{"cache.md": {Data: []byte(text)}})
	}
	disabling := index("# Cache\n\n## Disabling the cache\n\nPass --no-cache to disable it.\n\n" +
		"## Turning pages\n\nThe cache turns over its pages every hour.\n")
	turning := index("# Cache\n\n## Turning the cache off\n\nTurn the cache off with --no-cache.\n")
	failing := index("# Store\n\n## When the store fails\n\nRequests are let through.\n\n" +
		"## Going further\n\nThe store goes further down the stack.\n")
	compat := index("# Tool\n\n## Requirements files\n\nA requirements file lists the packages to install.\n\n" +
		"## Compatibility\n\nThe tool is compatible with Python 3.7 and with the requirements files of older tools.\n\n" +
		"## Logs\n\nEach run writes a log.\n\n## Cache\n\nDownloads are kept in a cache.\n\n## Work folder\n\nBuilds happen in a work folder.\n")
	tests := []struct {
		name     string
		ix       *Index
		question string
		want     string // heading of the best hit
	}{
		{"known one word", disabling, "turn off the cache", "Disabling the cache"},
		{"switch off", disabling, "how do i switch the cache off", "Disabling the cache"},
		{"verb alone", disabling, "how often does the cache turn over", "Turning pages"},
		{"only the phrase known", turning, "turn off the cache", "Turning the cache off"},
		{"goes down", failing, "what happens if the store goes down", "When the store fails"},
		{"verb with a literal sense", compat, "how do i work with requirements files", "Requirements files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, hits := bestHeading(tt.ix, tt.question); got != tt.want {
				t.Errorf("Search(%q) best = %q, want %q (hits %v)", tt.question, got, tt.want, sections(hits))
			}
		})
	}
}

// TestHeadingMatchProductName: a heading that names the product used on
// every page ("PIP_CONFIG_FILE", pip) is named in full by a question that
// leaves the product's name out; a heading with another word left out is
// not.
func TestHeadingMatchProductName(t *testing.T) {
	page := func(title, body string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("# " + title + "\n\n" + body)}
	}
	passages, err := Load(fstest.MapFS{
		"install.md": page("Installing pip", "## Upgrading\n\nRun pip install --upgrade pip.\n"),
		"cache.md":   page("The pip cache", "## Removing\n\nRun pip cache purge.\n"),
		"config.md": page("Configuring pip", "## `PIP_CONFIG_FILE`\n\nThe environment variable PIP_CONFIG_FILE names a different file.\n\n"+
			"## Config file location\n\nThe file is in the home folder.\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	q := ix.parse("use a different config file with an environment variable")
	for i, p := range ix.passages {
		got := ix.headingMatch(i, ix.masses(q))
		switch p.Heading {
		case "`PIP_CONFIG_FILE`":
			if got == 0 {
				t.Errorf("headingMatch(%q): got 0, want a bonus", p.Heading)
			}
		case "Config file location":
			if got != 0 {
				t.Errorf("headingMatch(%q): got %v, want 0", p.Heading, got)
			}
		}
	}
}

// TestIdioms: "at once" means concurrent where the documents say so, and
// a split idiom is no idiom ("at least once").
func TestIdioms(t *testing.T) {
	passages, err := Load(fstest.MapFS{"mw.md": {Data: []byte("# Middlewares\n\n## Throttle\n\nPuts a ceiling on concurrent requests.\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	tests := []struct{ text, want string }{
		{"how many requests run at once?", "how many requests run concurrent"},
		{"requests handled at the same time", "requests handled at the concurrent"},
		{"retry at least once", "retry at least once"},
	}
	for _, tt := range tests {
		if got := ix.phrasal(tt.text); got != tt.want {
			t.Errorf("phrasal(%q): got %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestSearchOneHitPerSection: a long section cut into several passages
// is one hit, which leaves room for other sections.
func TestSearchOneHitPerSection(t *testing.T) {
	long := strings.Repeat("The router matches each route against the tree of patterns. ", 40)
	passages, err := Load(fstest.MapFS{"router.md": {Data: []byte("# Router\n\n## Tree\n\n" + long + "\n\n" + long + "\n\n" + long +
		"\n\n## Mounting\n\nMount attaches a sub-router of routes under a pattern.\n" +
		"\n## Logging\n\nThe logger writes each request.\n\n## Timeouts\n\nA timeout ends slow handlers.\n" +
		"\n## Compression\n\nResponses are gzipped for clients that ask.\n")}})
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	if n := len(ix.sections[sectionKey{"router.md", "Tree"}]); n < 2 {
		t.Fatalf("got the Tree section in %d passages, want it cut in several", n)
	}
	hits := ix.Search("route patterns", 3)
	var tree int
	for _, h := range hits {
		if h.Passage.Heading == "Tree" {
			tree++
		}
	}
	if tree != 1 || len(hits) != 2 {
		t.Errorf("Search: got %v, want the Tree section once and the Mounting section", sections(hits))
	}
}

// TestUserWords: a word people type for what the documents call
// otherwise ("visitor" for "client") finds the documents' word, but only
// when the documents never use the typed word themselves.
func TestUserWords(t *testing.T) {
	load := func(text string) *Index {
		return indexOf(t, fstest.MapFS{"web.md": {Data: []byte(text)}})
	}
	clientsOnly := load("# Web\n\n## Server address\n\nThe server listens on one address.\n\n" +
		"## Client address\n\nThe client's address is read from the connection.\n")
	both := load("# Web\n\n## Client address\n\nThe client's IP address is read from the connection.\n\n" +
		"## Visitor counter\n\nEach visitor is counted once a day by address.\n")
	tests := []struct {
		name, query, want string
		ix                *Index
	}{
		{"documents lack the word", "visitor address", "Client address", clientsOnly},
		{"documents use the word", "visitor address", "Visitor counter", both},
	}
	if w := both.parse("visitor address").weights[termOf("client")]; w != 0 {
		t.Errorf("weight of client when the documents say visitor: got %v, want 0", w)
	}
	if q := clientsOnly.parse("visitor"); q.known != correctedShare {
		t.Errorf("visitor stood in for by client: counts %v known, want %v", q.known, correctedShare)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, hits := bestHeading(tt.ix, tt.query); got != tt.want {
				t.Errorf("Search(%q) best = %q, want %q (hits %v)", tt.query, got, tt.want, sections(hits))
			}
		})
	}
}

// bestHeading returns the heading of the best of ix's hits for query, ""
// when there are none, and the hits.
func bestHeading(ix *Index, query string) (string, []Hit) {
	hits := ix.Search(query, 3)
	if len(hits) == 0 {
		return "", nil
	}
	return hits[0].Passage.Heading, hits
}
