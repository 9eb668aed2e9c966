package chat

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// acmeCorpus is a small product manual of the four kinds the issue names:
// an introduction with a feature list, an installation guide with a
// requirements table and a JSON config, an API reference with
// identifiers, and a troubleshooting page with error codes and a Q/A FAQ.
// The product name is on every page.
func acmeCorpus() fstest.MapFS {
	return fstest.MapFS{
		"intro.md": {Data: []byte(`# Acme Sync

Acme Sync keeps folders on several machines identical, over an encrypted channel.

Its main features:

- two-way sync of any folder
- end-to-end encryption with per-device keys
- a web dashboard for every Acme device

## History

Acme Sync started in 2019 as a weekend project at Acme.
`)},
		"install.md": {Data: []byte(`# Installing Acme Sync

## System requirements

Acme Sync runs on modest machines. A warning: older kernels are not tested.

| Component | Minimum |
| --- | --- |
| RAM | 512 MB |
| Disk | 200 MB free |
| OS | Linux 5.4 or later |

## Configuration

Acme reads its settings from a JSON file. Set the token like this:

` + "```json" + `
{"APP_AUTH__TOKEN": "s3cret", "maxRetries": 5}
` + "```" + `

The file lives in /etc/acme/config.json.
`)},
		"api.md": {Data: []byte(`# Acme API reference

## open_session

` + "`open_session(user)`" + ` opens a session for user. Deprecated since 2.0: use ` + "`start_session`" + ` instead, which also refreshes tokens.

## start_session

` + "`start_session(user)`" + ` starts a session and refreshes the user's Acme tokens.

## Retries

Failed calls are retried up to ` + "`maxRetries`" + ` times, 3 by default, with a pause that doubles each time. For example, the pauses are 1, 2 and 4 seconds.
`)},
		"troubleshooting.md": {Data: []byte(`# Troubleshooting Acme

## Error codes

Acme returns these codes.

- ` + "`ERR_QUOTA_EXCEEDED`" + `: the account stored more than its plan allows.
- ` + "`ERR_TOKEN_EXPIRED`" + `: sign in again to get a new token.

## FAQ

Q: Why does Acme stop syncing at night?
A: The laptop went to sleep. Turn off sleep while Acme syncs, or schedule syncs for the day.

Q: Can I sync a network drive?
A: Yes, mount it first and add the mount point as a folder.
`)},
	}
}

func acmeDocs(t *testing.T) *Docs {
	t.Helper()
	return docsOf(t, acmeCorpus())
}

// docsOf is the docs engine over fsys, as the app builds it.
func docsOf(t testing.TB, fsys fs.FS) *Docs {
	t.Helper()
	return NewDocs(indexOf(t, fsys))
}

// wantContains reports each of wants that the answer text lacks.
func wantContains(t *testing.T, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("answer %q: want it to contain %q", text, want)
		}
	}
}

// indexOf loads fsys and indexes its passages.
func indexOf(tb testing.TB, fsys fs.FS) *Index {
	tb.Helper()
	passages, err := Load(fsys)
	if err != nil {
		tb.Fatal(err)
	}
	return NewIndex(passages)
}

