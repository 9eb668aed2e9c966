package chat

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/smartdocs-go/smartdocs/docs"
)

// section names a passage of the bundled corpus by file and heading.
type section struct {
	name, heading string
}

// qualityCases are questions as users type them, short, lower case and
// sometimes misspelt, with the section that answers each and the fact
// the answer must hold.
var qualityCases = []struct {
	question string
	want     section
	fact     string // a piece of text the answer must contain
}{
	{"how many questions can i ask per minute", section{"rate-limiting.md", "What is limited and the default quota"}, "3 questions per minute"},
	{"how do i share limits between containers", section{"memory-vs-redis.md", "Sharing counters through Redis"}, "REDIS_URL"},
	{"why am i getting error 429", section{"rate-limiting.md", "The 429 response"}, "429 Too Many Requests"},
	{"retry afer header", section{"rate-limiting.md", "The 429 response"}, "Retry-After"},
	{"how does the ratelimit algorithm work", section{"rate-limiting.md", "The sliding-window counter algorithm"}, "sliding-window counter"},
	{"do you keep my ip address", section{"rate-limiting.md", "How a client is recognised, and why no IP is stored"}, "never keeps a raw IP address"},
	{"test a limit without blocking anyone", section{"rate-limiting.md", "Dry run mode"}, "RATE_LIMIT_DRY_RUN=1"},
	{"difference between fixed window and sliding log", section{"rate-limiting.md", "Fixed window and sliding log"}, "fixed-window"},
	{"cap total requests for all users together", section{"rate-limiting.md", "The global budget"}, "RATE_LIMIT_GLOBAL"},
	{"someone rotates user agents to get around the limit", section{"rate-limiting.md", "The per-IP ceiling"}, "RATE_LIMIT_PER_IP"},
	{"what does x-ratelimit-remaining mean", section{"rate-limiting.md", "Rate limit headers"}, "how many are left right now"},
	{"everyone in our office shares one ip", section{"key-strategies.md", "Offices behind one NAT address"}, "client-id"},
	{"coffee shop wifi users blocked", section{"key-strategies.md", "Shared WiFi in a coffee shop"}, "client-id"},
	{"phones behind carrier nat", section{"key-strategies.md", "Mobile networks and carrier-grade NAT"}, "client-id"},
	{"why ipv6 /64", section{"key-strategies.md", "Why IPv6 addresses are keyed by /64"}, "first 64 bits"},
	{"x-session-id header", section{"key-strategies.md", "client-id: a token from the page"}, "X-Session-ID"},
	{"limit per logged in user with jwt", section{"key-strategies.md", "user: signed-in users and tiers"}, "RATE_LIMIT_KEY=user"},
	{"can people bypass the limit by changing headers", section{"key-strategies.md", "How each key can be bypassed"}, "User-Agent"},
	{"i run 3 containers and users get 3x the limit", section{"memory-vs-redis.md", "Running several instances multiplies the limit"}, "9 questions a minute"},
	{"what happens when redus is down", section{"memory-vs-redis.md", "When Redis goes down"}, "REDIS_FAILURE_MODE"},
	{"rediss url with tls", section{"memory-vs-redis.md", "Sharing counters through Redis"}, "rediss://"},
	{"is the redis check atomic", section{"memory-vs-redis.md", "One atomic script per decision"}, "Lua script"},
	{"redis timeout", section{"memory-vs-redis.md", "Redis timeout"}, "100ms"},
	{"which port does the server listen on", section{"configuration.md", "PORT"}, "7860"},
	{"set limit to 10 per hour", section{"configuration.md", "RATE_LIMIT syntax"}, "10 per hour"},
	{"does the .env file override environment variables", section{"configuration.md", "Loading a .env file"}, "real environment"},
	{"trusted proxies default ranges", section{"configuration.md", "TRUSTED_PROXIES and the client address"}, "10.0.0.0/8"},
	{"answer from my own markdown files", section{"configuration.md", "DOCS_DIR"}, "DOCS_DIR"},
	{"server wont start because of a bad variable", section{"configuration.md", "Invalid values stop start-up"}, "stops the server before it listens"},
	{"hugging face spcae setup", section{"deploy-huggingface.md", "Creating a Docker Space"}, "Docker as the SDK"},
	{"what goes in the readme yaml", section{"deploy-huggingface.md", "README front matter"}, "app_port: 7860"},
	{"permission denied uid 1000", section{"deploy-huggingface.md", "Running as user 1000"}, "USER 1000:1000"},
	{"where do i put my api key on spaces", section{"deploy-huggingface.md", "Secrets and variables"}, "Use a secret, not a variable"},
	{"deploy on railway", section{"deploy-railway-render.md", "Railway: building the Dockerfile"}, "Deploy from GitHub repo"},
	{"add redis to railway", section{"deploy-railway-render.md", "Railway: adding Redis"}, "${{Redis.REDIS_URL}}"},
	{"render health check path", section{"deploy-railway-render.md", "Render: the health check"}, "/health"},
	{"real client ip behind cloudflare on render", section{"deploy-railway-render.md", "Render: client addresses behind Cloudflare"}, "X-Forwarded-For"},
	{"what does the streaming response look like", section{"api.md", "The streamed response"}, "application/x-ndjson"},
	{"get the answer as plain json not a stream", section{"api.md", "Getting one JSON response"}, "Accept: application/json"},
	{"what does 413 mean", section{"api.md", "Error responses"}, "64 KiB"},
	{"what fields does the chat request take", section{"api.md", "The request body"}, "model_type"},
	{"use gemini", section{"models.md", "gemini: Google Gemini"}, "GOOGLE_API_KEY"},
	{"run a local model with olama", section{"models.md", "local: Ollama on your own machine"}, "ollama pull"},
	{"use an openai compatible provider like groq", section{"models.md", "llm: any OpenAI-compatible API"}, "LLM_BASE_URL"},
	{"change the default model", section{"models.md", "Picking the default model"}, "DEFAULT_MODEL_TYPE"},
	{"does the docs model need an api key", section{"models.md", "docs: the built-in engine"}, "no API key"},
	{"prometheus metrics", section{"monitoring.md", "Prometheus metrics at GET /metrics"}, "GET /metrics"},
	{"how many unique users do we get", section{"monitoring.md", "Unique clients and the collision rate"}, "unique_clients"},
	{"find people trying to bypass the limit", section{"monitoring.md", "Bypass suspects and top offenders"}, "bypass_suspects"},
	{"ban an abusive client", section{"monitoring.md", "Banning a client: POST /admin/bans"}, "POST /admin/bans"},
	{"are bans shared between instances", section{"monitoring.md", "Bans and analytics with Redis or in memory"}, "shared by every instance"},
}

