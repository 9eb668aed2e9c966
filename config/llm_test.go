package config

import (
	"strings"
	"testing"
	"time"
)

// envOf returns a getenv over vals.
func envOf(vals map[string]string) func(string) string {
	return func(k string) string { return vals[k] }
}

func TestLoadModels(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Models
	}{
		{"defaults", nil, Models{
			Default: "docs",
			Gemini:  Provider{BaseURL: DefaultGeminiBaseURL, Model: "gemini-2.5-flash"},
			Local:   Provider{BaseURL: "http://localhost:11434/v1", Model: "gemma:2b"},
			Timeout: 60 * time.Second,
		}},
		{"everything set", map[string]string{
			"GOOGLE_API_KEY": "g-key", "GEMINI_MODEL": "gemini-2.5-pro", "GEMINI_BASE_URL": "http://127.0.0.1:8080/v1beta/openai/",
			"OLLAMA_BASE_URL": "http://host.docker.internal:11434/v1", "OLLAMA_MODEL": "llama3.2",
			"LLM_API_KEY": "l-key", "LLM_BASE_URL": "https://api.groq.com/openai/v1", "LLM_MODEL": "llama-3.1-8b-instant",
			"LLM_TIMEOUT": "90s", "DEFAULT_MODEL_TYPE": "LLM",
		}, Models{
			Default: "llm",
			Gemini:  Provider{BaseURL: "http://127.0.0.1:8080/v1beta/openai/", APIKey: "g-key", Model: "gemini-2.5-pro"},
			Local:   Provider{BaseURL: "http://host.docker.internal:11434/v1", Model: "llama3.2"},
			LLM:     Provider{BaseURL: "https://api.groq.com/openai/v1", APIKey: "l-key", Model: "llama-3.1-8b-instant"},
			Timeout: 90 * time.Second,
		}},
		{"local off", map[string]string{"OLLAMA_BASE_URL": "off"}, Models{
			Default: "docs",
			Gemini:  Provider{BaseURL: DefaultGeminiBaseURL, Model: "gemini-2.5-flash"},
			Local:   Provider{Model: "gemma:2b"},
			Timeout: 60 * time.Second,
		}},
		{"default local", map[string]string{"DEFAULT_MODEL_TYPE": "local"}, Models{
			Default: "local",
			Gemini:  Provider{BaseURL: DefaultGeminiBaseURL, Model: "gemini-2.5-flash"},
			Local:   Provider{BaseURL: "http://localhost:11434/v1", Model: "gemma:2b"},
			Timeout: 60 * time.Second,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadModels(envOf(tt.env))
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadModelsErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // the start of the error
		// secret must not appear in the error.
		secret string
	}{
		{"default gemini without key", map[string]string{"DEFAULT_MODEL_TYPE": "gemini"}, `config: DEFAULT_MODEL_TYPE="gemini": want a configured model: set GOOGLE_API_KEY`, ""},
		{"default llm without URL", map[string]string{"DEFAULT_MODEL_TYPE": "llm", "LLM_MODEL": "m"}, `config: DEFAULT_MODEL_TYPE="llm": want a configured model: set LLM_BASE_URL,`, ""},
		{"default local off", map[string]string{"DEFAULT_MODEL_TYPE": "local", "OLLAMA_BASE_URL": "off"}, `config: DEFAULT_MODEL_TYPE="local": want a configured model: set OLLAMA_BASE_URL`, ""},
		{"timeout not a duration", map[string]string{"LLM_TIMEOUT": "60"}, `config: LLM_TIMEOUT="60": want a duration`, ""},
		{"timeout zero", map[string]string{"LLM_TIMEOUT": "0s"}, `config: LLM_TIMEOUT="0s"`, ""},
		{"base URL without scheme", map[string]string{"LLM_BASE_URL": "api.openai.com/v1"}, `config: LLM_BASE_URL="api.openai.com/v1": want an http:// or https:// URL`, ""},
		{"base URL off where off is not allowed", map[string]string{"GEMINI_BASE_URL": "off"}, `config: GEMINI_BASE_URL="off"`, ""},
		{"ollama URL bad", map[string]string{"OLLAMA_BASE_URL": "localhost:11434"}, `config: OLLAMA_BASE_URL="localhost:11434": want an http:// or https:// URL with a host and no credentials or query, such as https://api.openai.com/v1, or off`, ""},
		{"credentials in the URL are not printed", map[string]string{"LLM_BASE_URL": "https://user:hunter2secret@api.example.com/v1"}, `config: LLM_BASE_URL="https://api.example.com/v1 (credentials or query removed)"`, "hunter2secret"},
		{"key in the query is not printed", map[string]string{"LLM_BASE_URL": "https://api.example.com/v1?key=hunter2secret"}, `config: LLM_BASE_URL="https://api.example.com/v1 (credentials or query removed)"`, "hunter2secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadModels(envOf(tt.env))
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("got %q\nwant it to start with %q", err, tt.want)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestModelsMissing(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		model string
		want  string
	}{
		{"docs", nil, "docs", ""},
		{"gemini without key", nil, "gemini", "GOOGLE_API_KEY"},
		{"gemini with key", map[string]string{"GOOGLE_API_KEY": "k"}, "gemini", ""},
		{"local by default", nil, "local", ""},
		{"local off", map[string]string{"OLLAMA_BASE_URL": "off"}, "local", "OLLAMA_BASE_URL"},
		{"llm unset", nil, "llm", "LLM_BASE_URL and LLM_MODEL"},
		{"llm without model", map[string]string{"LLM_BASE_URL": "http://127.0.0.1:8000/v1"}, "llm", "LLM_MODEL"},
		{"llm without key", map[string]string{"LLM_BASE_URL": "http://127.0.0.1:8000/v1", "LLM_MODEL": "m"}, "llm", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := loadModels(envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Missing(tt.model); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
