package chat

import (
	"testing"

	"github.com/smartdocs-go/smartdocs/docs"
)

// section names a passage of the bundled corpus by file and heading.
type section struct {
	name, heading string
}

// qualityCases are questions as users type them, short, lower case and
// sometimes misspelt, with the section that answers each.
var qualityCases = []struct {
	question string
	want     section
}{
	{"how many questions can i ask per minute", section{"rate-limiting.md", "What is limited and the default quota"}},
	{"how do i share limits between containers", section{"memory-vs-redis.md", "Sharing counters through Redis"}},
	{"why am i getting error 429", section{"rate-limiting.md", "The 429 response"}},
	{"retry afer header", section{"rate-limiting.md", "The 429 response"}},
	{"how does the ratelimit algorithm work", section{"rate-limiting.md", "The sliding-window counter algorithm"}},
	{"do you keep my ip address", section{"rate-limiting.md", "How a client is recognised, and why no IP is stored"}},
	{"test a limit without blocking anyone", section{"rate-limiting.md", "Dry run mode"}},
	{"difference between fixed window and sliding log", section{"rate-limiting.md", "Fixed window and sliding log"}},
	{"cap total requests for all users together", section{"rate-limiting.md", "The global budget"}},
	{"someone rotates user agents to get around the limit", section{"rate-limiting.md", "The per-IP ceiling"}},
	{"what does x-ratelimit-remaining mean", section{"rate-limiting.md", "Rate limit headers"}},
	{"everyone in our office shares one ip", section{"key-strategies.md", "Offices behind one NAT address"}},
	{"coffee shop wifi users blocked", section{"key-strategies.md", "Shared WiFi in a coffee shop"}},
	{"phones behind carrier nat", section{"key-strategies.md", "Mobile networks and carrier-grade NAT"}},
	{"why ipv6 /64", section{"key-strategies.md", "Why IPv6 addresses are keyed by /64"}},
	{"x-session-id header", section{"key-strategies.md", "client-id: a token from the page"}},
	{"limit per logged in user with jwt", section{"key-strategies.md", "user: signed-in users and tiers"}},
	{"can people bypass the limit by changing headers", section{"key-strategies.md", "How each key can be bypassed"}},
	{"i run 3 containers and users get 3x the limit", section{"memory-vs-redis.md", "Running several instances multiplies the limit"}},
	{"what happens when redus is down", section{"memory-vs-redis.md", "When Redis goes down"}},
	{"rediss url with tls", section{"memory-vs-redis.md", "Sharing counters through Redis"}},
	{"is the redis check atomic", section{"memory-vs-redis.md", "One atomic script per decision"}},
	{"redis timeout", section{"memory-vs-redis.md", "Redis timeout"}},
	{"which port does the server listen on", section{"configuration.md", "PORT"}},
	{"set limit to 10 per hour", section{"configuration.md", "RATE_LIMIT syntax"}},
	{"does the .env file override environment variables", section{"configuration.md", "Loading a .env file"}},
	{"trusted proxies default ranges", section{"configuration.md", "TRUSTED_PROXIES and the client address"}},
	{"answer from my own markdown files", section{"configuration.md", "DOCS_DIR"}},
	{"server wont start because of a bad variable", section{"configuration.md", "Invalid values stop start-up"}},
	{"hugging face spcae setup", section{"deploy-huggingface.md", "Creating a Docker Space"}},
	{"what goes in the readme yaml", section{"deploy-huggingface.md", "README front matter"}},
	{"permission denied uid 1000", section{"deploy-huggingface.md", "Running as user 1000"}},
	{"where do i put my api key on spaces", section{"deploy-huggingface.md", "Secrets and variables"}},
	{"deploy on railway", section{"deploy-railway-render.md", "Railway: building the Dockerfile"}},
	{"add redis to railway", section{"deploy-railway-render.md", "Railway: adding Redis"}},
	{"render health check path", section{"deploy-railway-render.md", "Render: the health check"}},
	{"real client ip behind cloudflare on render", section{"deploy-railway-render.md", "Render: client addresses behind Cloudflare"}},
	{"what does the streaming response look like", section{"api.md", "The streamed response"}},
	{"get the answer as plain json not a stream", section{"api.md", "Getting one JSON response"}},
	{"what does 413 mean", section{"api.md", "Error responses"}},
	{"what fields does the chat request take", section{"api.md", "The request body"}},
	{"use gemini", section{"models.md", "gemini: Google Gemini"}},
	{"run a local model with olama", section{"models.md", "local: Ollama on your own machine"}},
	{"use an openai compatible provider like groq", section{"models.md", "llm: any OpenAI-compatible API"}},
	{"change the default model", section{"models.md", "Picking the default model"}},
	{"does the docs model need an api key", section{"models.md", "docs: the built-in engine"}},
	{"prometheus metrics", section{"monitoring.md", "Prometheus metrics at GET /metrics"}},
	{"how many unique users do we get", section{"monitoring.md", "Unique clients and the collision rate"}},
	{"find people trying to bypass the limit", section{"monitoring.md", "Bypass suspects and top offenders"}},
	{"ban an abusive client", section{"monitoring.md", "Banning a client: POST /admin/bans"}},
	{"are bans shared between instances", section{"monitoring.md", "Bans and analytics with Redis or in memory"}},
}

// TestQuality measures retrieval over the bundled corpus: hit@1 is the
// share of questions whose best passage is the expected section, hit@3
// the share where it is among the first three.
func TestQuality(t *testing.T) {
	ix := bundledIndex(t)
	var at1, at3 int
	for _, c := range qualityCases {
		hits := ix.Search(c.question, 3)
		rank := -1
		for i, h := range hits {
			if (section{h.Passage.Name, h.Passage.Heading}) == c.want {
				rank = i
				break
			}
		}
		switch {
		case rank == 0:
			at1++
			at3++
		case rank > 0:
			at3++
			t.Logf("%q: want %v at rank 1, got rank %d", c.question, c.want, rank+1)
		default:
			t.Logf("%q: want %v in the top 3, got %v", c.question, c.want, sections(hits))
		}
	}
	n := float64(len(qualityCases))
	hit1, hit3 := float64(at1)/n, float64(at3)/n
	t.Logf("hit@1 = %.3f (%d/%d), hit@3 = %.3f (%d/%d)", hit1, at1, len(qualityCases), hit3, at3, len(qualityCases))
	if len(qualityCases) < 30 {
		t.Errorf("got %d quality cases, want at least 30", len(qualityCases))
	}
	if hit1 < 0.8 {
		t.Errorf("hit@1 = %.3f, want >= 0.8", hit1)
	}
	if hit3 < 0.95 {
		t.Errorf("hit@3 = %.3f, want >= 0.95", hit3)
	}
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