// ownDev and ownTest ask about the bundled documents (package docs):
// qualityCases, which earlier tuning of the engine has seen, split by
// alternating rows, plus follow-ups and off-topic questions.
var ownDev, ownTest = splitOwn()

func splitOwn() (dev, test []qualityCase) {
	for i, c := range qualityCases {
		qc := qualityCase{question: c.question, want: []section{c.want}, fact: c.fact}
		if i%2 == 0 {
			dev = append(dev, qc)
		} else {
			test = append(test, qc)
		}
	}
	quota := on("rate-limiting.md", "What is limited and the default quota")
	dev = append(dev,
		qualityCase{question: "what is the default limit?", history: []string{"how do i change the rate limit", "and how do I set it on railway?"}, want: quota, fact: "3"},
		qualityCase{question: "how do I set it?", history: []string{"what is REDIS_URL?"}, want: on("configuration.md", "Redis variables"), fact: "REDIS_URL"},
		qualityCase{question: "what's the weather today"},
		qualityCase{question: "tell me a joke"},
		qualityCase{question: "install python on windows"},
	)
	test = append(test,
		qualityCase{question: "and the default?", history: []string{"which port does the server listen on"}, want: on("configuration.md", "PORT"), fact: "7860"},
		qualityCase{question: "who won the football game"},
		qualityCase{question: "what is the capital of france"},
		qualityCase{question: "best pizza in new york"},
		qualityCase{question: "translate hello into spanish"},
	)
	return dev, test
}

// qualityCorpus is a folder of documents with its questions.
type qualityCorpus struct {
	name string
	fsys fs.FS
	// foreign marks documents written by others, which the targets
	// below are set for.
	foreign bool
	// splits are its questions, development splits first.
	splits []qualitySplit
}

