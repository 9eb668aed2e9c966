package app

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/smartdocs-go/smartdocs/chat"
	"github.com/smartdocs-go/smartdocs/chat/llm"
	"github.com/smartdocs-go/smartdocs/config"
	"github.com/smartdocs-go/smartdocs/handlers"
)

// engines is the registry of model_type values: every engine a request
// can name, in GET /models order, each with what it misses when it is not
// configured. GET /models, the 422 for an unknown model_type and the
// OpenAPI document's enum all follow from this list.
//
// To add your own engine, write a chat.Engine (or a chat.EngineFunc) and
// add one line to the list below, or pass it in Options.Engines.
func engines(cfg config.Models, docs *chat.Docs, extra []handlers.Model, log *slog.Logger) ([]handlers.Model, error) {
	list := []handlers.Model{
		{Name: config.ModelDocs, Description: "Built-in search over the documents; no API key needed.", Engine: docs},
		provider(config.ModelGemini, "Google Gemini (%s) through its OpenAI-compatible API, answering from the documents.", cfg.Gemini),
		provider(config.ModelLocal, "A local model through Ollama (%s), answering from the documents; no key needed.", cfg.Local),
		provider(config.ModelLLM, "Any OpenAI-compatible API (%s), answering from the documents.", cfg.LLM),
	}
	for _, m := range extra {
		if i := slices.IndexFunc(list, func(b handlers.Model) bool { return b.Name == m.Name }); i >= 0 {
			list[i] = m
		} else {
			list = append(list, m)
		}
	}

	for i, m := range list {
		if m.Engine != nil || m.Missing != "" {
			continue
		}
		if need := cfg.Missing(m.Name); need != "" {
			list[i].Missing = need
			log.Info("model not configured", "model_type", m.Name, "set", need)
			continue
		}
		p := map[string]config.Provider{config.ModelGemini: cfg.Gemini, config.ModelLocal: cfg.Local, config.ModelLLM: cfg.LLM}[m.Name]
		e, err := llm.New(llm.Options{Name: m.Name, BaseURL: p.BaseURL, APIKey: p.APIKey, Model: p.Model, Timeout: cfg.Timeout, Docs: docs})
		if err != nil {
			return nil, err
		}
		list[i].Engine = e
	}

	names := make([]string, len(list))
	for i, m := range list {
		names[i] = m.Name
	}
	switch i := slices.Index(names, cfg.Default); {
	case i < 0:
		return nil, fmt.Errorf("config: DEFAULT_MODEL_TYPE=%q: want %s", cfg.Default, strings.Join(names, ", "))
	case list[i].Engine == nil:
		return nil, fmt.Errorf("config: DEFAULT_MODEL_TYPE=%q: want a configured model: set %s", cfg.Default, list[i].Missing)
	}
	return list, nil
}

// provider is a language-model engine's entry, built once its settings
// are known to be complete.
func provider(name, description string, p config.Provider) handlers.Model {
	shown := p.Model
	if shown == "" {
		shown = "model not set"
	}
	return handlers.Model{Name: name, Description: fmt.Sprintf(description, shown)}
}
