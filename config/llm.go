package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The model_type values, as in the original SmartDocs.
const (
	ModelDocs   = "docs"
	ModelGemini = "gemini"
	ModelLocal  = "local"
	ModelLLM    = "llm"
)

// Defaults of the model variables, as .env.example lists them.
const (
	DefaultModelType     = ModelDocs
	DefaultGeminiBaseURL = "https://generativelanguage.googleapis.com/v1beta/openai/"
	DefaultGeminiModel   = "gemini-2.5-flash"
	DefaultOllamaBaseURL = "http://localhost:11434/v1"
	DefaultOllamaModel   = "gemma:2b"
	DefaultLLMTimeout    = 60 * time.Second
)

// Provider is where one language-model engine sends its questions: an
// OpenAI-compatible chat-completions API.
type Provider struct {
	BaseURL string // "" when unset, or for local when OLLAMA_BASE_URL=off
	APIKey  string // "" when none is needed or none is set
	Model   string
}

// Models configures the answer engines.
type Models struct {
	// Default answers requests that name no model_type (DEFAULT_MODEL_TYPE).
	Default string
	Gemini  Provider // GOOGLE_API_KEY, GEMINI_MODEL, GEMINI_BASE_URL
	Local   Provider // OLLAMA_BASE_URL, OLLAMA_MODEL
	LLM     Provider // LLM_API_KEY, LLM_BASE_URL, LLM_MODEL
	// Timeout bounds each wait for a provider (LLM_TIMEOUT).
	Timeout time.Duration
}

// ModelNames returns the model_type values in the order /models lists them.
func ModelNames() []string {
	return []string{ModelDocs, ModelGemini, ModelLocal, ModelLLM}
}

// Missing returns what to set before the model named name can answer,
// such as "GOOGLE_API_KEY", or "" when it is configured.
//
// gemini needs its key. local needs nothing: Ollama takes no key and its
// defaults describe a complete setup, so it counts as configured unless
// OLLAMA_BASE_URL=off; whether Ollama is actually running is a question
// for each request (a 502 when it is not), since a check at start-up
// would go stale. llm needs a base URL and a model name; its key is
// optional, as a vLLM or LM Studio server may take none.
func (m Models) Missing(name string) string {
	switch name {
	case ModelGemini:
		if m.Gemini.APIKey == "" {
			return "GOOGLE_API_KEY"
		}
	case ModelLocal:
		if m.Local.BaseURL == "" {
			return "OLLAMA_BASE_URL"
		}
	case ModelLLM:
		var need []string
		if m.LLM.BaseURL == "" {
			need = append(need, "LLM_BASE_URL")
		}
		if m.LLM.Model == "" {
			need = append(need, "LLM_MODEL")
		}
		return strings.Join(need, " and ")
	}
	return ""
}

// loadModels reads the model variables.
func loadModels(getenv func(string) string) (Models, error) {
	m := Models{
		Default: DefaultModelType,
		Gemini:  Provider{BaseURL: DefaultGeminiBaseURL, Model: DefaultGeminiModel},
		Local:   Provider{BaseURL: DefaultOllamaBaseURL, Model: DefaultOllamaModel},
		Timeout: DefaultLLMTimeout,
	}
	var err error
	m.Gemini.APIKey = strings.TrimSpace(getenv("GOOGLE_API_KEY"))
	if m.Gemini.BaseURL, err = baseURL(getenv, "GEMINI_BASE_URL", m.Gemini.BaseURL, false); err != nil {
		return m, err
	}
	m.Gemini.Model = orDefault(getenv("GEMINI_MODEL"), m.Gemini.Model)
	if m.Local.BaseURL, err = baseURL(getenv, "OLLAMA_BASE_URL", m.Local.BaseURL, true); err != nil {
		return m, err
	}
	m.Local.Model = orDefault(getenv("OLLAMA_MODEL"), m.Local.Model)
	m.LLM.APIKey = strings.TrimSpace(getenv("LLM_API_KEY"))
	if m.LLM.BaseURL, err = baseURL(getenv, "LLM_BASE_URL", "", false); err != nil {
		return m, err
	}
	m.LLM.Model = strings.TrimSpace(getenv("LLM_MODEL"))
	if v := getenv("LLM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 || d > 10*time.Minute {
			return m, fmt.Errorf("config: LLM_TIMEOUT=%q: want a duration such as 60s, above 0 and at most 10m", v)
		}
		m.Timeout = d
	}
	if v := strings.TrimSpace(getenv("DEFAULT_MODEL_TYPE")); v != "" {
		// A name that is not built in may be an engine a program
		// registers itself: the app's registry checks it.
		name := strings.ToLower(v)
		if need := m.Missing(name); need != "" {
			return m, fmt.Errorf("config: DEFAULT_MODEL_TYPE=%q: want a configured model: set %s, or choose docs", v, need)
		}
		m.Default = name
	}
	return m, nil
}

// baseURL reads an API root: an http or https URL with a host, def when
// unset, and "" for off when offOK.
func baseURL(getenv func(string) string, name, def string, offOK bool) (string, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	if offOK && strings.EqualFold(v, "off") {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		want := "want an http:// or https:// URL with a host and no credentials or query, such as https://api.openai.com/v1"
		if offOK {
			want += ", or off"
		}
		shown := v
		if err == nil && (u.User != nil || u.RawQuery != "") {
			// Never print what may be a secret.
			u.User, u.RawQuery = nil, ""
			shown = u.String() + " (credentials or query removed)"
		}
		return "", fmt.Errorf("config: %s=%q: %s", name, shown, want)
	}
	return v, nil
}

func orDefault(v, def string) string {
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}