// qualitySplit is one named split of a corpus's questions. floor is nil
// for a split the engine may be tuned on (dev, mismatch) and for the
// bundled corpus's, whose misses TestQuality prints; a held-out split's
// floor is what it must score, and its misses stay hidden.
type qualitySplit struct {
	name  string
	cases []qualityCase
	floor *qualityFloor
}

func qualityCorpora() []qualityCorpus {
	return []qualityCorpus{
		{name: "smartdocs (bundled)", fsys: docs.FS, splits: []qualitySplit{
			{"dev", ownDev, nil}, {"test", ownTest, nil}}},
		{name: "chi (go-chi READMEs)", fsys: os.DirFS("testdata/chi/docs"), foreign: true, splits: []qualitySplit{
			{"dev", chiDev, nil}, {"mismatch", chiMismatch, nil}, {"test", chiTest, &testFloor},
			{"fresh", chiFresh, &freshFloor}, {"heldout", chiHeldout, &heldoutFloor}, {"blind", chiBlind, &blindFloor}}},
		{name: "pip (pip user guide)", fsys: os.DirFS("testdata/pip/docs"), foreign: true, splits: []qualitySplit{
			{"dev", pipDev, nil}, {"mismatch", pipMismatch, nil}, {"test", pipTest, &testFloor},
			{"fresh", pipFresh, &freshFloor}, {"heldout", pipHeldout, &heldoutFloor}, {"blind", pipBlind, &blindFloor}}},
		{name: "pino (pino docs)", fsys: os.DirFS("testdata/pino/docs"), foreign: true, splits: []qualitySplit{
			{"dev", pinoDev, nil}, {"test", pinoTest, &pinoTestFloor}, {"blind", pinoBlind, &blindFloor}}},
	}
}

// qualityScore is what one split of a corpus scored. Each share is of
// the questions it applies to: hit@k and fact of the on-topic ones (fact
// of those that name one), offTopic of the off-topic ones.
type qualityScore struct {
	onTopic, withFact, offTopicN int
	at1, at3, facts, offTopic    int
}

func share(n, of int) float64 {
	if of == 0 {
		return 1
	}
	return float64(n) / float64(of)
}

func (s qualityScore) hit1() float64     { return share(s.at1, s.onTopic) }
func (s qualityScore) hit3() float64     { return share(s.at3, s.onTopic) }
func (s qualityScore) fact() float64     { return share(s.facts, s.withFact) }
func (s qualityScore) offShare() float64 { return share(s.offTopic, s.offTopicN) }

// qualityFloor is what a split must score: hit@1, fact and off-topic.
type qualityFloor struct{ hit1, fact, offTopic float64 }

// target is what issue 11 asks of the test half of every foreign corpus.
// The engine does not reach it, so TestQuality asserts it, on every
// held-out split, only when CHAT_QUALITY_TARGETS is set; it always
// asserts the floors below, what the engine reached when they were set,
// so that no change makes it worse unnoticed. The bundled corpus as a
// whole keeps what it scored before this harness (hit@1 0.96, hit@3 1.0
// over qualityCases): own*.
var target = qualityFloor{hit1: 0.9, fact: 0.85, offTopic: 0.9}

const (
	ownHit1 = 0.94
	ownHit3 = 0.98
	ownFact = 0.9
)

var (
	// testFloor holds the chi and pip test halves.
	testFloor = qualityFloor{hit1: 0.73, fact: 0.70, offTopic: 0.9}

	// freshFloor holds the fresh halves (chiFresh, pipFresh) at what
	// the engine scored on them the first time it was run on them
	// (2026-12-03: hit@1 0.600 and 0.600, fact 0.533 and 0.533,
	// off-topic 1.0 and 0.8, chi and pip).
	freshFloor = qualityFloor{hit1: 0.6, fact: 0.53, offTopic: 0.8}

	// heldoutFloor holds the heldout halves (chiHeldout, pipHeldout) at
	// their first run (2026-12-03, at d71395f: hit@1 0.476 and 0.429,
	// hit@3 0.667 and 0.714, fact 0.524 and 0.429, off-topic 1.0 and
	// 0.667, chi and pip). Their misses have not been looked at: whoever
	// tunes next should keep it so, and write another blind half before
	// trusting them again once they have.
	heldoutFloor = qualityFloor{hit1: 0.42, fact: 0.42, offTopic: 0.66}

	// blindFloor holds the blind halves (chiBlind, pipBlind, pinoBlind)
	// at their first run (2026-12-03, at cb47c92 with them wired in:
	// hit@1 0.471, 0.412 and 0.471, hit@3 0.529, 0.647 and 0.529, fact
	// 0.471, 0.412 and 0.412, off-topic 0.667 each; chi, pip, pino).
	blindFloor = qualityFloor{hit1: 0.41, fact: 0.41, offTopic: 0.66}

	// pinoTestFloor holds the pino corpus's test half. Its first run
	// (2026-12-03, at 8d18bff with pino wired in) scored hit@1 0.757,
	// fact 0.649, off-topic 0.667; the end of that round, 0.757, 0.730
	// and 0.667.
	pinoTestFloor = qualityFloor{hit1: 0.75, fact: 0.72, offTopic: 0.66}
)