// TestComposeShapes checks that an answer is the part of the top section
// that answers the question, in its own Markdown.
func TestComposeShapes(t *testing.T) {
	d := acmeDocs(t)
	tests := []struct {
		name, question string
		first          section  // the expected first source
		want           []string // the answer contains each
		not            []string // and none of these
	}{
		{"FAQ gives the answer, not the question", "why does acme stop syncing at night?",
			section{"troubleshooting.md", "FAQ"}, []string{"The laptop went to sleep."}, []string{"Q:", "Why does", "network drive"}},
		{"the other FAQ entry", "can i sync a network drive",
			section{"troubleshooting.md", "FAQ"}, []string{"mount it first"}, []string{"laptop", "A:"}},
		{"table", "what are the system requirements",
			section{"install.md", "System requirements"}, []string{"| Component | Minimum |", "| RAM | 512 MB |"}, []string{"warning"}},
		{"how-to gives the code with its intro", "how do i set the token",
			section{"install.md", "Configuration"}, []string{"Set the token like this:", "```json", `"APP_AUTH__TOKEN": "s3cret"`}, nil},
		{"overview with its list", "What is Acme Sync and what are its main features?",
			section{"intro.md", ""}, []string{"keeps folders on several machines identical", "- two-way sync of any folder"}, []string{"Q:"}},
		{"identifier as written", "what should I use instead of open_session",
			section{"api.md", "open_session"}, []string{"use `start_session` instead"}, []string{"starts a session and refreshes"}},
		{"identifier in capitals", "ERR_QUOTA_EXCEEDED",
			section{"troubleshooting.md", "Error codes"}, []string{"ERR_QUOTA_EXCEEDED"}, nil},
		{"camelCase identifier by its parts", "how many max retries",
			section{"api.md", "Retries"}, []string{"3 by default"}, nil},
		{"camelCase identifier as written", "maxRetries",
			section{"api.md", "Retries"}, []string{"3 by default"}, nil},
		{"identifier with a double underscore", "APP_AUTH__TOKEN",
			section{"install.md", "Configuration"}, []string{"APP_AUTH__TOKEN"}, nil},
		{"a short lead comes with its list", "which error codes can acme return",
			section{"troubleshooting.md", "Error codes"}, []string{"Acme returns these codes.\n\n- `ERR_QUOTA_EXCEEDED`", "- `ERR_TOKEN_EXPIRED`"}, nil},
		{"product name on every page does not drown the question", "acme history",
			section{"intro.md", "History"}, []string{"weekend project"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, srcs := answer(t, d, Query{Question: tt.question})
			if len(srcs) == 0 {
				t.Fatalf("got no sources, want %v first; answer %q", tt.first, text)
			}
			if got := (section{srcs[0].Name, srcs[0].Heading}); got != tt.first {
				t.Errorf("first source: got %v, want %v", got, tt.first)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("answer %q: want it to contain %q", text, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(text, n) {
					t.Errorf("answer %q: want it not to contain %q", text, n)
				}
			}
		})
	}
}

func TestComposeUnsure(t *testing.T) {
	passages, err := Load(acmeCorpus())
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(passages)
	q := "how much ram for the web dashboard"
	terms := ix.parse(q).weights
	var history Passage
	for _, p := range passages {
		if p.Heading == "History" {
			history = p
		}
	}
	// A top hit that holds little of the question, as when the best
	// match is weak: the answer says so and names the section.
	text := compose(ix, q, []Hit{{Passage: history, Score: 1}}, terms)
	if want := "I am not sure the documents answer this. The closest section is “History” in “Acme Sync”:"; !strings.HasPrefix(text, want) {
		t.Errorf("answer %q: want it to start with %q", text, want)
	}
	// A top hit that holds the question answers plainly.
	hits := ix.Search("how much ram", 3)
	if len(hits) == 0 {
		t.Fatal("Search: no hits")
	}
	if text := compose(ix, "how much ram", hits, ix.parse("how much ram").weights); strings.HasPrefix(text, "I am not sure") {
		t.Errorf("answer %q: want no doubt", text)
	}
}

func TestFollowUpAcme(t *testing.T) {
	d := acmeDocs(t)
	history := func(qs ...string) []Message {
		var h []Message
		for _, q := range qs {
			text, _ := answer(t, d, Query{Question: q, History: h})
			h = append(h, Message{Role: "user", Content: q}, Message{Role: "assistant", Content: text})
		}
		return h
	}
	tests := []struct {
		name, question string
		history        []Message
		want           section
	}{
		{"the other one", "and the other one?", history("what does ERR_QUOTA_EXCEEDED mean"), section{"troubleshooting.md", "Error codes"}},
		{"standalone question keeps its own answer", "how many times are failed calls retried?", history("what are the system requirements", "and how do I set the token?"), section{"api.md", "Retries"}},
		{"two follow-ups in a row", "and where is the file?", history("how do i configure acme", "what about the token?"), section{"install.md", "Configuration"}},
		{"asking for an example is not the topic", "show me an example", history("where is the json"), section{"install.md", "Configuration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srcs := answer(t, d, Query{Question: tt.question, History: tt.history})
			if len(srcs) == 0 {
				t.Fatalf("got no sources, want %v first", tt.want)
			}
			if got := (section{srcs[0].Name, srcs[0].Heading}); got != tt.want {
				t.Errorf("first source: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBlocks(t *testing.T) {
	text := "Intro line one\nand two:\n\n- item a\n  continued\n- item b\n\n  more of b\n\n" +
		"```go\nx := 1\n\ny := 2\n```\n\n| a | b |\n| - | - |\n\n[ref]: https://example.com\n\n" +
		"```{note}\nAn aside.\n```\n\n- ```\n  code in a list\n  ```\n\n" +
		"#### `messageKey`\n\n#123 fixed the crash.\n\n####\n"
	want := []blockKind{blockPara, blockList, blockCode, blockTable, blockLinks, blockNote, blockList,
		blockHeading, blockPara, blockPara}
	got := blocks(text)
	if len(got) != len(want) {
		t.Fatalf("got %d blocks %+v, want %d", len(got), got, len(want))
	}
	for i, b := range got {
		if b.kind != want[i] {
			t.Errorf("block %d %q: got kind %d, want %d", i, b.text, b.kind, want[i])
		}
	}
	if !strings.Contains(got[1].text, "more of b") {
		t.Errorf("list %q: want the indented paragraph after a blank line in it", got[1].text)
	}
	if !strings.Contains(got[2].text, "y := 2") {
		t.Errorf("code %q: want it whole across its blank line", got[2].text)
	}
}

func TestQuestionIntent(t *testing.T) {
	tests := []struct {
		q    string
		want intent
	}{
		{"how do I install it", intentHowTo},
		{"show me an example", intentHowTo},
		{"what is acme", intentOverview},
		{"which operating systems are supported", intentTable},
		{"ERR_QUOTA_EXCEEDED", intentAny},
		{"why is it deprecated", intentExplain},
		{"how does the router match routes", intentExplain},
	}
	for _, tt := range tests {
		if got := questionIntent(tt.q); got != tt.want {
			t.Errorf("questionIntent(%q): got %d, want %d", tt.q, got, tt.want)
		}
	}
}

func TestPlainHeading(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<img alt="chi" src="logo.svg" width="220" />`, "chi"},
		{"Plain `code` title", "Plain `code` title"},
		{`Title <small>beta</small>`, "Title beta"},
	}
	for _, tt := range tests {
		if got := plainHeading(tt.in); got != tt.want {
			t.Errorf("plainHeading(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestComposeLongSection checks that a section cut into several passages
// is answered from as a whole, that nested lists keep their indentation,
// and that a long code block is cut to the lines that match.
func TestComposeLongSection(t *testing.T) {
	filler := strings.Repeat("Background prose about nothing in particular. ", 30)
	code := "```go\n" + strings.Repeat("// unrelated setup line\nx := 1\n", 60) +
		"// WithTimeout sets the deadline.\nr.Use(WithTimeout(5))\n" + strings.Repeat("y := 2\n", 40) + "```"
	fsys := fstest.MapFS{"guide.md": {Data: []byte("# Guide\n\n## Proxies\n\n" + filler + "\n\n" +
		"To trust a proxy you need to:\n\n- list it:\n\n  - by address\n  - by range\n- restart\n\n" +
		"## Timeouts\n\nSet a timeout with this code:\n\n" + code + "\n")}}
	passages, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var proxies int
	for _, p := range passages {
		if p.Heading == "Proxies" {
			proxies++
		}
	}
	if proxies < 2 {
		t.Fatalf("got %d passages for the long section, want it cut in several", proxies)
	}
	d := NewDocs(NewIndex(passages))

	text, _ := answer(t, d, Query{Question: "how do i trust a proxy"})
	if want := "To trust a proxy you need to:\n\n- list it:\n\n  - by address\n  - by range\n- restart"; !strings.Contains(text, want) {
		t.Errorf("answer %q: want it to contain the steps with their nesting %q", text, want)
	}

	text, _ = answer(t, d, Query{Question: "how do i set WithTimeout"})
	wantContains(t, text, "Set a timeout with this code:", "```go", "// WithTimeout sets the deadline.\nr.Use(WithTimeout(5))", "...", "```")
	if len(text) > maxAnswerBytes {
		t.Errorf("answer of %d bytes, want the long code cut to at most %d", len(text), maxAnswerBytes)
	}
}

// TestComposeCodeBudget: a long code block that a lead-in paragraph
// introduces is cut to fit the answer beside it, keeping the lines that
// hold most of the question's words when too many lines hold one.
func TestComposeCodeBudget(t *testing.T) {
	var code strings.Builder
	code.WriteString("```go\ntype Router interface {\n")
	for i := range 40 {
		fmt.Fprintf(&code, "\t// Route%d adds a route with its handler.\n\tRoute%d(pattern string, h Handler)\n", i, i)
	}
	code.WriteString("\t// NotFound sets the handler for a route that is not found.\n\tNotFound(h Handler)\n}\n```")
	fsys := fstest.MapFS{"router.md": {Data: []byte("# Router\n\n## Interface\n\nThe router is a tree.\n\n" +
		"Built on top of the tree is the Router interface:\n\n" + code.String() + "\n\n## Other\n\nNothing here.\n")}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "custom handler for routes that are not found"})
	wantContains(t, text, "Router interface:", "```go", "NotFound(h Handler)", "...")
	if len(text) > maxAnswerBytes+100 {
		t.Errorf("answer of %d bytes, want about %d at most", len(text), maxAnswerBytes)
	}
}

// TestComposeOpening: an answer drawn from further down a section comes
// after the section's short opening, a paragraph or the code a paragraph
// leads into, which says what the rest is about; a long opening is left
// out.
func TestComposeOpening(t *testing.T) {
	long := strings.Repeat("Background prose about nothing in particular. ", 10)
	fsys := fstest.MapFS{"cache.md": {Data: []byte("# Cache\n\n## Responses\n\nThis cache works like a browser cache.\n\n" +
		"Before each request the client looks for a stored response that has not expired.\n\n" +
		"An expired response is refreshed with a conditional request.\n\n" +
		"## Wheels\n\n" + long + "\n\nBuilt wheels are kept between runs and reused for the same version.\n\n" +
		"## Subversion\n\nThe schemes are svn and svn+https:\n\n```\nproject @ svn+https://example.com/project\n```\n\n" +
		"Installing a given revision from Subversion needs an editable install.\n")}}
	d := docsOf(t, fsys)
	tests := []struct {
		question, want, not string
	}{
		{"when is an expired response refreshed", "This cache works like a browser cache.\n\nAn expired response", ""},
		{"are built wheels reused between runs", "Built wheels are kept", "Background prose"},
		{"install from subversion", "The schemes are svn and svn+https:\n\n```\nproject @ svn+https://example.com/project\n```\n\nInstalling a given revision", ""},
	}
	for _, tt := range tests {
		text, _ := answer(t, d, Query{Question: tt.question})
		if !strings.Contains(text, tt.want) {
			t.Errorf("answer to %q: got %q, want it to contain %q", tt.question, text, tt.want)
		}
		if tt.not != "" && strings.Contains(text, tt.not) {
			t.Errorf("answer to %q: got %q, want it without %q", tt.question, text, tt.not)
		}
	}
}

func TestHeadingMatch(t *testing.T) {
	fsys := fstest.MapFS{"pip.md": {Data: []byte("# Pip\n\n" +
		"## Compatibility\n\nPip works on the latest version of Python and the latest version of Linux.\n\n" +
		"## Upgrading pip\n\nRun pip install --upgrade pip.\n")}}
	passages, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	hits := NewIndex(passages).Search("upgrade pip to the latest version", 2)
	if len(hits) == 0 || hits[0].Passage.Heading != "Upgrading pip" {
		t.Errorf("got %v first, want the section whose whole heading the question names", sections(hits))
	}
}

// TestComposeSecondUnit: when two paragraphs of a section hold the
// question's words about equally, the answer quotes both, in document
// order; a paragraph that holds far less is left out.
func TestComposeSecondUnit(t *testing.T) {
	fsys := fstest.MapFS{"proxy.md": {Data: []byte(`# Guide

## Trusted proxies

The trusted proxy middleware reads the client address from a header.

Unrelated remarks about logging and metrics go here.

For the trusted proxy middleware, the hop count is the number of proxies in front.
`)}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "trusted proxy middleware client hop count"})
	wantContains(t, text, "reads the client address", "the hop count is the number")
	if i, j := strings.Index(text, "reads the client"), strings.Index(text, "hop count is"); i > j {
		t.Errorf("answer %q: want the paragraphs in document order", text)
	}
	if strings.Contains(text, "Unrelated remarks") {
		t.Errorf("answer %q: want the paragraph without the question's words left out", text)
	}
}

// TestComposeAddsCode: prose that answers the question is quoted with
// the section's code that holds the question's words, even when other
// prose stands between them.
func TestComposeAddsCode(t *testing.T) {
	fsys := fstest.MapFS{"auth.md": {Data: []byte("# Authentication\n\n## Keyring support\n\n" +
		"The client loads credentials stored in your keyring.\n\n" +
		"It looks for the library in its own environment first, then on the PATH.\n\n" +
		"Either of these setups works:\n\n```\n$ echo secret | keyring set example.com me\n```\n\n" +
		"Remarks about bootstrapping go here.\n\n## Tokens\n\nTokens go in the URL.\n")}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "get credentials from the keyring"})
	wantContains(t, text, "loads credentials stored in your keyring", "keyring set example.com")
}

// TestComposeNote: an admonition ("```{note}") that holds the question's
// words answers it as well as a paragraph does.
func TestComposeNote(t *testing.T) {
	fsys := fstest.MapFS{"install.md": {Data: []byte("# Installation\n\n## Standalone zip application\n\n" +
		"The standalone zip application can be downloaded as pip.pyz and run with Python.\n\n" +
		"```{note}\nThe zip application is experimental and should not be used in production.\n```\n\n" +
		"## Upgrading\n\nRun the upgrade command.\n\n## Production\n\nProduction servers pin versions.\n")}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "is the standalone zip application ready for production"})
	if !strings.Contains(text, "experimental") {
		t.Errorf("answer %q: want it to quote the note", text)
	}
}

// TestComposeSubHeading: in a section of an API reference cut by "####"
// headings, the heading names what the blocks under it are about: the
// block under the heading the question names is the answer, quoted with
// its heading, even when an earlier block holds the same words.
func TestComposeSubHeading(t *testing.T) {
	fsys := fstest.MapFS{"api.md": {Data: []byte("# API\n\n## Options\n\n" +
		"#### `mixin` (Function)\n\nThe mixin adds a key to every message, computed each time.\n\n" +
		"#### `messageKey` (String)\n\nDefault: `'msg'`\n\nThe string key for the 'message' in the JSON object.\n\n" +
		"#### `errorKey` (String)\n\nThe string key for the 'error' in the JSON object.\n\n" +
		"## Levels\n\nEach level has a number.\n")}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "rename the msg key to message"})
	wantContains(t, text, "#### `messageKey` (String)", "The string key for the 'message'")
	if strings.Contains(text, "mixin") {
		t.Errorf("answer %q: want nothing from the mixin block", text)
	}
}

// TestComposeSubHeadingOrder: a "####" heading leads the blocks under it
// and nothing else: the section's opening, above every such heading,
// stays above it, and a block quoted from under another heading comes
// with that heading.
func TestComposeSubHeadingOrder(t *testing.T) {
	fsys := fstest.MapFS{"api.md": {Data: []byte("# API\n\n## Options\n\nThese options are passed to the constructor.\n\n" +
		"#### `mixin` (Function)\n\nThe mixin runs for every line.\n\n" +
		"#### `messageKey` (String)\n\nThe string key for the message in the JSON object.\n\n" +
		"#### `errorKey` (String)\n\nThe string key for the error in the JSON object.\n\n" +
		"## Levels\n\nEach level has a number.\n")}}
	d := docsOf(t, fsys)
	text, _ := answer(t, d, Query{Question: "string key for the message or the error in the JSON object"})
	order := []string{"These options are passed", "#### `messageKey` (String)", "The string key for the message",
		"#### `errorKey` (String)", "The string key for the error"}
	at := -1
	for _, want := range order {
		i := strings.Index(text, want)
		if i <= at {
			t.Fatalf("answer %q: want %q in this order", text, order)
		}
		at = i
	}
}