// TestQuality asks every corpus its questions through Docs.Answer, as the
// chat does, and prints per corpus and split: source hit@1 and hit@3, the
// share of answers containing the expected fact, and the share of
// off-topic questions answered without sources. It fails when a floor,
// or with CHAT_QUALITY_TARGETS set a target, is missed. Run with -v to
// see the table and the misses of the development halves. The misses of
// the held-out halves stay hidden unless CHAT_QUALITY_MISSES=all, so that
// whoever tunes the engine does not tune on them by accident; whoever
// looks at them should write a new blind half before trusting theirs.
func TestQuality(t *testing.T) {
	strict := os.Getenv("CHAT_QUALITY_TARGETS") != ""
	allMisses := os.Getenv("CHAT_QUALITY_MISSES") == "all"
	t.Logf("%-22s %-8s %4s %6s %6s %6s %9s", "corpus", "split", "n", "hit@1", "hit@3", "fact", "off-topic")
	for _, c := range qualityCorpora() {
		passages, err := Load(c.fsys)
		if err != nil {
			t.Fatalf("Load(%s): %v", c.name, err)
		}
		d := NewDocs(NewIndex(passages))
		var all qualityScore
		questions := 0
		for _, split := range c.splits {
			if split.name == "dev" || split.name == "test" {
				questions += len(split.cases)
			}
			s := scoreQuality(t, d, c.name+"/"+split.name, split.cases, allMisses || split.floor == nil)
			t.Logf("%-22s %-8s %4d %6.3f %6.3f %6.3f %9.3f", c.name, split.name, len(split.cases), s.hit1(), s.hit3(), s.fact(), s.offShare())
			all.add(s)
			if split.floor == nil {
				continue
			}
			f := *split.floor
			if strict {
				f = target
			}
			if s.hit1() < f.hit1 {
				t.Errorf("%s %s half: hit@1 = %.3f, want >= %.2f", c.name, split.name, s.hit1(), f.hit1)
			}
			if s.fact() < f.fact {
				t.Errorf("%s %s half: fact share = %.3f, want >= %.2f", c.name, split.name, s.fact(), f.fact)
			}
			if s.offShare() < f.offTopic {
				t.Errorf("%s %s half: off-topic without sources = %.3f, want >= %.2f", c.name, split.name, s.offShare(), f.offTopic)
			}
		}
		if questions < 30 {
			t.Errorf("%s: got %d questions in dev and test, want at least 30", c.name, questions)
		}
		if !c.foreign {
			if all.hit1() < ownHit1 || all.hit3() < ownHit3 || all.fact() < ownFact || all.offShare() < 1 {
				t.Errorf("%s: hit@1 = %.3f, hit@3 = %.3f, fact = %.3f, off-topic = %.3f; want >= %.2f, %.2f, %.2f, 1",
					c.name, all.hit1(), all.hit3(), all.fact(), all.offShare(), ownHit1, ownHit3, ownFact)
			}
		}
	}
}

// TestQualityLabels checks the labels of every split against the
// documents alone, without asking the engine: every wanted section exists,
// and every on-topic case's fact is in one passage of a wanted section,
// compared as the harness compares it. A fact must sit in one passage,
// not across two, since an answer quotes one.
func TestQualityLabels(t *testing.T) {
	for _, c := range qualityCorpora() {
		t.Run(c.name, func(t *testing.T) {
			passages, err := Load(c.fsys)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			texts := make(map[section][]string)
			for _, p := range passages {
				s := section{p.Name, p.Heading}
				texts[s] = append(texts[s], p.Text)
			}
			for _, split := range c.splits {
				for i, qc := range split.cases {
					// A held-out question is named by its place, so that
					// a failure does not show it.
					who := fmt.Sprintf("%s #%d", split.name, i+1)
					if split.floor == nil {
						who = strconv.Quote(qc.question)
					}
					checkLabel(t, texts, who, qc)
				}
			}
		})
	}
}

// checkLabel checks one case's labels against texts, the passages of
// each section.
func checkLabel(t *testing.T, texts map[section][]string, who string, qc qualityCase) {
	t.Helper()
	if len(qc.want) == 0 {
		if qc.fact != "" {
			t.Errorf("%s: got fact %q on an off-topic case, want none", who, qc.fact)
		}
		return
	}
	if qc.fact == "" {
		t.Errorf("%s: got no fact, want one", who)
	}
	found := false
	for _, w := range qc.want {
		ps, ok := texts[w]
		if !ok {
			t.Errorf("%s: got no passage for wanted section %v, want one", who, w)
		}
		for _, text := range ps {
			found = found || containsFold(text, qc.fact)
		}
	}
	if qc.fact != "" && !found {
		t.Errorf("%s: got fact %q in none of %v, want it in one", who, qc.fact, qc.want)
	}
}

func (s *qualityScore) add(o qualityScore) {
	s.onTopic += o.onTopic
	s.withFact += o.withFact
	s.offTopicN += o.offTopicN
	s.at1 += o.at1
	s.at3 += o.at3
	s.facts += o.facts
	s.offTopic += o.offTopic
}

// scoreQuality asks d every case and, when showMisses is set, logs
// each miss.
func scoreQuality(t *testing.T, d *Docs, label string, cases []qualityCase, showMisses bool) qualityScore {
	t.Helper()
	logf := t.Logf
	if !showMisses {
		logf = func(string, ...any) {}
	}
	var s qualityScore
	for _, c := range cases {
		var history []Message
		for _, h := range c.history {
			text, _ := answer(t, d, Query{Question: h, History: history})
			history = append(history, Message{Role: "user", Content: h}, Message{Role: "assistant", Content: text})
		}
		text, srcs := answer(t, d, Query{Question: c.question, History: history})
		if len(c.want) == 0 {
			s.offTopicN++
			if len(srcs) == 0 {
				s.offTopic++
			} else {
				logf("%s: %q is off-topic, got sources %v", label, c.question, sourceSections(srcs))
			}
			continue
		}
		s.onTopic++
		rank := -1
		for i, src := range srcs {
			if slices.Contains(c.want, section{src.Name, src.Heading}) {
				rank = i
				break
			}
		}
		switch {
		case rank == 0:
			s.at1++
			s.at3++
		case rank > 0:
			s.at3++
			logf("%s: %q: want %v first, got rank %d of %v", label, c.question, c.want, rank+1, sourceSections(srcs))
		default:
			logf("%s: %q: want %v, got %v", label, c.question, c.want, sourceSections(srcs))
		}
		if c.fact != "" {
			s.withFact++
			if containsFold(text, c.fact) {
				s.facts++
			} else {
				logf("%s: %q: answer lacks %q:\n%s", label, c.question, c.fact, text)
			}
		}
	}
	return s
}

// containsFold reports whether text contains fact, ignoring case and
// collapsing runs of white space.
func containsFold(text, fact string) bool {
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	return strings.Contains(norm(text), norm(fact))
}

func sourceSections(srcs []Source) []section {
	out := make([]section, len(srcs))
	for i, s := range srcs {
		out[i] = section{s.Name, s.Heading}
	}
	return out
}

// bundledIndex returns an index over the documents shipped in package docs.
func bundledIndex(tb testing.TB) *Index {
	tb.Helper()
	passages, err := Load(docs.FS)
	if err != nil {
		tb.Fatalf("Load(docs.FS): %v", err)
	}
	return NewIndex(passages)
}

// sections lists where hits come from, for failure messages.
func sections(hits []Hit) []section {
	out := make([]section, len(hits))
	for i, h := range hits {
		out[i] = section{h.Passage.Name, h.Passage.Heading}
	}
	return out
}
